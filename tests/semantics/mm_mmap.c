/* mmap: argument validation (gVisor mmap.cc), MAP_FIXED_NOREPLACE, hints,
 * file mappings (contents, permissions, beyond EOF), anonymous contents.
 * Addresses are never printed: CHECK_ADDR prints 1 when the result is the
 * expected address, 0 when any address is fine. */
#include "check.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

int main(void)
{
    start();
    char *a = arena(16);
    /* Layout: [0..4) RW "existing", [4..16) free (unmapped). */
    map_fixed(a, 4 * PAGE, RW);
    MUST(SC(SYS_munmap, a + 4 * PAGE, 12 * PAGE));
    memset(a, 'E', 4 * PAGE);

    CHECK_ADDR("mmap_not_private_or_shared", SC(SYS_mmap, 0, PAGE, RW, MAP_ANONYMOUS, -1, 0), 0);
    CHECK_ADDR("mmap_shared_validate_anon", SC(SYS_mmap, 0, PAGE, RW, MAP_ANONYMOUS | MAP_SHARED_VALIDATE, -1, 0), 0);
    CHECK_ADDR("mmap_shared_validate_bad_flag", SC(SYS_mmap, 0, PAGE, RW, MAP_ANONYMOUS | MAP_SHARED_VALIDATE | 0x40000000, -1, 0), 0);
    CHECK_ADDR("mmap_zero_length", SC(SYS_mmap, 0, 0, RW, ANON, -1, 0), 0);
    CHECK_ADDR("mmap_bad_fd", SC(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE, 1000, 0), 0);
    CHECK_ADDR("mmap_fixed_unaligned", SC(SYS_mmap, a + 5 * PAGE + 1, PAGE, RW, ANON | MAP_FIXED, -1, 0), 0);
    CHECK_ADDR("mmap_hint_unaligned_rounds_down", SC(SYS_mmap, a + 5 * PAGE + 1, PAGE, RW, ANON, -1, 0), a + 5 * PAGE);
    MUST(SC(SYS_munmap, a + 5 * PAGE, PAGE));
    CHECK_ADDR("mmap_hint_free_address", SC(SYS_mmap, a + 6 * PAGE, PAGE, RW, ANON, -1, 0), a + 6 * PAGE);
    CHECK_ADDR("mmap_huge_length", SC(SYS_mmap, 0, -PAGE + 1, RW, ANON, -1, 0), 0);
    CHECK_ADDR("mmap_length_past_user_space", SC(SYS_mmap, 0, 1L << 47, RW, ANON, -1, 0), 0);
    CHECK_ADDR("mmap_fixed_past_user_space", SC(SYS_mmap, 0x7ffffffff000UL, 2 * PAGE, RW, ANON | MAP_FIXED, -1, 0), 0);
    long small = SC(SYS_mmap, 0, 128, RW, ANON, -1, 0);
    VALUE("mmap_small_length_ok", small != -1);
    VALUE("mmap_small_zero_filled", small != -1 && ((char *)small)[0] == 0 && ((char *)small)[PAGE - 1] == 0);
    CHECK("munmap_small_rounded_page", SC(SYS_munmap, small, PAGE));

    CHECK_ADDR("mmap_fixed_noreplace_existing", SC(SYS_mmap, a, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), 0);
    CHECK_ADDR("mmap_fixed_noreplace_partial_overlap", SC(SYS_mmap, a + 3 * PAGE, 2 * PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), 0);
    VALUE("mmap_fixed_noreplace_kept_data", a[0] == 'E' && a[4 * PAGE - 1] == 'E');
    CHECK_ADDR("mmap_fixed_noreplace_unaligned", SC(SYS_mmap, a + 8 * PAGE + 7, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), 0);
    CHECK_ADDR("mmap_fixed_noreplace_free", SC(SYS_mmap, a + 8 * PAGE, PAGE, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0), a + 8 * PAGE);
    CHECK_ADDR("mmap_fixed_replaces", SC(SYS_mmap, a + PAGE, PAGE, RW, ANON | MAP_FIXED, -1, 0), a + PAGE);
    VALUE("mmap_fixed_replaced_zero", a[PAGE] == 0 && a[0] == 'E' && a[2 * PAGE] == 'E');

    char *wo = (char *)SC(SYS_mmap, a + 10 * PAGE, PAGE, PROT_WRITE, ANON | MAP_FIXED, -1, 0);
    wo[0] = 7;
    VALUE("prot_write_only_is_readable", can_read(wo) && wo[0] == 7);
    char *xo = (char *)SC(SYS_mmap, a + 11 * PAGE, PAGE, PROT_EXEC, ANON | MAP_FIXED, -1, 0);
    VALUE("prot_exec_only_kernel_readable", can_read(xo));
    VALUE("prot_exec_only_kernel_writable", can_write(xo));
    char *none = (char *)SC(SYS_mmap, a + 12 * PAGE, PAGE, PROT_NONE, ANON | MAP_FIXED, -1, 0);
    VALUE("prot_none_kernel_readable", can_read(none));
    CHECK_ADDR("mmap_unknown_prot_bits", SC(SYS_mmap, 0, PAGE, RW | 0x100, ANON, -1, 0), 0);
    CHECK_ADDR("mmap_anon_unaligned_offset", SC(SYS_mmap, 0, PAGE, RW, ANON, -1, 12345), 0);
    CHECK_ADDR("mmap_anon_aligned_offset", SC(SYS_mmap, 0, PAGE, RW, ANON, -1, 16 * PAGE), 0);
    CHECK_ADDR("mmap_growsdown_anon", SC(SYS_mmap, 0, PAGE, RW, ANON | MAP_GROWSDOWN, -1, 0), 0);

    /* File mappings. */
    int fd = make_pattern_file("file", 2 * PAGE + 100);
    CHECK_ADDR("mmap_file_unaligned_offset", SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, fd, 100), 0);
    CHECK_ADDR("mmap_file_offset_overflow", SC(SYS_mmap, 0, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, -PAGE), 0);
    char *f = (char *)SC(SYS_mmap, 0, 4 * PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
    VALUE("mmap_file_at_offset_ok", f != MAP_FAILED);
    VALUE("mmap_file_contents", pattern_ok(f, PAGE, PAGE + 100));
    VALUE("mmap_file_tail_of_last_page_zero", f[PAGE + 100] == 0 && f[2 * PAGE - 1] == 0);
    int out = open_file("out", O_RDWR | O_CREAT | O_TRUNC);
    CHECK("write_from_mapping_beyond_eof", SC(SYS_write, out, f + 2 * PAGE, 10));
    CHECK("write_from_mapping_straddling_eof", SC(SYS_write, out, f + 2 * PAGE - 10, 20));

    int ro = open_file("file", O_RDONLY);
    int wronly = open_file("file", O_WRONLY);
    CHECK_ADDR("mmap_writeonly_fd", SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, wronly, 0), 0);
    CHECK_ADDR("mmap_shared_write_readonly_fd", SC(SYS_mmap, 0, PAGE, RW, MAP_SHARED, ro, 0), 0);
    CHECK_ADDR("mmap_private_write_readonly_fd", SC(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE, ro, 0), 0);
    char *sh = (char *)SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    CHECK("mprotect_shared_readonly_fd_to_write", SC(SYS_mprotect, sh, PAGE, RW));
    CHECK("mprotect_shared_readonly_fd_to_exec", SC(SYS_mprotect, sh, PAGE, PROT_READ | PROT_EXEC));

    char *shw = (char *)SC(SYS_mmap, 0, PAGE, RW, MAP_SHARED, fd, 0);
    shw[0] = 'S';
    char c = 0;
    MUST(SC(SYS_pread64, fd, &c, 1, 0));
    VALUE("mmap_shared_write_visible_to_pread", c == 'S');
    MUST(SC(SYS_pwrite64, fd, "T", 1, 1));
    VALUE("pwrite_visible_in_shared_mapping", shw[1] == 'T');
    char *pw = (char *)SC(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE, fd, 0);
    VALUE("mmap_private_sees_file", pw[0] == 'S');
    pw[0] = 'P';
    MUST(SC(SYS_pread64, fd, &c, 1, 0));
    VALUE("mmap_private_write_not_in_file", c == 'S');
    VALUE("mmap_private_write_not_in_shared", shw[0] == 'S');

    int dir = open_file(".", O_RDONLY | O_DIRECTORY);
    CHECK_ADDR("mmap_directory", SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, dir, 0), 0);
    int p[2];
    MUST(SC(SYS_pipe2, p, O_CLOEXEC));
    CHECK_ADDR("mmap_pipe", SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, p[0], 0), 0);
    /* Linux do_mmap checks the access mode (EACCES) before whether the file
     * can be mapped at all (ENODEV). */
    CHECK_ADDR("mmap_pipe_write_end", SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, p[1], 0), 0);
    CHECK_ADDR("mmap_file_growsdown", SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, fd, 0), 0);
    return 0;
}
