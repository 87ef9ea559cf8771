/* AF_UNIX control messages and processes: SCM_RIGHTS (in one process and
 * from a forked child, MSG_CMSG_CLOEXEC, MSG_CTRUNC, EBADF/EINVAL),
 * SCM_CREDENTIALS with SO_PASSCRED, and blocking reads, writes, accepts,
 * MSG_WAITALL and poll between a parent and its child. */
#include "check.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

static long send_fds(int sock, const int *fds, int n, const char *data, int flags)
{
    char ctl[CMSG_SPACE(sizeof(int) * 8)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (n > 0) {
        m.msg_control = ctl;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    return SC(SYS_sendmsg, sock, &m, flags);
}

/* Receive; stores up to `max` fds in `fds`, returns the count of bytes and
 * fills *nfds, *mflags and *clen. */
static long recv_fds(int sock, int *fds, int *nfds, int max, size_t ctlsize, int flags, int *mflags, long *clen)
{
    char ctl[512];
    char data[64];
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctlsize ? ctl : NULL;
    m.msg_controllen = ctlsize;
    long r = SC(SYS_recvmsg, sock, &m, flags);
    *nfds = 0;
    if (r < 0)
        return r;
    *mflags = m.msg_flags;
    *clen = (long)m.msg_controllen;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < k && *nfds < max; i++)
                memcpy(&fds[(*nfds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
    }
    return r;
}

static int same_file(int a, int b)
{
    struct stat x, y;
    if (fstat(a, &x) || fstat(b, &y))
        return 0;
    return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int main(void)
{
    start();
    int sv[2], p[2], fds[8], n, mflags;
    long clen;
    char buf[256];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(SC(SYS_pipe2, p, 0));
    CHECK("rights_send", send_fds(sv[0], &p[1], 1, "fd", 0));
    CHECK("rights_recv", recv_fds(sv[1], fds, &n, 8, 512, 0, &mflags, &clen));
    VALUE("rights_count", n);
    VALUE("rights_flags", mflags);
    VALUE("rights_controllen", clen);
    VALUE("rights_same_pipe", n == 1 && same_file(fds[0], p[1]));
    VALUE("rights_new_fd", n == 1 && fds[0] != p[1]);
    CHECK("rights_getfd", SC(SYS_fcntl, fds[0], F_GETFD));
    CHECK("rights_fd_works", SC(SYS_write, fds[0], "via", 3));
    CHECK("rights_fd_read", SC(SYS_read, p[0], buf, 10));
    CHECK("rights_send_cloexec", send_fds(sv[0], &p[0], 1, "fd", 0));
    CHECK("rights_recv_cloexec", recv_fds(sv[1], fds, &n, 8, 512, MSG_CMSG_CLOEXEC, &mflags, &clen));
    CHECK("rights_cloexec_getfd", SC(SYS_fcntl, fds[0], F_GETFD));
    int three[3] = {p[0], p[1], sv[0]};
    CHECK("rights_send_three", send_fds(sv[0], three, 3, "333", 0));
    CHECK("rights_recv_room_for_one", recv_fds(sv[1], fds, &n, 8, CMSG_SPACE(sizeof(int)), 0, &mflags, &clen));
    VALUE("rights_ctrunc_count", n);
    VALUE("rights_ctrunc_flags", mflags);
    VALUE("rights_ctrunc_controllen", clen);
    CHECK("rights_send_again", send_fds(sv[0], three, 2, "22", 0));
    CHECK("rights_recv_no_control", recv_fds(sv[1], fds, &n, 8, 0, 0, &mflags, &clen));
    VALUE("rights_no_control_flags", mflags);
    CHECK("rights_send_peek", send_fds(sv[0], &p[1], 1, "pk", 0));
    CHECK("rights_peek", recv_fds(sv[1], fds, &n, 8, 512, MSG_PEEK, &mflags, &clen));
    VALUE("rights_peek_count", n);
    CHECK("rights_after_peek", recv_fds(sv[1], fds, &n, 8, 512, 0, &mflags, &clen));
    VALUE("rights_after_peek_count", n);
    int opath = open_file(".", O_PATH | O_DIRECTORY);
    CHECK("rights_send_opath", send_fds(sv[0], &opath, 1, "op", 0));
    CHECK("rights_recv_opath", recv_fds(sv[1], fds, &n, 8, 512, 0, &mflags, &clen));
    VALUE("rights_opath_same", n == 1 && same_file(fds[0], opath));
    CHECK("rights_opath_getfl", n == 1 ? SC(SYS_fcntl, fds[0], F_GETFL) : -1);
    int bad = 99;
    CHECK("rights_bad_fd", send_fds(sv[0], &bad, 1, "x", 0));
    CHECK("rights_nothing_sent_on_error", SC(SYS_recvfrom, sv[1], buf, 10, MSG_DONTWAIT, 0, 0));
    struct msghdr m = {0};
    struct iovec iov = {"y", 1};
    char ctl[64] = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof ctl;
    struct cmsghdr *c = (struct cmsghdr *)ctl;
    c->cmsg_len = 200;
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    CHECK("cmsg_len_too_big", SC(SYS_sendmsg, sv[0], &m, 0));
    c->cmsg_len = CMSG_LEN(4);
    c->cmsg_type = 77;
    m.msg_controllen = CMSG_SPACE(4);
    CHECK("cmsg_bad_type", SC(SYS_sendmsg, sv[0], &m, 0));
    c->cmsg_level = 4242;
    CHECK("cmsg_other_level_ignored", SC(SYS_sendmsg, sv[0], &m, 0));
    CHECK("cmsg_other_level_data", SC(SYS_recvfrom, sv[1], buf, 10, 0, 0, 0));
    m.msg_controllen = sizeof ctl;
    CHECK("cmsg_zero_header_after", SC(SYS_sendmsg, sv[0], &m, 0));
    m.msg_controllen = 8;
    CHECK("cmsg_short_control_ignored", SC(SYS_sendmsg, sv[0], &m, 0));
    CHECK("cmsg_short_control_data", SC(SYS_recvfrom, sv[1], buf, 10, 0, 0, 0));

    /* Descriptors in flight are released with the socket: the pipe's
     * only writer is gone, so its reader sees end of file. */
    int fp[2], tv[2];
    MUST(SC(SYS_pipe2, fp, 0));
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, tv));
    CHECK("inflight_send", send_fds(tv[0], &fp[1], 1, "w", 0));
    MUST(SC(SYS_close, fp[1]));
    CHECK("inflight_writer_alive", SC(SYS_fcntl, fp[0], F_SETFL, O_NONBLOCK));
    CHECK("inflight_read_would_block", SC(SYS_read, fp[0], buf, 1));
    MUST(SC(SYS_close, tv[0]));
    MUST(SC(SYS_close, tv[1]));
    CHECK("inflight_released_eof", SC(SYS_read, fp[0], buf, 1));

    /* Credentials. */
    int dv[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, dv));
    int on = 1;
    CHECK("passcred_set", setsockopt(dv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
    MUST(SC(SYS_write, dv[0], "c", 1));
    struct iovec riov = {buf, sizeof buf};
    char rctl[128];
    struct msghdr rm = {0};
    rm.msg_iov = &riov;
    rm.msg_iovlen = 1;
    rm.msg_control = rctl;
    rm.msg_controllen = sizeof rctl;
    CHECK("creds_recv", SC(SYS_recvmsg, dv[1], &rm, 0));
    VALUE("creds_controllen", rm.msg_controllen);
    struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
    VALUE("creds_type", rc ? rc->cmsg_type : -1);
    struct ucred uc = {0};
    if (rc)
        memcpy(&uc, CMSG_DATA(rc), sizeof uc);
    VALUE("creds_are_mine", uc.pid == getpid() && uc.uid == getuid() && uc.gid == getgid());
    MUST(SC(SYS_write, dv[0], "c", 1));
    rm.msg_controllen = sizeof(struct cmsghdr) + 4;
    CHECK("creds_recv_truncated", SC(SYS_recvmsg, dv[1], &rm, 0));
    VALUE("creds_truncated_flags", rm.msg_flags);
    VALUE("creds_truncated_controllen", rm.msg_controllen);
    char sctl[CMSG_SPACE(sizeof(struct ucred))];
    memset(sctl, 0, sizeof sctl);
    m.msg_control = sctl;
    m.msg_controllen = sizeof sctl;
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred mine = {getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    CHECK("creds_send_own", SC(SYS_sendmsg, dv[0], &m, 0));
    rm.msg_controllen = sizeof rctl;
    CHECK("creds_recv_own", SC(SYS_recvmsg, dv[1], &rm, 0));
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred)) - 1;
    CHECK("creds_bad_len", SC(SYS_sendmsg, dv[0], &m, 0));

    /* Between processes. */
    int pv[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, pv));
    pid_t child = fork();
    if (child == 0) {
        MUST(SC(SYS_close, pv[0]));
        int f = open_file("from-child", O_RDWR | O_CREAT | O_TRUNC);
        MUST(SC(SYS_write, f, "child data", 10));
        MUST(send_fds(pv[1], &f, 1, "F", 0));
        MUST(SC(SYS_close, f));
        /* A big blocking write the parent drains. */
        char *big = map_anon(1 << 20, RW);
        for (long i = 0; i < (1 << 20); i++)
            big[i] = (char)(i % 251);
        long w = SC(SYS_write, pv[1], big, 1 << 20);
        if (w != (1 << 20))
            _exit(2);
        /* Pieces for MSG_WAITALL. */
        MUST(SC(SYS_write, pv[1], "ab", 2));
        MUST(SC(SYS_write, pv[1], "cd", 2));
        MUST(SC(SYS_write, pv[1], "ef", 2));
        /* Wait for the parent's word, then connect to its listener. */
        char go;
        if (SC(SYS_read, pv[1], &go, 1) != 1)
            _exit(4);
        int cs = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
        struct sockaddr_un sa = {AF_UNIX, "listener"};
        MUST(connect(cs, (struct sockaddr *)&sa, sizeof sa));
        MUST(SC(SYS_write, cs, "hi", 2));
        _exit(0);
    }
    MUST(SC(SYS_close, pv[1]));
    CHECK("fork_recv_fd", recv_fds(pv[0], fds, &n, 8, 512, 0, &mflags, &clen));
    VALUE("fork_fd_count", n);
    CHECK("fork_fd_pread", n == 1 ? SC(SYS_pread64, fds[0], buf, 20, 0) : -1);
    VALUE("fork_fd_content", memcmp(buf, "child data", 10) == 0);
    char *back = map_anon(1 << 20, RW);
    long got = 0, r;
    while (got < (1 << 20) && (r = SC(SYS_read, pv[0], back + got, (1 << 20) - got)) > 0)
        got += r;
    VALUE("fork_big_read", got);
    VALUE("fork_big_content", pattern_ok(back, 0, 1 << 20));
    CHECK("fork_waitall", SC(SYS_recvfrom, pv[0], buf, 6, MSG_WAITALL, 0, 0));
    VALUE("fork_waitall_content", memcmp(buf, "abcdef", 6) == 0);
    int ls = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un la = {AF_UNIX, "listener"};
    MUST(bind(ls, (struct sockaddr *)&la, sizeof la));
    MUST(listen(ls, 4));
    MUST(SC(SYS_write, pv[0], "g", 1));
    int as = accept(ls, NULL, NULL);
    VALUE("fork_accept", as >= 0);
    struct pollfd pf = {as, POLLIN, 0};
    CHECK("fork_poll", poll(&pf, 1, -1));
    VALUE("fork_poll_revents", pf.revents & POLLIN);
    CHECK("fork_read_accepted", SC(SYS_read, as, buf, 10));
    int status = -1;
    MUST(waitpid(child, &status, 0));
    VALUE("child_status", status);
    CHECK("fork_eof_after_exit", SC(SYS_read, pv[0], buf, 10));

    /* A blocking datagram sender waits for room in a receiver's queue and
     * a blocking connect for room in a listener's backlog. */
    int rx = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un ra = {AF_UNIX, "rx"};
    MUST(bind(rx, (struct sockaddr *)&ra, sizeof ra));
    int ls2 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un l2 = {AF_UNIX, "l2"};
    MUST(bind(ls2, (struct sockaddr *)&l2, sizeof l2));
    MUST(listen(ls2, 0));
    int sync[2];
    MUST(SC(SYS_pipe2, sync, 0));
    child = fork();
    if (child == 0) {
        int tx = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
        for (int i = 0; i < 30; i++)
            if (sendto(tx, &i, sizeof i, 0, (struct sockaddr *)&ra, sizeof ra) != sizeof i)
                _exit(5);
        int k1 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
        int k2 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
        MUST(connect(k1, (struct sockaddr *)&l2, sizeof l2));
        MUST(SC(SYS_write, sync[1], "1", 1));
        MUST(connect(k2, (struct sockaddr *)&l2, sizeof l2));
        MUST(SC(SYS_write, k2, "second", 6));
        _exit(0);
    }
    int seen = 0, okorder = 1;
    for (int i = 0; i < 30; i++) {
        int v = -1;
        if (SC(SYS_read, rx, &v, sizeof v) != sizeof v)
            break;
        okorder &= v == i;
        seen++;
    }
    VALUE("dgram_blocking_all_received", seen);
    VALUE("dgram_blocking_in_order", okorder);
    MUST(SC(SYS_read, sync[0], buf, 1));
    int k1a = MUST(accept(ls2, NULL, NULL));
    int k2a = MUST(accept(ls2, NULL, NULL));
    CHECK("connect_blocked_then_accepted", SC(SYS_read, k2a, buf, 10));
    MUST(SC(SYS_close, k1a));
    status = -1;
    MUST(waitpid(child, &status, 0));
    VALUE("child2_status", status);

    /* POLLOUT of a datagram socket connected to a receiver that others
     * filled comes back when the receiver reads, waking a poller in
     * another process. */
    int rx3 = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un r3 = {AF_UNIX, "rx3"};
    MUST(bind(rx3, (struct sockaddr *)&r3, sizeof r3));
    int tx3 = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    MUST(connect(tx3, (struct sockaddr *)&r3, sizeof r3));
    int filler = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    int queued = 0;
    while (SC(SYS_sendto, filler, "q", 1, 0, &r3, sizeof r3) == 1)
        queued++;
    VALUE("connected_dgram_queued", queued);
    struct pollfd tp = {tx3, POLLOUT, 0};
    VALUE("connected_dgram_full_pollout", poll(&tp, 1, 0));
    child = fork();
    if (child == 0) {
        struct pollfd cp = {tx3, POLLOUT, 0};
        _exit(poll(&cp, 1, -1) == 1 && (cp.revents & POLLOUT) ? 0 : 6);
    }
    MUST(SC(SYS_read, rx3, buf, 1));
    status = -1;
    MUST(waitpid(child, &status, 0));
    VALUE("poller_woken_status", status);
    return 0;
}
