/* /proc/self: cmdline, environ, auxv, comm and prctl(PR_SET_NAME), mem,
 * limits, exe, thread-self, task/<tid>, io, oom_score (gVisor proc.cc
 * ProcPidCmdline*, ProcPidEnviron*, ProcSelfAuxv*, ProcPidComm*, ProcPidMem*,
 * ProcPidLimits*). Only verdicts are printed. */
#include "check.h"
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define BUFSZ (1 << 16)
static char buf[BUFSZ], buf2[BUFSZ];

static long slurp(const char *path, char *out, long chunk)
{
    int fd = (int)SC(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    long total = 0;
    for (;;) {
        long n = SC(SYS_read, fd, out + total, chunk);
        if (n <= 0)
            break;
        total += n;
        if (total + chunk >= BUFSZ)
            break;
    }
    out[total] = 0;
    SC(SYS_close, fd);
    return total;
}

static const char *basename_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int limit_line_ok(const char *text, const char *name, int res, const char *unit)
{
    struct rlimit rl;
    if (getrlimit(res, &rl) != 0)
        return 0;
    char soft[32], hard[32], want[256];
    if (rl.rlim_cur == RLIM_INFINITY)
        strcpy(soft, "unlimited");
    else
        sprintf(soft, "%lu", (unsigned long)rl.rlim_cur);
    if (rl.rlim_max == RLIM_INFINITY)
        strcpy(hard, "unlimited");
    else
        sprintf(hard, "%lu", (unsigned long)rl.rlim_max);
    if (*unit)
        sprintf(want, "%-25s %-20s %-20s %-10s\n", name, soft, hard, unit);
    else
        sprintf(want, "%-25s %-20s %-20s \n", name, soft, hard);
    const char *p = strstr(text, want);
    return p && p[-1] == '\n';
}

extern char **environ;
static long static_word = 0x1122334455667788L;

int main(int argc, char **argv)
{
    start();
    /* cmdline */
    long n = slurp("/proc/self/cmdline", buf, 4096);
    long want_len = 0;
    for (int i = 0; i < argc; i++) {
        memcpy(buf2 + want_len, argv[i], strlen(argv[i]) + 1);
        want_len += strlen(argv[i]) + 1;
    }
    VALUE("cmdline_is_argv", n == want_len && memcmp(buf, buf2, n) == 0);
    n = slurp("/proc/self/cmdline", buf, 3);
    VALUE("cmdline_small_reads", n == want_len && memcmp(buf, buf2, n) == 0);
    {
        int fd = (int)MUST(SC(SYS_openat, AT_FDCWD, "/proc/self/cmdline", O_RDONLY, 0));
        char c[8];
        CHECK("cmdline_pread_offset", SC(SYS_pread64, fd, c, 4, 1));
        VALUE("cmdline_pread_bytes", memcmp(c, argv[0] + 1, 4) == 0);
        CHECK("cmdline_pread_past_end", SC(SYS_pread64, fd, c, 4, want_len + 100));
        SC(SYS_close, fd);
    }

    /* environ */
    long env_len = 0;
    for (char **e = environ; *e; e++) {
        memcpy(buf2 + env_len, *e, strlen(*e) + 1);
        env_len += strlen(*e) + 1;
    }
    n = slurp("/proc/self/environ", buf, 4096);
    VALUE("environ_nonempty", env_len > 0);
    VALUE("environ_is_envp", n == env_len && memcmp(buf, buf2, n) == 0);

    /* auxv: the file is the vector on the initial stack, AT_NULL included. */
    char **p = environ;
    while (*p)
        p++;
    unsigned long *av = (unsigned long *)(p + 1);
    long na = 0;
    while (av[2 * na] != AT_NULL)
        na++;
    n = slurp("/proc/self/auxv", buf, 4096);
    VALUE("auxv_size_multiple_of_16", n > 0 && n % 16 == 0);
    VALUE("auxv_matches_initial_stack", n == (na + 1) * 16 && memcmp(buf, av, n) == 0);
    {
        unsigned long *e = (unsigned long *)buf;
        unsigned long pagesz = 0, rnd = 0, execfn = 0;
        for (long i = 0; i < n / 16; i++) {
            if (e[2 * i] == AT_PAGESZ)
                pagesz = e[2 * i + 1];
            if (e[2 * i] == AT_RANDOM)
                rnd = e[2 * i + 1];
            if (e[2 * i] == AT_EXECFN)
                execfn = e[2 * i + 1];
        }
        VALUE("auxv_pagesz", pagesz);
        VALUE("auxv_random_nonnull", rnd != 0 && rnd == getauxval(AT_RANDOM));
        VALUE("auxv_execfn_is_argv0", execfn != 0 && strcmp((char *)execfn, argv[0]) == 0);
        VALUE("auxv_last_is_null", e[2 * (n / 16 - 1)] == 0 && e[2 * (n / 16 - 1) + 1] == 0);
    }

    /* comm and prctl names */
    char want[64], got[64];
    snprintf(want, sizeof want, "%.15s\n", basename_of(argv[0]));
    slurp("/proc/self/comm", buf, 64);
    VALUE("comm_default", strcmp(buf, want) == 0);
    memset(got, 'z', sizeof got);
    CHECK("prctl_get_name", prctl(PR_GET_NAME, got, 0, 0, 0));
    VALUE("prctl_get_name_default", strncmp(got, want, strlen(want) - 1) == 0 && got[strlen(want) - 1] == 0);
    CHECK("prctl_set_name", prctl(PR_SET_NAME, "renamed-task-name-long", 0, 0, 0));
    memset(got, 'z', sizeof got);
    prctl(PR_GET_NAME, got, 0, 0, 0);
    VALUE("prctl_name_truncated", strcmp(got, "renamed-task-na") == 0 && got[15] == 0);
    slurp("/proc/self/comm", buf, 64);
    VALUE("comm_after_prctl", strcmp(buf, "renamed-task-na\n") == 0);
    slurp("/proc/self/stat", buf, 4096);
    VALUE("stat_comm_after_prctl", strstr(buf, " (renamed-task-na) ") != NULL);
    {
        char path[64];
        sprintf(path, "/proc/self/task/%ld/comm", (long)syscall(SYS_gettid));
        slurp(path, buf, 64);
        VALUE("task_comm_after_prctl", strcmp(buf, "renamed-task-na\n") == 0);
    }
    {
        int fd = (int)MUST(SC(SYS_openat, AT_FDCWD, "/proc/self/comm", O_WRONLY, 0));
        CHECK("comm_write_long", SC(SYS_write, fd, "abcdefghijklmnopqrstuvwxyz", 26));
        slurp("/proc/self/comm", buf, 64);
        VALUE("comm_after_write", strcmp(buf, "abcdefghijklmno\n") == 0);
        CHECK("comm_write_short", SC(SYS_write, fd, "ab\0cd", 5));
        slurp("/proc/self/comm", buf, 64);
        VALUE("comm_write_stops_at_nul", strcmp(buf, "ab\n") == 0);
        CHECK("prctl_set_name_short", prctl(PR_SET_NAME, "x", 0, 0, 0));
        slurp("/proc/self/comm", buf, 64);
        VALUE("comm_after_short_prctl", strcmp(buf, "x\n") == 0);
        SC(SYS_close, fd);
    }
    CHECK("prctl_bad_option", prctl(0x7fff1234, 0, 0, 0, 0));

    /* mem */
    int mem = (int)MUST(SC(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDWR | O_CLOEXEC, 0));
    long word = 0;
    CHECK("mem_pread_static", SC(SYS_pread64, mem, &word, 8, &static_word));
    VALUE("mem_pread_value", word == 0x1122334455667788L);
    word = 0x55aa;
    CHECK("mem_pwrite_static", SC(SYS_pwrite64, mem, &word, 8, &static_word));
    VALUE("mem_pwrite_visible", static_word == 0x55aa);
    char *a = arena(4);
    map_fixed(a + PAGE, PAGE, RW);
    memset(a + PAGE, 'M', PAGE);
    MUST(SC(SYS_munmap, a + 2 * PAGE, 2 * PAGE));
    CHECK("mem_partial_read_at_unmapped", SC(SYS_pread64, mem, buf, 200, a + 2 * PAGE - 100));
    VALUE("mem_partial_read_bytes", buf[0] == 'M' && buf[99] == 'M');
    CHECK("mem_read_unmapped_eio", SC(SYS_pread64, mem, buf, 16, a + 2 * PAGE));
    CHECK("mem_write_unmapped_eio", SC(SYS_pwrite64, mem, buf, 16, a + 3 * PAGE));
    CHECK("mem_read_prot_none", SC(SYS_pread64, mem, buf, 16, a));
    MUST(SC(SYS_mprotect, a + PAGE, PAGE, PROT_READ));
    CHECK("mem_write_readonly_page", SC(SYS_pwrite64, mem, "WXYZ", 4, a + PAGE));
    VALUE("mem_write_readonly_visible", memcmp(a + PAGE, "WXYZM", 5) == 0);
    CHECK("mem_lseek_set", SC(SYS_lseek, mem, &static_word, SEEK_SET) == (long)&static_word);
    CHECK("mem_read_at_pos", SC(SYS_read, mem, &word, 8));
    VALUE("mem_read_at_pos_value", word == 0x55aa);
    CHECK("mem_lseek_cur", SC(SYS_lseek, mem, -8, SEEK_CUR) == (long)&static_word);
    CHECK("mem_lseek_end", SC(SYS_lseek, mem, 0, SEEK_END));
    CHECK("mem_zero_length", SC(SYS_pread64, mem, buf, 0, a + 3 * PAGE));
    SC(SYS_close, mem);

    /* limits */
    struct rlimit rl = {100, 200};
    MUST(setrlimit(RLIMIT_NOFILE, &rl));
    n = slurp("/proc/self/limits", buf, 100);
    {
        char hdr[128];
        sprintf(hdr, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
        VALUE("limits_header", strncmp(buf, hdr, strlen(hdr)) == 0 && strlen(hdr) == 79);
    }
    {
        int lines = 0;
        for (long i = 0; i < n; i++)
            lines += buf[i] == '\n';
        VALUE("limits_line_count", lines);
    }
    VALUE("limits_nofile", limit_line_ok(buf, "Max open files", RLIMIT_NOFILE, "files"));
    VALUE("limits_nofile_exact", strstr(buf, "\nMax open files            100                  200                  files     \n") != NULL);
    VALUE("limits_stack", limit_line_ok(buf, "Max stack size", RLIMIT_STACK, "bytes"));
    VALUE("limits_cpu", limit_line_ok(buf, "Max cpu time", RLIMIT_CPU, "seconds"));
    VALUE("limits_nice_no_unit", limit_line_ok(buf, "Max nice priority", RLIMIT_NICE, ""));
    VALUE("limits_rttime", limit_line_ok(buf, "Max realtime timeout", RLIMIT_RTTIME, "us"));

    /* exe, thread-self, task/<tid>, fd */
    char link[1024];
    n = SC(SYS_readlink, "/proc/self/exe", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    VALUE("exe_is_argv0", n > 0 && strcmp(link, argv[0]) == 0);
    n = SC(SYS_readlink, "/proc/thread-self", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    sprintf(want, "%d/task/%ld", getpid(), (long)syscall(SYS_gettid));
    VALUE("thread_self_link", n > 0 && strcmp(link, want) == 0);
    {
        struct stat st1, st2;
        sprintf(want, "/proc/self/task/%ld/maps", (long)syscall(SYS_gettid));
        CHECK("task_tid_maps_stat", stat(want, &st1));
        VALUE("task_tid_maps_regular", S_ISREG(st1.st_mode) && st1.st_size == 0);
        CHECK("proc_self_stat_mode", stat("/proc/self/stat", &st2) == 0 ? (long)(st2.st_mode & 07777) : -1);
        CHECK("proc_self_mem_mode", stat("/proc/self/mem", &st2) == 0 ? (long)(st2.st_mode & 07777) : -1);
        CHECK("proc_self_environ_mode", stat("/proc/self/environ", &st2) == 0 ? (long)(st2.st_mode & 07777) : -1);
        CHECK("proc_self_comm_mode", stat("/proc/self/comm", &st2) == 0 ? (long)(st2.st_mode & 07777) : -1);
        CHECK("task_bad_tid", stat("/proc/self/task/999999/maps", &st1));
        CHECK("thread_self_status", stat("/proc/thread-self/status", &st1));
    }

    /* io, oom_score */
    slurp("/proc/self/io", buf, 4096);
    {
        static const char *keys[] = {"rchar: ", "wchar: ", "syscr: ", "syscw: ", "read_bytes: ", "write_bytes: ",
                                     "cancelled_write_bytes: "};
        char *q = buf;
        int ok = 1;
        for (int i = 0; i < 7 && ok; i++) {
            ok = strncmp(q, keys[i], strlen(keys[i])) == 0;
            q = strchr(q, '\n');
            ok = ok && q;
            q = q ? q + 1 : q;
        }
        VALUE("io_keys_in_order", ok && *q == 0);
    }
    n = slurp("/proc/self/oom_score", buf, 64);
    VALUE("oom_score_number", n >= 2 && buf[n - 1] == '\n' && buf[0] >= '0' && buf[0] <= '9');

    /* Rewriting argv: overwrite the NUL at the end of the argument area. */
    {
        char *end = argv[argc - 1] + strlen(argv[argc - 1]);
        *end = 'X';
        n = slurp("/proc/self/cmdline", buf, 4096);
        long len0 = (long)strlen(argv[0]);
        if (argc == 1) {
            /* argv[0] now runs into the first environment string. */
            long expect = (long)strlen(argv[0]) + 1;
            VALUE("cmdline_rewritten_len", n == expect);
            VALUE("cmdline_rewritten_bytes", n == expect && memcmp(buf, argv[0], n) == 0);
        } else {
            VALUE("cmdline_rewritten_len", n == len0 + 1);
            VALUE("cmdline_rewritten_bytes", n == len0 + 1 && memcmp(buf, argv[0], n) == 0);
        }
        *end = 0;
    }
    return 0;
}
