/* Extended attributes (fs/xattr.c): set/get/list/remove and their l and f
 * forms, the size protocol (0 asks for the size, ERANGE when too small),
 * name checks (ERANGE, EOPNOTSUPP, EINVAL), flags (EEXIST, ENODATA,
 * EINVAL), user.* only on regular files and directories, and files
 * without attributes (/proc: EOPNOTSUPP). */
#include "check.h"

#include <sys/xattr.h>

int main(void)
{
    start();
    char buf[256], big[300];
    int fd = MUST(open("file", O_CREAT | O_RDWR, 0644));
    MUST(symlink("file", "link"));
    MUST(mkdir("dir", 0755));

    CHECK("set", SC(SYS_setxattr, "file", "user.k", "v1", 2, 0));
    CHECK("get_size", SC(SYS_getxattr, "file", "user.k", NULL, 0));
    memset(buf, 0, sizeof buf);
    CHECK("get", SC(SYS_getxattr, "file", "user.k", buf, sizeof buf));
    VALUE("get_value", strcmp(buf, "v1") == 0);
    CHECK("get_small_buffer", SC(SYS_getxattr, "file", "user.k", buf, 1));
    CHECK("set_create_existing", SC(SYS_setxattr, "file", "user.k", "v2", 2, XATTR_CREATE));
    CHECK("set_replace_missing", SC(SYS_setxattr, "file", "user.none", "v", 1, XATTR_REPLACE));
    CHECK("set_replace", SC(SYS_setxattr, "file", "user.k", "v3x", 3, XATTR_REPLACE));
    CHECK("get_replaced_size", SC(SYS_getxattr, "file", "user.k", NULL, 0));
    CHECK("set_bad_flags", SC(SYS_setxattr, "file", "user.k", "v", 1, 4));
    CHECK("set_empty_name", SC(SYS_setxattr, "file", "", "v", 1, 0));
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big, "user.", 5);
    CHECK("set_long_name", SC(SYS_setxattr, "file", big, "v", 1, 0));
    CHECK("get_long_name", SC(SYS_getxattr, "file", big, buf, sizeof buf));
    CHECK("set_unknown_namespace", SC(SYS_setxattr, "file", "foo.bar", "v", 1, 0));
    CHECK("get_unknown_namespace", SC(SYS_getxattr, "file", "foo.bar", buf, sizeof buf));
    CHECK("set_bare_prefix", SC(SYS_setxattr, "file", "user.", "v", 1, 0));
    CHECK("set_value_too_big", SC(SYS_setxattr, "file", "user.big", buf, 65537, 0));
    CHECK("set_empty_value", SC(SYS_setxattr, "file", "user.empty", "", 0, 0));
    CHECK("get_empty_value", SC(SYS_getxattr, "file", "user.empty", buf, sizeof buf));
    CHECK("get_bad_name_pointer", SC(SYS_getxattr, "file", 1, buf, sizeof buf));
    CHECK("get_bad_value_pointer", SC(SYS_getxattr, "file", "user.k", 1, sizeof buf));
    CHECK("get_missing_file", SC(SYS_getxattr, "nofile", "user.k", buf, sizeof buf));

    CHECK("list_size", SC(SYS_listxattr, "file", NULL, 0));
    memset(buf, 0, sizeof buf);
    long n = SC(SYS_listxattr, "file", buf, sizeof buf);
    int found = 0;
    for (long i = 0; i < n; i += strlen(buf + i) + 1)
        found += strcmp(buf + i, "user.k") == 0 || strcmp(buf + i, "user.empty") == 0;
    VALUE("list_names", found);
    CHECK("list_small_buffer", SC(SYS_listxattr, "file", buf, 3));

    CHECK("lget_through_symlink", SC(SYS_lgetxattr, "link", "user.k", buf, sizeof buf));
    CHECK("get_follows_symlink", SC(SYS_getxattr, "link", "user.k", buf, sizeof buf));
    CHECK("lset_user_on_symlink", SC(SYS_lsetxattr, "link", "user.k", "v", 1, 0));
    CHECK("set_on_directory", SC(SYS_setxattr, "dir", "user.d", "dv", 2, 0));
    CHECK("get_on_directory", SC(SYS_getxattr, "dir", "user.d", buf, sizeof buf));

    CHECK("fget", SC(SYS_fgetxattr, fd, "user.k", buf, sizeof buf));
    CHECK("fset", SC(SYS_fsetxattr, fd, "user.f", "fv", 2, 0));
    CHECK("flist_size", SC(SYS_flistxattr, fd, NULL, 0));
    CHECK("fremove", SC(SYS_fremovexattr, fd, "user.f"));
    CHECK("fget_bad_fd", SC(SYS_fgetxattr, 999, "user.k", buf, sizeof buf));
    int pfd = MUST(open("file", O_PATH));
    CHECK("fget_o_path", SC(SYS_fgetxattr, pfd, "user.k", buf, sizeof buf));

    CHECK("remove", SC(SYS_removexattr, "file", "user.k"));
    CHECK("get_removed", SC(SYS_getxattr, "file", "user.k", buf, sizeof buf));
    CHECK("remove_missing", SC(SYS_removexattr, "file", "user.k"));
    CHECK("lremove_symlink_user", SC(SYS_lremovexattr, "link", "user.k"));

    CHECK("set_user_on_device", SC(SYS_setxattr, "/dev/null", "user.x", "v", 1, 0));
    CHECK("get_user_on_device", SC(SYS_getxattr, "/dev/null", "user.x", buf, sizeof buf));
    CHECK("get_on_proc", SC(SYS_getxattr, "/proc/self/status", "user.x", buf, sizeof buf));
    CHECK("set_on_proc", SC(SYS_setxattr, "/proc/self/status", "user.x", "v", 1, 0));
    return 0;
}
