/* Socket calls on descriptors that are not sockets: EBADF for a closed
 * fd, ENOTSOCK for a file, before any other argument is looked at. */
#include "check.h"

#include <sys/socket.h>

int main(void)
{
    start();
    int fd = MUST(open("f", O_CREAT | O_RDWR, 0644));
    char buf[64];
    socklen_t len = sizeof buf;
    CHECK("getpeername_file", getpeername(fd, (struct sockaddr *)buf, &len));
    CHECK("getsockname_file", getsockname(fd, (struct sockaddr *)buf, &len));
    CHECK("getpeername_closed", getpeername(77, (struct sockaddr *)buf, &len));
    CHECK("getpeername_bad_pointer", SC(SYS_getpeername, fd, 1, 1));
    int v = 1;
    CHECK("setsockopt_file", setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
    CHECK("getsockopt_file", getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
    CHECK("shutdown_file", shutdown(fd, SHUT_RDWR));
    CHECK("listen_file", listen(fd, 1));
    CHECK("accept_file", accept(fd, NULL, NULL));
    CHECK("connect_file", connect(fd, (struct sockaddr *)buf, 16));
    CHECK("bind_closed", bind(99, (struct sockaddr *)buf, 16));
    CHECK("sendto_file", sendto(fd, "x", 1, 0, NULL, 0));
    CHECK("recvfrom_file", recvfrom(fd, buf, 1, 0, NULL, NULL));
    CHECK("getpeername_stdin", getpeername(0, (struct sockaddr *)buf, &len));
    return 0;
}
