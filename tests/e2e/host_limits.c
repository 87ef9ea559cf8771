/* Host resources the guest can exhaust (issue 19 items 6, 7). argv[1]:
 *   sparse: a one-page read-only mapping at the end of a 64 GiB sparse
 *           file (and one at its start) reads what the file holds;
 *   fds [small]: open files until EMFILE, then keep going through the
 *           calls that need a descriptor (and an mmap, which the sentry
 *           backs with a host fd), then close them all and open again.
 * Prints one line per check; run in a scratch working directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *en(int e) { return e == 0 ? "0" : e == EMFILE ? "EMFILE" : e == ENFILE ? "ENFILE" : strerror(e); }

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "sparse")) {
        const long size = 64L << 30;
        int fd = open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644);
        ftruncate(fd, size);
        pwrite(fd, "tail", 4, size - 4096);
        pwrite(fd, "head", 4, 0);
        close(fd);
        fd = open("sparse", O_RDONLY);
        char *tail = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, size - 4096);
        printf("map_last_page: %d\n", tail == MAP_FAILED ? -1 : 0);
        if (tail != MAP_FAILED)
            printf("last_page_reads: %.4s\n", tail);
        char *head = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        printf("map_first_page: %d\n", head == MAP_FAILED ? -1 : 0);
        if (head != MAP_FAILED)
            printf("first_page_reads: %.4s\n", head);
        char *all = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        printf("map_whole_file: %d\n", all == MAP_FAILED ? -1 : 0);
        if (all != MAP_FAILED)
            printf("whole_file_reads: %.4s %.4s %d\n", all, all + size - 4096, all[size / 2]);
        unlink("sparse");
        return 0;
    }
    if (!strcmp(argv[1], "fds")) {
        /* argv[2] "small": a limit of 64 on both sides; otherwise the
         * inherited one, which the sentry's own descriptors share. */
        struct rlimit rl = {64, 64};
        if (argc > 2 && !strcmp(argv[2], "small"))
            setrlimit(RLIMIT_NOFILE, &rl);
        int n = 0, last = -1, e = 0;
        for (;;) {
            int fd = open(argv[0], O_RDONLY);  /* a host file: a host fd each */
            if (fd < 0) { e = errno; break; }
            last = fd;
            n++;
        }
        printf("opened_until: %s\n", en(e));
        errno = 0;
        int r = open(argv[0], O_RDONLY);
        printf("open_file_at_limit: %d %s\n", r, en(r < 0 ? errno : 0));
        int p[2];
        errno = 0;
        r = pipe(p);
        printf("pipe_at_limit: %d %s\n", r, en(r < 0 ? errno : 0));
        errno = 0;
        r = dup(0);
        printf("dup_at_limit: %d %s\n", r, en(r < 0 ? errno : 0));
        /* Free one guest slot: the file opens, and mapping it must not
         * fail for want of a host descriptor the guest already used up. */
        close(last);
        int fd = open(argv[0], O_RDONLY);
        printf("open_after_close: %d\n", fd == last ? 0 : -1);
        char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        printf("mmap_at_limit: %d\n", m == MAP_FAILED ? -1 : 0);
        if (m != MAP_FAILED)
            printf("mapped_reads_elf: %d\n", !memcmp(m, "\177ELF", 4));
        getrlimit(RLIMIT_NOFILE, &rl);
        for (int i = 3; i < (int)rl.rlim_cur; i++)
            close(i);
        fd = open(argv[0], O_RDONLY);
        printf("open_after_closing_all: %d\n", fd);
        return 0;
    }
    return 2;
}
