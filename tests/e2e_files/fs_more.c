/* File syscalls beyond the semantics corpus, compared with native Linux:
 * statx, access family, readlink(at), utimensat, chmod family, umask,
 * rename flags, links, sendfile, legacy getdents, fcntl locks, ioctls,
 * /dev/std*, /proc/self/fd, mmap of files, truncate, fsync, O_TMPFILE
 * and creat. Output: one "name: ret=R errno=E" line per check (no
 * addresses, inode numbers or times). Runs in an empty directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <dirent.h>
#include <unistd.h>

#ifndef STATX_BASIC_STATS
#define STATX_BASIC_STATS 0x7ff
#endif

static const char *en(int e)
{
    static char b[16];
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(EBADF) E(EAGAIN) E(EACCES) E(EFAULT) E(EBUSY) E(EEXIST) E(EXDEV)
    E(ENOTDIR) E(EISDIR) E(EINVAL) E(EMFILE) E(ENOTTY) E(ENOSPC) E(ESPIPE) E(EROFS) E(EPIPE)
    E(ERANGE) E(ENAMETOOLONG) E(ENOTEMPTY) E(ELOOP) E(EOPNOTSUPP) E(ENXIO) E(ENODEV)
#undef E
    default: snprintf(b, sizeof b, "E#%d", e); return b;
    }
}

static void rep(const char *name, long r, int e)
{
    if (r == -1) printf("%s: ret=-1 errno=%s\n", name, en(e));
    else printf("%s: ret=%ld errno=0\n", name, r);
}
#define CHECK(name, expr) do { errno = 0; long r_ = (long)(expr); rep(name, r_, errno); } while (0)
#define VALUE(name, v) printf("%s: ret=%ld errno=0\n", name, (long)(v))
#define L(x) ((long)(x))

struct statx_ts { int64_t tv_sec; uint32_t tv_nsec; int32_t pad; };
struct statx_buf {
    uint32_t mask, blksize; uint64_t attributes; uint32_t nlink, uid, gid; uint16_t mode, pad0;
    uint64_t ino, size, blocks, attributes_mask;
    struct statx_ts atime, btime, ctime, mtime;
    uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
    uint64_t spare[14];
};

static int mkfile(const char *name, const char *content)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0 && content) write(fd, content, strlen(content));
    return fd;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    char buf[4096];
    struct stat st;

    /* umask and creat */
    CHECK("umask_set", syscall(SYS_umask, 077));
    CHECK("umask_get", syscall(SYS_umask, 022));
    CHECK("creat", syscall(SYS_creat, "c.txt", 0666));
    stat("c.txt", &st);
    VALUE("creat_mode", st.st_mode);
    CHECK("creat_fd_getfl", fcntl(3, F_GETFL));
    close(3);

    int fd = mkfile("f", "hello world\n");

    /* statx */
    struct statx_buf sx;
    memset(&sx, 0, sizeof sx);
    CHECK("statx_file", syscall(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, &sx));
    VALUE("statx_mode", sx.mode);
    VALUE("statx_size", sx.size);
    VALUE("statx_nlink", sx.nlink);
    VALUE("statx_mask_basic", (sx.mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
    CHECK("statx_empty_path_fd", syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    VALUE("statx_empty_path_size", sx.size);
    CHECK("statx_null_path_empty_flag", syscall(SYS_statx, fd, NULL, AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    CHECK("statx_reserved_mask", syscall(SYS_statx, AT_FDCWD, "f", 0, 0x80000000u, &sx));
    CHECK("statx_bad_flags", syscall(SYS_statx, AT_FDCWD, "f", 0x1, STATX_BASIC_STATS, &sx));
    CHECK("statx_both_sync", syscall(SYS_statx, AT_FDCWD, "f", 0x6000, STATX_BASIC_STATS, &sx));
    CHECK("statx_missing", syscall(SYS_statx, AT_FDCWD, "missing", 0, STATX_BASIC_STATS, &sx));
    CHECK("statx_null_buf", syscall(SYS_statx, AT_FDCWD, "f", 0, STATX_BASIC_STATS, NULL));
    CHECK("statx_dev_null", syscall(SYS_statx, AT_FDCWD, "/dev/null", 0, STATX_BASIC_STATS, &sx));
    VALUE("statx_dev_null_rdev", sx.rdev_major * 1000 + sx.rdev_minor);

    /* access family */
    CHECK("access_ok", syscall(SYS_access, "f", R_OK | W_OK));
    CHECK("access_x_on_0644", syscall(SYS_access, "f", X_OK));
    CHECK("access_bad_mode", syscall(SYS_access, "f", 8));
    CHECK("access_missing", syscall(SYS_access, "missing", F_OK));
    CHECK("faccessat2_eaccess", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, AT_EACCESS));
    CHECK("faccessat2_bad_flags", syscall(SYS_faccessat2, AT_FDCWD, "f", R_OK, 0x4));
    CHECK("faccessat2_empty_path", syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
    symlink("missing-target", "dangling");
    CHECK("faccessat2_nofollow_dangling", syscall(SYS_faccessat2, AT_FDCWD, "dangling", F_OK, AT_SYMLINK_NOFOLLOW));
    CHECK("faccessat_dangling", syscall(SYS_faccessat, AT_FDCWD, "dangling", F_OK));
    CHECK("access_dir_x", syscall(SYS_access, ".", X_OK));

    /* readlink */
    symlink("f", "lnk");
    memset(buf, 0, sizeof buf);
    CHECK("readlink", syscall(SYS_readlink, "lnk", buf, sizeof buf));
    CHECK("readlink_short_buffer", syscall(SYS_readlink, "dangling", buf, 3));
    CHECK("readlink_zero_size", syscall(SYS_readlink, "lnk", buf, 0));
    CHECK("readlink_not_link", syscall(SYS_readlink, "f", buf, sizeof buf));
    CHECK("readlink_null_buf", syscall(SYS_readlink, "lnk", NULL, 10));
    int lfd = open("lnk", O_PATH | O_NOFOLLOW);
    CHECK("readlinkat_empty_path_on_link", syscall(SYS_readlinkat, lfd, "", buf, sizeof buf));
    CHECK("readlinkat_empty_path_on_file", syscall(SYS_readlinkat, fd, "", buf, sizeof buf));
    CHECK("readlink_proc_self_fd_is_path", syscall(SYS_readlink, "/proc/self/fd/0", buf, sizeof buf) > 0);
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    memset(buf, 0, sizeof buf);
    long n = syscall(SYS_readlink, target, buf, sizeof buf);
    VALUE("readlink_proc_fd_ends_with_f", n > 2 && strcmp(buf + n - 2, "/f") == 0);
    int pp[2];
    pipe(pp);
    snprintf(target, sizeof target, "/proc/self/fd/%d", pp[0]);
    memset(buf, 0, sizeof buf);
    syscall(SYS_readlink, target, buf, sizeof buf);
    VALUE("readlink_proc_fd_pipe", strncmp(buf, "pipe:[", 6) == 0);
    CHECK("write_through_proc_fd_of_pipe", ({
        snprintf(target, sizeof target, "/proc/self/fd/%d", pp[1]);
        int w = open(target, O_WRONLY);
        long r = w < 0 ? -1 : write(w, "via-proc", 8);
        if (w >= 0) close(w);
        r;
    }));
    memset(buf, 0, sizeof buf);
    CHECK("read_pipe_after_proc_write", read(pp[0], buf, 100));
    VALUE("pipe_data_via_proc", strcmp(buf, "via-proc") == 0);

    /* chmod family */
    CHECK("chmod", syscall(SYS_chmod, "f", 0600));
    CHECK("fchmodat", syscall(SYS_fchmodat, AT_FDCWD, "lnk", 0640));
    stat("f", &st);
    VALUE("mode_after_fchmodat_via_link", st.st_mode & 07777);
    CHECK("fchmod", fchmod(fd, 0604));
    CHECK("fchmod_opath", ({ int o = open("f", O_PATH); fchmod(o, 0644); }));
    CHECK("chmod_missing", syscall(SYS_chmod, "missing", 0644));
    CHECK("fchmodat2_nofollow_link", syscall(452, AT_FDCWD, "lnk", 0644, AT_SYMLINK_NOFOLLOW));
    CHECK("fchmodat2_bad_flags", syscall(452, AT_FDCWD, "f", 0644, 0x2));

    /* utimensat */
    struct timespec ts[2] = {{1000000000, 5}, {1100000000, 7}};
    CHECK("utimensat_set", syscall(SYS_utimensat, AT_FDCWD, "f", ts, 0));
    stat("f", &st);
    VALUE("utimensat_atime", st.st_atim.tv_sec);
    VALUE("utimensat_mtime_ns", st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
    CHECK("utimensat_omit_atime", syscall(SYS_utimensat, AT_FDCWD, "f", omit, 0));
    stat("f", &st);
    VALUE("utimensat_atime_kept", st.st_atim.tv_sec);
    VALUE("utimensat_mtime_new", st.st_mtim.tv_sec);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    CHECK("utimensat_bad_nsec", syscall(SYS_utimensat, AT_FDCWD, "f", bad, 0));
    struct timespec both_omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    CHECK("utimensat_both_omit_missing_path", syscall(SYS_utimensat, AT_FDCWD, "missing", both_omit, 0));
    CHECK("utimensat_now", syscall(SYS_utimensat, AT_FDCWD, "f", NULL, 0));
    CHECK("futimens_null_path", syscall(SYS_utimensat, fd, NULL, ts, 0));
    CHECK("futimens_null_path_flags", syscall(SYS_utimensat, fd, NULL, ts, AT_SYMLINK_NOFOLLOW));
    CHECK("utimensat_bad_flags", syscall(SYS_utimensat, AT_FDCWD, "f", ts, 0x2));
    CHECK("utimensat_nofollow_link", syscall(SYS_utimensat, AT_FDCWD, "lnk", ts, AT_SYMLINK_NOFOLLOW));
    CHECK("utimes", ({ struct timeval tv[2] = {{1300000000, 1}, {1300000000, 2}}; syscall(SYS_utimes, "f", tv); }));
    stat("f", &st);
    VALUE("utimes_mtime", st.st_mtim.tv_sec);

    /* rename flags */
    mkfile("r1", "one");
    mkfile("r2", "two");
    CHECK("renameat2_noreplace_exists", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r2", 1));
    CHECK("renameat2_exchange", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r2", 2));
    memset(buf, 0, sizeof buf);
    { int t = open("r1", O_RDONLY); read(t, buf, 10); close(t); }
    VALUE("exchange_swapped", strcmp(buf, "two") == 0);
    CHECK("renameat2_exchange_missing", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r3", 2));
    CHECK("renameat2_bad_flags", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r3", 8));
    CHECK("renameat2_noreplace_exchange", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r3", 3));
    CHECK("renameat2_noreplace_ok", syscall(SYS_renameat2, AT_FDCWD, "r1", AT_FDCWD, "r3", 1));
    mkdir("d1", 0755);
    mkdir("d1/sub", 0755);
    CHECK("rename_dir_into_itself", syscall(SYS_rename, "d1", "d1/sub/x"));
    CHECK("rename_dir_over_file", syscall(SYS_rename, "d1", "r3"));
    CHECK("rename_file_over_dir", syscall(SYS_rename, "r3", "d1"));
    CHECK("rename_over_nonempty_dir", ({ mkdir("d2", 0755); syscall(SYS_rename, "d2", "d1"); }));
    CHECK("rename_dir_over_empty_dir", ({ mkdir("d3", 0755); syscall(SYS_rename, "d1", "d3"); }));
    CHECK("rename_dev_null_exdev", syscall(SYS_rename, "r3", "/dev/r3"));
    CHECK("rename_same_file", syscall(SYS_rename, "r3", "r3"));

    /* links */
    CHECK("linkat_follow", syscall(SYS_linkat, AT_FDCWD, "lnk", AT_FDCWD, "hard_to_f", AT_SYMLINK_FOLLOW));
    CHECK("linkat_nofollow", syscall(SYS_linkat, AT_FDCWD, "lnk", AT_FDCWD, "hard_to_lnk", 0));
    lstat("hard_to_lnk", &st);
    VALUE("hard_to_lnk_is_link", S_ISLNK(st.st_mode));
    CHECK("linkat_bad_flags", syscall(SYS_linkat, AT_FDCWD, "f", AT_FDCWD, "x", 0x1));
    CHECK("link_exists", syscall(SYS_link, "f", "r3"));
    CHECK("link_trailing_slash", syscall(SYS_link, "f", "newname/"));
    CHECK("symlink_exists", syscall(SYS_symlink, "x", "f"));
    CHECK("symlinkat_dirfd", ({ int d = open("d3", O_RDONLY | O_DIRECTORY); syscall(SYS_symlinkat, "../f", d, "up"); }));
    CHECK("stat_through_dirfd_link", stat("d3/up", &st));
    CHECK("mkdir_through_dangling", syscall(SYS_mkdir, "dangling", 0755));
    CHECK("unlink_missing", syscall(SYS_unlink, "missing"));
    CHECK("unlinkat_bad_flags", syscall(SYS_unlinkat, AT_FDCWD, "f", 0x1));
    CHECK("rmdir_file", syscall(SYS_rmdir, "f"));
    CHECK("rmdir_symlink_to_dir", ({ symlink("d3", "ld"); syscall(SYS_rmdir, "ld"); }));

    /* sendfile */
    int src = mkfile("src", NULL);
    for (int i = 0; i < 300; i++) write(src, "0123456789abcdef", 16);
    int dst = mkfile("dst", NULL);
    off_t off = 100;
    CHECK("sendfile_offset", sendfile(dst, src, &off, 1000));
    VALUE("sendfile_offset_after", off);
    CHECK("sendfile_src_pos_untouched", lseek(src, 0, SEEK_CUR));
    lseek(src, 4000, SEEK_SET);
    CHECK("sendfile_from_pos", sendfile(dst, src, NULL, 5000));
    CHECK("sendfile_src_pos_after", lseek(src, 0, SEEK_CUR));
    CHECK("sendfile_at_eof", sendfile(dst, src, NULL, 5000));
    CHECK("sendfile_size", lseek(dst, 0, SEEK_END));
    CHECK("sendfile_to_pipe", sendfile(pp[1], src, &off, 100));
    CHECK("sendfile_from_pipe_offset", sendfile(dst, pp[0], &off, 10));
    CHECK("sendfile_bad_in", sendfile(dst, -1, NULL, 10));
    CHECK("sendfile_wronly_in", sendfile(dst, dst, NULL, 10) == -1 && errno == EBADF ? -1 : 0);
    int app = open("dst", O_WRONLY | O_APPEND);
    CHECK("sendfile_append_out", sendfile(app, src, &off, 10));
    CHECK("sendfile_negative_offset", ({ off_t neg = -1; sendfile(dst, src, &neg, 10); }));
    CHECK("sendfile_dir_in", ({ int d = open(".", O_RDONLY | O_DIRECTORY); sendfile(dst, d, NULL, 10); }));

    /* legacy getdents */
    mkdir("gd", 0755);
    mkfile("gd/one", NULL);
    int gd = open("gd", O_RDONLY | O_DIRECTORY);
    long got = syscall(SYS_getdents, gd, buf, sizeof buf);
    int names = 0, types_ok = 1;
    for (long o = 0; o < got;) {
        unsigned short reclen = *(unsigned short *)(buf + o + 16);
        char type = buf[o + reclen - 1];
        const char *name = buf + o + 18;
        if (!strcmp(name, "one") && type != DT_REG) types_ok = 0;
        if (!strcmp(name, ".") && type != DT_DIR) types_ok = 0;
        names++;
        o += reclen;
    }
    VALUE("getdents_entries", names);
    VALUE("getdents_types", types_ok);
    CHECK("getdents_too_small", ({ lseek(gd, 0, SEEK_SET); syscall(SYS_getdents, gd, buf, 10); }));

    /* fcntl locks */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    CHECK("setlk_wrlck", fcntl(fd, F_SETLK, &fl));
    fl.l_type = F_RDLCK;
    CHECK("getlk_own_lock", fcntl(fd, F_GETLK, &fl));
    VALUE("getlk_type", fl.l_type);
    int ro = open("f", O_RDONLY);
    fl.l_type = F_WRLCK;
    CHECK("setlk_wrlck_on_rdonly", fcntl(ro, F_SETLK, &fl));
    fl.l_type = 7;
    CHECK("setlk_bad_type", fcntl(fd, F_SETLK, &fl));
    fl.l_type = F_UNLCK;
    CHECK("setlk_unlock", fcntl(fd, F_SETLKW, &fl));
    CHECK("setlk_null", fcntl(fd, F_SETLK, NULL));

    /* ioctls */
    int avail = -1;
    lseek(fd, 3, SEEK_SET);
    CHECK("fionread_file", ioctl(fd, FIONREAD, &avail));
    VALUE("fionread_file_value", avail);
    CHECK("fioclex", ioctl(fd, FIOCLEX));
    CHECK("fioclex_getfd", fcntl(fd, F_GETFD));
    CHECK("fionclex", ioctl(fd, FIONCLEX));
    CHECK("fionclex_getfd", fcntl(fd, F_GETFD));
    int one = 1;
    CHECK("fionbio", ioctl(pp[0], FIONBIO, &one));
    CHECK("fionbio_getfl", fcntl(pp[0], F_GETFL));
    CHECK("read_after_fionbio", read(pp[0], buf, 10) == -1 ? -1 : -2);
    CHECK("tcgets_on_file", ioctl(fd, TCGETS, buf));
    CHECK("ioctl_opath", ({ int o = open("f", O_PATH); ioctl(o, FIONREAD, &avail); }));

    /* truncate, fsync */
    CHECK("truncate_grow", truncate("f", 10000));
    CHECK("truncate_dir", truncate("d3", 0));
    CHECK("truncate_missing", truncate("missing", 0));
    CHECK("ftruncate_rdonly", ftruncate(ro, 0));
    CHECK("ftruncate_pipe", ftruncate(pp[1], 0));
    CHECK("fsync_file", fsync(fd));
    CHECK("fdatasync_file", fdatasync(fd));
    CHECK("fsync_pipe", fsync(pp[0]));
    CHECK("fsync_dir", ({ int d = open(".", O_RDONLY); fsync(d); }));
    CHECK("fsync_devnull", ({ int d = open("/dev/null", O_RDONLY); fsync(d); }));

    /* mmap of files */
    int mf = mkfile("m", NULL);
    ftruncate(mf, 8192);
    char *mp = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, mf, 0);
    VALUE("mmap_shared_ok", mp != MAP_FAILED);
    if (mp != MAP_FAILED) {
        memcpy(mp + 4096, "shared-write", 12);
        msync(mp, 8192, MS_SYNC);
    }
    memset(buf, 0, sizeof buf);
    pread(mf, buf, 12, 4096);
    VALUE("mmap_shared_write_reaches_file", strcmp(buf, "shared-write") == 0);
    int mro = open("m", O_RDONLY);
    errno = 0;
    void *wm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mro, 0);
    rep("mmap_shared_write_on_rdonly_fd", wm == MAP_FAILED ? -1 : 0, errno);
    char *pv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, mro, 0);
    VALUE("mmap_private_on_rdonly_ok", pv != MAP_FAILED);
    if (pv != MAP_FAILED) pv[0] = 'P';
    memset(buf, 0, sizeof buf);
    pread(mf, buf, 1, 0);
    VALUE("mmap_private_write_stays_private", buf[0] == 0);
    errno = 0;
    void *dm = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, open(".", O_RDONLY), 0);
    rep("mmap_directory", dm == MAP_FAILED ? -1 : 0, errno);
    errno = 0;
    void *nm = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, open("/dev/null", O_RDONLY), 0);
    rep("mmap_dev_null", nm == MAP_FAILED ? -1 : 0, errno);

    /* /dev/std* */
    CHECK("open_dev_stdout", ({ int o = open("/dev/stdout", O_WRONLY); long r = write(o, "to-stdout\n", 10); close(o); r; }));
    CHECK("open_dev_stdin_read", ({ int i = open("/dev/stdin", O_RDONLY); long r = read(i, buf, 10); close(i); r; }));
    CHECK("stat_dev_fd_dir", stat("/dev/fd/", &st));
    CHECK("open_proc_self_fd_missing", open("/proc/self/fd/999", O_RDONLY));

    /* O_TMPFILE and odd open flags */
    CHECK("open_creat_directory", open("zz", O_RDONLY | O_CREAT | O_DIRECTORY, 0644));
    CHECK("open_dir_wronly", open(".", O_WRONLY));
    CHECK("open_trailing_slash_file", open("f/", O_RDONLY));
    CHECK("open_excl_dangling", open("dangling", O_WRONLY | O_CREAT | O_EXCL, 0644));
    CHECK("open_creat_dangling_creates_target", ({ int o = open("dangling", O_WRONLY | O_CREAT, 0644); close(o); access("missing-target", F_OK); }));
    CHECK("open_name_too_long", ({ char ln[300]; memset(ln, 'x', 299); ln[299] = 0; open(ln, O_RDONLY); }));
    CHECK("getcwd_erange", syscall(SYS_getcwd, buf, 1));
    CHECK("chdir_file", syscall(SYS_chdir, "f"));
    CHECK("fchdir_file", fchdir(fd));
    CHECK("fchdir_opath_dir", ({ int o = open("d3", O_PATH); long r = fchdir(o); chdir(".."); r; }));
    return 0;
}
