/* epoll: create and ctl errors in Linux's order, level-triggered,
 * EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLHUP/EPOLLERR always
 * reported, nesting and ELOOP, closing a watched fd (the item goes with
 * the last reference), timeouts, waits woken by another process and by
 * signals, epoll_pwait's signal mask, epoll_pwait2, eventfds. */
#include "check.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec d = {0, ms * 1000 * 1000};
    nanosleep(&d, NULL);
}

static int ctl(int ep, int op, int fd, unsigned events, uint64_t data)
{
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return (int)SC(SYS_epoll_ctl, ep, op, fd, &ev);
}

static struct epoll_event got[8];

/* epoll_wait with timeout 0, printing the count, then each event. */
static void wait_report(const char *name, int ep, int max)
{
    char n[96];
    memset(got, 0, sizeof got);
    errno = 0;
    long r = SC(SYS_epoll_wait, ep, got, max, 0);
    report(name, r, errno);
    for (long i = 0; i < r; i++) {
        snprintf(n, sizeof n, "%s_%ld_events", name, i);
        VALUE(n, got[i].events);
        snprintf(n, sizeof n, "%s_%ld_data", name, i);
        VALUE(n, (long)got[i].data.u64);
    }
}

static volatile int handled;
static void on_signal(int sig)
{
    (void)sig;
    handled++;
}

int main(void)
{
    start();
    char c;
    CHECK("create_size_0", SC(SYS_epoll_create, 0));
    CHECK("create_size_negative", SC(SYS_epoll_create, -1));
    CHECK("create1_bad_flags", SC(SYS_epoll_create1, 1));
    int old = MUST(SC(SYS_epoll_create, 1));
    VALUE("create_no_cloexec", MUST(fcntl(old, F_GETFD)));
    close(old);
    int ep = MUST(SC(SYS_epoll_create1, EPOLL_CLOEXEC));
    VALUE("create1_cloexec", MUST(fcntl(ep, F_GETFD)));
    VALUE("getfl_rdwr", MUST(fcntl(ep, F_GETFL)) == O_RDWR);
    char name[64] = {0};
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", ep);
    MUST(readlink(link, name, sizeof name - 1));
    VALUE("proc_fd_name", strcmp(name, "anon_inode:[eventpoll]") == 0);
    CHECK("read_epoll_fd", SC(SYS_read, ep, &c, 1));

    int p[2];
    MUST(pipe(p));
    int file = open_file("file", O_RDWR | O_CREAT);
    int dir = open_file(".", O_RDONLY | O_DIRECTORY);
    int null = open_file("/dev/null", O_RDWR);
    struct epoll_event ev = {EPOLLIN, {0}};
    CHECK("ctl_bad_epfd", ctl(99, EPOLL_CTL_ADD, p[0], EPOLLIN, 0));
    CHECK("ctl_bad_fd", ctl(ep, EPOLL_CTL_ADD, 99, EPOLLIN, 0));
    CHECK("ctl_bad_event_pointer", SC(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, p[0], 8));
    CHECK("ctl_bad_event_pointer_bad_fd", SC(SYS_epoll_ctl, 99, EPOLL_CTL_ADD, p[0], 8));
    CHECK("ctl_regular_file_eperm", ctl(ep, EPOLL_CTL_ADD, file, EPOLLIN, 0));
    CHECK("ctl_directory_eperm", ctl(ep, EPOLL_CTL_ADD, dir, EPOLLIN, 0));
    CHECK("ctl_dev_null_eperm", ctl(ep, EPOLL_CTL_ADD, null, EPOLLIN, 0));
    CHECK("ctl_not_epoll", ctl(p[0], EPOLL_CTL_ADD, p[1], EPOLLIN, 0));
    CHECK("ctl_not_epoll_regular_target", ctl(p[0], EPOLL_CTL_ADD, file, EPOLLIN, 0));
    CHECK("ctl_self", ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0));
    CHECK("ctl_bad_op", ctl(ep, 7, p[0], EPOLLIN, 0));
    CHECK("ctl_mod_absent", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN, 0));
    CHECK("ctl_del_absent", ctl(ep, EPOLL_CTL_DEL, p[0], 0, 0));
    CHECK("ctl_add", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 10));
    CHECK("ctl_add_again", ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 10));
    CHECK("ctl_del_null_event", SC(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, p[0], 0));
    CHECK("ctl_del_again", SC(SYS_epoll_ctl, ep, EPOLL_CTL_DEL, p[0], 0));
    (void)ev;

    /* epoll_wait's argument checks. */
    CHECK("wait_maxevents_0", SC(SYS_epoll_wait, ep, got, 0, 0));
    CHECK("wait_maxevents_negative", SC(SYS_epoll_wait, ep, got, -1, 0));
    CHECK("wait_bad_epfd", SC(SYS_epoll_wait, 99, got, 1, 0));
    CHECK("wait_not_epoll", SC(SYS_epoll_wait, p[0], got, 1, 0));
    CHECK("wait_kernel_address", SC(SYS_epoll_wait, ep, -4096L, 1, 0));
    CHECK("wait_null_nothing_ready", SC(SYS_epoll_wait, ep, 0, 1, 0));
    wait_report("wait_empty", ep, 8);

    /* Level-triggered: reported while data is there; only asked events. */
    MUST(ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLRDHUP, 11));
    MUST(ctl(ep, EPOLL_CTL_ADD, p[1], EPOLLOUT, 12));
    wait_report("lt_write_end_only", ep, 8);
    MUST(write(p[1], "ab", 2));
    wait_report("lt_both", ep, 8);
    CHECK("wait_null_with_event", SC(SYS_epoll_wait, ep, 0, 1, 0));
    wait_report("lt_again", ep, 8);
    struct pollfd pe = {ep, POLLIN | POLLOUT, 0};
    CHECK("poll_epoll_fd_ready", poll(&pe, 1, 0));
    VALUE("poll_epoll_fd_revents", pe.revents);
    MUST(read(p[0], &c, 1));
    MUST(read(p[0], &c, 1));
    MUST(ctl(ep, EPOLL_CTL_DEL, p[1], 0, 0));
    wait_report("lt_drained", ep, 8);
    CHECK("poll_epoll_fd_not_ready", poll(&pe, 1, 0));

    /* Edge-triggered: once per write. */
    MUST(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 13));
    MUST(write(p[1], "a", 1));
    wait_report("et_first", ep, 8);
    wait_report("et_not_again", ep, 8);
    MUST(write(p[1], "b", 1));
    wait_report("et_new_write", ep, 8);
    MUST(read(p[0], &c, 1));
    MUST(read(p[0], &c, 1));

    /* One-shot: disabled after one report until EPOLL_CTL_MOD. */
    MUST(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 14));
    MUST(write(p[1], "a", 1));
    wait_report("oneshot_first", ep, 8);
    MUST(write(p[1], "b", 1));
    wait_report("oneshot_disabled", ep, 8);
    CHECK("oneshot_mod_rearms", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 15));
    wait_report("oneshot_rearmed", ep, 8);
    MUST(read(p[0], &c, 1));
    MUST(read(p[0], &c, 1));

    /* EPOLLEXCLUSIVE. */
    int q[2];
    MUST(pipe(q));
    CHECK("exclusive_with_oneshot", ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0));
    CHECK("exclusive_with_rdhup", ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, 0));
    CHECK("exclusive_mod", ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0));
    CHECK("exclusive_add", ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN | EPOLLEXCLUSIVE, 20));
    CHECK("exclusive_item_mod", ctl(ep, EPOLL_CTL_MOD, q[0], EPOLLIN, 21));
    MUST(write(q[1], "x", 1));
    wait_report("exclusive_reported", ep, 8);
    MUST(read(q[0], &c, 1));
    CHECK("exclusive_del", ctl(ep, EPOLL_CTL_DEL, q[0], 0, 0));

    /* Hangup and error are reported even when not asked for. */
    MUST(ctl(ep, EPOLL_CTL_MOD, p[0], 0, 16));
    wait_report("no_events_asked", ep, 8);
    MUST(ctl(ep, EPOLL_CTL_ADD, q[1], 0, 22));
    close(q[0]);
    wait_report("write_end_reader_gone", ep, 8);
    MUST(ctl(ep, EPOLL_CTL_MOD, q[1], EPOLLOUT, 23));
    wait_report("write_end_reader_gone_out", ep, 8);
    close(q[1]);
    close(p[1]);
    wait_report("read_end_hangup", ep, 8);
    MUST(ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLRDHUP, 17));
    wait_report("read_end_hangup_rdhup", ep, 8);
    close(p[0]);
    wait_report("closed_fds_removed", ep, 8);

    /* Round robin under maxevents: level-triggered items go to the back. */
    int r[3][2];
    for (int i = 0; i < 3; i++) {
        MUST(pipe(r[i]));
        MUST(write(r[i][1], "z", 1));
        MUST(ctl(ep, EPOLL_CTL_ADD, r[i][0], EPOLLIN, 30 + i));
    }
    wait_report("rr_first", ep, 2);
    wait_report("rr_second", ep, 2);
    wait_report("rr_third", ep, 2);

    /* A dup keeps the description, so the item stays after close. */
    int d = MUST(dup(r[0][0]));
    close(r[0][0]);
    close(r[1][0]);
    wait_report("dup_keeps_item", ep, 8);
    CHECK("dup_fd_not_the_key", ctl(ep, EPOLL_CTL_DEL, d, 0, 0));
    CHECK("closed_fd_ebadf", ctl(ep, EPOLL_CTL_DEL, r[0][0], 0, 0));
    close(d);
    wait_report("last_reference_gone", ep, 8);
    close(r[2][0]);
    for (int i = 0; i < 3; i++)
        close(r[i][1]);

    /* Nesting: the inner epoll is readable in the outer one and in poll. */
    MUST(pipe(p));
    int inner = MUST(SC(SYS_epoll_create1, 0));
    int outer = MUST(SC(SYS_epoll_create1, 0));
    MUST(ctl(inner, EPOLL_CTL_ADD, p[0], EPOLLIN, 40));
    CHECK("nest_add", ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLOUT, 41));
    wait_report("nest_nothing", outer, 8);
    MUST(write(p[1], "n", 1));
    wait_report("nest_ready", outer, 8);
    wait_report("nest_inner", inner, 8);
    CHECK("nest_loop", ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 0));
    MUST(read(p[0], &c, 1));
    int chain[7];
    for (int i = 0; i < 7; i++)
        chain[i] = MUST(SC(SYS_epoll_create1, 0));
    for (int i = 0; i < 6; i++) {
        char n[32];
        snprintf(n, sizeof n, "chain_link_%d", i);
        CHECK(n, ctl(chain[i], EPOLL_CTL_ADD, chain[i + 1], EPOLLIN, 0));
    }
    /* An item below the last link: the chain's depth counts both ways. */
    int top = MUST(SC(SYS_epoll_create1, 0));
    CHECK("chain_above_top", ctl(top, EPOLL_CTL_ADD, chain[0], EPOLLIN, 0));
    for (int i = 0; i < 7; i++)
        close(chain[i]);
    close(top);

    /* Timeouts. */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK("wait_timeout_50ms", SC(SYS_epoll_wait, outer, got, 8, 50));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    VALUE("waited_at_least_50ms", ms >= 50);
    struct timespec ts = {0, 20 * 1000 * 1000};
    CHECK("pwait2_timeout", SC(SYS_epoll_pwait2, outer, got, 8, &ts, 0, 8));
    struct timespec bad = {0, 1000000000};
    CHECK("pwait2_bad_timespec", SC(SYS_epoll_pwait2, outer, got, 8, &bad, 0, 8));
    CHECK("pwait2_bad_timespec_pointer", SC(SYS_epoll_pwait2, outer, got, 8, 8, 0, 8));

    /* Blocking waits woken by a child: nested, and on an eventfd. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        write(p[1], "w", 1);
        _exit(0);
    }
    memset(got, 0, sizeof got);
    CHECK("nest_blocking_woken", SC(SYS_epoll_wait, outer, got, 8, -1));
    VALUE("nest_blocking_data", (long)got[0].data.u64);
    waitpid(pid, NULL, 0);
    MUST(read(p[0], &c, 1));
    int e = MUST(eventfd(0, EFD_NONBLOCK));
    CHECK("eventfd_add_et", ctl(ep, EPOLL_CTL_ADD, e, EPOLLIN | EPOLLOUT | EPOLLET, 50));
    wait_report("eventfd_writable", ep, 8);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        uint64_t one = 1;
        sleep_ms(20);
        write(e, &one, 8);
        _exit(0);
    }
    memset(got, 0, sizeof got);
    CHECK("pwait2_null_timeout_woken", SC(SYS_epoll_pwait2, ep, got, 8, 0, 0, 8));
    VALUE("pwait2_woken_events", got[0].events);
    waitpid(pid, NULL, 0);
    wait_report("eventfd_et_quiet", ep, 8);
    uint64_t v = 2;
    MUST(write(e, &v, 8));
    wait_report("eventfd_et_again", ep, 8);

    /* Pipes report POLLRDNORM/POLLWRNORM with POLLIN/POLLOUT, and a wait
     * for POLLRDNORM alone is woken by a write. */
    int rn[2];
    MUST(pipe(rn));
    struct pollfd norm[2] = {{rn[0], POLLRDNORM, 0}, {rn[1], POLLWRNORM, 0}};
    CHECK("poll_wrnorm", poll(norm, 2, 0));
    VALUE("wrnorm_revents", norm[1].revents);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        write(rn[1], "r", 1);
        _exit(0);
    }
    CHECK("poll_rdnorm_woken", poll(norm, 1, 5000));
    VALUE("rdnorm_revents", norm[0].revents);
    waitpid(pid, NULL, 0);

    /* Signals: epoll_wait is never restarted; epoll_pwait's mask. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    MUST(sigaction(SIGUSR1, &sa, NULL));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sleep_ms(30);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    CHECK("wait_interrupted_sa_restart", SC(SYS_epoll_wait, outer, got, 8, -1));
    VALUE("handler_ran", handled);
    waitpid(pid, NULL, 0);
    sigset_t block, empty, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    MUST(sigprocmask(SIG_BLOCK, &block, NULL));
    CHECK("pwait_bad_sigsetsize", SC(SYS_epoll_pwait, outer, got, 8, 0, &empty, 4));
    CHECK("pwait_bad_sigmask_pointer", SC(SYS_epoll_pwait, outer, got, 8, 0, 8, 8));
    CHECK("pwait_mask_then_einval", SC(SYS_epoll_pwait, outer, got, 0, 0, &empty, 8));
    raise(SIGUSR1);
    VALUE("blocked_signal_not_handled", handled);
    CHECK("pwait_mask_with_blocked", SC(SYS_epoll_pwait, outer, got, 8, 0, &block, 8));
    VALUE("still_not_handled", handled);
    CHECK("pwait_unblocks_pending", SC(SYS_epoll_pwait, outer, got, 8, 1000, &empty, 8));
    VALUE("pending_handled", handled);
    MUST(sigprocmask(SIG_BLOCK, NULL, &now));
    VALUE("mask_back_after_handler", sigismember(&now, SIGUSR1));
    raise(SIGUSR1);
    struct pollfd none = {-1, 0, 0};
    struct timespec sec = {1, 0};
    CHECK("ppoll_unblocks_pending", SC(SYS_ppoll, &none, 1, &sec, &empty, 8));
    VALUE("ppoll_pending_handled", handled);
    MUST(sigprocmask(SIG_BLOCK, NULL, &now));
    VALUE("ppoll_mask_back_after_handler", sigismember(&now, SIGUSR1));
    CHECK("ppoll_bad_nfds_restores", SC(SYS_ppoll, &none, 1L << 30, &sec, &empty, 8));
    MUST(sigprocmask(SIG_BLOCK, NULL, &now));
    VALUE("ppoll_mask_back_after_einval", sigismember(&now, SIGUSR1));
    CHECK("pwait_mask_restored_on_success", SC(SYS_epoll_pwait, outer, got, 8, 0, &empty, 8));
    MUST(sigprocmask(SIG_BLOCK, NULL, &now));
    VALUE("mask_restored", sigismember(&now, SIGUSR1));
    return 0;
}
