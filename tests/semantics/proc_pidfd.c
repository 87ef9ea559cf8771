/* pidfd_open and pidfd_send_signal: argument rules, signalling a child
 * through its pidfd, poll/epoll readiness when the child exits, and a
 * pidfd of an exited process. */
#include "check.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static void sleep_ms(long ms)
{
    struct timespec d = {0, ms * 1000 * 1000};
    nanosleep(&d, NULL);
}

static volatile int got_usr1;
static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

int main(void)
{
    start();
    CHECK("open_pid_0", SC(SYS_pidfd_open, 0, 0));
    CHECK("open_pid_negative", SC(SYS_pidfd_open, -1, 0));
    CHECK("open_bad_flags", SC(SYS_pidfd_open, getpid(), 1));
    CHECK("open_no_such_pid", SC(SYS_pidfd_open, 999999, 0));
    int self = MUST(SC(SYS_pidfd_open, getpid(), 0));
    VALUE("cloexec_always", MUST(fcntl(self, F_GETFD)));
    VALUE("getfl_rdwr", MUST(fcntl(self, F_GETFL)) == O_RDWR);
    int nb = MUST(SC(SYS_pidfd_open, getpid(), O_NONBLOCK));
    VALUE("getfl_nonblock", MUST(fcntl(nb, F_GETFL)) == (O_RDWR | O_NONBLOCK));
    char c;
    CHECK("read_einval", SC(SYS_read, self, &c, 1));
    struct pollfd pf = {self, POLLIN, 0};
    CHECK("poll_self_alive", poll(&pf, 1, 0));

    signal(SIGUSR1, on_usr1);
    CHECK("send_bad_flags", SC(SYS_pidfd_send_signal, self, SIGUSR1, 0, 8));
    CHECK("send_two_scopes", SC(SYS_pidfd_send_signal, self, SIGUSR1, 0, 3));
    CHECK("send_bad_signal", SC(SYS_pidfd_send_signal, self, 65, 0, 0));
    CHECK("send_bad_fd", SC(SYS_pidfd_send_signal, 99, SIGUSR1, 0, 0));
    int p[2];
    MUST(pipe(p));
    CHECK("send_not_pidfd", SC(SYS_pidfd_send_signal, p[0], SIGUSR1, 0, 0));
    CHECK("send_sig_0", SC(SYS_pidfd_send_signal, self, 0, 0, 0));
    CHECK("send_self", SC(SYS_pidfd_send_signal, self, SIGUSR1, 0, 0));
    VALUE("handler_ran", got_usr1);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    int child = MUST(SC(SYS_pidfd_open, pid, 0));
    struct pollfd cp = {child, POLLIN, 0};
    CHECK("poll_child_alive", poll(&cp, 1, 0));
    int ep = MUST(epoll_create1(0));
    struct epoll_event ev = {EPOLLIN, {.u64 = 9}}, out[1];
    CHECK("epoll_add_pidfd", epoll_ctl(ep, EPOLL_CTL_ADD, child, &ev));
    CHECK("epoll_child_alive", epoll_wait(ep, out, 1, 0));
    CHECK("send_sigterm", SC(SYS_pidfd_send_signal, child, SIGTERM, 0, 0));
    CHECK("epoll_woken_by_exit", epoll_wait(ep, out, 1, 5000));
    VALUE("epoll_data", (long)out[0].data.u64);
    CHECK("poll_child_exited", poll(&cp, 1, 0));
    VALUE("poll_exited_revents", cp.revents);
    CHECK("send_to_zombie", SC(SYS_pidfd_send_signal, child, SIGTERM, 0, 0));
    int status = 0;
    MUST(waitpid(pid, &status, 0));
    VALUE("child_killed_by_sigterm", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    CHECK("send_after_reaped", SC(SYS_pidfd_send_signal, child, SIGTERM, 0, 0));
    CHECK("open_reaped", SC(SYS_pidfd_open, pid, 0));

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        _exit(3);
    }
    int c2 = MUST(SC(SYS_pidfd_open, pid, 0));
    struct pollfd w = {c2, POLLIN, 0};
    CHECK("poll_waits_for_exit", poll(&w, 1, 5000));
    VALUE("poll_wait_revents", w.revents);
    MUST(waitpid(pid, &status, 0));
    VALUE("exit_status", WEXITSTATUS(status));
    return 0;
}
