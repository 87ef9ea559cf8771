/* brk (the break moves exactly, failures return the old break) and mremap
 * (validation, shrink/grow in place, moves, MREMAP_FIXED, DONTUNMAP, file
 * pages exposed by growth). Break values are printed relative to the
 * initial break; all brk calls happen before any output so stdio's own
 * allocations cannot interfere. */
#include "check.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static long brk_(long addr) { return SC(SYS_brk, addr); }

int main(void)
{
    long b0 = brk_(0);
    long up = (b0 + PAGE - 1) & ~(PAGE - 1);
    long r_minus1 = brk_(-1) - b0;
    long r_below = brk_(1) - b0;
    long r_grow = brk_(b0 + PAGE) - b0;
    int grow_writable = can_write((char *)b0 + PAGE - 1);
    int grow_zero = ((char *)b0)[PAGE - 1] == 0;
    ((char *)b0)[PAGE - 1] = 'x';
    long r_unaligned = brk_(b0 + PAGE + 10) - b0;
    long r_shrink = brk_(b0) - b0;
    int shrunk_gone = can_read((char *)up + PAGE);
    long r_regrow = brk_(b0 + 2 * PAGE) - b0;
    int regrow_zero = ((char *)b0)[PAGE - 1] == 0;
    long r_back = brk_(b0) - b0;
    long blocker = SC(SYS_mmap, up + 4 * PAGE, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    long r_into_mapping = brk_(b0 + 8 * PAGE) - b0;
    long r_up_to_mapping = brk_(up + 4 * PAGE) - b0;
    long r_guard_page = brk_(up + 3 * PAGE) - b0;
    brk_(b0);
    if (blocker != -1)
        SC(SYS_munmap, blocker, PAGE);
    long r_huge = brk_(b0 + (1L << 46)) - b0;
    long r_end = brk_(0) - b0;

    start();
    VALUE("brk_minus_1_returns_current", r_minus1);
    VALUE("brk_below_start_returns_current", r_below);
    VALUE("brk_grow_one_page", r_grow);
    VALUE("brk_grown_writable", grow_writable);
    VALUE("brk_grown_zero", grow_zero);
    VALUE("brk_unaligned_is_exact", r_unaligned);
    VALUE("brk_shrink", r_shrink);
    VALUE("brk_shrunk_page_readable", shrunk_gone);
    VALUE("brk_regrow", r_regrow);
    VALUE("brk_regrown_zero", regrow_zero);
    VALUE("brk_back", r_back);
    VALUE("brk_blocker_mapped", blocker != -1);
    VALUE("brk_into_mapping_fails", r_into_mapping);
    VALUE("brk_up_to_mapping", r_up_to_mapping);
    VALUE("brk_up_to_guard_page", r_guard_page == up + 3 * PAGE - b0);
    VALUE("brk_huge_fails", r_huge);
    VALUE("brk_final", r_end);

    /* mremap inside an arena:
     * [0,2) RW 'A'  [2,4) free  [4] RW 'B'  [5] R 'C'  [6,8) free
     * [8] RW  [9] R  [10,20) free  [20,24) free  [24,26) RW 'D' [26,32) free */
    char *a = arena(32);
    MUST(SC(SYS_munmap, a, 32 * PAGE));
    map_fixed(a, 2 * PAGE, RW);
    memset(a, 'A', 2 * PAGE);
    map_fixed(a + 4 * PAGE, PAGE, RW);
    a[4 * PAGE] = 'B';
    map_fixed(a + 5 * PAGE, PAGE, RW);
    a[5 * PAGE] = 'C';
    MUST(SC(SYS_mprotect, a + 5 * PAGE, PAGE, PROT_READ));
    map_fixed(a + 8 * PAGE, PAGE, RW);
    map_fixed(a + 9 * PAGE, PAGE, PROT_READ);
    map_fixed(a + 24 * PAGE, 2 * PAGE, RW);
    memset(a + 24 * PAGE, 'D', 2 * PAGE);

    CHECK_ADDR("mremap_unaligned_old", SC(SYS_mremap, a + 1, PAGE, PAGE, 0, 0), 0);
    CHECK_ADDR("mremap_new_size_zero", SC(SYS_mremap, a, PAGE, 0, 0, 0), 0);
    CHECK_ADDR("mremap_bad_flags", SC(SYS_mremap, a, PAGE, PAGE, 0x80, 0), 0);
    CHECK_ADDR("mremap_fixed_without_maymove", SC(SYS_mremap, a, PAGE, PAGE, MREMAP_FIXED, a + 20 * PAGE), 0);
    CHECK_ADDR("mremap_unmapped_old", SC(SYS_mremap, a + 2 * PAGE, PAGE, PAGE, 0, 0), 0);
    CHECK_ADDR("mremap_same_size", SC(SYS_mremap, a, 2 * PAGE, 2 * PAGE, 0, 0), a);
    CHECK_ADDR("mremap_shrink_in_place", SC(SYS_mremap, a, 2 * PAGE, PAGE, 0, 0), a);
    VALUE("mremap_shrunk_tail_gone", can_read(a + PAGE));
    CHECK_ADDR("mremap_grow_in_place", SC(SYS_mremap, a, PAGE, 3 * PAGE, 0, 0), a);
    VALUE("mremap_grow_in_place_contents", a[0] == 'A' && a[PAGE - 1] == 'A' && a[PAGE] == 0 && a[3 * PAGE - 1] == 0);
    CHECK_ADDR("mremap_grow_blocked", SC(SYS_mremap, a + 4 * PAGE, PAGE, 2 * PAGE, 0, 0), 0);
    CHECK_ADDR("mremap_grow_beyond_hole_blocked", SC(SYS_mremap, a, 3 * PAGE, 5 * PAGE, 0, 0), 0);
    CHECK_ADDR("mremap_span_two_vmas", SC(SYS_mremap, a + 8 * PAGE, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE, 0), 0);
    CHECK_ADDR("mremap_span_into_hole", SC(SYS_mremap, a, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE, 0), 0);
    char *moved = (char *)SC(SYS_mremap, a + 4 * PAGE, PAGE, 3 * PAGE, MREMAP_MAYMOVE, 0);
    VALUE("mremap_maymove_ok", moved != MAP_FAILED);
    VALUE("mremap_maymove_moved", moved != a + 4 * PAGE);
    VALUE("mremap_maymove_contents", moved != MAP_FAILED && moved[0] == 'B' && moved[PAGE] == 0);
    VALUE("mremap_maymove_old_gone", can_read(a + 4 * PAGE));
    VALUE("mremap_maymove_neighbour_kept", a[5 * PAGE] == 'C');

    CHECK_ADDR("mremap_fixed_overlap", SC(SYS_mremap, a, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a + PAGE), 0);
    CHECK_ADDR("mremap_fixed_unaligned_new", SC(SYS_mremap, a, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a + 20 * PAGE + 8), 0);
    CHECK_ADDR("mremap_fixed_move", SC(SYS_mremap, a, 3 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a + 20 * PAGE), a + 20 * PAGE);
    VALUE("mremap_fixed_contents", a[20 * PAGE] == 'A' && a[21 * PAGE] == 0);
    VALUE("mremap_fixed_old_gone", can_read(a) + can_read(a + 2 * PAGE));
    CHECK_ADDR("mremap_fixed_onto_mapping", SC(SYS_mremap, a + 20 * PAGE, 2 * PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a + 24 * PAGE), a + 24 * PAGE);
    VALUE("mremap_fixed_onto_mapping_contents", a[24 * PAGE] == 'A');
    VALUE("mremap_fixed_onto_mapping_rest_kept", a[25 * PAGE] == 'D');

    CHECK_ADDR("mremap_old_size_zero_private", SC(SYS_mremap, a + 24 * PAGE, 0, PAGE, MREMAP_MAYMOVE, 0), 0);
    char *sh = (char *)MUST(SC(SYS_mmap, 0, PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    sh[0] = 's';
    char *dup = (char *)SC(SYS_mremap, sh, 0, PAGE, MREMAP_MAYMOVE, 0);
    VALUE("mremap_old_size_zero_shared_ok", dup != MAP_FAILED && dup != sh);
    if (dup != MAP_FAILED) {
        dup[1] = 'd';
        VALUE("mremap_old_size_zero_shared_aliases", dup[0] == 's' && sh[1] == 'd');
    } else {
        VALUE("mremap_old_size_zero_shared_aliases", 0);
    }

    char *du = map_anon(PAGE, RW);
    du[0] = 'u';
    char *dd = (char *)SC(SYS_mremap, du, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0);
    VALUE("mremap_dontunmap_ok", dd != MAP_FAILED);
    VALUE("mremap_dontunmap_new_contents", dd != MAP_FAILED && dd[0] == 'u');
    VALUE("mremap_dontunmap_old_mapped_empty", can_read(du) && du[0] == 0);
    CHECK_ADDR("mremap_dontunmap_resize", SC(SYS_mremap, du, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), 0);

    int fd = make_pattern_file("file", 2 * PAGE);
    char *fm = (char *)MUST(SC(SYS_mmap, 0, PAGE, RW, MAP_PRIVATE, fd, 0));
    fm[0] = 'X';
    char *fg = (char *)SC(SYS_mremap, fm, PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0);
    VALUE("mremap_file_grow_ok", fg != MAP_FAILED);
    VALUE("mremap_file_grow_keeps_cow_page", fg != MAP_FAILED && fg[0] == 'X' && pattern_ok(fg + 1, 1, PAGE - 1));
    VALUE("mremap_file_grow_exposes_file_page", fg != MAP_FAILED && pattern_ok(fg + PAGE, PAGE, PAGE));
    return 0;
}
