/* AF_UNIX names: bind on paths (a socket inode; EADDRINUSE) and in the
 * abstract namespace, listen/connect/accept/accept4, ECONNREFUSED,
 * EPROTOTYPE, backlogs, getsockname/getpeername, unnamed and bound
 * datagram sockets with sendto/recvfrom. */
#include "check.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t path_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    strcpy(sa->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static socklen_t abstract_addr(struct sockaddr_un *sa, const char *name)
{
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static int revents(int fd, int events)
{
    struct pollfd p = {fd, (short)events, 0};
    if (poll(&p, 1, 0) < 0)
        return -1;
    return p.revents;
}

int main(void)
{
    start();
    struct sockaddr_un sa, got;
    socklen_t len, gl;
    char buf[128];
    int srv = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    VALUE("fresh_stream_poll", revents(srv, POLLIN | POLLOUT));
    len = path_addr(&sa, "sock");
    CHECK("bind_path", bind(srv, (struct sockaddr *)&sa, len));
    struct stat st;
    CHECK("bind_made_inode", lstat("sock", &st));
    VALUE("bind_inode_mode", st.st_mode);
    CHECK("bind_again", bind(srv, (struct sockaddr *)&sa, len));
    int other = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK("bind_in_use", bind(other, (struct sockaddr *)&sa, len));
    MUST(open_file("plain", O_CREAT | O_WRONLY));
    socklen_t plen = path_addr(&sa, "plain");
    CHECK("bind_over_file", bind(other, (struct sockaddr *)&sa, plen));
    len = path_addr(&sa, "nodir/sock");
    CHECK("bind_missing_dir", bind(other, (struct sockaddr *)&sa, len));
    CHECK("bind_short", bind(other, (struct sockaddr *)&sa, 1));
    CHECK("bind_too_long", bind(other, (struct sockaddr *)&sa, 200));
    sa.sun_family = AF_INET;
    CHECK("bind_wrong_family", bind(other, (struct sockaddr *)&sa, len));
    CHECK("bind_fault", bind(other, (struct sockaddr *)8, 20));
    gl = sizeof got;
    CHECK("getsockname_bound", getsockname(srv, (struct sockaddr *)&got, &gl));
    VALUE("getsockname_bound_len", gl);
    VALUE("getsockname_bound_path", strcmp(got.sun_path, "sock") == 0);
    gl = sizeof got;
    CHECK("getpeername_unconnected", getpeername(srv, (struct sockaddr *)&got, &gl));
    CHECK("accept_not_listening", accept(srv, NULL, NULL));
    CHECK("listen_unbound", listen(other, 5));
    CHECK("listen", listen(srv, 1));
    CHECK("listen_again", listen(srv, 1));
    int v = -1;
    socklen_t vl = sizeof v;
    CHECK("so_acceptconn", getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
    VALUE("so_acceptconn_value", v);
    VALUE("listener_poll_idle", revents(srv, POLLIN | POLLOUT));
    int fl = fcntl(srv, F_GETFL);
    MUST(fcntl(srv, F_SETFL, fl | O_NONBLOCK));
    CHECK("accept_empty", accept(srv, NULL, NULL));
    MUST(fcntl(srv, F_SETFL, fl));
    CHECK("accept4_bad_flags", SC(SYS_accept4, srv, 0, 0, 0x10));

    int c1 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    len = path_addr(&sa, "sock");
    CHECK("connect", connect(c1, (struct sockaddr *)&sa, len));
    CHECK("connect_again", connect(c1, (struct sockaddr *)&sa, len));
    VALUE("listener_poll_pending", revents(srv, POLLIN | POLLOUT));
    CHECK("write_before_accept", SC(SYS_write, c1, "early", 5));
    gl = sizeof got;
    memset(&got, 0x55, sizeof got);
    int a1 = accept4(srv, (struct sockaddr *)&got, &gl, SOCK_CLOEXEC | SOCK_NONBLOCK);
    VALUE("accept4_ok", a1 >= 0);
    VALUE("accept_peer_len", gl);
    VALUE("accept_peer_family", got.sun_family);
    CHECK("accepted_getfd", fcntl(a1, F_GETFD));
    VALUE("accepted_nonblock", (fcntl(a1, F_GETFL) & O_NONBLOCK) != 0);
    CHECK("read_early_data", SC(SYS_read, a1, buf, sizeof buf));
    VALUE("early_content", memcmp(buf, "early", 5) == 0);
    gl = sizeof got;
    CHECK("accepted_getsockname", getsockname(a1, (struct sockaddr *)&got, &gl));
    VALUE("accepted_getsockname_len", gl);
    VALUE("accepted_getsockname_path", strcmp(got.sun_path, "sock") == 0);
    gl = sizeof got;
    CHECK("client_getpeername", getpeername(c1, (struct sockaddr *)&got, &gl));
    VALUE("client_getpeername_len", gl);
    VALUE("client_getpeername_path", strcmp(got.sun_path, "sock") == 0);
    gl = sizeof got;
    CHECK("client_getsockname", getsockname(c1, (struct sockaddr *)&got, &gl));
    VALUE("client_getsockname_len", gl);
    struct ucred uc;
    socklen_t ul = sizeof uc;
    CHECK("accepted_peercred", getsockopt(a1, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    VALUE("accepted_peercred_is_me", uc.pid == getpid() && uc.uid == geteuid());
    ul = sizeof uc;
    CHECK("client_peercred", getsockopt(c1, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    VALUE("client_peercred_is_me", uc.pid == getpid() && uc.gid == getegid());
    ul = sizeof uc;
    int lone = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK("unconnected_peercred", getsockopt(lone, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
    VALUE("unconnected_peercred_value", uc.pid == 0 && uc.uid == (uid_t)-1);
    CHECK("echo", SC(SYS_write, a1, "pong", 4));
    CHECK("echo_read", SC(SYS_read, c1, buf, sizeof buf));
    CHECK("recv_unconnected_stream", SC(SYS_recvfrom, lone, buf, 1, 0, 0, 0));
    CHECK("send_unconnected_stream", SC(SYS_sendto, lone, "x", 1, 0, 0, 0));
    CHECK("shutdown_unconnected", shutdown(lone, SHUT_RDWR));

    /* Backlog: listen(1) queues two, then a nonblocking connect fails. */
    int c2 = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    int c3 = MUST(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    int c4 = MUST(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    CHECK("backlog_connect_1", connect(c2, (struct sockaddr *)&sa, len));
    CHECK("backlog_connect_2", connect(c3, (struct sockaddr *)&sa, len));
    CHECK("backlog_full", connect(c4, (struct sockaddr *)&sa, len));
    int a2 = MUST(accept(srv, NULL, NULL));
    CHECK("backlog_after_accept", connect(c4, (struct sockaddr *)&sa, len));
    MUST(SC(SYS_close, srv));
    CHECK("pending_conn_reset", SC(SYS_read, c3, buf, 10));
    CHECK("accepted_survives_listener", SC(SYS_write, a2, "ok", 2));
    CHECK("connect_after_close", connect(lone, (struct sockaddr *)&sa, len));
    socklen_t nlen = path_addr(&sa, "nothing");
    CHECK("connect_missing", connect(lone, (struct sockaddr *)&sa, nlen));
    CHECK("connect_plain_file", connect(lone, (struct sockaddr *)&sa, plen));
    CHECK("unlink_socket_file", unlink("sock"));

    /* Abstract names. */
    int as = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    socklen_t alen = abstract_addr(&sa, "sentry-test-abstract");
    CHECK("bind_abstract", bind(as, (struct sockaddr *)&sa, alen));
    int as2 = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK("bind_abstract_in_use", bind(as2, (struct sockaddr *)&sa, alen));
    gl = sizeof got;
    CHECK("getsockname_abstract", getsockname(as, (struct sockaddr *)&got, &gl));
    VALUE("getsockname_abstract_len", gl);
    VALUE("getsockname_abstract_name", got.sun_path[0] == 0 && memcmp(got.sun_path + 1, "sentry-test-abstract", 20) == 0);
    CHECK("listen_abstract", listen(as, 4));
    int ac = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    CHECK("connect_abstract", connect(ac, (struct sockaddr *)&sa, alen));
    int ast = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    CHECK("connect_wrong_type", connect(ast, (struct sockaddr *)&sa, alen));
    int aa = MUST(accept(as, NULL, NULL));
    CHECK("seqpacket_send", SC(SYS_write, ac, "rec1", 4));
    CHECK("seqpacket_recv", SC(SYS_read, aa, buf, sizeof buf));
    MUST(SC(SYS_close, as));
    CHECK("abstract_freed_on_close", bind(as2, (struct sockaddr *)&sa, alen));
    CHECK("autobind", bind(ast, (struct sockaddr *)&sa, sizeof(sa_family_t)));
    gl = sizeof got;
    CHECK("autobind_name", getsockname(ast, (struct sockaddr *)&got, &gl));
    VALUE("autobind_len", gl);

    /* Datagrams. */
    int d1 = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    int d2 = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    socklen_t d1len = path_addr(&sa, "d1");
    CHECK("dgram_bind", bind(d1, (struct sockaddr *)&sa, d1len));
    CHECK("dgram_listen", listen(d1, 1));
    CHECK("dgram_accept", accept(d1, NULL, NULL));
    CHECK("dgram_send_unconnected", SC(SYS_write, d2, "x", 1));
    CHECK("dgram_sendto_unnamed", SC(SYS_sendto, d2, "hello", 5, 0, &sa, d1len));
    gl = sizeof got;
    memset(&got, 0x55, sizeof got);
    CHECK("dgram_recvfrom_unnamed", SC(SYS_recvfrom, d1, buf, sizeof buf, 0, &got, &gl));
    VALUE("dgram_from_unnamed_len", gl);
    socklen_t d2len = path_addr(&got, "d2");
    CHECK("dgram_bind_second", bind(d2, (struct sockaddr *)&got, d2len));
    CHECK("dgram_sendto_named", SC(SYS_sendto, d2, "again", 5, 0, &sa, d1len));
    gl = sizeof got;
    memset(&got, 0, sizeof got);
    CHECK("dgram_recvfrom_named", SC(SYS_recvfrom, d1, buf, sizeof buf, 0, &got, &gl));
    VALUE("dgram_from_named_len", gl);
    VALUE("dgram_from_named_path", strcmp(got.sun_path, "d2") == 0);
    CHECK("dgram_connect", connect(d2, (struct sockaddr *)&sa, d1len));
    CHECK("dgram_write_connected", SC(SYS_write, d2, "third", 5));
    CHECK("dgram_recv_connected", SC(SYS_recvfrom, d1, buf, sizeof buf, 0, 0, 0));
    gl = sizeof got;
    CHECK("dgram_getpeername", getpeername(d2, (struct sockaddr *)&got, &gl));
    VALUE("dgram_getpeername_len", gl);
    int d3 = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    socklen_t d3len = path_addr(&got, "d3");
    MUST(bind(d3, (struct sockaddr *)&got, d3len));
    CHECK("dgram_connect_d1_to_d3", connect(d1, (struct sockaddr *)&got, d3len));
    CHECK("dgram_sendto_connected_elsewhere", SC(SYS_sendto, d2, "no", 2, 0, &sa, d1len));
    struct sockaddr unspec = {AF_UNSPEC, {0}};
    CHECK("dgram_disconnect", connect(d1, &unspec, sizeof unspec));
    CHECK("dgram_sendto_after_disconnect", SC(SYS_sendto, d2, "yes", 3, 0, &sa, d1len));
    int q = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    long sent = 0;
    for (int i = 0; i < 50; i++)
        if (SC(SYS_sendto, q, "m", 1, 0, &sa, d1len) == 1)
            sent++;
    VALUE("dgram_queue_limit_sent", sent);
    CHECK("dgram_queue_full", SC(SYS_sendto, q, "m", 1, 0, &sa, d1len));
    CHECK("dgram_sendto_missing", SC(SYS_sendto, q, "m", 1, 0, &sa, nlen));
    CHECK("dgram_sendto_stream_socket", SC(SYS_sendto, q, "m", 1, 0, &sa, plen));
    return 0;
}
