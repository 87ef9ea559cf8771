/* Terminal ioctls copy exactly the kernel's structs (asm-generic/termbits.h):
 * run with stdin a terminal. Each get is made into a buffer filled with a
 * marker and the program reports how many bytes changed past the kernel
 * struct's size (must be none) and whether the struct round-trips through
 * the matching set. Prints check lines (see tests/semantics/check.h). */
#include "../semantics/check.h"

#include <sys/ioctl.h>

#define MARK 0xA5

static int changed_after(const unsigned char *buf, int from, int to)
{
    int n = 0;
    for (int i = from; i < to; i++)
        n += buf[i] != MARK;
    return n;
}

static void get_and_check(const char *name, unsigned long req, int size)
{
    unsigned char buf[128];
    memset(buf, MARK, sizeof buf);
    long r = syscall(SYS_ioctl, 0L, (long)req, (long)buf);
    char line[64];
    snprintf(line, sizeof line, "%s", name);
    CHECK(line, r);
    snprintf(line, sizeof line, "%s_bytes_past_struct", name);
    VALUE(line, changed_after(buf, size, sizeof buf));
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    get_and_check("tcgets", TCGETS, 36);
    get_and_check("tcgets2", 0x802C542AUL, 44);
    get_and_check("tiocgwinsz", TIOCGWINSZ, 8);

    /* TCSETS reads 36 bytes: toggling ECHO round-trips. */
    unsigned char t[36], back[36];
    MUST(syscall(SYS_ioctl, 0L, (long)TCGETS, (long)t) == 0);
    unsigned int lflag;
    memcpy(&lflag, t + 12, 4);
    lflag ^= 010; /* ECHO */
    memcpy(t + 12, &lflag, 4);
    CHECK("tcsets", syscall(SYS_ioctl, 0L, (long)TCSETS, (long)t));
    MUST(syscall(SYS_ioctl, 0L, (long)TCGETS, (long)back) == 0);
    VALUE("tcsets_round_trip", memcmp(t, back, 36) == 0);
    /* A struct ending right at the end of a page: 36 bytes are readable. */
    char *page = mmap(NULL, 2 * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    MUST(page != MAP_FAILED);
    MUST(munmap(page + PAGE, PAGE) == 0);
    memcpy(page + PAGE - 36, t, 36);
    CHECK("tcsets_at_page_end", syscall(SYS_ioctl, 0L, (long)TCSETSW, (long)(page + PAGE - 36)));
    CHECK("tcgets_at_page_end", syscall(SYS_ioctl, 0L, (long)TCGETS, (long)(page + PAGE - 36)));
    CHECK("tcgets2_at_page_end", syscall(SYS_ioctl, 0L, (long)0x802C542AUL, (long)(page + PAGE - 36)));
    unsigned char w[8] = {24, 0, 80, 0, 0, 0, 0, 0};
    CHECK("tiocswinsz", syscall(SYS_ioctl, 0L, (long)TIOCSWINSZ, (long)w));
    unsigned char wb[8];
    MUST(syscall(SYS_ioctl, 0L, (long)TIOCGWINSZ, (long)wb) == 0);
    VALUE("tiocswinsz_round_trip", memcmp(w, wb, 8) == 0);
    /* Not a terminal: ENOTTY before the argument is looked at. */
    CHECK("tcsets_devnull_bad_arg", syscall(SYS_ioctl, (long)open("/dev/null", O_RDONLY), (long)TCSETS, 8L));
    return 0;
}
