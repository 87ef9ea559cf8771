/* Memory faults on AF_UNIX sends and receives: a stream skb is copied whole
 * or not at all (it stays queued); a datagram that cannot be copied is
 * lost; EFAULT only when nothing moved. */
#include "check.h"
#include <sys/socket.h>
int main(void) {
    start();
    int sv[2];
    char buf[16];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(SC(SYS_write, sv[0], "abcdef", 6));
    CHECK("recv_fault", SC(SYS_recvfrom, sv[1], 8, 6, 0, 0, 0));
    CHECK("recv_after_fault", SC(SYS_recvfrom, sv[1], buf, 16, 0, 0, 0));
    CHECK("send_fault", SC(SYS_sendto, sv[0], 8, 6, 0, 0, 0));
    int dv[2];
    MUST(SC(SYS_socketpair, AF_UNIX, SOCK_DGRAM, 0, dv));
    MUST(SC(SYS_write, dv[0], "abcdef", 6));
    CHECK("dgram_recv_fault", SC(SYS_recvfrom, dv[1], 8, 6, 0, 0, 0));
    CHECK("dgram_recv_after_fault", SC(SYS_recvfrom, dv[1], buf, 16, MSG_DONTWAIT, 0, 0));
    CHECK("dgram_send_fault", SC(SYS_sendto, dv[0], 8, 6, 0, 0, 0));
    char *p = map_anon(2 * PAGE, RW);
    MUST(SC(SYS_munmap, p + PAGE, PAGE));
    MUST(SC(SYS_write, sv[0], "0123456789", 10));
    CHECK("recv_partial_fault", SC(SYS_recvfrom, sv[1], p + PAGE - 4, 10, 0, 0, 0));
    CHECK("recv_after_partial_fault", SC(SYS_recvfrom, sv[1], buf, 16, MSG_DONTWAIT, 0, 0));
    memcpy(p + PAGE - 4, "wxyz", 4);
    CHECK("send_partial_fault", SC(SYS_sendto, sv[0], p + PAGE - 4, 10, 0, 0, 0));
    CHECK("dgram_send_partial_fault", SC(SYS_sendto, dv[0], p + PAGE - 4, 10, 0, 0, 0));
    return 0;
}
