/* AF_UNIX socketpair in one process: types and flags, data through
 * read/write/readv/writev/send/recv/sendmsg/recvmsg, MSG_PEEK, MSG_DONTWAIT,
 * MSG_TRUNC, MSG_WAITALL, message boundaries, shutdown and close of the
 * peer (EOF, EPIPE, SIGPIPE, MSG_NOSIGNAL), poll readiness, socket options
 * (SO_TYPE, SO_DOMAIN, SO_ERROR, SO_SNDBUF/SO_RCVBUF limits, SO_PEERCRED),
 * getsockname/getpeername, fstat and /proc/self/fd. */
#include "check.h"

#include <poll.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static int sigpipes;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }

static int revents(int fd, int events)
{
    struct pollfd p = {fd, (short)events, 0};
    if (poll(&p, 1, 0) < 0)
        return -1;
    return p.revents;
}

static long getint(int fd, int opt)
{
    int v = -7;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) != 0)
        return -1;
    return len == sizeof v ? v : -2;
}

int main(void)
{
    start();
    int sv[2], dv[2], qv[2], x[2];
    char buf[256];
    CHECK("pair_stream", SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    VALUE("pair_fds", sv[0] * 100 + sv[1]);
    CHECK("pair_dgram", SC(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, dv));
    CHECK("pair_seqpacket", SC(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, qv));
    CHECK("pair_getfd_cloexec", SC(SYS_fcntl, qv[0], F_GETFD));
    CHECK("pair_getfl_nonblock", SC(SYS_fcntl, qv[1], F_GETFL));
    CHECK("pair_getfl_plain", SC(SYS_fcntl, sv[1], F_GETFL));
    CHECK("pair_bad_type", SC(SYS_socketpair, AF_UNIX, 9, 0, x));
    CHECK("pair_bad_flags", SC(SYS_socketpair, AF_UNIX, SOCK_STREAM | 0x100, 0, x));
    CHECK("pair_bad_protocol", SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 7, x));
    CHECK("pair_fault", SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, 8));
    CHECK("socket_bad_family", SC(SYS_socket, 4242, SOCK_STREAM, 0));

    /* Streams: bytes, no boundaries. */
    CHECK("stream_write", SC(SYS_write, sv[0], "hello ", 6));
    CHECK("stream_send", SC(SYS_sendto, sv[0], "world", 5, 0, 0, 0));
    int n = -1;
    CHECK("stream_fionread", ioctl(sv[1], FIONREAD, &n));
    VALUE("stream_fionread_value", n);
    CHECK("stream_peek", SC(SYS_recvfrom, sv[1], buf, 100, MSG_PEEK, 0, 0));
    CHECK("stream_read_part", SC(SYS_read, sv[1], buf, 3));
    CHECK("stream_read_rest", SC(SYS_read, sv[1], buf + 3, 100));
    VALUE("stream_content", memcmp(buf, "hello world", 11) == 0);
    CHECK("stream_dontwait_empty", SC(SYS_recvfrom, sv[1], buf, 10, MSG_DONTWAIT, 0, 0));
    struct iovec wv[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    CHECK("stream_writev", SC(SYS_writev, sv[1], wv, 3));
    char r1[3], r2[10];
    struct iovec rv[2] = {{r1, 3}, {r2, 10}};
    CHECK("stream_readv", SC(SYS_readv, sv[0], rv, 2));
    VALUE("stream_readv_content", memcmp(r1, "abc", 3) == 0 && memcmp(r2, "def", 3) == 0);
    CHECK("stream_sendto_addr", SC(SYS_sendto, sv[0], "x", 1, 0, buf, 16));
    CHECK("stream_waitall_ready", SC(SYS_write, sv[0], "12345678", 8));
    CHECK("stream_recv_waitall", SC(SYS_recvfrom, sv[1], buf, 8, MSG_WAITALL, 0, 0));
    CHECK("stream_recv_trunc_flag", SC(SYS_write, sv[0], "abc", 3));
    CHECK("stream_recv_after_trunc", SC(SYS_recvfrom, sv[1], buf, 10, 0, 0, 0));

    struct msghdr m;
    memset(&m, 0, sizeof m);
    struct iovec one = {"msg", 3};
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    CHECK("stream_sendmsg", SC(SYS_sendmsg, sv[0], &m, 0));
    char rb[16];
    struct iovec rone = {rb, sizeof rb};
    struct msghdr rm;
    memset(&rm, 0, sizeof rm);
    rm.msg_iov = &rone;
    rm.msg_iovlen = 1;
    rm.msg_flags = 12345;
    CHECK("stream_recvmsg", SC(SYS_recvmsg, sv[1], &rm, 0));
    VALUE("stream_recvmsg_flags", rm.msg_flags);
    VALUE("stream_recvmsg_controllen", rm.msg_controllen);

    /* Datagrams and seqpackets keep boundaries. */
    CHECK("dgram_send_a", SC(SYS_write, dv[0], "first", 5));
    CHECK("dgram_send_b", SC(SYS_write, dv[0], "second!", 7));
    CHECK("dgram_fionread", ioctl(dv[1], FIONREAD, &n));
    VALUE("dgram_fionread_value", n);
    CHECK("dgram_peek", SC(SYS_recvfrom, dv[1], buf, 100, MSG_PEEK, 0, 0));
    CHECK("dgram_read_short", SC(SYS_read, dv[1], buf, 3));
    CHECK("dgram_read_next", SC(SYS_read, dv[1], buf, 100));
    VALUE("dgram_next_content", memcmp(buf, "second!", 7) == 0);
    CHECK("dgram_send_c", SC(SYS_write, dv[1], "0123456789", 10));
    CHECK("dgram_recv_trunc", SC(SYS_recvfrom, dv[0], buf, 4, MSG_TRUNC, 0, 0));
    CHECK("dgram_send_d", SC(SYS_write, dv[1], "0123456789", 10));
    memset(&rm, 0, sizeof rm);
    rone.iov_len = 4;
    rm.msg_iov = &rone;
    rm.msg_iovlen = 1;
    CHECK("dgram_recvmsg_short", SC(SYS_recvmsg, dv[0], &rm, 0));
    VALUE("dgram_recvmsg_flags", rm.msg_flags);
    CHECK("dgram_zero_length", SC(SYS_write, dv[0], "", 0));
    CHECK("dgram_recv_zero_length", SC(SYS_recvfrom, dv[1], buf, 10, MSG_DONTWAIT, 0, 0));
    CHECK("dgram_recv_empty", SC(SYS_recvfrom, dv[1], buf, 10, MSG_DONTWAIT, 0, 0));
    CHECK("dgram_read_zero_bytes_empty", SC(SYS_read, dv[1], buf, 0));
    MUST(SC(SYS_write, dv[0], "kept", 4));
    CHECK("dgram_read_zero_bytes_keeps", SC(SYS_read, dv[1], buf, 0));
    CHECK("dgram_recv_zero_bytes_consumes", SC(SYS_recvfrom, dv[1], buf, 0, 0, 0, 0));
    CHECK("dgram_after_zero_recv", SC(SYS_recvfrom, dv[1], buf, 10, MSG_DONTWAIT, 0, 0));
    memset(&rm, 0, sizeof rm);
    rm.msg_iov = &rone;
    rm.msg_iovlen = 1;
    rm.msg_namelen = -1;
    rm.msg_name = buf;
    CHECK("recvmsg_negative_namelen", SC(SYS_recvmsg, dv[1], &rm, MSG_DONTWAIT));
    rm.msg_name = NULL;
    rm.msg_namelen = 77;
    MUST(SC(SYS_write, dv[0], "k", 1));
    CHECK("recvmsg_null_name", SC(SYS_recvmsg, dv[1], &rm, 0));
    VALUE("recvmsg_null_name_namelen", rm.msg_namelen);
    memset(&m, 0, sizeof m);
    m.msg_iov = &one;
    m.msg_iovlen = 1;
    m.msg_namelen = -1;
    m.msg_name = buf;
    CHECK("sendmsg_negative_namelen", SC(SYS_sendmsg, dv[0], &m, 0));
    m.msg_name = NULL;
    m.msg_namelen = 0;
    m.msg_iovlen = 5000;
    CHECK("sendmsg_too_many_iovecs", SC(SYS_sendmsg, dv[0], &m, 0));
    CHECK("dgram_too_big", SC(SYS_sendto, dv[0], map_anon(1 << 20, RW), 1 << 20, 0, 0, 0));
    CHECK("seq_send", SC(SYS_write, qv[0], "packet", 6));
    CHECK("seq_send2", SC(SYS_write, qv[0], "two", 3));
    CHECK("seq_read_short", SC(SYS_read, qv[1], buf, 2));
    memset(&rm, 0, sizeof rm);
    rone.iov_len = sizeof rb;
    rm.msg_iov = &rone;
    rm.msg_iovlen = 1;
    CHECK("seq_recvmsg", SC(SYS_recvmsg, qv[1], &rm, 0));
    VALUE("seq_recvmsg_flags", rm.msg_flags);
    CHECK("seq_read_empty", SC(SYS_read, qv[1], buf, 10));

    /* sendmmsg/recvmmsg on a seqpacket pair. */
    int mv[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_SEQPACKET, 0, mv));
    struct mmsghdr mm[3];
    struct iovec mi[3] = {{"one", 3}, {"three", 5}, {"xx", 2}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_iov = &mi[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK("sendmmsg", SC(SYS_sendmmsg, mv[0], mm, 2, 0));
    VALUE("sendmmsg_len1", mm[1].msg_len);
    char mb[3][8];
    struct iovec ri[3] = {{mb[0], 8}, {mb[1], 8}, {mb[2], 8}};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        mm[i].msg_hdr.msg_iov = &ri[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    CHECK("recvmmsg_waitforone", SC(SYS_recvmmsg, mv[1], mm, 3, MSG_WAITFORONE, 0));
    VALUE("recvmmsg_lens", mm[0].msg_len * 10 + mm[1].msg_len);
    VALUE("recvmmsg_content", memcmp(mb[1], "three", 5) == 0);
    CHECK("recvmmsg_empty_nonblocking", SC(SYS_recvmmsg, mv[1], mm, 3, MSG_DONTWAIT, 0));
    struct timespec bad_ts = {0, -1};
    CHECK("recvmmsg_bad_timeout", SC(SYS_recvmmsg, mv[1], mm, 3, MSG_DONTWAIT, &bad_ts));
    CHECK("sendmmsg_zero", SC(SYS_sendmmsg, mv[0], mm, 0, 0));
    CHECK("sendmmsg_not_socket", SC(SYS_sendmmsg, 0 + 1000, mm, 1, 0));

    /* Readiness. */
    VALUE("poll_stream_idle", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    MUST(SC(SYS_write, sv[0], "z", 1));
    VALUE("poll_stream_data", revents(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    VALUE("poll_dgram_idle", revents(dv[1], POLLIN | POLLOUT));

    /* Options and names. */
    VALUE("so_type_stream", getint(sv[0], SO_TYPE));
    VALUE("so_type_dgram", getint(dv[0], SO_TYPE));
    VALUE("so_type_seqpacket", getint(qv[0], SO_TYPE));
    VALUE("so_domain", getint(sv[0], SO_DOMAIN));
    VALUE("so_protocol", getint(sv[0], SO_PROTOCOL));
    VALUE("so_error", getint(sv[0], SO_ERROR));
    VALUE("so_acceptconn", getint(sv[0], SO_ACCEPTCONN));
    VALUE("so_passcred", getint(sv[0], SO_PASSCRED));
    VALUE("so_sndbuf_default_is_wmem_default", getint(sv[0], SO_SNDBUF) == 212992 ? 1 : getint(sv[0], SO_SNDBUF));
    int v = 100000;
    CHECK("so_sndbuf_set", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    VALUE("so_sndbuf_doubled", getint(sv[0], SO_SNDBUF));
    v = 1;
    CHECK("so_sndbuf_set_tiny", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
    VALUE("so_sndbuf_minimum", getint(sv[0], SO_SNDBUF));
    CHECK("so_rcvbuf_set_tiny", setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
    VALUE("so_rcvbuf_minimum", getint(sv[0], SO_RCVBUF));
    CHECK("so_short_optlen", setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, 2));
    CHECK("so_unknown", setsockopt(sv[0], SOL_SOCKET, 4242, &v, sizeof v));
    CHECK("so_bad_level", getsockopt(sv[0], 4242, SO_TYPE, &v, &(socklen_t){4}));
    socklen_t sl = 2;
    v = 0;
    CHECK("so_type_short", getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &sl));
    VALUE("so_type_short_len", sl);
    struct ucred uc;
    sl = sizeof uc;
    CHECK("so_peercred", getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &sl));
    VALUE("so_peercred_len", sl);
    VALUE("so_peercred_is_me", uc.pid == getpid() && uc.uid == geteuid() && uc.gid == getegid());
    struct sockaddr_un sa;
    sl = sizeof sa;
    memset(&sa, 0x55, sizeof sa);
    CHECK("getsockname_pair", getsockname(sv[0], (struct sockaddr *)&sa, &sl));
    VALUE("getsockname_pair_len", sl);
    VALUE("getsockname_pair_family", sa.sun_family);
    sl = sizeof sa;
    CHECK("getpeername_pair", getpeername(sv[0], (struct sockaddr *)&sa, &sl));
    VALUE("getpeername_pair_len", sl);
    sl = 0;
    CHECK("getsockname_zero_len", getsockname(sv[0], (struct sockaddr *)&sa, &sl));
    VALUE("getsockname_zero_len_out", sl);
    struct stat st;
    CHECK("fstat_socket", fstat(sv[0], &st));
    VALUE("fstat_socket_mode", st.st_mode);
    VALUE("fstat_socket_size", st.st_size);
    char link[64], want[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", sv[0]);
    n = (int)readlink(link, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    VALUE("proc_fd_link", strcmp(buf, want) == 0);
    CHECK("lseek_socket", SC(SYS_lseek, sv[0], 0, SEEK_SET));
    CHECK("pread_socket", SC(SYS_pread64, sv[0], buf, 1, 0));

    /* Timeouts: a blocking receive with SO_RCVTIMEO ends with EAGAIN. */
    int tv2[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, tv2));
    struct timeval tmo = {0, 200000}, tback = {9, 9};
    CHECK("rcvtimeo_set", setsockopt(tv2[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo));
    sl = sizeof tback;
    CHECK("rcvtimeo_get", getsockopt(tv2[0], SOL_SOCKET, SO_RCVTIMEO, &tback, &sl));
    VALUE("rcvtimeo_value", tback.tv_sec * 1000000 + tback.tv_usec);
    CHECK("rcvtimeo_recv_times_out", SC(SYS_read, tv2[0], buf, 10));
    MUST(SC(SYS_write, tv2[1], "late", 4));
    CHECK("rcvtimeo_recv_data", SC(SYS_read, tv2[0], buf, 10));
    MUST(SC(SYS_write, tv2[1], "ab", 2));
    CHECK("rcvtimeo_waitall_partial", SC(SYS_recvfrom, tv2[0], buf, 10, MSG_WAITALL, 0, 0));
    tmo.tv_sec = -1;
    CHECK("rcvtimeo_negative", setsockopt(tv2[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo));
    CHECK("rcvtimeo_negative_recv", SC(SYS_read, tv2[0], buf, 10));
    sl = sizeof tback;
    CHECK("rcvtimeo_negative_get", getsockopt(tv2[0], SOL_SOCKET, SO_RCVTIMEO, &tback, &sl));
    VALUE("rcvtimeo_negative_value", tback.tv_sec * 1000000 + tback.tv_usec);
    tmo.tv_sec = 0;
    tmo.tv_usec = 1000000;
    CHECK("rcvtimeo_bad_usec", setsockopt(tv2[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo));
    CHECK("rcvtimeo_short", setsockopt(tv2[0], SOL_SOCKET, SO_RCVTIMEO, &tmo, 8));
    tmo.tv_sec = 2;
    tmo.tv_usec = 500000;
    CHECK("sndtimeo_set", setsockopt(tv2[0], SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof tmo));
    sl = sizeof tback;
    CHECK("sndtimeo_get", getsockopt(tv2[0], SOL_SOCKET, SO_SNDTIMEO, &tback, &sl));
    VALUE("sndtimeo_value", tback.tv_sec * 1000000 + tback.tv_usec);

    /* Filling: a nonblocking stream accepts a bounded amount. */
    int fill[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fill));
    char *big = map_anon(1 << 20, RW);
    long total = 0, w;
    while ((w = SC(SYS_write, fill[0], big, 65536)) > 0)
        total += w;
    VALUE("fill_ends_eagain", errno == EAGAIN);
    VALUE("fill_bounded", total > 0 && total <= 2 * 212992);
    VALUE("fill_not_writable", revents(fill[0], POLLOUT) & POLLOUT);
    long got = 0;
    while ((w = SC(SYS_read, fill[1], big, 1 << 20)) > 0)
        got += w;
    VALUE("fill_drained_all", got == total);
    VALUE("fill_writable_again", revents(fill[0], POLLOUT));

    /* Shutdown. */
    CHECK("shutdown_bad_how", shutdown(sv[0], 7));
    CHECK("shutdown_wr", shutdown(sv[0], SHUT_WR));
    signal(SIGPIPE, on_sigpipe);
    CHECK("write_after_shut_wr", SC(SYS_write, sv[0], "x", 1));
    VALUE("sigpipe_after_shut_wr", sigpipes);
    CHECK("send_nosignal_after_shut_wr", SC(SYS_sendto, sv[0], "x", 1, MSG_NOSIGNAL, 0, 0));
    VALUE("sigpipe_nosignal", sigpipes);
    VALUE("poll_peer_after_shut_wr", revents(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    CHECK("read_pending_after_shut", SC(SYS_read, sv[1], buf, 10));
    CHECK("read_eof_after_shut", SC(SYS_read, sv[1], buf, 10));
    CHECK("peer_still_writes", SC(SYS_write, sv[1], "back", 4));
    CHECK("reader_of_shut_side", SC(SYS_read, sv[0], buf, 10));
    CHECK("shutdown_rd", shutdown(sv[0], SHUT_RD));
    VALUE("poll_after_both_shut", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    CHECK("peer_write_after_shut_rd", SC(SYS_write, sv[1], "x", 1));
    VALUE("sigpipe_peer", sigpipes);
    CHECK("read_after_shut_rd", SC(SYS_read, sv[0], buf, 10));

    /* Closing the peer. */
    int cv[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, cv));
    MUST(SC(SYS_write, cv[1], "bye", 3));
    MUST(SC(SYS_close, cv[1]));
    VALUE("poll_after_peer_close", revents(cv[0], POLLIN | POLLOUT | POLLRDHUP));
    CHECK("read_data_after_close", SC(SYS_read, cv[0], buf, 10));
    CHECK("read_eof_after_close", SC(SYS_read, cv[0], buf, 10));
    CHECK("write_after_close", SC(SYS_write, cv[0], "x", 1));
    VALUE("sigpipe_after_close", sigpipes);
    sl = sizeof sa;
    CHECK("getpeername_after_close", getpeername(cv[0], (struct sockaddr *)&sa, &sl));
    int cw[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, cw));
    MUST(SC(SYS_write, cw[0], "unread", 6));
    MUST(SC(SYS_close, cw[1]));
    VALUE("poll_peer_closed_with_unread", revents(cw[0], POLLIN | POLLOUT | POLLRDHUP));
    VALUE("so_error_reset", getint(cw[0], SO_ERROR));
    CHECK("read_after_reset_cleared", SC(SYS_read, cw[0], buf, 10));
    MUST(SC(SYS_close, dv[1]));
    CHECK("dgram_send_peer_closed", SC(SYS_write, dv[0], "x", 1));
    CHECK("dgram_send_peer_closed_again", SC(SYS_write, dv[0], "x", 1));
    CHECK("dgram_recv_peer_closed", SC(SYS_recvfrom, dv[0], buf, 10, MSG_DONTWAIT, 0, 0));
    MUST(SC(SYS_close, qv[1]));
    VALUE("poll_seq_peer_closed", revents(qv[0], POLLIN | POLLOUT | POLLRDHUP));
    CHECK("seq_read_peer_closed", SC(SYS_read, qv[0], buf, 10));
    CHECK("seq_write_peer_closed", SC(SYS_write, qv[0], "x", 1));
    VALUE("sigpipe_seq", sigpipes);
    return 0;
}
