/* Sandbox escape attempts, run under run-guest --root. argv[1] picks the
 * attempt, argv[2] is the host path of a secret file outside the root.
 * Every step prints one line: "<name>: ret=<r> errno=<NAME> data=<first
 * bytes read, if any>". The test checks that no line shows the secret and
 * that the host directory outside the root is untouched. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ename(int e)
{
    switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case ENOTDIR: return "ENOTDIR";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EROFS: return "EROFS";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ENOSYS: return "ENOSYS";
    case EBADF: return "EBADF";
    case EISDIR: return "EISDIR";
    case EFAULT: return "EFAULT";
    default: { static char b[16]; snprintf(b, sizeof b, "E%d", e); return b; }
    }
}

/* Open and read up to 31 bytes: what a successful escape would show. */
static void try_read_at(const char *name, int dirfd, const char *path)
{
    char data[32] = "";
    errno = 0;
    int fd = openat(dirfd, path, O_RDONLY);
    int e = errno;
    if (fd >= 0) {
        long n = read(fd, data, sizeof data - 1);
        if (n > 0) {
            data[n] = 0;
            char *nl = strchr(data, '\n');
            if (nl) *nl = 0;
        }
        close(fd);
    }
    printf("%s: ret=%d errno=%s data=%s\n", name, fd >= 0 ? 0 : -1, ename(e), data);
}

static void try_read(const char *name, const char *path) { try_read_at(name, AT_FDCWD, path); }

static void report(const char *name, long r)
{
    printf("%s: ret=%ld errno=%s\n", name, r < 0 ? -1L : r, ename(r < 0 ? errno : 0));
}

#define TRY(name, call) do { errno = 0; long r_ = (long)(call); report(name, r_); } while (0)

static char buf[8192];

static const char *up(int n, const char *tail)
{
    buf[0] = 0;
    for (int i = 0; i < n; i++) strcat(buf, "../");
    strcat(buf, tail[0] == '/' ? tail + 1 : tail);
    return buf;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 3) return 2;
    const char *mode = argv[1], *secret = argv[2];
    char cwd[4096];

    if (!strcmp(mode, "dotdot")) {
        try_read("host_path_as_is", secret);
        try_read("dotdot_absolute", up(20, secret) - 0);
        char abs[8192];
        snprintf(abs, sizeof abs, "/../../../../..%s", secret);
        try_read("dotdot_from_root", abs);
        try_read("dotdot_relative", up(30, secret));
        for (int i = 0; i < 30; i++) chdir("..");
        printf("getcwd_after_chdir_up: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "(error)");
        try_read("inside_after_chdir_up", "file");
        try_read("proc_self_root_dotdot", "/proc/self/root/../../file");
        try_read("proc_self_cwd_dotdot", "/proc/self/cwd/../../../file");
    } else if (!strcmp(mode, "abs-symlink")) {
        try_read("host_made_abs_link", "/abs");
        try_read("host_made_abs_dir_link", "/absdir/secret");
        TRY("guest_symlink", symlink(secret, "/mylink"));
        try_read("guest_abs_link", "/mylink");
        errno = 0;
        int fd = open("/mylink", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        report("create_through_abs_link", fd);
        struct stat st;
        TRY("stat_abs_link", stat("/abs", &st));
        TRY("lstat_abs_link", lstat("/abs", &st));
    } else if (!strcmp(mode, "rel-symlink")) {
        try_read("climbing_link", "/sub/up");
        try_read("climbing_dir_link", "/sub/updir/outside/secret");
        TRY("guest_rel_symlink", symlink("../../../../../../../../../../outside/secret", "/sub/mine"));
        try_read("guest_climbing_link", "/sub/mine");
        errno = 0;
        int fd = open("/sub/mine", O_WRONLY | O_TRUNC);
        if (fd >= 0) { write(fd, "overwritten\n", 12); close(fd); }
        report("write_through_climbing_link", fd);
    } else if (!strcmp(mode, "loop")) {
        try_read("loop_pair", "/loop1");
        try_read("loop_self", "/self");
        try_read("loop_in_dir_component", "/loop1/x");
        try_read("chain_40", "/l39");
        try_read("chain_41", "/l40");
        errno = 0;
        int fd = open("/loop1", O_WRONLY | O_CREAT, 0644);
        report("create_through_loop", fd);
    } else if (!strcmp(mode, "dirfd")) {
        int d = open("/sub", O_RDONLY | O_DIRECTORY);
        try_read_at("openat_dirfd_dotdot", d, up(30, secret));
        try_read_at("openat_dirfd_dotdot_inside", d, "../../../../file");
        int p = open("/sub", O_PATH | O_DIRECTORY);
        try_read_at("openat_opath_dirfd_dotdot", p, "../../../../../../outside/secret");
        int r = open("/", O_RDONLY | O_DIRECTORY);
        try_read_at("openat_rootfd_dotdot", r, "../outside/secret");
        TRY("fchdir_sub", fchdir(d));
        for (int i = 0; i < 30; i++) chdir("..");
        printf("getcwd_after_fchdir_up: %s\n", getcwd(cwd, sizeof cwd) ? cwd : "(error)");
        TRY("mkdirat_dotdot", mkdirat(d, "../../../../escape_dir", 0755));
    } else if (!strcmp(mode, "rename")) {
        char dst[8192];
        snprintf(dst, sizeof dst, "%s.moved", secret);
        TRY("rename_to_host_path", rename("/file", dst));
        TRY("rename_dotdot", rename("/file", up(30, "outside/moved")));
        int d = open("/sub", O_RDONLY | O_DIRECTORY);
        TRY("renameat_dirfd_dotdot", renameat(AT_FDCWD, "/file", d, "../../../outside/moved2"));
        TRY("rename_from_host_path", rename(secret, "/stolen"));
        TRY("rename_via_abs_dir_link", rename("/file", "/absdir/moved3"));
        TRY("renameat2_exchange_host", syscall(SYS_renameat2, AT_FDCWD, "/file", AT_FDCWD, secret, 2));
        try_read("file_still_inside", "/file");
    } else if (!strcmp(mode, "link")) {
        char dst[8192];
        snprintf(dst, sizeof dst, "%s.hl", secret);
        TRY("link_to_host_path", link("/file", dst));
        TRY("link_dotdot", link("/file", up(30, "outside/hl")));
        TRY("link_from_host_path", link(secret, "/stolen"));
        TRY("link_follow_abs_link", linkat(AT_FDCWD, "/abs", AT_FDCWD, "/stolen2", AT_SYMLINK_FOLLOW));
        TRY("link_abs_link_itself", linkat(AT_FDCWD, "/abs", AT_FDCWD, "/linkcopy", 0));
        try_read("linkcopy_read", "/linkcopy");
        int d = open("/sub", O_RDONLY | O_DIRECTORY);
        TRY("linkat_dirfd_dotdot", linkat(d, "../../../../file", d, "../../../../outside/hl2", 0));
    } else if (!strcmp(mode, "link-ro")) {
        /* Default setup (no --root): the working directory is writable,
         * the secret lies in the read-only rest. No link or rename may
         * give it a name in the writable tree. */
        char dst[8192], proc[64];
        snprintf(dst, sizeof dst, "%s.hl", secret);
        TRY("link_ro_source", link(secret, "hl"));
        TRY("link_into_ro_dir", link("inside", dst));
        TRY("symlink_to_secret", symlink(secret, "sl"));
        TRY("link_follow_symlink", linkat(AT_FDCWD, "sl", AT_FDCWD, "hl2", AT_SYMLINK_FOLLOW));
        errno = 0;
        int fd = open(secret, O_RDONLY);
        report("open_secret", fd);
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        TRY("link_proc_fd", linkat(AT_FDCWD, proc, AT_FDCWD, "hl3", AT_SYMLINK_FOLLOW));
        TRY("link_empty_path", linkat(fd, "", AT_FDCWD, "hl4", AT_EMPTY_PATH));
        TRY("rename_ro_source", rename(secret, "moved"));
        TRY("rename_into_ro_dir", rename("inside", dst));
        errno = 0;
        int w = open("hl", O_WRONLY | O_APPEND);
        if (w >= 0) { write(w, "X\n", 2); close(w); }
        report("write_through_link", w);
    } else if (!strcmp(mode, "host-fds")) {
        /* stdin is the secret (read-only), stderr a host log opened for
         * appending, both outside the writable tree: data may flow as the
         * descriptions allow, nothing else may change on the host. */
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/%d/fd/0", (int)getpid());
        errno = 0; int fd = open("/proc/self/fd/0", O_WRONLY | O_APPEND);
        if (fd >= 0) write(fd, "X\n", 2);
        report("reopen_stdin_write", fd);
        errno = 0; fd = open("/dev/stdin", O_RDWR);
        report("reopen_dev_stdin_rdwr", fd);
        errno = 0; fd = open(proc, O_WRONLY);
        report("reopen_pid_fd_write", fd);
        errno = 0; fd = open("/proc/self/fd/0", O_RDONLY | O_TRUNC);
        report("reopen_stdin_trunc", fd);
        errno = 0; fd = open("/proc/self/fd/0", O_RDONLY);
        report("reopen_stdin_read", fd >= 0 ? 0 : -1);
        if (fd >= 0) close(fd);
        TRY("fchmod_stdin", fchmod(0, 0777));
        TRY("fchown_stdin", fchown(0, getuid(), getgid()));
        TRY("futimens_stdin", futimens(0, NULL));
        TRY("ftruncate_stdin", ftruncate(0, 0));
        TRY("fsetxattr_stdin", fsetxattr(0, "user.x", "1", 1, 0));
        TRY("fremovexattr_stdin", fremovexattr(0, "user.x"));
        TRY("fchmodat_empty_stdin", syscall(452, 0, "", 0777, AT_EMPTY_PATH));
        TRY("fchownat_empty_stdin", fchownat(0, "", getuid(), getgid(), AT_EMPTY_PATH));
        TRY("utimensat_empty_stdin", utimensat(0, "", NULL, AT_EMPTY_PATH));
        TRY("chmod_proc_fd", chmod("/proc/self/fd/0", 0777));
        TRY("chown_proc_fd", chown("/proc/self/fd/0", getuid(), getgid()));
        TRY("utimes_proc_fd", utimensat(AT_FDCWD, proc, NULL, 0));
        TRY("truncate_proc_fd", truncate("/proc/self/fd/0", 0));
        TRY("setxattr_proc_fd", setxattr("/proc/self/fd/0", "user.x", "1", 1, 0));
        TRY("link_proc_fd", linkat(AT_FDCWD, "/proc/self/fd/0", AT_FDCWD, "stolen", AT_SYMLINK_FOLLOW));
        void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 0, 0);
        report("mmap_shared_write_stdin", m == MAP_FAILED ? -1 : 0);
        TRY("fchmod_stderr", fchmod(2, 0777));
        TRY("ftruncate_stderr", ftruncate(2, 0));
        TRY("futimens_stderr", futimens(2, NULL));
        errno = 0; fd = open("/proc/self/fd/2", O_WRONLY | O_TRUNC);
        report("reopen_stderr_trunc", fd);
        errno = 0; fd = open("/dev/stderr", O_RDONLY);
        report("reopen_stderr_read", fd);
        errno = 0; fd = open("/proc/self/fd/2", O_WRONLY | O_APPEND);
        if (fd >= 0) { write(fd, "appended\n", 9); close(fd); }
        report("reopen_stderr_append", fd >= 0 ? 0 : -1);
    } else if (!strcmp(mode, "ro-paths")) {
        /* Default setup: every path and fd form of a metadata change on a
         * file and a directory in the read-only host. */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", secret);
        *strrchr(dir, '/') = 0;
        const char *names[2] = {secret, dir};
        const char *kinds[2] = {"file", "dir"};
        for (int i = 0; i < 2; i++) {
            char n[64];
            const char *p = names[i];
#define T(what, call) do { snprintf(n, sizeof n, "%s_%s", what, kinds[i]); TRY(n, call); } while (0)
            T("chmod", chmod(p, 0777));
            T("chown", chown(p, getuid(), getgid()));
            T("lchown", lchown(p, getuid(), getgid()));
            T("utimes", utimensat(AT_FDCWD, p, NULL, 0));
            T("utimes_nofollow", utimensat(AT_FDCWD, p, NULL, AT_SYMLINK_NOFOLLOW));
            T("truncate", truncate(p, 0));
            T("setxattr", setxattr(p, "user.x", "1", 1, 0));
            int fd = open(p, O_RDONLY);
            T("fchmod", fchmod(fd, 0777));
            T("fchown", fchown(fd, getuid(), getgid()));
            T("futimens", futimens(fd, NULL));
            T("ftruncate", ftruncate(fd, 0));
            T("fchmodat_empty", syscall(452, fd, "", 0777, AT_EMPTY_PATH));
            T("fchownat_empty", fchownat(fd, "", getuid(), getgid(), AT_EMPTY_PATH));
            T("utimensat_empty", utimensat(fd, "", NULL, AT_EMPTY_PATH));
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
            T("chmod_proc_fd", chmod(proc, 0777));
            T("open_proc_fd_write", open(proc, O_WRONLY));
            close(fd);
            int pfd = open(p, O_PATH);
            T("fchmodat_empty_opath", syscall(452, pfd, "", 0777, AT_EMPTY_PATH));
            T("utimensat_empty_opath", utimensat(pfd, "", NULL, AT_EMPTY_PATH));
            close(pfd);
#undef T
        }
    } else if (!strcmp(mode, "stdin-inside")) {
        /* stdin is a file in the writable tree: Linux's answers. */
        TRY("fchmod_stdin", fchmod(0, 0640));
        TRY("futimens_stdin", futimens(0, NULL));
        TRY("chmod_proc_fd", chmod("/proc/self/fd/0", 0600));
        errno = 0; int fd = open("/proc/self/fd/0", O_WRONLY | O_APPEND);
        if (fd >= 0) { write(fd, "more\n", 5); close(fd); }
        report("reopen_stdin_write", fd >= 0 ? 0 : -1);
    } else {
        return 2;
    }
    return 0;
}
