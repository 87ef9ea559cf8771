/* A host file mapped and touched, then truncated (issue 19 item 3): the
 * guest's access past the new end is SIGBUS (its handler runs), a syscall
 * reading from there is EFAULT, pages before the end keep working; and the
 * running executable cannot be opened for writing or truncated, nor a file
 * open for writing executed (ETXTBSY).
 * Prints one line per check; run in a scratch working directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
static sigjmp_buf env;
static volatile int bus_count;

static void on_bus(int sig)
{
    (void)sig;
    bus_count++;
    siglongjmp(env, 1);
}

/* 1 if reading the byte at p raised SIGBUS, 0 if it read `expect`, 2 if it
 * read something else. */
static int touch(volatile char *p, char expect)
{
    if (sigsetjmp(env, 1))
        return 1;
    return *p == expect ? 0 : 2;
}

static int touch_write(volatile char *p)
{
    if (sigsetjmp(env, 1))
        return 1;
    *p = 'w';
    return 0;
}

static const char *en(int e) { return e == 0 ? "0" : e == EFAULT ? "EFAULT" : e == ETXTBSY ? "ETXTBSY" : strerror(e); }

static void shrink_case(const char *tag, int flags, int trunc_by_open)
{
    char name[64], buf[3 * PAGE];
    snprintf(name, sizeof name, "data-%s", tag);
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    memset(buf, 'a', sizeof buf);
    write(fd, buf, sizeof buf);
    char *m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (m == MAP_FAILED) { printf("%s_mmap: failed\n", tag); return; }
    printf("%s_before: %d %d\n", tag, touch(m, 'a'), touch(m + 2 * PAGE, 'a'));
    if (flags & MAP_PRIVATE)
        m[2 * PAGE] = 'p';  /* a private copy: Linux drops it too */
    if (trunc_by_open) {
        int t = open(name, O_WRONLY | O_TRUNC);
        write(t, buf, PAGE / 2);
        close(t);
    } else {
        ftruncate(fd, PAGE / 2);
    }
    printf("%s_first_page: %d\n", tag, touch(m, 'a'));
    printf("%s_past_eof_read: %d\n", tag, touch(m + 2 * PAGE, 'a'));
    printf("%s_past_eof_write: %d\n", tag, touch_write(m + PAGE));
    int p[2];
    pipe(p);
    errno = 0;
    long w = write(p[1], m + PAGE, 16);
    printf("%s_write_from_past_eof: %ld %s\n", tag, w, en(w < 0 ? errno : 0));
    close(p[0]);
    close(p[1]);
    ftruncate(fd, 3 * PAGE);  /* grown again: the pages are back, zeroed */
    printf("%s_regrown: %d\n", tag, touch(m + 2 * PAGE, 0));
    munmap(m, 3 * PAGE);
    close(fd);
    unlink(name);
}

/* Fork, exec ./copy ("exit" mode) and report how the child ended: 0 when
 * the exec worked, 10 + errno class when it failed. */
static int run_copy(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("./copy", "copy", "exit", (char *)NULL);
        _exit(errno == ETXTBSY ? 10 : 11);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "exit"))
        return 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_bus;
    sigaction(SIGBUS, &sa, NULL);
    shrink_case("shared", MAP_SHARED, 0);
    shrink_case("private", MAP_PRIVATE, 0);
    shrink_case("shared_otrunc", MAP_SHARED, 1);
    printf("sigbus_handler_runs: %d\n", bus_count);

    (void)argc;
    errno = 0;
    int r = open(argv[0], O_WRONLY);
    printf("open_self_wronly: %d %s\n", r < 0 ? -1 : 0, en(r < 0 ? errno : 0));
    errno = 0;
    r = open("/proc/self/exe", O_RDWR);
    printf("open_proc_exe_rdwr: %d %s\n", r < 0 ? -1 : 0, en(r < 0 ? errno : 0));
    errno = 0;
    r = open(argv[0], O_RDONLY | O_TRUNC);
    printf("open_self_trunc: %d %s\n", r < 0 ? -1 : 0, en(r < 0 ? errno : 0));
    errno = 0;
    r = truncate(argv[0], 0);
    printf("truncate_self: %d %s\n", r, en(r < 0 ? errno : 0));
    errno = 0;
    r = open(argv[0], O_RDONLY);
    printf("open_self_rdonly: %d\n", r < 0 ? -1 : 0);

    int src = open(argv[0], O_RDONLY);
    int dst = open("copy", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    char buf[65536];
    long n;
    while ((n = read(src, buf, sizeof buf)) > 0)
        write(dst, buf, n);
    close(src);
    printf("exec_while_open_for_writing: %d\n", run_copy());
    close(dst);
    printf("exec_after_close: %d\n", run_copy());
    unlink("copy");
    return 0;
}
