/* readv/writev/preadv/pwritev/preadv2: iovec validation (NULL and
 * zero-length iovecs, {~0, 0}, counts, negative lengths), MAX_RW_COUNT
 * truncation over 3 iovecs, offsets, EBADF/EINVAL/ESPIPE. */
#include "check.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x8
#endif

int main(void)
{
    start();
    char *buf = map_anon(4 * PAGE, PROT_READ | PROT_WRITE);
    char *b2 = buf + PAGE;
    int fd = open_file("data", O_RDWR | O_CREAT | O_TRUNC);

    struct iovec w3[3] = {{"ab", 2}, {"cde", 3}, {"f", 1}};
    CHECK("writev_three", SC(SYS_writev, fd, w3, 3));
    MUST(SC(SYS_lseek, fd, 0, SEEK_SET));
    struct iovec r2[2] = {{buf, 4}, {b2, 10}};
    CHECK("readv_two", SC(SYS_readv, fd, r2, 2));
    VALUE("readv_two_content", memcmp(buf, "abcd", 4) == 0 && memcmp(b2, "ef", 2) == 0);

    MUST(SC(SYS_lseek, fd, 0, SEEK_SET));
    struct iovec one = {buf, 100};
    CHECK("readv_badfd", SC(SYS_readv, -1, &one, 1));
    CHECK("writev_badfd", SC(SYS_writev, -1, &one, 1));
    CHECK("readv_iov_null", SC(SYS_readv, fd, NULL, 1));
    CHECK("readv_iovcnt_zero", SC(SYS_readv, fd, &one, 0));
    CHECK("readv_iov_null_iovcnt_zero", SC(SYS_readv, fd, NULL, 0));
    CHECK("readv_iovcnt_negative", SC(SYS_readv, fd, &one, -1));
    CHECK("readv_iovcnt_1025", SC(SYS_readv, fd, &one, 1025));
    CHECK("readv_iovcnt_1025_badfd", SC(SYS_readv, -1, &one, 1025));

    struct iovec *many = (struct iovec *)map_anon(1025 * sizeof(struct iovec), PROT_READ | PROT_WRITE);
    CHECK("writev_1024_null_zero_len", SC(SYS_writev, fd, many, 1024));
    many[1023].iov_base = "Z";
    many[1023].iov_len = 1;
    CHECK("writev_1024_last_nonempty", SC(SYS_writev, fd, many, 1024));

    MUST(SC(SYS_lseek, fd, 0, SEEK_SET));
    struct iovec nullbase = {NULL, 1024};
    CHECK("readv_null_base", SC(SYS_readv, fd, &nullbase, 1));
    struct iovec zero_len = {buf, 0};
    CHECK("readv_zero_length_buffer", SC(SYS_readv, fd, &zero_len, 1));
    struct iovec null_then_buf[2] = {{NULL, 0}, {buf, 3}};
    CHECK("readv_null_zero_then_buffer", SC(SYS_readv, fd, null_then_buf, 2));
    struct iovec top_then_buf[2] = {{(void *)~0UL, 0}, {buf, 3}};
    CHECK("readv_tilde0_zero_then_buffer", SC(SYS_readv, fd, top_then_buf, 2));
    struct iovec kern_then_buf[2] = {{(void *)0xffff800000000000UL, 0}, {buf, 3}};
    CHECK("readv_kernel_zero_then_buffer", SC(SYS_readv, fd, kern_then_buf, 2));
    struct iovec buf_then_top[2] = {{buf, 3}, {(void *)~0UL, 0}};
    CHECK("readv_buffer_then_tilde0_zero", SC(SYS_readv, fd, buf_then_top, 2));
    CHECK("readv_offset_after_efaults", SC(SYS_lseek, fd, 0, SEEK_CUR));
    struct iovec neg = {buf, (size_t)1 << 63};
    CHECK("readv_negative_length", SC(SYS_readv, fd, &neg, 1));
    struct iovec sum_over[2] = {{buf, ((size_t)1 << 62) + 1}, {buf, (size_t)1 << 62}};
    CHECK("writev_lengths_sum_overflow", SC(SYS_writev, fd, sum_over, 2));
    struct iovec bad_after_good[2] = {{buf, 3}, {(void *)0xffff800000000000UL, 3}};
    CHECK("readv_bad_second_base", SC(SYS_readv, fd, bad_after_good, 2));

    struct iovec wnull = {NULL, 0};
    CHECK("writev_null_zero_length", SC(SYS_writev, fd, &wnull, 1));
    struct iovec wzero[3] = {{buf, 0}, {buf, 10}, {NULL, 0}};
    CHECK("writev_zero_length_entries", SC(SYS_writev, fd, wzero, 3));
    struct iovec wbad = {(void *)1, 1};
    CHECK("writev_base_1", SC(SYS_writev, fd, &wbad, 1));

    int nul = open_file("/dev/null", O_RDWR);
    /* Three iovecs straddling MAX_RW_COUNT: the total is clamped to it.
     * /dev/null never touches the memory, so nothing needs to be mapped. */
    struct iovec big[3] = {{buf, MAX_RW_COUNT - 100}, {buf, 50}, {buf, 1000}};
    CHECK("writev_max_rw_count_3_iovecs", SC(SYS_writev, nul, big, 3));
    CHECK("pwritev_max_rw_count_3_iovecs", SC(SYS_pwritev, nul, big, 3, 0, 0));
    struct iovec exact[3] = {{buf, MAX_RW_COUNT - 100}, {buf, 100}, {buf, 1}};
    CHECK("writev_exactly_max_then_one", SC(SYS_writev, nul, exact, 3));
    CHECK("readv_devnull", SC(SYS_readv, nul, big, 3));

    /* readv from /dev/zero up to MAX_RW_COUNT would touch 2 GiB; instead
     * check that the third iovec is untouched when the first two fill
     * MAX_RW_COUNT from a short file (the clamp happens before the read). */
    int small = make_pattern_file("small", 64);
    char *third = buf + 3 * PAGE;
    memset(third, 'U', 16);
    struct iovec clamp[3] = {{buf, 8}, {b2, MAX_RW_COUNT - 8}, {third, 16}};
    CHECK("readv_clamped_short_file", SC(SYS_readv, small, clamp, 3));
    VALUE("readv_clamped_third_untouched", third[0] == 'U' && third[15] == 'U');

    int ro = open_file("data", O_RDONLY);
    int wo = open_file("data", O_WRONLY);
    CHECK("readv_writeonly_fd", SC(SYS_readv, wo, &one, 1));
    CHECK("writev_readonly_fd", SC(SYS_writev, ro, &one, 1));

    MUST(SC(SYS_ftruncate, fd, 0));
    MUST(SC(SYS_pwrite64, fd, "abcdefgh", 8, 0));
    memset(buf, 0, 16);
    struct iovec pv[2] = {{buf, 2}, {buf + 8, 3}};
    MUST(SC(SYS_lseek, fd, 1, SEEK_SET));
    CHECK("preadv_at_offset", SC(SYS_preadv, fd, pv, 2, 2, 0));
    VALUE("preadv_content", memcmp(buf, "cd", 2) == 0 && memcmp(buf + 8, "efg", 3) == 0);
    CHECK("preadv_keeps_offset", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("preadv_negative_offset", SC(SYS_preadv, fd, pv, 2, -1, 0));
    CHECK("pwritev_negative_offset", SC(SYS_pwritev, fd, pv, 2, -1, 0));
    CHECK("pwritev_at_offset", SC(SYS_pwritev, fd, w3, 3, 100, 0));
    VALUE("pwritev_file_size", file_size(fd));
    CHECK("pwritev_keeps_offset", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("preadv_past_eof", SC(SYS_preadv, fd, pv, 2, 5000, 0));

    CHECK("preadv2_current_offset", SC(SYS_preadv2, fd, pv, 2, -1, -1, 0));
    CHECK("preadv2_current_offset_advanced", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("preadv2_offset_minus_2", SC(SYS_preadv2, fd, pv, 2, -2, -1, 0));
    CHECK("preadv2_bad_flags", SC(SYS_preadv2, fd, pv, 2, 0, 0, 0x1000));
    CHECK("pwritev2_current_offset", SC(SYS_pwritev2, fd, w3, 3, -1, -1, 0));
    CHECK("pwritev2_offset_advanced", SC(SYS_lseek, fd, 0, SEEK_CUR));

    int p[2];
    MUST(SC(SYS_pipe2, p, O_CLOEXEC | O_NONBLOCK));
    CHECK("preadv_pipe", SC(SYS_preadv, p[0], pv, 2, 0, 0));
    CHECK("pwritev_pipe", SC(SYS_pwritev, p[1], w3, 3, 0, 0));
    CHECK("writev_pipe", SC(SYS_writev, p[1], w3, 3));
    memset(buf, 0, 16);
    struct iovec pr[3] = {{buf, 1}, {buf + 4, 2}, {buf + 8, 10}};
    CHECK("readv_pipe", SC(SYS_readv, p[0], pr, 3));
    VALUE("readv_pipe_content", buf[0] == 'a' && memcmp(buf + 4, "bc", 2) == 0 && memcmp(buf + 8, "def", 3) == 0);
    CHECK("readv_pipe_empty_nonblocking", SC(SYS_readv, p[0], pr, 3));
    CHECK("preadv2_pipe_current_offset", SC(SYS_preadv2, p[0], pr, 3, -1, -1, 0));
    CHECK("preadv2_pipe_nowait_empty", SC(SYS_preadv2, p[0], pr, 3, -1, -1, RWF_NOWAIT));
    return 0;
}
