/* memfd_create: flags and name rules, a regular file in memory (write,
 * pread, ftruncate, fstat size, a MAP_SHARED mapping seen through read),
 * the /proc/self/fd name, and seals: F_GET_SEALS/F_ADD_SEALS, what each
 * seal forbids, F_SEAL_WRITE refused while a writable mapping exists. */
#include "check.h"

#include <sys/mman.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

int main(void)
{
    start();
    char name[300];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    CHECK("name_249_ok", SC(SYS_memfd_create, name, MFD_CLOEXEC));
    name[249] = 'n';
    name[250] = 0;
    CHECK("name_250_einval", SC(SYS_memfd_create, name, 0));
    CHECK("name_bad_pointer", SC(SYS_memfd_create, 8, 0));
    CHECK("bad_flags", SC(SYS_memfd_create, "x", 0x100));
    CHECK("exec_and_noexec_seal", SC(SYS_memfd_create, "x", 0x8 | 0x10));
    int m = MUST(SC(SYS_memfd_create, "buf", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    VALUE("cloexec", MUST(fcntl(m, F_GETFD)));
    VALUE("getfl_rdwr", (MUST(fcntl(m, F_GETFL)) & O_ACCMODE) == O_RDWR);
    char link[64], target[300] = {0};
    snprintf(link, sizeof link, "/proc/self/fd/%d", m);
    MUST(readlink(link, target, sizeof target - 1));
    VALUE("proc_fd_name", strcmp(target, "/memfd:buf (deleted)") == 0);
    struct stat st;
    MUST(fstat(m, &st));
    VALUE("is_regular", S_ISREG(st.st_mode));
    VALUE("empty", st.st_size);
    CHECK("write", write(m, "hello world", 11));
    char buf[32] = {0};
    CHECK("pread", pread(m, buf, sizeof buf, 6));
    VALUE("pread_data", strcmp(buf, "world") == 0);
    CHECK("ftruncate_grow", ftruncate(m, PAGE));
    VALUE("size_after_grow", file_size(m));
    char *map = (char *)SC(SYS_mmap, 0, PAGE, RW, MAP_SHARED, m, 0);
    VALUE("mmap_shared_ok", map != MAP_FAILED);
    VALUE("mapping_sees_data", memcmp(map, "hello", 5) == 0);
    memcpy(map, "HELLO", 5);
    memset(buf, 0, sizeof buf);
    MUST(pread(m, buf, 5, 0));
    VALUE("read_sees_mapping_store", memcmp(buf, "HELLO", 5) == 0);

    CHECK("get_seals_none", fcntl(m, F_GET_SEALS));
    CHECK("add_unknown_seal", fcntl(m, F_ADD_SEALS, 0x1000));
    CHECK("seal_write_while_mapped", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
    MUST(SC(SYS_munmap, map, PAGE));
    char *rmap = (char *)SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_SHARED, m, 0);
    CHECK("seal_write_while_mapped_shared_readonly", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW));
    CHECK("no_partial_seal", fcntl(m, F_GET_SEALS));
    MUST(SC(SYS_munmap, rmap, PAGE));
    CHECK("seal_shrink", fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK));
    CHECK("shrink_refused", ftruncate(m, 10));
    CHECK("grow_allowed", ftruncate(m, 2 * PAGE));
    CHECK("seal_grow", fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
    CHECK("grow_refused", ftruncate(m, 3 * PAGE));
    CHECK("write_past_end_refused", pwrite(m, "x", 1, 2 * PAGE));
    CHECK("write_inside_allowed", pwrite(m, "y", 1, 0));
    char *pmap = (char *)SC(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE, m, 0);
    VALUE("private_mapping_ok", pmap != MAP_FAILED);
    CHECK("seal_write", fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
    MUST(SC(SYS_munmap, pmap, PAGE));
    CHECK("write_refused", pwrite(m, "z", 1, 0));
    CHECK("mmap_shared_writable_refused", SC(SYS_mmap, 0, PAGE, RW, MAP_SHARED, m, 0) == -1 ? -1 : 0);
    char *rom = (char *)SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_SHARED, m, 0);
    VALUE("mmap_shared_readonly_ok", rom != MAP_FAILED);
    CHECK("mprotect_write_refused", SC(SYS_mprotect, rom, PAGE, RW));
    CHECK("seal_seal", fcntl(m, F_ADD_SEALS, F_SEAL_SEAL));
    CHECK("add_after_seal_seal", fcntl(m, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
    CHECK("get_seals_all", fcntl(m, F_GET_SEALS));

    int plain = MUST(SC(SYS_memfd_create, "plain", 0));
    MUST(write(plain, "shared", 6));
    snprintf(link, sizeof link, "/proc/self/fd/%d", plain);
    int again = (int)SC(SYS_openat, AT_FDCWD, link, O_RDWR);
    VALUE("reopen_through_proc", again >= 0);
    memset(buf, 0, sizeof buf);
    CHECK("reopened_reads_same_file", pread(again, buf, 6, 0));
    VALUE("reopened_data", strcmp(buf, "shared") == 0);
    CHECK("reopened_write", pwrite(again, "S", 1, 0));
    MUST(pread(plain, buf, 1, 0));
    VALUE("write_seen_by_original", buf[0] == 'S');
    int ro = (int)SC(SYS_openat, AT_FDCWD, link, O_RDONLY);
    CHECK("reopen_rdonly_add_seals_eperm", fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE));
    CHECK("no_sealing_get_seals", fcntl(plain, F_GET_SEALS));
    CHECK("no_sealing_add_refused", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));
    VALUE("plain_no_cloexec", MUST(fcntl(plain, F_GETFD)));
    int p[2];
    MUST(pipe(p));
    CHECK("pipe_get_seals", fcntl(p[0], F_GET_SEALS));
    CHECK("pipe_add_seals", fcntl(p[0], F_ADD_SEALS, F_SEAL_WRITE));
    return 0;
}
