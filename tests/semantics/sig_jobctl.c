/* Job control: SIGSTOP/SIGTSTP stop a child's whole process, SIGCONT
 * continues it; wait4 with WUNTRACED/WCONTINUED/WNOHANG reports each event
 * once; waitid with WSTOPPED/WCONTINUED/WEXITED/WNOWAIT, P_PID/P_PGID/P_ALL
 * and its siginfo; SIGCHLD's si_code for stop and continue (and
 * SA_NOCLDSTOP); SIGTSTP discarded in an orphaned group; rt_sigsuspend
 * with a temporary mask; pause. Never prints a pid. */
#include "check.h"

#include <pthread.h>
#include <sys/wait.h>

static volatile int chld_code, chld_count, usr1_hits;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    chld_code = si->si_code;
    chld_count++;
}

static void on_usr1(int sig)
{
    (void)sig;
    usr1_hits++;
}

static pid_t sleeper(void)
{
    pid_t pid = MUST(fork());
    if (pid == 0) {
        for (;;)
            pause();
    }
    return pid;
}

static void *spin_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(void)
{
    start();
    int st = 0;
    siginfo_t si;

    /* wait4: stop, continue, kill, each reported once. */
    pid_t c = sleeper();
    CHECK("kill_sigstop", kill(c, SIGSTOP));
    VALUE("wait_untraced_pid", waitpid(c, &st, WUNTRACED) == c);
    VALUE("wifstopped", WIFSTOPPED(st));
    VALUE("wstopsig", WSTOPSIG(st));
    VALUE("stop_status_raw", st);
    CHECK("wait_untraced_again_nohang", waitpid(c, &st, WUNTRACED | WNOHANG));
    CHECK("wait_nohang_no_event", waitpid(c, &st, WNOHANG));
    CHECK("kill_sigcont", kill(c, SIGCONT));
    VALUE("wait_continued_pid", waitpid(c, &st, WCONTINUED) == c);
    VALUE("wifcontinued", WIFCONTINUED(st));
    VALUE("cont_status_raw", st);
    CHECK("wait_continued_again_nohang", waitpid(c, &st, WCONTINUED | WNOHANG));
    CHECK("kill_sigterm", kill(c, SIGTERM));
    VALUE("wait_exit_pid", waitpid(c, &st, 0) == c);
    VALUE("termsig", WIFSIGNALED(st) ? WTERMSIG(st) : -1);

    /* A stopped process dies of SIGKILL; SIGTERM waits for SIGCONT. */
    c = sleeper();
    MUST(kill(c, SIGSTOP));
    MUST(waitpid(c, &st, WUNTRACED));
    CHECK("kill_stopped_sigterm", kill(c, SIGTERM));
    CHECK("wait_stopped_pending_term_nohang", waitpid(c, &st, WNOHANG));
    MUST(kill(c, SIGCONT));
    VALUE("term_after_cont", waitpid(c, &st, 0) == c && WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    c = sleeper();
    MUST(kill(c, SIGSTOP));
    MUST(waitpid(c, &st, WUNTRACED));
    MUST(kill(c, SIGKILL));
    VALUE("sigkill_stopped", waitpid(c, &st, 0) == c && WIFSIGNALED(st) ? WTERMSIG(st) : -1);

    /* A whole thread group stops. The child gets its own group, whose
     * parent (us) is in another group of the session, so SIGTSTP is not
     * discarded as sent to an orphaned group (under the sentry this
     * program is init, and init's own group is orphaned). */
    c = MUST(fork());
    if (c == 0) {
        setpgid(0, 0);
        pthread_t th;
        pthread_create(&th, NULL, spin_thread, NULL);
        for (;;)
            pause();
    }
    setpgid(c, c);
    MUST(kill(c, SIGTSTP));
    VALUE("threaded_stop", waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
    MUST(kill(c, SIGCONT));
    MUST(kill(c, SIGKILL));
    MUST(waitpid(c, &st, 0));

    /* waitid: WNOWAIT leaves the event; siginfo fields. */
    c = sleeper();
    MUST(kill(c, SIGSTOP));
    memset(&si, 0x5a, sizeof si);
    CHECK("waitid_wstopped_nowait", waitid(P_PID, c, &si, WSTOPPED | WNOWAIT));
    VALUE("waitid_signo", si.si_signo);
    VALUE("waitid_code", si.si_code);
    VALUE("waitid_status", si.si_status);
    VALUE("waitid_pid", si.si_pid == c);
    VALUE("waitid_uid", si.si_uid == getuid());
    memset(&si, 0x5a, sizeof si);
    CHECK("waitid_wstopped_again", waitid(P_PID, c, &si, WSTOPPED));
    VALUE("waitid_again_code", si.si_code);
    memset(&si, 0x5a, sizeof si);
    CHECK("waitid_nohang_nothing", waitid(P_PID, c, &si, WSTOPPED | WEXITED | WNOHANG));
    VALUE("waitid_nohang_pid", si.si_pid);
    VALUE("waitid_nohang_signo", si.si_signo);
    MUST(kill(c, SIGCONT));
    memset(&si, 0x5a, sizeof si);
    CHECK("waitid_wcontinued", waitid(P_ALL, 0, &si, WCONTINUED));
    VALUE("waitid_cont_code", si.si_code);
    VALUE("waitid_cont_status", si.si_status);
    MUST(kill(c, SIGKILL));
    memset(&si, 0x5a, sizeof si);
    CHECK("waitid_wexited_nowait", waitid(P_PID, c, &si, WEXITED | WNOWAIT));
    VALUE("waitid_killed_code", si.si_code);
    VALUE("waitid_killed_status", si.si_status);
    CHECK("waitid_wexited", waitid(P_PID, c, &si, WEXITED));
    CHECK("waitid_reaped", waitid(P_PID, c, &si, WEXITED));
    c = MUST(fork());
    if (c == 0)
        _exit(7);
    memset(&si, 0x5a, sizeof si);
    CHECK("waitid_exit", waitid(P_ALL, 0, &si, WEXITED));
    VALUE("waitid_exit_code", si.si_code);
    VALUE("waitid_exit_status", si.si_status);

    /* waitid P_PGID. */
    c = MUST(fork());
    if (c == 0) {
        setpgid(0, 0);
        _exit(3);
    }
    setpgid(c, c);
    CHECK("waitid_pgid_own_group_nohang", waitid(P_PGID, 0, &si, WEXITED | WNOHANG));
    CHECK("waitid_pgid", waitid(P_PGID, c, &si, WEXITED));
    VALUE("waitid_pgid_status", si.si_status);

    /* waitid argument errors. */
    CHECK("waitid_no_event_options", waitid(P_ALL, 0, &si, WNOHANG));
    CHECK("waitid_bad_options", SC(SYS_waitid, P_ALL, 0, &si, WEXITED | 0x100, 0));
    CHECK("waitid_pid_zero", SC(SYS_waitid, P_PID, 0, &si, WEXITED, 0));
    CHECK("waitid_bad_idtype", SC(SYS_waitid, 7, 0, &si, WEXITED, 0));
    CHECK("waitid_pgid_negative", SC(SYS_waitid, P_PGID, -1, &si, WEXITED, 0));
    CHECK("waitid_pidfd_not_pidfd", SC(SYS_waitid, 3, 0, &si, WEXITED, 0));
    CHECK("waitid_no_children", waitid(P_ALL, 0, &si, WEXITED));
    CHECK("wait4_bad_options", SC(SYS_wait4, -1, &st, 0x100, 0));
    CHECK("wait4_no_children", SC(SYS_wait4, -1, &st, WUNTRACED, 0));

    /* SIGCHLD si_code for stop and continue; SA_NOCLDSTOP. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    MUST(sigaction(SIGCHLD, &sa, NULL));
    /* Linux sends CLD_CONTINUED when the continued child next runs, maybe
     * after waitpid returned: wait for each SIGCHLD with it blocked. */
    sigset_t chld, unblocked;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    MUST(sigprocmask(SIG_BLOCK, &chld, &unblocked));
    c = sleeper();
    int count0 = chld_count;
    MUST(kill(c, SIGSTOP));
    MUST(waitpid(c, &st, WUNTRACED));
    while (chld_count == count0)
        sigsuspend(&unblocked);
    VALUE("sigchld_stop_code", chld_code);
    count0 = chld_count;
    MUST(kill(c, SIGCONT));
    MUST(waitpid(c, &st, WCONTINUED));
    while (chld_count == count0)
        sigsuspend(&unblocked);
    VALUE("sigchld_cont_code", chld_code);
    MUST(sigprocmask(SIG_SETMASK, &unblocked, NULL));
    sa.sa_flags |= SA_NOCLDSTOP;
    MUST(sigaction(SIGCHLD, &sa, NULL));
    int before = chld_count;
    MUST(kill(c, SIGSTOP));
    MUST(waitpid(c, &st, WUNTRACED));
    VALUE("nocldstop_no_sigchld", chld_count - before);
    MUST(kill(c, SIGKILL));
    MUST(waitpid(c, &st, 0));
    VALUE("sigchld_exit_code", chld_code);
    signal(SIGCHLD, SIG_DFL);

    /* SIGTSTP is discarded in an orphaned process group; SIGSTOP is not. */
    int p[2];
    MUST(pipe(p));
    c = MUST(fork());
    if (c == 0) {
        setsid(); /* its group's only member has its parent in another session */
        write(p[1], "s", 1);
        for (;;)
            pause();
    }
    char ch;
    MUST(read(p[0], &ch, 1));
    MUST(kill(c, SIGTSTP));
    MUST(kill(c, SIGTTIN));
    MUST(kill(c, SIGTTOU));
    MUST(kill(c, SIGSTOP));
    VALUE("orphaned_stops_with", waitpid(c, &st, WUNTRACED) == c && WIFSTOPPED(st) ? WSTOPSIG(st) : -1);
    MUST(kill(c, SIGKILL));
    MUST(waitpid(c, &st, 0));

    /* rt_sigsuspend: the temporary mask, EINTR, the old mask back. */
    signal(SIGUSR1, on_usr1);
    sigset_t block, old, during;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    MUST(sigprocmask(SIG_BLOCK, &block, &old));
    MUST(kill(getpid(), SIGUSR1)); /* pending, blocked */
    VALUE("usr1_before_suspend", usr1_hits);
    sigemptyset(&during);
    CHECK("sigsuspend_pending", sigsuspend(&during));
    VALUE("usr1_after_suspend", usr1_hits);
    sigset_t now;
    MUST(sigprocmask(SIG_BLOCK, NULL, &now));
    VALUE("mask_restored", sigismember(&now, SIGUSR1));
    c = MUST(fork());
    if (c == 0) {
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    CHECK("sigsuspend_woken", sigsuspend(&during));
    VALUE("usr1_after_woken", usr1_hits);
    MUST(waitpid(c, &st, 0));
    CHECK("sigsuspend_bad_size", SC(SYS_rt_sigsuspend, &during, 4));
    CHECK("sigsuspend_efault", SC(SYS_rt_sigsuspend, 8, 8));
    MUST(sigprocmask(SIG_SETMASK, &old, NULL));

    /* pause returns EINTR after a handler (the child keeps signalling, so
     * a signal arriving before pause starts cannot hang the test). */
    c = MUST(fork());
    if (c == 0) {
        for (;;) {
            kill(getppid(), SIGUSR1);
            usleep(1000);
        }
    }
    CHECK("pause", pause());
    MUST(kill(c, SIGKILL));
    MUST(waitpid(c, &st, 0));
    return 0;
}
