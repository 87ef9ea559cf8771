/* Which error wins: the descriptor's mode is checked before the iovec
 * array is read (readv/writev/preadv/pwritev/preadv2/pwritev2 on an fd
 * open for the other direction with a bad iovec pointer or count: EBADF,
 * not EFAULT/EINVAL), and sendfile refuses a pipe as its input (EINVAL,
 * nothing consumed) whether the output is a file or another pipe. */
#include "check.h"

#include <sys/sendfile.h>

int main(void)
{
    start();
    char buf[64];
    int wo = open_file("wo", O_WRONLY | O_CREAT | O_TRUNC);
    int ro = open_file("wo", O_RDONLY);
    MUST(SC(SYS_write, wo, "file data", 9));
    void *bad = (void *)1;
    struct iovec one = {buf, sizeof buf};

    CHECK("readv_wronly_bad_iov", SC(SYS_readv, wo, bad, 1));
    CHECK("readv_wronly_iovcnt_1025", SC(SYS_readv, wo, &one, 1025));
    CHECK("writev_rdonly_bad_iov", SC(SYS_writev, ro, bad, 1));
    CHECK("writev_rdonly_iovcnt_1025", SC(SYS_writev, ro, &one, 1025));
    CHECK("preadv_wronly_bad_iov", SC(SYS_preadv, wo, bad, 1, 0, 0));
    CHECK("pwritev_rdonly_bad_iov", SC(SYS_pwritev, ro, bad, 1, 0, 0));
    CHECK("preadv2_wronly_bad_iov", SC(SYS_preadv2, wo, bad, 1, 0, 0, 0));
    CHECK("pwritev2_rdonly_bad_iov", SC(SYS_pwritev2, ro, bad, 1, 0, 0, 0));
    CHECK("preadv2_cur_wronly_bad_iov", SC(SYS_preadv2, wo, bad, 1, -1, -1, 0));
    CHECK("readv_rdonly_bad_iov", SC(SYS_readv, ro, bad, 1));

    int p[2], q[2];
    MUST(SC(SYS_pipe2, p, 0));
    MUST(SC(SYS_pipe2, q, O_NONBLOCK));
    MUST(SC(SYS_write, p[1], "pipe data", 9));
    CHECK("sendfile_pipe_to_file", SC(SYS_sendfile, wo, p[0], 0, 9));
    CHECK("sendfile_pipe_to_pipe", SC(SYS_sendfile, q[1], p[0], 0, 9));
    CHECK("sendfile_pipe_to_badfd", SC(SYS_sendfile, -1, p[0], 0, 9));
    off_t off = 0;
    CHECK("sendfile_pipe_with_offset", SC(SYS_sendfile, wo, p[0], &off, 9));
    CHECK("sendfile_pipe_count_zero", SC(SYS_sendfile, wo, p[0], 0, 0));
    CHECK("sendfile_pipe_left_intact", SC(SYS_read, p[0], buf, sizeof buf));
    CHECK("sendfile_pipe_target_empty", SC(SYS_read, q[0], buf, sizeof buf));
    CHECK("sendfile_file_to_pipe", SC(SYS_sendfile, q[1], ro, 0, 9));
    return 0;
}
