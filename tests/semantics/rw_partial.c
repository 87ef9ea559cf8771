/* Partial copies: buffers whose tail runs into a PROT_NONE, read-only or
 * unmapped page (gVisor partial_bad_buffer.cc, read.cc PartialReadSIGSEGV,
 * write.cc PartialWriteSIGSEGV). The rule: a transfer returns the bytes
 * that fit before the bad page; EFAULT only when nothing moved. */
#include "check.h"

#include <sys/ioctl.h>

int main(void)
{
    start();
    int src = make_pattern_file("src", 4 * PAGE);
    /* Layout: [0] RW  [1] RW  [2] NONE  [3] unmapped  [4] R  [5] X */
    char *a = arena(6);
    map_fixed(a, 2 * PAGE, PROT_READ | PROT_WRITE);
    MUST(SC(SYS_munmap, a + 3 * PAGE, PAGE));
    map_fixed(a + 4 * PAGE, PAGE, PROT_READ);
    map_fixed(a + 5 * PAGE, PAGE, PROT_EXEC);
    char *none = a + 2 * PAGE, *hole = a + 3 * PAGE, *ro = a + 4 * PAGE, *xo = a + 5 * PAGE;

    MUST(SC(SYS_lseek, src, 0, SEEK_SET));
    CHECK("read_into_tail_1_byte", SC(SYS_read, src, none - 1, 10));
    VALUE("read_into_tail_copied", none[-1] == (char)0);
    CHECK("read_tail_offset", SC(SYS_lseek, src, 0, SEEK_CUR));
    CHECK("read_into_prot_none", SC(SYS_read, src, none, 10));
    CHECK("read_prot_none_offset", SC(SYS_lseek, src, 0, SEEK_CUR));
    CHECK("read_into_unmapped", SC(SYS_read, src, hole, 10));
    CHECK("read_into_readonly", SC(SYS_read, src, ro, 10));
    CHECK("read_into_exec_only", SC(SYS_read, src, xo, 10));
    CHECK("read_into_tail_100", SC(SYS_read, src, none - 100, 1000));
    VALUE("read_into_tail_100_copied", pattern_ok(none - 100, 1, 100));
    CHECK("pread_into_tail", SC(SYS_pread64, src, none - PAGE - 7, PAGE + 300, 5));
    VALUE("pread_into_tail_copied", pattern_ok(none - PAGE - 7, 5, PAGE + 7));

    /* readv: {a, 1 page}, {a + 1 page, 2 pages} where the 2nd page is NONE. */
    struct iovec iov[2] = {{a, PAGE}, {a + PAGE, 2 * PAGE}};
    memset(a, 0, 2 * PAGE);
    MUST(SC(SYS_lseek, src, 0, SEEK_SET));
    CHECK("readv_partial_second_iovec", SC(SYS_readv, src, iov, 2));
    VALUE("readv_partial_copied", pattern_ok(a, 0, 2 * PAGE));
    memset(a, 0, 2 * PAGE);
    CHECK("preadv_partial_second_iovec", SC(SYS_preadv, src, iov, 2, 7, 0));
    VALUE("preadv_partial_copied", pattern_ok(a, 7, 2 * PAGE));

    int dst = open_file("dst", O_RDWR | O_CREAT | O_TRUNC);
    CHECK("pwritev_partial_second_iovec", SC(SYS_pwritev, dst, iov, 2, 0, 0));
    VALUE("pwritev_partial_file_size", file_size(dst));
    int dst2 = open_file("dst2", O_RDWR | O_CREAT | O_TRUNC);
    CHECK("write_from_tail", SC(SYS_write, dst2, none - 1, 10));
    VALUE("write_from_tail_file_size", file_size(dst2));
    CHECK("write_from_prot_none", SC(SYS_write, dst2, none, 10));
    CHECK("write_from_unmapped", SC(SYS_write, dst2, hole, 10));
    CHECK("write_from_readonly", SC(SYS_write, dst2, ro, 10));
    CHECK("write_from_exec_only", SC(SYS_write, dst2, xo, 10));
    VALUE("write_file_size_after_efaults", file_size(dst2));
    CHECK("pwrite_from_tail", SC(SYS_pwrite64, dst2, none - 3, 10, 100));
    VALUE("pwrite_from_tail_file_size", file_size(dst2));

    int p[2];
    MUST(SC(SYS_pipe2, p, O_CLOEXEC | O_NONBLOCK));
    CHECK("pipe_write_from_tail", SC(SYS_write, p[1], none - 1, 10));
    int avail = -1;
    MUST(ioctl(p[0], FIONREAD, &avail));
    VALUE("pipe_bytes_after_partial_write", avail);
    SC(SYS_read, p[0], a, 64); /* drain whatever got in */
    MUST(SC(SYS_write, p[1], "0123456789", 10));
    CHECK("pipe_read_into_tail", SC(SYS_read, p[0], none - 1, 10));
    VALUE("pipe_read_into_tail_copied", none[-1] == '0');
    MUST(ioctl(p[0], FIONREAD, &avail));
    VALUE("pipe_bytes_left_after_partial_read", avail);
    CHECK("pipe_read_into_prot_none", SC(SYS_read, p[0], none, 10));
    MUST(ioctl(p[0], FIONREAD, &avail));
    VALUE("pipe_bytes_left_after_efault", avail);
    long rest = SC(SYS_read, p[0], a, 64);
    VALUE("pipe_read_rest", rest);
    VALUE("pipe_read_rest_content", rest >= 0 && rest <= 10 && memcmp(a, "0123456789" + 10 - rest, rest) == 0);

    int zero = open_file("/dev/zero", O_RDONLY);
    none[-5] = 'x';
    CHECK("devzero_read_into_tail", SC(SYS_read, zero, none - 5, 100));
    VALUE("devzero_tail_zeroed", none[-5] == 0);
    CHECK("devzero_read_into_prot_none", SC(SYS_read, zero, none, 100));

    /* The iovec array itself in bad memory. */
    struct iovec *tail_iov = (struct iovec *)(none - sizeof(struct iovec));
    tail_iov->iov_base = a;
    tail_iov->iov_len = 4;
    MUST(SC(SYS_lseek, src, 0, SEEK_SET));
    CHECK("readv_iov_array_in_prot_none", SC(SYS_readv, src, none, 1));
    CHECK("readv_iov_array_straddles_prot_none", SC(SYS_readv, src, tail_iov, 2));
    CHECK("readv_iov_array_at_tail_ok", SC(SYS_readv, src, tail_iov, 1));
    CHECK("writev_iov_array_unmapped", SC(SYS_writev, dst2, hole, 1));
    return 0;
}
