/* Process groups and sessions: getpgid/getpgrp/getsid, setpgid's rules
 * (EINVAL, ESRCH, EPERM across sessions and for session leaders, EACCES
 * once the child has exec'd), setsid (EPERM for a group leader), kill of a
 * process group (negative pid) and of the caller's group (0), and the
 * pgrp/session fields of /proc/self/stat. Children print their own checks
 * while the parent waits, so output is ordered. Never prints a pid. */
#include "check.h"

#include <sys/wait.h>

static int hup_fd = -1;

static void on_hup(int sig)
{
    (void)sig;
    write(hup_fd, "H", 1);
    _exit(0);
}

static int stat_fields(int *pgrp, int *sid)
{
    char buf[512];
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd < 0)
        return -1;
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    char state;
    int ppid;
    return sscanf(p + 2, "%c %d %d %d", &state, &ppid, pgrp, sid) == 4 ? 0 : -1;
}

static void wait_child(const char *name, pid_t pid)
{
    int st = 0;
    MUST(waitpid(pid, &st, 0));
    VALUE(name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* A child that waits until a byte (or EOF) arrives on fd, then exits 0. */
static pid_t waiter(int fd)
{
    pid_t pid = MUST(fork());
    if (pid == 0) {
        char c;
        read(fd, &c, 1);
        _exit(0);
    }
    return pid;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "wait") == 0) {
        /* The exec'd image: tell the parent on fd 3, wait for stdin's EOF. */
        char c;
        write(3, "e", 1);
        read(0, &c, 1);
        return 0;
    }
    start();
    pid_t me = getpid();
    VALUE("getpgrp_is_getpgid0", getpgrp() == SC(SYS_getpgid, 0));
    VALUE("getpgid_self_is_getpgid0", SC(SYS_getpgid, me) == SC(SYS_getpgid, 0));
    VALUE("getsid_self_is_getsid0", SC(SYS_getsid, me) == SC(SYS_getsid, 0));
    CHECK("getpgid_no_such_process", SC(SYS_getpgid, 0x3fffff00));
    CHECK("getsid_no_such_process", SC(SYS_getsid, 0x3fffff00));
    CHECK("getpgid_negative", SC(SYS_getpgid, -5));
    CHECK("setpgid_negative_pgid", SC(SYS_setpgid, 0, -1));
    CHECK("setpgid_no_such_process", SC(SYS_setpgid, 0x3fffff00, 0));
    int pgrp = -1, sid = -1;
    MUST(stat_fields(&pgrp, &sid));
    VALUE("proc_stat_pgrp", pgrp == getpgrp());
    VALUE("proc_stat_session", sid == getsid(0));
    CHECK("kill_own_group_sig0", kill(0, 0));
    CHECK("kill_no_such_group", kill(-0x3fffff00, 0));

    /* A child starts in its parent's group and session. */
    pid_t c = MUST(fork());
    if (c == 0) {
        VALUE("child_in_parent_group", getpgrp() == SC(SYS_getpgid, getppid()));
        VALUE("child_in_parent_session", getsid(0) == SC(SYS_getsid, getppid()));
        CHECK("child_setpgid_parent", SC(SYS_setpgid, getppid(), getppid()));
        CHECK("child_setpgid_self", SC(SYS_setpgid, 0, 0));
        VALUE("child_now_leads_group", getpgrp() == getpid());
        CHECK("child_setsid_as_group_leader", setsid());
        MUST(stat_fields(&pgrp, &sid));
        VALUE("child_proc_stat_pgrp", pgrp == getpid());
        _exit(0);
    }
    wait_child("child1_status", c);

    /* setsid in a child that leads no group: a new session and group. */
    c = MUST(fork());
    if (c == 0) {
        long s = setsid();
        VALUE("setsid_returns_pid", s == getpid());
        VALUE("setsid_sid", getsid(0) == getpid());
        VALUE("setsid_pgid", getpgrp() == getpid());
        CHECK("setsid_again", setsid());
        CHECK("setpgid_session_leader", SC(SYS_setpgid, 0, 0));
        CHECK("setpgid_session_leader_other_group", SC(SYS_setpgid, 0, getpgid(getppid())));
        MUST(stat_fields(&pgrp, &sid));
        VALUE("setsid_proc_stat", pgrp == getpid() && sid == getpid());
        _exit(0);
    }
    wait_child("child2_status", c);

    /* The parent moves children between groups; not across sessions. */
    int p[2];
    MUST(pipe(p));
    pid_t a = waiter(p[0]);
    pid_t b = waiter(p[0]);
    CHECK("setpgid_child_own_group", SC(SYS_setpgid, a, a));
    VALUE("child_group_is_child", SC(SYS_getpgid, a) == a);
    CHECK("setpgid_second_child_joins", SC(SYS_setpgid, b, a));
    VALUE("second_child_group", SC(SYS_getpgid, b) == a);
    CHECK("setpgid_join_missing_group", SC(SYS_setpgid, b, 0x3fffff00));
    CHECK("kill_child_group_sig0", kill(-a, 0));
    CHECK("setpgid_back", SC(SYS_setpgid, b, getpgrp()));
    CHECK("kill_child_group_term", kill(-a, SIGTERM));
    int st = 0;
    MUST(waitpid(a, &st, 0));
    VALUE("group_kill_reached_member", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    MUST(write(p[1], "x", 1));
    MUST(waitpid(b, &st, 0));
    VALUE("group_kill_spared_other_group", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    CHECK("kill_reaped_group", kill(-a, 0));
    CHECK("getpgid_reaped", SC(SYS_getpgid, a));

    /* A child in another session cannot be moved. */
    int q[2];
    MUST(pipe(q));
    c = MUST(fork());
    if (c == 0) {
        setsid();
        write(q[1], "s", 1);
        char ch;
        read(p[0], &ch, 1);
        _exit(0);
    }
    char ch;
    MUST(read(q[0], &ch, 1));
    CHECK("setpgid_child_other_session", SC(SYS_setpgid, c, c));
    CHECK("setpgid_into_other_session_group", SC(SYS_setpgid, 0, c));
    MUST(write(p[1], "x", 1));
    wait_child("child3_status", c);

    /* After exec the parent may no longer change the child's group. */
    int in[2];
    MUST(pipe(in));
    c = MUST(fork());
    if (c == 0) {
        dup2(in[0], 0);
        dup2(q[1], 3);
        close(in[1]);
        execl(argv[0], argv[0], "wait", (char *)NULL);
        _exit(127);
    }
    MUST(read(q[0], &ch, 1)); /* written by the new image */
    CHECK("setpgid_child_after_exec", SC(SYS_setpgid, c, c));
    close(in[1]);
    wait_child("child4_status", c);

    /* A group becomes orphaned with a stopped member when the member's
     * parent (the only link to another group of the session) exits: the
     * member gets SIGHUP (then SIGCONT). The middle process starts a
     * session of its own, so where the grandchild is reparented to does
     * not matter. */
    int h[2];
    MUST(pipe(h));
    c = MUST(fork());
    if (c == 0) {
        setsid();
        pid_t g = fork();
        if (g == 0) {
            setpgid(0, 0);
            hup_fd = h[1];
            signal(SIGHUP, on_hup);
            raise(SIGSTOP);
            write(h[1], "C", 1); /* continued without a hangup */
            _exit(0);
        }
        int gst;
        waitpid(g, &gst, WUNTRACED);
        _exit(WIFSTOPPED(gst) ? 0 : 1);
    }
    wait_child("orphan_parent_status", c);
    close(h[1]);
    char got[4] = {0};
    CHECK("orphaned_member_reports", read(h[0], got, sizeof got));
    VALUE("orphaned_member_got_sighup", got[0] == 'H');
    return 0;
}
