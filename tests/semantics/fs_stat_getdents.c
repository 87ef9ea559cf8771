/* stat/fstat/lstat/newfstatat (only fields stable across runs: type and
 * mode, size, nlink) and getdents64/getdents (entries sorted by name
 * before printing: directory order is filesystem-specific). */
#include "check.h"

#include <dirent.h>

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

struct entry {
    char name[64];
    int type;
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void print_stat(const char *name, const struct stat *st)
{
    char n[128];
    snprintf(n, sizeof n, "%s_mode", name);
    VALUE(n, st->st_mode);
    snprintf(n, sizeof n, "%s_size", name);
    VALUE(n, S_ISDIR(st->st_mode) ? -2 : (long)st->st_size); /* dir sizes are fs-specific */
    snprintf(n, sizeof n, "%s_nlink", name);
    VALUE(n, st->st_nlink);
}

/* Read a whole directory with getdents64 in calls of `bufsize` bytes;
 * print the entry count, then one line per entry in name order with its
 * d_type (getdents order is filesystem-specific, so it is not compared). */
static void list_dir(const char *label, int fd, long bufsize)
{
    char *buf = map_anon(65536, PROT_READ | PROT_WRITE);
    static struct entry entries[64];
    int count = 0;
    char n[160];
    for (;;) {
        long got = SC(SYS_getdents64, fd, buf, bufsize);
        if (got <= 0) {
            if (got < 0) {
                snprintf(n, sizeof n, "%s_error", label);
                CHECK(n, got);
            }
            break;
        }
        for (long off = 0; off < got;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            if (count < 64) {
                snprintf(entries[count].name, sizeof entries[count].name, "%s", d->d_name);
                entries[count].type = d->d_type;
                count++;
            }
            off += d->d_reclen;
        }
    }
    snprintf(n, sizeof n, "%s_entries", label);
    VALUE(n, count);
    qsort(entries, count, sizeof entries[0], cmp_entry);
    for (int i = 0; i < count; i++) {
        const char *name = entries[i].name;
        if (strcmp(name, ".") == 0)
            name = "dot";
        else if (strcmp(name, "..") == 0)
            name = "dotdot";
        snprintf(n, sizeof n, "%s_entry_%s_type", label, name);
        VALUE(n, entries[i].type);
    }
}

int main(void)
{
    start();
    struct stat st;
    int fd = open_file("file", O_RDWR | O_CREAT | O_TRUNC);
    char buf[1234];
    memset(buf, 'x', sizeof buf);
    MUST(SC(SYS_write, fd, buf, sizeof buf));

    CHECK("fstat_file", SC(SYS_fstat, fd, &st));
    print_stat("fstat_file", &st);
    CHECK("stat_file", SC(SYS_newfstatat, AT_FDCWD, "file", &st, 0));
    print_stat("stat_file", &st);
    CHECK("fchmod_0600", SC(SYS_fchmod, fd, 0600));
    CHECK("stat_after_chmod", SC(SYS_newfstatat, AT_FDCWD, "file", &st, 0));
    VALUE("stat_after_chmod_mode", st.st_mode);
    CHECK("ftruncate_100", SC(SYS_ftruncate, fd, 100));
    CHECK("fstat_after_truncate", SC(SYS_fstat, fd, &st));
    VALUE("fstat_after_truncate_size", st.st_size);
    CHECK("ftruncate_negative", SC(SYS_ftruncate, fd, -1));
    CHECK("truncate_path_grow", SC(SYS_truncate, "file", 5000));
    CHECK("stat_after_truncate_grow", SC(SYS_newfstatat, AT_FDCWD, "file", &st, 0));
    VALUE("stat_after_truncate_grow_size", st.st_size);

    CHECK("link", SC(SYS_linkat, AT_FDCWD, "file", AT_FDCWD, "hardlink", 0));
    CHECK("fstat_after_link", SC(SYS_fstat, fd, &st));
    VALUE("fstat_after_link_nlink", st.st_nlink);
    CHECK("symlink", SC(SYS_symlinkat, "file", AT_FDCWD, "symlink"));
    CHECK("lstat_symlink", SC(SYS_newfstatat, AT_FDCWD, "symlink", &st, AT_SYMLINK_NOFOLLOW));
    VALUE("lstat_symlink_is_link", S_ISLNK(st.st_mode));
    VALUE("lstat_symlink_size", st.st_size);
    CHECK("stat_through_symlink", SC(SYS_newfstatat, AT_FDCWD, "symlink", &st, 0));
    print_stat("stat_through_symlink", &st);
    CHECK("unlink_hardlink", SC(SYS_unlinkat, AT_FDCWD, "hardlink", 0));
    CHECK("fstat_after_unlink", SC(SYS_fstat, fd, &st));
    VALUE("fstat_after_unlink_nlink", st.st_nlink);
    CHECK("symlink_dangling", SC(SYS_symlinkat, "nowhere", AT_FDCWD, "dangling"));
    CHECK("stat_dangling_symlink", SC(SYS_newfstatat, AT_FDCWD, "dangling", &st, 0));

    CHECK("stat_missing", SC(SYS_newfstatat, AT_FDCWD, "missing", &st, 0));
    CHECK("stat_empty_path", SC(SYS_newfstatat, AT_FDCWD, "", &st, 0));
    CHECK("stat_empty_path_at_empty_path", SC(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH));
    VALUE("stat_empty_path_at_empty_path_size", st.st_size);
    CHECK("stat_null_path", SC(SYS_newfstatat, AT_FDCWD, NULL, &st, 0));
    CHECK("stat_null_buffer", SC(SYS_newfstatat, AT_FDCWD, "file", NULL, 0));
    CHECK("fstat_badfd", SC(SYS_fstat, -1, &st));
    CHECK("fstat_null_buffer", SC(SYS_fstat, fd, NULL));
    CHECK("stat_bad_flags", SC(SYS_newfstatat, AT_FDCWD, "file", &st, 0x40000));
    CHECK("stat_file_as_dir", SC(SYS_newfstatat, AT_FDCWD, "file/x", &st, 0));
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CHECK("stat_name_too_long", SC(SYS_newfstatat, AT_FDCWD, longname, &st, 0));
    CHECK("open_missing", SC(SYS_openat, AT_FDCWD, "missing", O_RDONLY, 0));
    CHECK("open_excl_existing", SC(SYS_openat, AT_FDCWD, "file", O_RDWR | O_CREAT | O_EXCL, 0644));
    CHECK("open_directory_flag_on_file", SC(SYS_openat, AT_FDCWD, "file", O_RDONLY | O_DIRECTORY, 0));

    CHECK("mkdir", SC(SYS_mkdirat, AT_FDCWD, "dir", 0750));
    CHECK("mkdir_existing", SC(SYS_mkdirat, AT_FDCWD, "dir", 0750));
    CHECK("stat_dir", SC(SYS_newfstatat, AT_FDCWD, "dir", &st, 0));
    print_stat("stat_dir", &st);
    CHECK("mkdir_sub", SC(SYS_mkdirat, AT_FDCWD, "dir/sub", 0755));
    CHECK("stat_dir_after_subdir", SC(SYS_newfstatat, AT_FDCWD, "dir", &st, 0));
    VALUE("stat_dir_after_subdir_nlink", st.st_nlink);
    MUST(SC(SYS_close, MUST(SC(SYS_openat, AT_FDCWD, "dir/b", O_CREAT | O_WRONLY, 0644))));
    MUST(SC(SYS_close, MUST(SC(SYS_openat, AT_FDCWD, "dir/a", O_CREAT | O_WRONLY, 0644))));
    MUST(SC(SYS_symlinkat, "a", AT_FDCWD, "dir/c"));
    CHECK("rmdir_nonempty", SC(SYS_unlinkat, AT_FDCWD, "dir", AT_REMOVEDIR));
    CHECK("unlink_directory", SC(SYS_unlinkat, AT_FDCWD, "dir", 0));

    int dfd = open_file("dir", O_RDONLY | O_DIRECTORY);
    list_dir("getdents64", dfd, 4096);
    CHECK("getdents64_at_end", SC(SYS_getdents64, dfd, buf, sizeof buf));
    CHECK("getdents64_rewind", SC(SYS_lseek, dfd, 0, SEEK_SET));
    list_dir("getdents64_small_buffer", dfd, 40);
    MUST(SC(SYS_lseek, dfd, 0, SEEK_SET));
    CHECK("getdents64_buffer_too_small", SC(SYS_getdents64, dfd, buf, 8));
    CHECK("getdents64_zero_size", SC(SYS_getdents64, dfd, buf, 0));
    CHECK("getdents64_null_buffer", SC(SYS_getdents64, dfd, NULL, 4096));
    CHECK("getdents64_on_file", SC(SYS_getdents64, fd, buf, sizeof buf));
    CHECK("getdents64_badfd", SC(SYS_getdents64, -1, buf, sizeof buf));
    char *tail = map_anon(2 * PAGE, PROT_READ | PROT_WRITE);
    MUST(SC(SYS_mprotect, tail + PAGE, PAGE, PROT_NONE));
    CHECK("getdents64_into_prot_none", SC(SYS_getdents64, dfd, tail + PAGE, 4096));
    long n = SC(SYS_getdents64, dfd, tail + PAGE - 64, 4096);
    VALUE("getdents64_partial_buffer_ok", n > 0 && n <= 64);
    MUST(SC(SYS_lseek, dfd, 0, SEEK_SET));
    long old = SC(SYS_getdents, dfd, buf, sizeof buf);
    VALUE("getdents_legacy_ok", old > 0);
    int empty = (MUST(SC(SYS_mkdirat, AT_FDCWD, "empty", 0755)), open_file("empty", O_RDONLY | O_DIRECTORY));
    list_dir("getdents64_empty_dir", empty, 4096);
    CHECK("rmdir_empty", SC(SYS_unlinkat, AT_FDCWD, "empty", AT_REMOVEDIR));
    CHECK("getdents64_removed_dir", SC(SYS_getdents64, empty, buf, sizeof buf));
    return 0;
}
