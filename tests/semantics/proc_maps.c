/* /proc/self/maps, smaps, stat, statm and status: line formats, names,
 * split and merge after mprotect, values that must agree with what the
 * process knows about itself (gVisor proc.cc ProcSelfMaps*, ProcPidStat*,
 * ProcPidStatus*). Addresses, pids and times are never printed: each check
 * prints a verdict computed in the program. Files are read with raw
 * syscalls into static buffers so reading never changes the address space. */
#include "check.h"
#include <sys/sysmacros.h>

#define BUFSZ (1 << 18)
static char maps_buf[BUFSZ], buf2[BUFSZ], line[4096];

/* Read a whole file in `chunk`-byte reads; NUL-terminates; returns length. */
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

/* Copy line `i` (0-based, without '\n') of text into `line`; 0 if none. */
static int nth_line(const char *text, int i, char *out)
{
    const char *p = text;
    for (; i > 0; i--) {
        p = strchr(p, '\n');
        if (!p)
            return 0;
        p++;
    }
    if (!*p)
        return 0;
    const char *e = strchr(p, '\n');
    long n = e ? e - p : (long)strlen(p);
    memcpy(out, p, n);
    out[n] = 0;
    return 1;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

/* Linux's maps line: prefix with trailing space, names padded to column 73. */
static void fmt_line(char *out, unsigned long s, unsigned long e, const char *perms, unsigned long off,
                     unsigned maj, unsigned min, unsigned long ino, const char *name)
{
    int n = sprintf(out, "%08lx-%08lx %s %08lx %02x:%02x %lu ", s, e, perms, off, maj, min, ino);
    if (name && *name) {
        while (n < 72)
            out[n++] = ' ';
        out[n++] = ' ';
        strcpy(out + n, name);
    } else {
        out[n] = 0;
    }
}

/* Find the maps line covering addr; fills fields; 1 if found. */
struct ml {
    unsigned long s, e, off, ino;
    char perms[5];
    unsigned maj, min;
    char name[1024];
    int wellformed;
};

static int parse_line(const char *l, struct ml *m)
{
    int pos = 0;
    m->name[0] = 0;
    if (sscanf(l, "%lx-%lx %4s %lx %x:%x %lu%n", &m->s, &m->e, m->perms, &m->off, &m->maj, &m->min, &m->ino,
               &pos) != 7)
        return 0;
    /* the hex fields: at least 8 lowercase digits, no leading 0x */
    m->wellformed = l[pos] == ' ';
    for (const char *c = l; *c && *c != ' '; c++)
        if (*c >= 'A' && *c <= 'F')
            m->wellformed = 0;
    int plen = pos + 1; /* prefix with its trailing space */
    if (l[plen] != 0) {
        int col = plen < 72 ? 73 : plen + 1;
        for (int i = plen; i < col; i++)
            if (l[i] != ' ')
                m->wellformed = 0;
        if (l[col] == ' ' || l[col] == 0)
            m->wellformed = 0;
        strcpy(m->name, l + col);
    }
    const char *pm = m->perms;
    if (strlen(pm) != 4 || (pm[0] != 'r' && pm[0] != '-') || (pm[1] != 'w' && pm[1] != '-') ||
        (pm[2] != 'x' && pm[2] != '-') || (pm[3] != 'p' && pm[3] != 's'))
        m->wellformed = 0;
    return 1;
}

static int find_line(const char *text, unsigned long addr, struct ml *m)
{
    for (int i = 0; nth_line(text, i, line); i++)
        if (parse_line(line, m) && m->s <= addr && addr < m->e)
            return 1;
    return 0;
}

/* Number of maps lines overlapping [s, e). */
static int lines_in(const char *text, unsigned long s, unsigned long e)
{
    struct ml m;
    int n = 0;
    for (int i = 0; nth_line(text, i, line); i++)
        if (parse_line(line, &m) && m.s < e && s < m.e)
            n++;
    return n;
}

/* 1 if the maps text has exactly the line `want` (without '\n'). */
static int has_line(const char *text, const char *want)
{
    char w[1200];
    sprintf(w, "%s\n", want);
    const char *p = strstr(text, w);
    return p && (p == text || p[-1] == '\n');
}

/* Field `i` (1-based) of /proc/self/stat, after the comm. */
static char stat_buf[4096];
static char *stat_fields[64];
static int stat_nfields;

static void load_stat(void)
{
    slurp("/proc/self/stat", stat_buf, 4000);
    stat_nfields = 0;
    char *rp = strrchr(stat_buf, ')');
    stat_fields[stat_nfields++] = stat_buf; /* pid */
    stat_fields[stat_nfields++] = strchr(stat_buf, '(');
    char *p = rp + 2;
    while (*p && *p != '\n' && stat_nfields < 64) {
        stat_fields[stat_nfields++] = p;
        while (*p && *p != ' ' && *p != '\n')
            p++;
        if (*p == ' ')
            p++;
    }
}

static unsigned long statf(int i)
{
    return strtoul(stat_fields[i - 1], NULL, 10);
}

/* The value after "Key:\t" in status text, copied into out; 1 if found. */
static int status_value(const char *text, const char *key, char *out)
{
    char k[64];
    sprintf(k, "%s:\t", key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        if (strncmp(p, k, strlen(k)) == 0) {
            const char *v = p + strlen(k), *e = strchr(v, '\n');
            long n = e ? e - v : (long)strlen(v);
            memcpy(out, v, n);
            out[n] = 0;
            return 1;
        }
    }
    return 0;
}

static const char *basename_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

extern char **environ;
static int global_var = 42;

static void handler(int sig)
{
    (void)sig;
}

int main(int argc, char **argv)
{
    start();
    int local = 1;
    char exe[1024];
    long exelen = SC(SYS_readlink, "/proc/self/exe", exe, sizeof exe - 1);
    exe[exelen > 0 ? exelen : 0] = 0;

    /* Grow the heap so [heap] exists. */
    unsigned long brk0 = (unsigned long)SC(SYS_brk, 0);
    unsigned long brk1 = (unsigned long)SC(SYS_brk, brk0 + 2 * PAGE);
    ((volatile char *)brk1)[-1] = 1;

    long n = slurp("/proc/self/maps", maps_buf, 4096);
    VALUE("maps_read_nonempty", n > 0 && maps_buf[n - 1] == '\n');
    int all_ok = 1, sorted = 1, nl = 0;
    unsigned long prev_end = 0;
    struct ml m;
    for (int i = 0; nth_line(maps_buf, i, line); i++, nl++) {
        if (!parse_line(line, &m) || !m.wellformed || m.s >= m.e)
            all_ok = 0;
        if (m.s < prev_end)
            sorted = 0;
        prev_end = m.e;
    }
    VALUE("maps_lines_wellformed", all_ok);
    VALUE("maps_lines_sorted_disjoint", sorted);
    VALUE("maps_line_count_matches_newlines", nl == count_lines(maps_buf));
    nth_line(maps_buf, nl - 1, line);
    VALUE("maps_last_is_vsyscall",
          strcmp(line, "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]") == 0);
    VALUE("maps_heap_named", find_line(maps_buf, brk1 - 1, &m) && strcmp(m.name, "[heap]") == 0);
    VALUE("maps_heap_ends_at_brk", find_line(maps_buf, brk1 - 1, &m) && m.e == brk1);
    VALUE("maps_heap_perms", find_line(maps_buf, brk1 - 1, &m) && strcmp(m.perms, "rw-p") == 0 && m.off == 0 &&
                                 m.ino == 0 && m.maj == 0 && m.min == 0);
    VALUE("maps_stack_named", find_line(maps_buf, (unsigned long)&local, &m) && strcmp(m.name, "[stack]") == 0);
    VALUE("maps_stack_perms", find_line(maps_buf, (unsigned long)&local, &m) && strcmp(m.perms, "rw-p") == 0);
    struct stat st;
    MUST(stat(exe, &st));
    int code_ok = find_line(maps_buf, (unsigned long)main, &m);
    VALUE("maps_code_names_exe", code_ok && strcmp(m.name, exe) == 0);
    VALUE("maps_code_perms", code_ok && strcmp(m.perms, "r-xp") == 0);
    VALUE("maps_code_inode", code_ok && m.ino == st.st_ino);
    VALUE("maps_code_device", code_ok && m.maj == major(st.st_dev) && m.min == minor(st.st_dev));
    VALUE("maps_code_offset_page_aligned", code_ok && m.off % PAGE == 0);
    int data_ok = find_line(maps_buf, (unsigned long)&global_var, &m);
    VALUE("maps_data_writable_private", data_ok && m.perms[1] == 'w' && m.perms[3] == 'p');

    /* An anonymous mapping between PROT_NONE guards. */
    char *a = arena(8);
    map_fixed(a + 2 * PAGE, 3 * PAGE, RW);
    unsigned long A = (unsigned long)a;
    char want[1200];
    slurp("/proc/self/maps", maps_buf, 4096);
    VALUE("anon_lines_in_arena", lines_in(maps_buf, A, A + 8 * PAGE));
    fmt_line(want, A + 2 * PAGE, A + 5 * PAGE, "rw-p", 0, 0, 0, 0, NULL);
    VALUE("anon_line_exact", has_line(maps_buf, want));
    fmt_line(want, A, A + 2 * PAGE, "---p", 0, 0, 0, 0, NULL);
    VALUE("anon_guard_line_exact", has_line(maps_buf, want));
    find_line(maps_buf, A + 2 * PAGE, &m);
    VALUE("anon_line_trailing_space", line[strlen(line) - 1] == ' ' && line[strlen(line) - 2] == '0');

    MUST(SC(SYS_mprotect, a + 3 * PAGE, PAGE, PROT_READ));
    slurp("/proc/self/maps", maps_buf, 4096);
    VALUE("mprotect_split_lines", lines_in(maps_buf, A, A + 8 * PAGE));
    fmt_line(want, A + 3 * PAGE, A + 4 * PAGE, "r--p", 0, 0, 0, 0, NULL);
    VALUE("mprotect_split_middle_exact", has_line(maps_buf, want));
    fmt_line(want, A + 2 * PAGE, A + 3 * PAGE, "rw-p", 0, 0, 0, 0, NULL);
    VALUE("mprotect_split_left_exact", has_line(maps_buf, want));
    fmt_line(want, A + 4 * PAGE, A + 5 * PAGE, "rw-p", 0, 0, 0, 0, NULL);
    VALUE("mprotect_split_right_exact", has_line(maps_buf, want));
    MUST(SC(SYS_mprotect, a + 3 * PAGE, PAGE, RW));
    slurp("/proc/self/maps", maps_buf, 4096);
    VALUE("mprotect_merge_lines", lines_in(maps_buf, A, A + 8 * PAGE));
    fmt_line(want, A + 2 * PAGE, A + 5 * PAGE, "rw-p", 0, 0, 0, 0, NULL);
    VALUE("mprotect_merge_exact", has_line(maps_buf, want));

    /* smaps of the anonymous region before and after touching it. */
    slurp("/proc/self/smaps", buf2, 4096);
    char hdr[1200];
    fmt_line(hdr, A + 2 * PAGE, A + 5 * PAGE, "rw-p", 0, 0, 0, 0, NULL);
    strcat(hdr, "\n");
    char *sm = strstr(buf2, hdr);
    VALUE("smaps_entry_found", sm != NULL);
    VALUE("smaps_size", sm && strncmp(sm + strlen(hdr), "Size:                 12 kB\n", 28) == 0);
    VALUE("smaps_rss_untouched", sm && strncmp(strstr(sm, "\nRss:") + 1, "Rss:                   0 kB\n", 28) == 0);
    memset(a + 2 * PAGE, 'x', 3 * PAGE);
    slurp("/proc/self/smaps", buf2, 4096);
    sm = strstr(buf2, hdr);
    VALUE("smaps_rss_touched", sm && strncmp(strstr(sm, "\nRss:") + 1, "Rss:                  12 kB\n", 28) == 0);
    VALUE("smaps_anonymous_touched",
          sm && strncmp(strstr(sm, "\nAnonymous:") + 1, "Anonymous:            12 kB\n", 28) == 0);
    {
        static const char *keys[] = {"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Shared_Clean",
                                     "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous",
                                     "AnonHugePages", "Swap", "Locked", "VmFlags"};
        int ok = sm != NULL;
        char *p = sm;
        for (unsigned i = 0; ok && i < sizeof keys / sizeof *keys; i++) {
            char k[64];
            sprintf(k, "\n%s:", keys[i]);
            char *q = strstr(p, k);
            ok = q != NULL;
            p = q ? q + 1 : p;
        }
        VALUE("smaps_keys_in_order", ok);
        char *vf = sm ? strstr(sm, "\nVmFlags: ") : NULL;
        VALUE("smaps_vmflags_anon_rw", vf && strncmp(vf + 1, "VmFlags: rd wr mr mw me ac \n", 28) == 0);
    }
    MUST(SC(SYS_munmap, a, 8 * PAGE));
    slurp("/proc/self/maps", maps_buf, 4096);
    VALUE("munmap_lines_gone", lines_in(maps_buf, A, A + 8 * PAGE));

    /* A private file mapping at an offset, and a shared anonymous one. */
    int fd = make_pattern_file("mapped", 3 * PAGE);
    char cwd[512], path[1024];
    MUST(getcwd(cwd, sizeof cwd) != NULL ? 0 : -1);
    sprintf(path, "%s/mapped", cwd);
    char *f = (char *)MUST(SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE));
    struct stat fst;
    MUST(fstat(fd, &fst));
    slurp("/proc/self/maps", maps_buf, 4096);
    fmt_line(want, (unsigned long)f, (unsigned long)f + PAGE, "r--p", PAGE, major(fst.st_dev), minor(fst.st_dev),
             fst.st_ino, path);
    VALUE("file_mapping_line_exact", has_line(maps_buf, want));
    char *sh = (char *)MUST(SC(SYS_mmap, 0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    slurp("/proc/self/maps", maps_buf, 4096);
    VALUE("shared_anon_line", find_line(maps_buf, (unsigned long)sh, &m) && strcmp(m.perms, "rw-s") == 0 &&
                                  strcmp(m.name, "/dev/zero (deleted)") == 0 && m.maj == 0 && m.min == 1);

    /* Sequential small reads see the same text as one big read. */
    {
        static char small[BUFSZ];
        long a1 = slurp("/proc/self/maps", maps_buf, 65536);
        long a2 = slurp("/proc/self/maps", small, 7);
        VALUE("maps_small_reads_same", a1 == a2 && memcmp(maps_buf, small, a1) == 0);
        int mfd = (int)MUST(SC(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY, 0));
        char c[16];
        CHECK("maps_read_then_seek_cur", SC(SYS_read, mfd, c, 10) == 10 ? SC(SYS_lseek, mfd, 0, SEEK_CUR) : -2);
        CHECK("maps_seek_set", SC(SYS_lseek, mfd, 5, SEEK_SET));
        VALUE("maps_read_after_seek", SC(SYS_read, mfd, c, 4) == 4 && memcmp(c, maps_buf + 5, 4) == 0);
        CHECK("maps_seek_end", SC(SYS_lseek, mfd, 0, SEEK_END));
        CHECK("maps_write", SC(SYS_write, mfd, "x", 1));
        SC(SYS_close, mfd);
    }

    /* stat */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    MUST(sigprocmask(SIG_BLOCK, &set, NULL));
    signal(SIGUSR2, handler);
    load_stat();
    VALUE("stat_field_count", stat_nfields);
    VALUE("stat_ends_newline", stat_buf[strlen(stat_buf) - 1] == '\n');
    VALUE("stat_pid", statf(1) == (unsigned long)getpid());
    {
        char cm[64];
        snprintf(cm, sizeof cm, "(%.15s)", basename_of(argv[0]));
        VALUE("stat_comm", strncmp(stat_fields[1], cm, strlen(cm)) == 0 && stat_fields[1][strlen(cm)] == ' ');
    }
    VALUE("stat_state_running", stat_fields[2][0] == 'R' && stat_fields[2][1] == ' ');
    VALUE("stat_ppid", statf(4) == (unsigned long)getppid());
    VALUE("stat_num_threads", statf(20));
    VALUE("stat_itrealvalue", statf(21));
    unsigned long vsum = 0;
    slurp("/proc/self/maps", maps_buf, 65536);
    for (int i = 0; nth_line(maps_buf, i, line); i++)
        if (parse_line(line, &m) && strcmp(m.name, "[vsyscall]") != 0)
            vsum += m.e - m.s;
    VALUE("stat_vsize_is_maps_total", statf(23) == vsum);
    /* rss is read from per-cpu counters on Linux: small processes may see 0. */
    VALUE("stat_rss_at_most_vsize", statf(24) * PAGE <= statf(23));
    VALUE("stat_code_bounds", statf(26) <= (unsigned long)main && (unsigned long)main < statf(27));
    VALUE("stat_startstack_is_initial_sp", statf(28) == (unsigned long)argv - 8);
    VALUE("stat_blocked", statf(32) == (1UL << (SIGUSR1 - 1)));
    VALUE("stat_ignored", statf(33) == (1UL << (SIGPIPE - 1)));
    VALUE("stat_caught_usr2", (statf(34) >> (SIGUSR2 - 1)) & 1);
    VALUE("stat_exit_signal", statf(38));
    VALUE("stat_start_brk", statf(47) <= brk0 && statf(47) > 0);
    VALUE("stat_arg_start", statf(48) == (unsigned long)argv[0]);
    VALUE("stat_arg_end", statf(49) == (unsigned long)argv[argc - 1] + strlen(argv[argc - 1]) + 1);
    VALUE("stat_env_start", environ[0] && statf(50) == (unsigned long)environ[0]);
    {
        int ne = 0;
        while (environ[ne])
            ne++;
        VALUE("stat_env_end", ne && statf(51) == (unsigned long)environ[ne - 1] + strlen(environ[ne - 1]) + 1);
    }
    VALUE("stat_exit_code", statf(52));

    /* statm and status */
    static char status[8192];
    char sv[256];
    slurp("/proc/self/status", status, 8000);
    long vs[7] = {0};
    slurp("/proc/self/statm", buf2, 4000);
    int nstatm = sscanf(buf2, "%ld %ld %ld %ld %ld %ld %ld", &vs[0], &vs[1], &vs[2], &vs[3], &vs[4], &vs[5], &vs[6]);
    VALUE("statm_fields", nstatm);
    VALUE("statm_size_is_vsize", (unsigned long)vs[0] * PAGE == vsum);
    VALUE("statm_resident_sane", vs[1] >= 0 && vs[1] <= vs[0] && vs[2] <= vs[0] && vs[3] <= vs[0]);
    VALUE("statm_lib_dt_zero", vs[4] == 0 && vs[6] == 0);
    {
        long vmdata = -1, vmstk = -1;
        if (status_value(status, "VmData", sv))
            vmdata = strtol(sv, NULL, 10);
        if (status_value(status, "VmStk", sv))
            vmstk = strtol(sv, NULL, 10);
        VALUE("statm_data_is_vmdata_plus_vmstk", vs[5] * 4 == vmdata + vmstk);
    }
    {
        static const char *keys[] = {"Name", "Umask", "State", "Tgid", "Pid", "PPid", "TracerPid", "Uid", "Gid",
                                     "FDSize", "Groups", "VmPeak", "VmSize", "VmRSS", "RssAnon", "RssFile",
                                     "VmData", "VmStk", "VmExe", "Threads", "SigQ", "SigPnd", "ShdPnd", "SigBlk",
                                     "SigIgn", "SigCgt", "CapInh", "CapPrm", "CapEff", "CapBnd", "Seccomp",
                                     "Cpus_allowed", "Mems_allowed", "voluntary_ctxt_switches",
                                     "nonvoluntary_ctxt_switches"};
        const char *p = status;
        int ok = 1;
        for (unsigned i = 0; i < sizeof keys / sizeof *keys; i++) {
            char k[64];
            sprintf(k, "%s:\t", keys[i]);
            const char *q = strstr(p, k);
            if (!q || (q != status && q[-1] != '\n')) {
                ok = 0;
                break;
            }
            p = q + 1;
        }
        VALUE("status_keys_in_order", ok);
        int tabbed = 1;
        for (int i = 0; nth_line(status, i, line); i++) {
            char *c = strchr(line, ':');
            if (!c || c[1] != '\t' || strchr(line, ' ') == line)
                tabbed = 0;
        }
        VALUE("status_lines_key_colon_tab", tabbed);
    }
    {
        char cm[64];
        snprintf(cm, sizeof cm, "%.15s", basename_of(argv[0]));
        VALUE("status_name", status_value(status, "Name", sv) && strcmp(sv, cm) == 0);
    }
    VALUE("status_umask", status_value(status, "Umask", sv) && strcmp(sv, "0022") == 0);
    VALUE("status_state", status_value(status, "State", sv) && strcmp(sv, "R (running)") == 0);
    VALUE("status_tgid", status_value(status, "Tgid", sv) && atol(sv) == getpid());
    VALUE("status_pid", status_value(status, "Pid", sv) && atol(sv) == syscall(SYS_gettid));
    VALUE("status_ppid", status_value(status, "PPid", sv) && atol(sv) == getppid());
    VALUE("status_tracerpid", status_value(status, "TracerPid", sv) && strcmp(sv, "0") == 0);
    {
        char u[128];
        sprintf(u, "%d\t%d\t%d\t%d", getuid(), geteuid(), geteuid(), geteuid());
        VALUE("status_uid", status_value(status, "Uid", sv) && strcmp(sv, u) == 0);
        sprintf(u, "%d\t%d\t%d\t%d", getgid(), getegid(), getegid(), getegid());
        VALUE("status_gid", status_value(status, "Gid", sv) && strcmp(sv, u) == 0);
    }
    VALUE("status_groups_trailing_space", status_value(status, "Groups", sv) && sv[strlen(sv) - 1] == ' ');
    VALUE("status_fdsize", status_value(status, "FDSize", sv) && atol(sv) >= 64 && (atol(sv) & (atol(sv) - 1)) == 0);
    VALUE("status_vmsize_kb", status_value(status, "VmSize", sv) && strtoul(sv, NULL, 10) * 1024 == vsum &&
                                  strcmp(sv + strlen(sv) - 3, " kB") == 0 && strlen(sv) >= 11);
    VALUE("status_threads", status_value(status, "Threads", sv) && strcmp(sv, "1") == 0);
    VALUE("status_sigblk", status_value(status, "SigBlk", sv) && strcmp(sv, "0000000000000200") == 0);
    VALUE("status_sigign", status_value(status, "SigIgn", sv) && strcmp(sv, "0000000000001000") == 0);
    VALUE("status_sigcgt_usr2", status_value(status, "SigCgt", sv) && (strtoul(sv, NULL, 16) >> 11) & 1);
    VALUE("status_sigpnd", status_value(status, "SigPnd", sv) && strcmp(sv, "0000000000000000") == 0);
    VALUE("status_seccomp", status_value(status, "Seccomp", sv) && strcmp(sv, "0") == 0);
    return 0;
}
