/* signalfd and signalfd4: argument rules, reading 128-byte
 * signalfd_siginfo records of blocked pending signals, several per read,
 * masks (SIGKILL/SIGSTOP never), changing the mask of an existing fd,
 * a blocked default-ignored signal (SIGCHLD) kept for the signalfd, a
 * blocking read woken by another process's kill, poll and epoll. */
#include "check.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec d = {0, ms * 1000 * 1000};
    nanosleep(&d, NULL);
}

/* A thread blocked reading a signalfd, woken by a signal sent to it. */
static int reader_fd;
static volatile long reader_tid;
static long reader_ret;
static uint32_t reader_signo;

static void *reader(void *arg)
{
    (void)arg;
    struct signalfd_siginfo s;
    memset(&s, 0, sizeof s);
    reader_tid = SC0(SYS_gettid);
    reader_ret = SC(SYS_read, reader_fd, &s, sizeof s);
    reader_signo = s.ssi_signo;
    return NULL;
}

int main(void)
{
    start();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGCHLD);
    MUST(sigprocmask(SIG_BLOCK, &set, NULL));
    CHECK("signalfd4_bad_size", SC(SYS_signalfd4, -1, &set, 4, 0));
    CHECK("signalfd4_bad_mask_pointer", SC(SYS_signalfd4, -1, 8, 8, 0));
    CHECK("signalfd4_bad_flags", SC(SYS_signalfd4, -1, &set, 8, 1));
    CHECK("signalfd4_bad_fd", SC(SYS_signalfd4, 99, &set, 8, 0));
    CHECK("signalfd4_other_negative_fd", SC(SYS_signalfd4, -2, &set, 8, 0));
    int p[2];
    MUST(pipe(p));
    CHECK("signalfd4_not_signalfd", SC(SYS_signalfd4, p[0], &set, 8, 0));
    sigset_t only1;
    sigemptyset(&only1);
    sigaddset(&only1, SIGUSR1);
    int sfd = MUST(SC(SYS_signalfd4, -1, &only1, 8, SFD_NONBLOCK | SFD_CLOEXEC));
    VALUE("cloexec", MUST(fcntl(sfd, F_GETFD)));
    VALUE("getfl", MUST(fcntl(sfd, F_GETFL)) == (O_RDWR | O_NONBLOCK));
    char name[64] = {0}, link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", sfd);
    MUST(readlink(link, name, sizeof name - 1));
    VALUE("proc_fd_name", strcmp(name, "anon_inode:[signalfd]") == 0);

    struct signalfd_siginfo si[4];
    VALUE("siginfo_size", sizeof si[0]);
    CHECK("read_nothing_eagain", SC(SYS_read, sfd, si, sizeof si));
    CHECK("read_short_buffer", SC(SYS_read, sfd, si, 127));
    struct pollfd pf = {sfd, POLLIN, 0};
    CHECK("poll_nothing", poll(&pf, 1, 0));
    MUST(kill(getpid(), SIGUSR2));
    CHECK("poll_other_signal_not_in_mask", poll(&pf, 1, 0));
    MUST(kill(getpid(), SIGUSR1));
    CHECK("poll_ready", poll(&pf, 1, 0));
    VALUE("poll_revents", pf.revents);
    memset(si, 0, sizeof si);
    CHECK("read_one", SC(SYS_read, sfd, si, sizeof si));
    VALUE("ssi_signo", si[0].ssi_signo);
    VALUE("ssi_code_user", si[0].ssi_code == SI_USER);
    VALUE("ssi_pid_is_self", si[0].ssi_pid == (uint32_t)getpid());
    VALUE("ssi_uid_is_self", si[0].ssi_uid == (uint32_t)getuid());
    CHECK("read_consumed", SC(SYS_read, sfd, si, sizeof si));
    sigset_t pend;
    MUST(sigpending(&pend));
    VALUE("usr2_still_pending", sigismember(&pend, SIGUSR2));

    /* A new mask for the same fd: SIGUSR2, and SIGKILL is dropped. */
    sigset_t two;
    sigemptyset(&two);
    sigaddset(&two, SIGUSR2);
    sigaddset(&two, SIGKILL);
    CHECK("signalfd_update_mask", SC(SYS_signalfd, sfd, &two, 8));
    MUST(kill(getpid(), SIGUSR1));
    memset(si, 0, sizeof si);
    CHECK("read_after_update", SC(SYS_read, sfd, si, sizeof si));
    VALUE("read_after_update_signo", si[0].ssi_signo);
    MUST(sigpending(&pend));
    VALUE("usr1_pending_not_read", sigismember(&pend, SIGUSR1));

    /* Several records in one read, lowest signal first; raise is tgkill. */
    int all = MUST(SC(SYS_signalfd4, -1, &set, 8, SFD_NONBLOCK));
    MUST(kill(getpid(), SIGUSR2));
    memset(si, 0, sizeof si);
    CHECK("read_two", SC(SYS_read, all, si, sizeof si));
    VALUE("first_signo", si[0].ssi_signo);
    VALUE("second_signo", si[1].ssi_signo);
    MUST(raise(SIGUSR2));
    CHECK("read_raised", SC(SYS_read, all, si, sizeof si));
    VALUE("tkill_code", si[0].ssi_code == SI_TKILL);
    MUST(kill(getpid(), SIGUSR1));
    MUST(kill(getpid(), SIGUSR2));
    CHECK("read_room_for_one", SC(SYS_read, all, si, 200));
    CHECK("read_the_other", SC(SYS_read, all, si, sizeof si));
    VALUE("the_other_signo", si[0].ssi_signo);

    /* SIGCHLD is ignored by default but kept while blocked. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(7);
    MUST(waitpid(pid, NULL, 0));
    memset(si, 0, sizeof si);
    CHECK("read_sigchld", SC(SYS_read, all, si, sizeof si));
    VALUE("sigchld_signo", si[0].ssi_signo);
    VALUE("sigchld_code_exited", si[0].ssi_code == CLD_EXITED);
    VALUE("sigchld_pid", si[0].ssi_pid == (uint32_t)pid);

    /* A blocking read woken by a child's kill, and epoll. */
    int blk = MUST(SC(SYS_signalfd4, -1, &only1, 8, 0));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    memset(si, 0, sizeof si);
    CHECK("blocking_read_woken", SC(SYS_read, blk, si, sizeof si));
    VALUE("woken_signo", si[0].ssi_signo);
    VALUE("woken_pid_is_child", si[0].ssi_pid == (uint32_t)pid);
    waitpid(pid, NULL, 0);
    MUST(SC(SYS_read, all, si, sizeof si)); /* the SIGCHLD */
    int ep = MUST(epoll_create1(0));
    struct epoll_event ev = {EPOLLIN, {.u64 = 3}}, got[2];
    MUST(epoll_ctl(ep, EPOLL_CTL_ADD, blk, &ev));
    CHECK("epoll_nothing", epoll_wait(ep, got, 2, 0));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    CHECK("epoll_woken", epoll_wait(ep, got, 2, 5000));
    VALUE("epoll_data", (long)got[0].data.u64);
    CHECK("read_after_epoll", SC(SYS_read, blk, si, sizeof si));
    waitpid(pid, NULL, 0);
    MUST(SC(SYS_read, all, si, sizeof si)); /* the SIGCHLD */

    reader_fd = blk;
    pthread_t th;
    MUST(-pthread_create(&th, NULL, reader, NULL));
    while (!reader_tid)
        sched_yield();
    sleep_ms(20);
    CHECK("tgkill_reader_thread", SC(SYS_tgkill, getpid(), reader_tid, SIGUSR1));
    MUST(-pthread_join(th, NULL));
    VALUE("thread_read_ret", reader_ret);
    VALUE("thread_read_signo", reader_signo);

    /* A process-directed signal is read by whichever thread reads. */
    reader_tid = 0;
    reader_ret = 0;
    MUST(-pthread_create(&th, NULL, reader, NULL));
    while (!reader_tid)
        sched_yield();
    sleep_ms(20);
    CHECK("kill_process_thread_reads", kill(getpid(), SIGUSR1));
    MUST(-pthread_join(th, NULL));
    VALUE("process_signal_read_by_thread", reader_ret);
    VALUE("process_signal_signo", reader_signo);
    return 0;
}
