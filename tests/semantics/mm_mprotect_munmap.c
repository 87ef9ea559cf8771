/* munmap and mprotect: validation order, holes, splitting, contents kept
 * across PROT_NONE (gVisor mmap.cc Mprotect*, munmap.cc). Accessibility is
 * probed through a pipe (can_read/can_write), never by faulting. */
#include "check.h"

int main(void)
{
    start();
    char *a = arena(16);
    map_fixed(a, 8 * PAGE, RW);
    MUST(SC(SYS_munmap, a + 8 * PAGE, 8 * PAGE));

    CHECK("munmap_zero_length", SC(SYS_munmap, a, 0));
    CHECK("munmap_unaligned", SC(SYS_munmap, a + 1, PAGE));
    CHECK("munmap_unaligned_length_ok", SC(SYS_munmap, a + 7 * PAGE, 1));
    VALUE("munmap_unaligned_length_rounded", can_read(a + 7 * PAGE));
    CHECK("munmap_last_page_round_up", SC(SYS_munmap, a, -PAGE + 1));
    CHECK("munmap_huge_length", SC(SYS_munmap, a, 1L << 62));
    CHECK("munmap_hole", SC(SYS_munmap, a + 10 * PAGE, 2 * PAGE));
    CHECK("munmap_kernel_address", SC(SYS_munmap, 0xffff800000000000UL, PAGE));
    CHECK("munmap_null", SC(SYS_munmap, 0, PAGE));
    CHECK("munmap_middle", SC(SYS_munmap, a + 2 * PAGE, PAGE));
    VALUE("munmap_middle_neighbours_kept", can_read(a + PAGE) && can_read(a + 3 * PAGE));
    VALUE("munmap_middle_gone", can_read(a + 2 * PAGE));
    CHECK("munmap_across_hole", SC(SYS_munmap, a + PAGE, 3 * PAGE));
    VALUE("munmap_across_hole_gone", can_read(a + PAGE) + can_read(a + 3 * PAGE));
    /* a: [0] RW  [1..4) unmapped  [4..7) RW  [7..16) unmapped */

    memset(a + 4 * PAGE, 'K', 3 * PAGE);
    CHECK("mprotect_unaligned", SC(SYS_mprotect, a + 4 * PAGE + 1, PAGE, PROT_READ));
    CHECK("mprotect_zero_length", SC(SYS_mprotect, a + 4 * PAGE, 0, PROT_READ));
    CHECK("mprotect_zero_length_unmapped", SC(SYS_mprotect, a + 2 * PAGE, 0, PROT_READ));
    CHECK("mprotect_huge_length", SC(SYS_mprotect, a, -1L, PROT_READ));
    CHECK("mprotect_unmapped", SC(SYS_mprotect, a + 2 * PAGE, PAGE, PROT_READ));
    CHECK("mprotect_bad_prot", SC(SYS_mprotect, a + 4 * PAGE, PAGE, 0x10));
    CHECK("mprotect_read_only", SC(SYS_mprotect, a + 4 * PAGE, PAGE, PROT_READ));
    VALUE("mprotect_read_only_readable", can_read(a + 4 * PAGE));
    VALUE("mprotect_read_only_writable", can_write(a + 4 * PAGE));
    VALUE("mprotect_split_neighbour_writable", can_write(a + 5 * PAGE));
    CHECK("mprotect_none", SC(SYS_mprotect, a + 5 * PAGE, PAGE, PROT_NONE));
    VALUE("mprotect_none_readable", can_read(a + 5 * PAGE));
    CHECK("mprotect_back_to_rw", SC(SYS_mprotect, a + 4 * PAGE, 2 * PAGE, RW));
    VALUE("prot_none_keeps_contents", a[4 * PAGE] == 'K' && a[5 * PAGE] == 'K' && a[6 * PAGE - 1] == 'K');
    CHECK("mprotect_range_with_hole", SC(SYS_mprotect, a, 7 * PAGE, PROT_READ));
    VALUE("mprotect_hole_first_vma_changed", can_write(a));
    VALUE("mprotect_hole_later_vma_unchanged", can_write(a + 4 * PAGE));
    CHECK("mprotect_starting_in_hole", SC(SYS_mprotect, a + 3 * PAGE, 2 * PAGE, PROT_READ));
    VALUE("mprotect_starting_in_hole_unchanged", can_write(a + 4 * PAGE));
    CHECK("mprotect_ending_in_hole", SC(SYS_mprotect, a + 6 * PAGE, 2 * PAGE, PROT_READ));
    VALUE("mprotect_ending_in_hole_changed", can_write(a + 6 * PAGE));
    CHECK("mprotect_exec", SC(SYS_mprotect, a + 4 * PAGE, PAGE, PROT_READ | PROT_EXEC));
    CHECK("mprotect_growsdown_not_growsdown_vma", SC(SYS_mprotect, a + 4 * PAGE, PAGE, PROT_READ | PROT_GROWSDOWN));
    CHECK("mprotect_growsup", SC(SYS_mprotect, a + 4 * PAGE, PAGE, PROT_READ | PROT_GROWSUP));
    CHECK("mprotect_both_grows", SC(SYS_mprotect, a + 4 * PAGE, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP));

    /* Private file mapping: write needs no write permission on the fd. */
    int fd = make_pattern_file("file", PAGE);
    int ro = open_file("file", O_RDONLY);
    char *f = (char *)MUST(SC(SYS_mmap, 0, PAGE, PROT_READ, MAP_PRIVATE, ro, 0));
    CHECK("mprotect_private_readonly_fd_to_write", SC(SYS_mprotect, f, PAGE, RW));
    f[0] = 'W';
    char c = 0;
    MUST(SC(SYS_pread64, fd, &c, 1, 0));
    VALUE("private_cow_not_in_file", c == 0);
    CHECK("munmap_file_mapping", SC(SYS_munmap, f, PAGE));
    VALUE("munmap_file_mapping_gone", can_read(f));
    return 0;
}
