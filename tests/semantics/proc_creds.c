/* Credentials: set*uid/set*gid and their permission rules, supplementary
 * groups, fs ids, capget/capset and how capabilities follow uid changes
 * (kernel/sys.c, kernel/groups.c, security/commoncap.c). Ids changed in
 * forked children, so every case starts from the invoking user's ids. */
#include "check.h"

#include <sys/wait.h>

/* linux/capability.h, spelled out: musl's headers do not carry it. */
struct __user_cap_header_struct {
    uint32_t version;
    int pid;
};
struct __user_cap_data_struct {
    uint32_t effective, permitted, inheritable;
};
#define _LINUX_CAPABILITY_VERSION_1 0x19980330
#define _LINUX_CAPABILITY_VERSION_3 0x20080522
#define CAP_CHOWN 0
#define CAP_KILL 5

static int status_field_matches(const char *key, unsigned a, unsigned b, unsigned c, unsigned d)
{
    char buf[4096], want[128];
    int fd = open("/proc/self/status", O_RDONLY);
    long n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    snprintf(want, sizeof want, "\n%s:\t%u\t%u\t%u\t%u\n", key, a, b, c, d);
    return strstr(buf, want) != NULL;
}

static long effective_caps(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (SC(SYS_capget, &h, d) != 0)
        return -1;
    return (long)d[0].effective | (long)d[1].effective << 32;
}

static long permitted_caps(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (SC(SYS_capget, &h, d) != 0)
        return -1;
    return (long)d[0].permitted | (long)d[1].permitted << 32;
}

#define CHILD(name, ...)                                   \
    do {                                               \
        fflush(stdout);                                \
        pid_t pid_ = MUST(fork());                     \
        if (pid_ == 0) {                               \
            __VA_ARGS__;                                  \
            fflush(stdout);                            \
            _exit(0);                                  \
        }                                              \
        int st_;                                       \
        MUST(waitpid(pid_, &st_, 0));                  \
        VALUE(name, st_);                          \
    } while (0)

int main(void)
{
    start();
    uid_t r, e, s;
    gid_t gr, ge, gs;
    CHECK("getresuid", SC(SYS_getresuid, &r, &e, &s));
    VALUE("getresuid_matches_getuid", r == getuid() && e == geteuid());
    CHECK("getresgid", SC(SYS_getresgid, &gr, &ge, &gs));
    VALUE("getresgid_matches_getgid", gr == getgid() && ge == getegid());
    CHECK("getresuid_bad_pointer", SC(SYS_getresuid, &r, 1, &s));
    VALUE("status_uid_line", status_field_matches("Uid", r, e, s, e));
    CHECK("setuid_minus_one", SC(SYS_setuid, -1));
    CHECK("setresuid_all_unchanged", SC(SYS_setresuid, -1, -1, -1));
    CHECK("setresgid_all_unchanged", SC(SYS_setresgid, -1, -1, -1));
    CHECK("setfsuid_probe_returns_fsuid_is_euid", SC(SYS_setfsuid, -1) == (long)e);

    struct __user_cap_header_struct h = {0x12345678, 0};
    struct __user_cap_data_struct d[2];
    CHECK("capget_bad_version_probe", SC(SYS_capget, &h, NULL));
    VALUE("capget_writes_preferred_version", h.version == _LINUX_CAPABILITY_VERSION_3);
    h.version = 0x12345678;
    CHECK("capget_bad_version", SC(SYS_capget, &h, d));
    h.pid = -1;
    CHECK("capget_negative_pid", SC(SYS_capget, &h, d));
    CHECK("capget_negative_pid_probe", SC(SYS_capget, &h, NULL));
    h.pid = 0x3fffffff;
    CHECK("capget_missing_pid", SC(SYS_capget, &h, d));
    h.pid = 0;
    CHECK("capget_null_data_probes", SC(SYS_capget, &h, NULL));
    h.version = _LINUX_CAPABILITY_VERSION_1;
    CHECK("capget_version_1", SC(SYS_capget, &h, d));
    CHECK("capget_bad_data_pointer", SC(SYS_capget, &h, 1));
    VALUE("root_has_every_effective_cap", geteuid() != 0 || effective_caps() == permitted_caps());

    CHECK("getgroups_count", SC(SYS_getgroups, 0, NULL) >= 0);
    CHECK("getgroups_negative", SC(SYS_getgroups, -1, NULL));
    CHECK("setgroups_too_many", SC(SYS_setgroups, 65537, NULL));

    CHILD("groups_child_status", {
        gid_t gs3[3] = {30, 10, 20}, out[8] = {0};
        CHECK("setgroups_three", SC(SYS_setgroups, 3, gs3));
        CHECK("getgroups_after", SC(SYS_getgroups, 8, out));
        VALUE("getgroups_sorted", out[0] == 10 && out[1] == 20 && out[2] == 30);
        CHECK("getgroups_too_small", SC(SYS_getgroups, 2, out));
        CHECK("setgroups_bad_pointer", SC(SYS_setgroups, 2, 1));
        CHECK("setgroups_empty", SC(SYS_setgroups, 0, NULL));
        CHECK("getgroups_now_empty", SC(SYS_getgroups, 0, NULL));
    });

    /* Dropping every id to an unprivileged one drops the capabilities. */
    CHILD("drop_child_status", {
        CHECK("setresgid_drop", SC(SYS_setresgid, 1000, 1000, 1000));
        CHECK("setresuid_drop", SC(SYS_setresuid, 1000, 1000, 1000));
        VALUE("ids_after_drop", getuid() == 1000 && geteuid() == 1000 && getgid() == 1000);
        VALUE("status_uid_after_drop", status_field_matches("Uid", 1000, 1000, 1000, 1000));
        VALUE("effective_caps_after_drop", effective_caps());
        VALUE("permitted_caps_after_drop", permitted_caps());
        CHECK("setuid_back_to_root", SC(SYS_setuid, 0));
        CHECK("setresuid_other_user", SC(SYS_setresuid, -1, 2000, -1));
        CHECK("setreuid_swap_within", SC(SYS_setreuid, 1000, 1000));
        CHECK("setgroups_unprivileged", SC(SYS_setgroups, 0, NULL));
        CHECK("setfsuid_other_is_ignored", SC(SYS_setfsuid, 3000));
        CHECK("setfsuid_probe_after", SC(SYS_setfsuid, -1));
        CHECK("setgid_other_group", SC(SYS_setgid, 3000));
    });

    /* Only the effective id: the saved root id lets it come back. */
    CHILD("seteuid_child_status", {
        CHECK("seteuid_only", SC(SYS_setresuid, -1, 1000, -1));
        VALUE("effective_caps_after_seteuid", effective_caps());
        VALUE("permitted_kept_after_seteuid", permitted_caps() != 0);
        CHECK("seteuid_back", SC(SYS_setresuid, -1, 0, -1));
        VALUE("effective_restored", effective_caps() == permitted_caps());
        CHECK("setfsuid_to_user_returns_old", SC(SYS_setfsuid, 1234));
        CHECK("setfsuid_probe_sees_new", SC(SYS_setfsuid, -1));
        CHECK("setreuid_real", SC(SYS_setreuid, 1000, -1));
        CHECK("getuid_after_setreuid", getuid());
    });

    /* capset: effective within permitted, permitted only shrinks. */
    CHILD("capset_child_status", {
        struct __user_cap_header_struct hh = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct dd[2];
        MUST(SC(SYS_capget, &hh, dd));
        unsigned perm0 = dd[0].permitted;
        dd[0].effective &= ~(1u << CAP_CHOWN);
        CHECK("capset_drop_effective_chown", SC(SYS_capset, &hh, dd));
        VALUE("chown_not_effective", !(effective_caps() & (1L << CAP_CHOWN)));
        dd[0].permitted &= ~(1u << CAP_KILL);
        dd[0].effective &= ~(1u << CAP_KILL);
        CHECK("capset_drop_permitted_kill", SC(SYS_capset, &hh, dd));
        dd[0].permitted = perm0;
        CHECK("capset_regain_permitted", SC(SYS_capset, &hh, dd));
        dd[0].permitted &= ~(1u << CAP_KILL);
        dd[0].effective |= 1u << CAP_KILL;
        CHECK("capset_effective_outside_permitted", SC(SYS_capset, &hh, dd));
        hh.pid = 1;
        CHECK("capset_other_pid", SC(SYS_capset, &hh, dd));
    });
    return 0;
}
