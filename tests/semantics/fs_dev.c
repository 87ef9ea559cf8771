/* /dev/null, /dev/zero, /dev/full, /dev/urandom: reads, writes, seeks,
 * stat (type, mode, device numbers), mmap of /dev/zero. */
#include "check.h"

#include <sys/sysmacros.h>

static void dev_stat(const char *label, const char *path)
{
    struct stat st;
    char n[96];
    long r = SC(SYS_newfstatat, AT_FDCWD, path, &st, 0);
    snprintf(n, sizeof n, "%s_stat", label);
    CHECK(n, r);
    snprintf(n, sizeof n, "%s_mode", label);
    VALUE(n, r == 0 ? (long)st.st_mode : -2);
    snprintf(n, sizeof n, "%s_rdev", label);
    VALUE(n, r == 0 ? (long)(major(st.st_rdev) * 1000 + minor(st.st_rdev)) : -2);
}

int main(void)
{
    start();
    char *buf = map_anon(2 * PAGE, PROT_READ | PROT_WRITE);

    int nul = open_file("/dev/null", O_RDWR);
    CHECK("null_read", SC(SYS_read, nul, buf, 100));
    CHECK("null_write", SC(SYS_write, nul, buf, 100));
    CHECK("null_write_null_buffer", SC(SYS_write, nul, NULL, 100));
    CHECK("null_read_null_buffer", SC(SYS_read, nul, NULL, 100));
    CHECK("null_pread", SC(SYS_pread64, nul, buf, 100, 1000));
    CHECK("null_pwrite", SC(SYS_pwrite64, nul, buf, 100, 1000));
    CHECK("null_lseek", SC(SYS_lseek, nul, 123, SEEK_SET));
    CHECK("null_lseek_end", SC(SYS_lseek, nul, 0, SEEK_END));
    CHECK("null_fcntl_getfl", SC(SYS_fcntl, nul, F_GETFL));
    dev_stat("null", "/dev/null");

    int zero = open_file("/dev/zero", O_RDWR);
    memset(buf, 'x', 2 * PAGE);
    CHECK("zero_read", SC(SYS_read, zero, buf, 2 * PAGE));
    VALUE("zero_read_zeroed", buf[0] == 0 && buf[2 * PAGE - 1] == 0);
    CHECK("zero_read_zero_length", SC(SYS_read, zero, buf, 0));
    CHECK("zero_read_null_buffer", SC(SYS_read, zero, NULL, 10));
    CHECK("zero_write", SC(SYS_write, zero, buf, 4000));
    CHECK("zero_lseek", SC(SYS_lseek, zero, 77, SEEK_SET));
    CHECK("zero_pread", SC(SYS_pread64, zero, buf, 16, 1 << 20));
    struct iovec iov[2] = {{buf, 5}, {buf + 100, 7}};
    CHECK("zero_readv", SC(SYS_readv, zero, iov, 2));
    dev_stat("zero", "/dev/zero");
    char *zm = (char *)SC(SYS_mmap, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, zero, 0);
    VALUE("zero_mmap_private_ok", zm != MAP_FAILED);
    VALUE("zero_mmap_private_zero", zm != MAP_FAILED && zm[0] == 0 && zm[2 * PAGE - 1] == 0);
    if (zm != MAP_FAILED)
        zm[0] = 1;
    char *zs = (char *)SC(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
    VALUE("zero_mmap_shared_ok", zs != MAP_FAILED);
    VALUE("zero_mmap_shared_zero_and_writable", zs != MAP_FAILED && zs[0] == 0 && can_write(zs));

    int full = open_file("/dev/full", O_RDWR);
    CHECK("full_write", SC(SYS_write, full, buf, 10));
    CHECK("full_write_zero_length", SC(SYS_write, full, buf, 0));
    memset(buf, 'x', 16);
    CHECK("full_read", SC(SYS_read, full, buf, 16));
    VALUE("full_read_zeroed", buf[0] == 0 && buf[15] == 0);
    dev_stat("full", "/dev/full");

    int ur = open_file("/dev/urandom", O_RDONLY);
    CHECK("urandom_read_16", SC(SYS_read, ur, buf, 16));
    CHECK("urandom_read_large", SC(SYS_read, ur, buf, 2 * PAGE));
    CHECK("urandom_read_null_buffer", SC(SYS_read, ur, NULL, 16));
    dev_stat("urandom", "/dev/urandom");

    CHECK("open_dev_missing", SC(SYS_openat, AT_FDCWD, "/dev/does-not-exist", O_RDONLY, 0));
    CHECK("open_devnull_directory_flag", SC(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY | O_DIRECTORY, 0));
    CHECK("getrandom_16", SC(SYS_getrandom, buf, 16, 0));
    CHECK("getrandom_bad_flags", SC(SYS_getrandom, buf, 16, 0x100));
    return 0;
}
