/* poll, ppoll, select, pselect6 on pipes and files: immediate readiness,
 * zero timeouts, hangup, POLLNVAL, a wait woken by another process's
 * write, timeouts, and the errors. */
#include "check.h"

#include <poll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

int main(void)
{
    start();
    int p[2];
    MUST(pipe(p));
    struct pollfd fds[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
    CHECK("poll_empty_pipe_zero_timeout", poll(fds, 3, 0));
    VALUE("poll_read_end_revents", fds[0].revents);
    VALUE("poll_write_end_revents", fds[1].revents);
    VALUE("poll_negative_fd_revents", fds[2].revents);
    MUST(write(p[1], "x", 1));
    CHECK("poll_data_ready", poll(fds, 2, 1000));
    VALUE("poll_data_revents", fds[0].revents);
    struct pollfd bad = {77, POLLIN, 0};
    CHECK("poll_closed_fd", poll(&bad, 1, 0));
    VALUE("poll_closed_fd_revents", bad.revents);
    int f = MUST(open("file", O_CREAT | O_RDWR, 0644));
    struct pollfd file = {f, POLLIN | POLLOUT, 0};
    CHECK("poll_regular_file", poll(&file, 1, -1));
    VALUE("poll_regular_file_revents", file.revents);
    char c;
    MUST(read(p[0], &c, 1));
    close(p[1]);
    struct pollfd hup = {p[0], POLLIN, 0};
    CHECK("poll_hangup", poll(&hup, 1, 0));
    VALUE("poll_hangup_revents", hup.revents);
    close(p[0]);

    MUST(pipe(p));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd wait1 = {p[0], POLLIN, 0};
    CHECK("poll_timeout_50ms", poll(&wait1, 1, 50));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    VALUE("poll_waited_at_least_50ms", ms >= 50);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
        write(p[1], "y", 1);
        _exit(0);
    }
    CHECK("poll_woken_by_child_write", poll(&wait1, 1, 5000));
    VALUE("poll_woken_revents", wait1.revents);
    waitpid(pid, NULL, 0);

    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(p[0], &rd);
    FD_SET(p[1], &wr);
    struct timeval tv = {0, 0};
    CHECK("select_read_and_write", select(p[1] + 1, &rd, &wr, NULL, &tv));
    VALUE("select_read_set", FD_ISSET(p[0], &rd));
    VALUE("select_write_set", FD_ISSET(p[1], &wr));
    MUST(read(p[0], &c, 1));
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    tv.tv_sec = 0;
    tv.tv_usec = 30000;
    CHECK("select_timeout", select(p[0] + 1, &rd, NULL, NULL, &tv));
    VALUE("select_timeout_clears_set", FD_ISSET(p[0], &rd));
    FD_ZERO(&rd);
    FD_SET(60, &rd);
    tv.tv_usec = 0;
    CHECK("select_closed_fd", select(61, &rd, NULL, NULL, &tv));
    CHECK("select_negative_nfds", select(-1, NULL, NULL, NULL, &tv));
    struct timespec ts = {0, 1000000};
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    CHECK("pselect_timeout", pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL));
    struct pollfd pp = {p[1], POLLOUT, 0};
    CHECK("ppoll_writable", ppoll(&pp, 1, &ts, NULL));
    struct timespec badts = {0, 2000000000};
    CHECK("ppoll_bad_timespec", ppoll(&pp, 1, &badts, NULL));
    CHECK("poll_bad_pointer", SC(SYS_poll, 1, 1, 0));
    return 0;
}
