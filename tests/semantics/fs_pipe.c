/* Pipes in one process: pipe2 flags, capacity, EAGAIN/EPIPE/EOF, partial
 * reads, FIONREAD, F_GETPIPE_SZ/F_SETPIPE_SZ, fstat of a pipe, O_CLOEXEC. */
#include "check.h"

#include <sys/ioctl.h>

static int avail(int fd)
{
    int n = -1;
    if (ioctl(fd, FIONREAD, &n) != 0)
        return -1;
    return n;
}

int main(void)
{
    start();
    int p[2] = {-1, -1};
    char buf[256];
    CHECK("pipe2_basic", SC(SYS_pipe2, p, 0));
    VALUE("pipe2_fds", p[0] * 100 + p[1]);
    CHECK("pipe_write", SC(SYS_write, p[1], "hello pipe", 10));
    VALUE("pipe_fionread", avail(p[0]));
    CHECK("pipe_partial_read", SC(SYS_read, p[0], buf, 4));
    CHECK("pipe_read_rest", SC(SYS_read, p[0], buf + 4, 100));
    VALUE("pipe_content", memcmp(buf, "hello pipe", 10) == 0);
    CHECK("pipe_write_zero", SC(SYS_write, p[1], buf, 0));
    CHECK("pipe_read_zero_on_empty", SC(SYS_read, p[0], buf, 0));
    CHECK("pipe_getfd_default", SC(SYS_fcntl, p[0], F_GETFD));
    CHECK("pipe_getfl_read_end", SC(SYS_fcntl, p[0], F_GETFL));
    CHECK("pipe_getfl_write_end", SC(SYS_fcntl, p[1], F_GETFL));
    CHECK("pipe_get_size", SC(SYS_fcntl, p[0], F_GETPIPE_SZ));
    struct stat st;
    CHECK("pipe_fstat", fstat(p[0], &st));
    VALUE("pipe_fstat_mode", st.st_mode);
    VALUE("pipe_fstat_size", st.st_size);
    VALUE("pipe_fstat_nlink", st.st_nlink);
    CHECK("pipe_close_write_end", SC(SYS_close, p[1]));
    CHECK("pipe_read_eof", SC(SYS_read, p[0], buf, 10));
    MUST(SC(SYS_close, p[0]));

    int q[2];
    CHECK("pipe2_nonblock_cloexec", SC(SYS_pipe2, q, O_NONBLOCK | O_CLOEXEC));
    CHECK("pipe2_nb_getfd", SC(SYS_fcntl, q[0], F_GETFD));
    CHECK("pipe2_nb_getfl", SC(SYS_fcntl, q[1], F_GETFL));
    CHECK("pipe_read_empty_nonblocking", SC(SYS_read, q[0], buf, 10));
    char *big = map_anon(256 * 1024, PROT_READ | PROT_WRITE);
    for (long i = 0; i < 256 * 1024; i++)
        big[i] = (char)(i % 251);
    CHECK("pipe_fill_nonblocking", SC(SYS_write, q[1], big, 100000));
    VALUE("pipe_full_fionread", avail(q[0]));
    CHECK("pipe_write_when_full", SC(SYS_write, q[1], big, 1));
    char *back = map_anon(256 * 1024, PROT_READ | PROT_WRITE);
    CHECK("pipe_drain", SC(SYS_read, q[0], back, 256 * 1024));
    VALUE("pipe_drain_content", pattern_ok(back, 0, 65536));
    CHECK("pipe_write_4096_atomic", SC(SYS_write, q[1], big, 4096));
    CHECK("pipe_set_size_1mib", SC(SYS_fcntl, q[0], F_SETPIPE_SZ, 1 << 20));
    CHECK("pipe_get_size_after_set", SC(SYS_fcntl, q[1], F_GETPIPE_SZ));
    CHECK("pipe_set_size_rounds_up", SC(SYS_fcntl, q[0], F_SETPIPE_SZ, 70000));
    CHECK("pipe_set_size_below_content", SC(SYS_fcntl, q[0], F_SETPIPE_SZ, 4096));
    CHECK("pipe_set_size_zero", SC(SYS_fcntl, q[0], F_SETPIPE_SZ, 0));
    CHECK("pipe_read_after_resize", SC(SYS_read, q[0], back, 256 * 1024));
    CHECK("pipe_write_big_after_resize", SC(SYS_write, q[1], big, 256 * 1024));
    CHECK("pipe_read_big_after_resize", SC(SYS_read, q[0], back, 256 * 1024));
    VALUE("pipe_big_content", pattern_ok(back, 0, 65536));
    MUST(SC(SYS_close, q[0]));
    CHECK("pipe_write_no_readers", SC(SYS_write, q[1], "x", 1));
    struct iovec x1 = {"x", 1};
    CHECK("pipe_writev_no_readers", SC(SYS_writev, q[1], &x1, 1));
    MUST(SC(SYS_close, q[1]));

    CHECK("pipe2_bad_flags", SC(SYS_pipe2, q, O_APPEND));
    CHECK("pipe2_null", SC(SYS_pipe2, NULL, 0));
    CHECK("pipe2_readonly_memory", SC(SYS_pipe2, "rodata", 0));
    CHECK("pipe_legacy", SC(SYS_pipe, q));
    VALUE("pipe_legacy_fds", q[0] * 100 + q[1]);
    CHECK("pipe_read_write_end_ebadf", SC(SYS_read, q[1], buf, 1));
    return 0;
}
