/* read/write/pread64/pwrite64: results, offsets, and the EBADF / EINVAL /
 * EFAULT / ESPIPE / EISDIR cases. */
#include "check.h"

int main(void)
{
    start();
    char buf[64];
    char *low = map_anon(PAGE, PROT_READ | PROT_WRITE); /* far below the stack */
    int fd = open_file("data", O_RDWR | O_CREAT | O_TRUNC);

    CHECK("write_file", SC(SYS_write, fd, "hello world", 11));
    CHECK("write_advances_offset", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("lseek_to_start", SC(SYS_lseek, fd, 0, SEEK_SET));
    memset(buf, 0, sizeof buf);
    CHECK("read_file", SC(SYS_read, fd, buf, sizeof buf));
    VALUE("read_file_content", memcmp(buf, "hello world", 11) == 0);
    CHECK("read_at_eof", SC(SYS_read, fd, buf, sizeof buf));
    CHECK("read_zero_count", SC(SYS_read, fd, buf, 0));
    CHECK("read_null_zero_count", SC(SYS_read, fd, NULL, 0));

    memset(buf, 0, sizeof buf);
    CHECK("pread_at_offset", SC(SYS_pread64, fd, buf, 5, 6));
    VALUE("pread_content", memcmp(buf, "world", 5) == 0);
    CHECK("pread_keeps_offset", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("pread_past_eof", SC(SYS_pread64, fd, buf, 5, 1000));
    CHECK("pread_negative_offset", SC(SYS_pread64, fd, buf, 5, -1));
    CHECK("pwrite_at_zero", SC(SYS_pwrite64, fd, "HELLO", 5, 0));
    CHECK("pwrite_keeps_offset", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("pwrite_negative_offset", SC(SYS_pwrite64, fd, "x", 1, -1));
    CHECK("pwrite_past_eof", SC(SYS_pwrite64, fd, "Z", 1, 20));
    VALUE("size_after_pwrite_past_eof", file_size(fd));
    memset(buf, 'q', sizeof buf);
    CHECK("pread_hole", SC(SYS_pread64, fd, buf, 16, 8));
    VALUE("pread_hole_is_zero", buf[3] == 0 && buf[11] == 0 && buf[12] == 'Z');

    CHECK("write_badfd", SC(SYS_write, -1, "x", 1));
    CHECK("read_badfd", SC(SYS_read, -1, buf, 1));
    CHECK("write_unopened_fd", SC(SYS_write, 1000, "x", 1));
    CHECK("pread_badfd", SC(SYS_pread64, -1, buf, 1, 0));
    CHECK("write_null_buffer", SC(SYS_write, fd, NULL, 1));
    CHECK("write_null_zero_length", SC(SYS_write, fd, NULL, 0));
    CHECK("write_buffer_at_1", SC(SYS_write, fd, 1, 1));
    CHECK("pwrite_null_buffer", SC(SYS_pwrite64, fd, NULL, 1, 0));
    MUST(SC(SYS_lseek, fd, 0, SEEK_SET));
    CHECK("read_null_buffer", SC(SYS_read, fd, NULL, 5));
    CHECK("read_offset_after_efault", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("read_kernel_address", SC(SYS_read, fd, 0xffff800000000000UL, 5));
    CHECK("read_first_noncanonical", SC(SYS_read, fd, 0x0000800000000000UL, 5));
    CHECK("read_straddles_user_top", SC(SYS_read, fd, 0x00007ffffffff000UL, 0x2000));
    CHECK("read_count_negative", SC(SYS_read, fd, buf, -1L));
    CHECK("write_count_negative", SC(SYS_write, fd, buf, -1L));
    CHECK("pread_count_negative", SC(SYS_pread64, fd, buf, -1L, 0));
    CHECK("read_wrapping_range", SC(SYS_read, fd, low, -(long)(uintptr_t)low + 16));

    int ro = open_file("data", O_RDONLY);
    CHECK("write_readonly_fd", SC(SYS_write, ro, "x", 1));
    CHECK("pwrite_readonly_fd", SC(SYS_pwrite64, ro, "x", 1, 0));
    int wo = open_file("data", O_WRONLY);
    CHECK("read_writeonly_fd", SC(SYS_read, wo, buf, 1));
    CHECK("pread_writeonly_fd", SC(SYS_pread64, wo, buf, 1, 0));
    CHECK("read_writeonly_fd_null_buffer", SC(SYS_read, wo, NULL, 1));

    MUST(SC(SYS_mkdirat, AT_FDCWD, "dir", 0755));
    int dfd = open_file("dir", O_RDONLY | O_DIRECTORY);
    CHECK("read_directory", SC(SYS_read, dfd, buf, sizeof buf));
    CHECK("pread_directory", SC(SYS_pread64, dfd, buf, sizeof buf, 0));
    CHECK("write_directory", SC(SYS_write, dfd, "x", 1));
    CHECK("open_directory_for_writing", SC(SYS_openat, AT_FDCWD, "dir", O_WRONLY, 0));
    int pfd = open_file("data", O_PATH);
    CHECK("read_o_path_fd", SC(SYS_read, pfd, buf, 1));
    CHECK("write_o_path_fd", SC(SYS_write, pfd, "x", 1));

    int p[2];
    MUST(SC(SYS_pipe2, p, O_CLOEXEC));
    CHECK("pwrite_pipe", SC(SYS_pwrite64, p[1], "x", 1, 0));
    CHECK("pread_pipe", SC(SYS_pread64, p[0], buf, 1, 0));
    CHECK("write_pipe_read_end", SC(SYS_write, p[0], "x", 1));
    CHECK("read_pipe_write_end", SC(SYS_read, p[1], buf, 1));

    int afd = open_file("append", O_RDWR | O_CREAT | O_TRUNC | O_APPEND);
    CHECK("append_write", SC(SYS_write, afd, "12345", 5));
    MUST(SC(SYS_lseek, afd, 0, SEEK_SET));
    CHECK("append_write_after_seek", SC(SYS_write, afd, "678", 3));
    CHECK("append_offset_is_end", SC(SYS_lseek, afd, 0, SEEK_CUR));
    CHECK("append_pwrite_at_zero", SC(SYS_pwrite64, afd, "ab", 2, 0));
    VALUE("append_size_after_pwrite", file_size(afd));
    memset(buf, 0, sizeof buf);
    MUST(SC(SYS_pread64, afd, buf, 16, 0));
    VALUE("append_pwrite_went_to_end", strcmp(buf, "12345678ab") == 0);

    int nul = open_file("/dev/null", O_RDWR);
    CHECK("write_devnull_huge_count", SC(SYS_write, nul, low, 0x80000000L));
    CHECK("write_devnull_huge_count_unmapped", SC(SYS_write, nul, 0x10000, 0x7fff0000L));
    return 0;
}
