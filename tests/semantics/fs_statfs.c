/* statfs/fstatfs: the fields that are stable for a given file system —
 * magic number, block size, name length, read-only flag agreement between
 * statfs and fstatfs, and the errors. */
#include "check.h"

#include <sys/statfs.h>
#include <sys/vfs.h>
#include <sys/statvfs.h>

static void same(const char *name, const struct statfs *a, const struct statfs *b)
{
    VALUE(name, a->f_type == b->f_type && a->f_bsize == b->f_bsize && a->f_namelen == b->f_namelen &&
                    a->f_blocks == b->f_blocks);
}

int main(void)
{
    start();
    struct statfs a, b;
    int fd = MUST(open("f", O_CREAT | O_RDWR, 0644));
    CHECK("statfs_cwd_file", statfs("f", &a));
    CHECK("fstatfs_cwd_file", fstatfs(fd, &b));
    same("statfs_matches_fstatfs", &a, &b);
    VALUE("cwd_writable_flag", (a.f_flags & ST_RDONLY) == 0);
    VALUE("bsize_positive", a.f_bsize > 0);
    VALUE("namelen", a.f_namelen);
    CHECK("statfs_proc", statfs("/proc/self", &a));
    VALUE("proc_magic", a.f_type == 0x9fa0);
    CHECK("statfs_missing", statfs("/nonexistent/x", &a));
    CHECK("statfs_empty", statfs("", &a));
    CHECK("statfs_bad_buffer", SC(SYS_statfs, "f", 1));
    CHECK("fstatfs_badfd", fstatfs(99, &a));
    int p[2];
    MUST(pipe(p));
    CHECK("fstatfs_pipe", fstatfs(p[0], &a));
    VALUE("pipe_magic", a.f_type == 0x50495045);
    return 0;
}
