/* lseek (whence values, negative results, holes, pipes), dup/dup2/dup3
 * (lowest free fd, shared offsets, flags) and fcntl (F_GETFD/F_SETFD,
 * F_DUPFD, F_GETFL/F_SETFL). fd numbers are deterministic: 0-2 are open,
 * everything else is opened here in order. */
#include "check.h"

int main(void)
{
    start();
    int fd = open_file("data", O_RDWR | O_CREAT | O_TRUNC);
    MUST(SC(SYS_write, fd, "0123456789", 10));

    CHECK("lseek_set", SC(SYS_lseek, fd, 3, SEEK_SET));
    CHECK("lseek_cur", SC(SYS_lseek, fd, 2, SEEK_CUR));
    CHECK("lseek_cur_negative", SC(SYS_lseek, fd, -4, SEEK_CUR));
    CHECK("lseek_end", SC(SYS_lseek, fd, 0, SEEK_END));
    CHECK("lseek_end_negative", SC(SYS_lseek, fd, -3, SEEK_END));
    CHECK("lseek_negative_result", SC(SYS_lseek, fd, -100, SEEK_SET));
    CHECK("lseek_offset_after_einval", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("lseek_cur_to_negative", SC(SYS_lseek, fd, -100, SEEK_CUR));
    CHECK("lseek_bad_whence", SC(SYS_lseek, fd, 0, 5));
    CHECK("lseek_badfd", SC(SYS_lseek, -1, 0, SEEK_SET));
    CHECK("lseek_past_end", SC(SYS_lseek, fd, 100, SEEK_SET));
    CHECK("write_after_seek_past_end", SC(SYS_write, fd, "x", 1));
    VALUE("size_with_hole", file_size(fd));
    char buf[16];
    CHECK("pread_in_hole", SC(SYS_pread64, fd, buf, 4, 50));
    VALUE("hole_reads_zero", buf[0] == 0 && buf[3] == 0);
    CHECK("lseek_seek_data_start", SC(SYS_lseek, fd, 0, SEEK_DATA));
    CHECK("lseek_seek_data_past_end", SC(SYS_lseek, fd, 200, SEEK_DATA));
    CHECK("lseek_seek_hole_past_end", SC(SYS_lseek, fd, 200, SEEK_HOLE));
    CHECK("lseek_huge_offset", SC(SYS_lseek, fd, 0x7fffffffffffffffL, SEEK_SET));
    CHECK("lseek_overflow_cur", SC(SYS_lseek, fd, 10, SEEK_CUR));
    int p[2];
    MUST(SC(SYS_pipe2, p, O_CLOEXEC));
    CHECK("lseek_pipe", SC(SYS_lseek, p[0], 0, SEEK_CUR));
    int dfd = open_file(".", O_RDONLY | O_DIRECTORY);
    CHECK("lseek_directory_start", SC(SYS_lseek, dfd, 0, SEEK_SET));

    /* fds so far: 3 data, 4/5 pipe, 6 dir */
    CHECK("dup_lowest", SC(SYS_dup, fd));
    CHECK("close_dup", SC(SYS_close, 7));
    CHECK("close_again", SC(SYS_close, 7));
    CHECK("close_badfd", SC(SYS_close, -1));
    CHECK("dup_badfd", SC(SYS_dup, -1));
    CHECK("dup_unopened", SC(SYS_dup, 100));
    CHECK("dup2_same_fd", SC(SYS_dup2, fd, fd));
    CHECK("dup2_same_badfd", SC(SYS_dup2, 100, 100));
    CHECK("dup2_to_20", SC(SYS_dup2, fd, 20));
    CHECK("dup2_replaces_20", SC(SYS_dup2, dfd, 20));
    CHECK("dup2_newfd_too_big", SC(SYS_dup2, fd, 1 << 30));
    CHECK("dup2_newfd_negative", SC(SYS_dup2, fd, -1));
    CHECK("dup3_same_fd", SC(SYS_dup3, fd, fd, 0));
    CHECK("dup3_bad_flags", SC(SYS_dup3, fd, 21, O_NONBLOCK));
    CHECK("dup3_cloexec", SC(SYS_dup3, fd, 21, O_CLOEXEC));
    CHECK("dup3_cloexec_fd_flag", SC(SYS_fcntl, 21, F_GETFD));

    MUST(SC(SYS_lseek, fd, 2, SEEK_SET));
    int d = (int)MUST(SC(SYS_dup, fd));
    CHECK("dup_shares_offset", SC(SYS_lseek, d, 0, SEEK_CUR));
    MUST(SC(SYS_read, d, buf, 3));
    CHECK("dup_read_moves_both", SC(SYS_lseek, fd, 0, SEEK_CUR));
    CHECK("dup_clears_cloexec", SC(SYS_fcntl, d, F_GETFD));
    int reopened = open_file("data", O_RDONLY);
    CHECK("reopen_has_own_offset", SC(SYS_lseek, reopened, 0, SEEK_CUR));

    CHECK("fcntl_getfd_cloexec", SC(SYS_fcntl, fd, F_GETFD));
    CHECK("fcntl_setfd_zero", SC(SYS_fcntl, fd, F_SETFD, 0));
    CHECK("fcntl_getfd_after_set", SC(SYS_fcntl, fd, F_GETFD));
    CHECK("fcntl_setfd_unknown_bits", SC(SYS_fcntl, fd, F_SETFD, 0xfe));
    CHECK("fcntl_getfd_after_unknown_bits", SC(SYS_fcntl, fd, F_GETFD));
    CHECK("fcntl_dupfd_min_10", SC(SYS_fcntl, fd, F_DUPFD, 10));
    CHECK("fcntl_dupfd_min_10_again", SC(SYS_fcntl, fd, F_DUPFD, 10));
    CHECK("fcntl_dupfd_cloexec", SC(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 30));
    CHECK("fcntl_dupfd_cloexec_flag", SC(SYS_fcntl, 30, F_GETFD));
    CHECK("fcntl_dupfd_negative", SC(SYS_fcntl, fd, F_DUPFD, -1));
    CHECK("fcntl_dupfd_too_big", SC(SYS_fcntl, fd, F_DUPFD, 1 << 30));
    CHECK("fcntl_getfl_rdwr", SC(SYS_fcntl, fd, F_GETFL));
    CHECK("fcntl_getfl_rdonly", SC(SYS_fcntl, reopened, F_GETFL));
    CHECK("fcntl_getfl_pipe_write_end", SC(SYS_fcntl, p[1], F_GETFL));
    CHECK("fcntl_setfl_nonblock_append", SC(SYS_fcntl, fd, F_SETFL, O_NONBLOCK | O_APPEND));
    CHECK("fcntl_getfl_after_setfl", SC(SYS_fcntl, fd, F_GETFL));
    CHECK("fcntl_setfl_ignores_access_mode", SC(SYS_fcntl, reopened, F_SETFL, O_RDWR));
    CHECK("fcntl_getfl_access_mode_kept", SC(SYS_fcntl, reopened, F_GETFL));
    CHECK("fcntl_setfl_shared_by_dup", SC(SYS_fcntl, d, F_GETFL));
    CHECK("fcntl_bad_cmd", SC(SYS_fcntl, fd, 9999));
    CHECK("fcntl_badfd", SC(SYS_fcntl, -1, F_GETFD));
    CHECK("fcntl_getpipe_sz_on_file", SC(SYS_fcntl, fd, F_GETPIPE_SZ));
    int opath = open_file("data", O_PATH);
    CHECK("fcntl_getfl_o_path", SC(SYS_fcntl, opath, F_GETFL));
    CHECK("fcntl_dupfd_o_path", SC(SYS_fcntl, opath, F_DUPFD, 0));
    return 0;
}
