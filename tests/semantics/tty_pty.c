/* Pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname and TIOCGPTN,
 * the locked replica (EIO), the replica's default termios, canonical
 * input with echo, erase, kill and EOF, raw mode with VMIN 0, output
 * processing (ONLCR), FIONREAD, poll readiness, a controlling terminal
 * acquired by a session leader's open, /dev/tty, TIOCGSID/TIOCGPGRP/
 * TIOCSPGRP, ^C (SIGINT) and ^Z (SIGTSTP) for the foreground group,
 * SIGWINCH, SIGTTIN for a background read, and hangups (EIO on the master
 * once the replica is closed; EOF and EIO on the replica once the master
 * is). Never prints a pid or a terminal number. */
#include "check.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>

static int master_fd = -1;

static long rd(int fd, char *buf, long n)
{
    long r = read(fd, buf, n);
    if (r >= 0)
        buf[r] = 0;
    return r;
}

/* Read what the master has (echo, output). Linux processes pty input
 * and output asynchronously (a work queue), so wait for it with poll. */
static long drain(char *buf, long n)
{
    struct pollfd p = {master_fd, POLLIN, 0};
    MUST(poll(&p, 1, -1));
    return rd(master_fd, buf, n);
}

static void wait_readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    MUST(poll(&p, 1, -1));
}

static void expect_text(const char *name, const char *got, const char *want)
{
    VALUE(name, strcmp(got, want) == 0);
    if (strcmp(got, want) != 0) {
        printf("  got:");
        for (const char *p = got; *p; p++)
            printf(" %02x", (unsigned char)*p);
        printf("\n");
    }
}

static int ready(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int sig_pipe[2], ready_pipe[2];
static void note_signal(int sig)
{
    char c = (char)sig;
    write(sig_pipe[1], &c, 1);
}

static void note_signal_and_exit(int sig)
{
    note_signal(sig);
    _exit(0);
}

int main(void)
{
    start();
    char buf[256];
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    MUST(m);
    master_fd = m;
    CHECK("grantpt", grantpt(m));
    int locked_fd = open(ptsname(m), O_RDWR | O_NOCTTY);
    VALUE("open_locked_replica_fails", locked_fd < 0);
    VALUE("open_locked_replica_errno_eio", locked_fd < 0 && errno == EIO);
    CHECK("unlockpt", unlockpt(m));
    const char *name = ptsname(m);
    VALUE("ptsname_prefix", name && strncmp(name, "/dev/pts/", 9) == 0);
    unsigned int n = 99999;
    CHECK("tiocgptn", ioctl(m, TIOCGPTN, &n));
    char expect[64];
    snprintf(expect, sizeof expect, "/dev/pts/%u", n);
    VALUE("tiocgptn_matches_ptsname", strcmp(expect, name) == 0);
    int s = open(name, O_RDWR | O_NOCTTY);
    MUST(s);
    VALUE("isatty_master", isatty(m));
    VALUE("isatty_replica", isatty(s));
    CHECK("tiocgptn_on_replica", ioctl(s, TIOCGPTN, &n));
    struct stat st1, st2;
    MUST(fstat(s, &st1));
    MUST(stat(name, &st2));
    VALUE("replica_is_chr", S_ISCHR(st1.st_mode));
    VALUE("replica_major", major(st1.st_rdev));
    VALUE("replica_same_inode", st1.st_ino == st2.st_ino && st1.st_dev == st2.st_dev);
    VALUE("replica_mode", st1.st_mode & 07777);
    VALUE("ttyname_matches", ttyname(s) && strcmp(ttyname(s), name) == 0);

    struct termios t;
    memset(&t, 0, sizeof t); /* libc leaves padding alone */
    MUST(tcgetattr(s, &t));
    VALUE("default_iflag", t.c_iflag);
    VALUE("default_oflag", t.c_oflag);
    VALUE("default_cflag", t.c_cflag);
    VALUE("default_lflag", t.c_lflag);
    VALUE("default_vintr", t.c_cc[VINTR]);
    VALUE("default_verase", t.c_cc[VERASE]);
    VALUE("default_vkill", t.c_cc[VKILL]);
    VALUE("default_veof", t.c_cc[VEOF]);
    VALUE("default_vmin", t.c_cc[VMIN]);
    VALUE("default_vsusp", t.c_cc[VSUSP]);
    struct termios tm;
    memset(&tm, 0, sizeof tm);
    MUST(tcgetattr(m, &tm));
    VALUE("master_termios_is_replicas", memcmp(&t, &tm, sizeof t) == 0);

    /* Canonical input with echo. */
    MUST(write(m, "ab", 2));
    char echo2[4];
    MUST(read(m, echo2, 2)); /* the echo: input processing is done */
    int avail = -1;
    CHECK("fionread_partial_line", ioctl(s, FIONREAD, &avail));
    VALUE("fionread_partial_line_value", avail);
    VALUE("poll_partial_line", ready(s));
    MUST(write(m, "\n", 1));
    wait_readable(s);
    ioctl(s, FIONREAD, &avail);
    VALUE("fionread_line", avail);
    VALUE("poll_line", ready(s));
    CHECK("read_line", rd(s, buf, sizeof buf - 1));
    expect_text("read_line_text", buf, "ab\n");
    drain(buf, sizeof buf - 1);
    expect_text("echo_line", buf, "\r\n");
    MUST(write(m, "xy\x7fz\n", 5));
    CHECK("read_erased", rd(s, buf, sizeof buf - 1));
    expect_text("read_erased_text", buf, "xz\n");
    drain(buf, sizeof buf - 1);
    expect_text("echo_erase", buf, "xy\b \bz\r\n");
    MUST(write(m, "abc\x15" "d\n", 6));
    CHECK("read_killed", rd(s, buf, sizeof buf - 1));
    expect_text("read_killed_text", buf, "d\n");
    drain(buf, sizeof buf - 1);
    MUST(write(m, "one\ntwo\n", 8));
    CHECK("read_one_line_at_a_time", rd(s, buf, sizeof buf - 1));
    CHECK("read_second_line", rd(s, buf, sizeof buf - 1));
    drain(buf, sizeof buf - 1);
    MUST(write(m, "lo\x04", 3));
    CHECK("read_eof_ends_line", rd(s, buf, sizeof buf - 1));
    drain(buf, sizeof buf - 1);
    MUST(write(m, "\x04", 1));
    CHECK("read_eof_empty", rd(s, buf, sizeof buf - 1));
    MUST(write(m, "\x01\n", 2));
    rd(s, buf, sizeof buf - 1);
    drain(buf, sizeof buf - 1);
    expect_text("echo_ctl", buf, "^A\r\n");

    /* Output processing. */
    MUST(write(s, "out\n", 4));
    CHECK("master_reads_output", drain(buf, sizeof buf - 1));
    expect_text("output_onlcr", buf, "out\r\n");

    /* Raw mode. */
    struct termios raw = t;
    cfmakeraw(&raw);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    CHECK("tcsetattr_raw", tcsetattr(s, TCSANOW, &raw));
    CHECK("read_raw_empty_vmin0", rd(s, buf, sizeof buf - 1));
    MUST(write(m, "q\r\x03", 3));
    wait_readable(s);
    CHECK("read_raw", rd(s, buf, sizeof buf - 1));
    VALUE("read_raw_cr_kept", buf[1] == '\r');
    MUST(write(s, "a\n", 2));
    CHECK("raw_output_no_echo_before", drain(buf, sizeof buf - 1));
    MUST(tcsetattr(s, TCSANOW, &t));

    /* A session with the terminal as controlling terminal. */
    MUST(pipe(sig_pipe));
    MUST(pipe(ready_pipe));
    pid_t c = MUST(fork());
    if (c == 0) {
        close(m);
        MUST(setsid());
        int ttyfd = open("/dev/tty", O_RDWR);
        VALUE("dev_tty_without_ctty_fails", ttyfd < 0 && errno == ENXIO);
        int cs = open(name, O_RDWR); /* a session leader acquires it */
        MUST(cs);
        VALUE("tcgetpgrp_is_own_group", tcgetpgrp(cs) == getpgrp());
        pid_t sid = -1;
        CHECK("tiocgsid", ioctl(cs, TIOCGSID, &sid));
        VALUE("tiocgsid_is_session", sid == getsid(0));
        ttyfd = open("/dev/tty", O_RDWR);
        VALUE("dev_tty_opens", ttyfd >= 0);
        MUST(fstat(ttyfd, &st1));
        VALUE("dev_tty_rdev_major", major(st1.st_rdev));
        VALUE("dev_tty_rdev_minor", minor(st1.st_rdev));
        char sbuf[64];
        int fd = open("/proc/self/stat", O_RDONLY);
        int k = read(fd, sbuf, sizeof sbuf - 1);
        close(fd);
        sbuf[k > 0 ? k : 0] = 0;
        int ppid, pg, se, ttynr, tpgid;
        char stch;
        sscanf(strrchr(sbuf, ')') + 2, "%c %d %d %d %d %d", &stch, &ppid, &pg, &se, &ttynr, &tpgid);
        VALUE("proc_stat_tty_nr_major", (ttynr >> 8) & 0xfff);
        VALUE("proc_stat_tpgid", tpgid == getpgrp());
        CHECK("tiocsctty_again", ioctl(cs, TIOCSCTTY, 0));
        /* Background jobs: SIGTTIN for a read, SIGTTOU for a change and
         * (with TOSTOP) a write; EIO / success when the signal is ignored. */
        for (int kind = 0; kind < 5; kind++) {
            struct termios tostop;
            tcgetattr(cs, &tostop);
            if (kind == 2)
                tostop.c_lflag |= TOSTOP;
            else
                tostop.c_lflag &= ~TOSTOP;
            tcsetattr(cs, TCSANOW, &tostop);
            pid_t b = MUST(fork());
            if (b == 0) {
                setpgid(0, 0);
                struct termios cur;
                tcgetattr(cs, &cur);
                char x;
                long r = 0;
                if (kind == 0)
                    r = read(cs, &x, 1);
                else if (kind == 1)
                    r = tcsetattr(cs, TCSANOW, &cur);
                else if (kind == 2)
                    r = write(cs, "w", 1);
                else if (kind == 3) {
                    signal(SIGTTOU, SIG_IGN);
                    r = tcsetattr(cs, TCSANOW, &cur);
                } else {
                    signal(SIGTTIN, SIG_IGN);
                    r = read(cs, &x, 1);
                }
                _exit(r < 0 ? (errno == EIO ? 20 : 21) : 10);
            }
            setpgid(b, b);
            int bst;
            MUST(waitpid(b, &bst, WUNTRACED));
            char nm[32];
            snprintf(nm, sizeof nm, "background_%d", kind);
            VALUE(nm, WIFSTOPPED(bst) ? 100 + WSTOPSIG(bst) : WIFEXITED(bst) ? WEXITSTATUS(bst) : -1);
            kill(b, SIGKILL);
            waitpid(b, &bst, 0);
        }
        tcgetattr(cs, &t);
        t.c_lflag &= ~TOSTOP;
        tcsetattr(cs, TCSANOW, &t);
        CHECK("tcsetpgrp_missing", tcsetpgrp(cs, 0x3fffff00));
        /* A job in its own group in the foreground gets ^C, ^Z, SIGWINCH. */
        pid_t job = MUST(fork());
        if (job == 0) {
            setpgid(0, 0);
            signal(SIGINT, note_signal);
            signal(SIGWINCH, note_signal);
            write(ready_pipe[1], "r", 1);
            for (;;)
                pause();
        }
        setpgid(job, job);
        char ch;
        MUST(read(ready_pipe[0], &ch, 1));
        CHECK("tcsetpgrp_job", tcsetpgrp(cs, job));
        VALUE("tcgetpgrp_job", tcgetpgrp(cs) == job);
        write(sig_pipe[1], "g", 1); /* tell the parent: type now */
        int wst;
        MUST(waitpid(job, &wst, WUNTRACED));
        VALUE("job_stopped_by", WIFSTOPPED(wst) ? WSTOPSIG(wst) : -1);
        CHECK("tcsetpgrp_back", tcsetpgrp(cs, getpgrp()));
        kill(job, SIGKILL);
        waitpid(job, &wst, 0);
        /* A foreground job gets SIGHUP when the session leader exits. */
        pid_t hup = MUST(fork());
        if (hup == 0) {
            setpgid(0, 0);
            signal(SIGTTOU, SIG_IGN); /* may take the terminal from the background */
            tcsetpgrp(cs, getpgrp());
            signal(SIGHUP, note_signal_and_exit);
            write(ready_pipe[1], "h", 1);
            for (;;)
                pause();
        }
        MUST(read(ready_pipe[0], &ch, 1));
        VALUE("hup_job_in_foreground", tcgetpgrp(cs) == hup);
        _exit(0);
    }
    char ch;
    MUST(read(sig_pipe[0], &ch, 1)); /* the job is in the foreground */
    MUST(write(m, "\x03", 1));
    MUST(read(sig_pipe[0], &ch, 1));
    VALUE("ctrl_c_signal", ch);
    drain(buf, sizeof buf - 1);
    expect_text("ctrl_c_echo", buf, "^C");
    struct winsize ws = {30, 100, 0, 0};
    CHECK("tiocswinsz_master", ioctl(m, TIOCSWINSZ, &ws));
    MUST(read(sig_pipe[0], &ch, 1));
    VALUE("winch_signal", ch);
    struct winsize ws2;
    CHECK("tiocgwinsz_replica", ioctl(s, TIOCGWINSZ, &ws2));
    VALUE("winsize_rows", ws2.ws_row);
    MUST(write(m, "\x1a", 1));
    int cst;
    MUST(waitpid(c, &cst, 0));
    VALUE("session_child_status", WIFEXITED(cst) ? WEXITSTATUS(cst) : 128 + WTERMSIG(cst));
    MUST(read(sig_pipe[0], &ch, 1));
    VALUE("leader_exit_hangs_up_foreground", ch);
    drain(buf, sizeof buf - 1);
    expect_text("ctrl_z_echo", buf, "^Z");

    /* Hangups. */
    close(s);
    CHECK("master_read_after_replica_closed", read(m, buf, 1));
    int s2 = open(name, O_RDWR | O_NOCTTY);
    MUST(s2);
    close(m);
    CHECK("replica_read_after_master_closed", read(s2, buf, 1));
    CHECK("replica_write_after_master_closed", write(s2, "x", 1));
    return 0;
}
