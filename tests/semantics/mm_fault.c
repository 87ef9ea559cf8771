/* Faults the guest takes itself: SIGSEGV with SEGV_MAPERR vs SEGV_ACCERR
 * and the exact si_addr, SIGBUS beyond the end of a file mapping, SIGILL
 * from ud2, writes to read-only and PROT_NONE pages, instruction fetch
 * from a non-executable page. Each check installs a SA_SIGINFO handler,
 * touches memory, and siglongjmps back; it prints
 *   <name>: ret=<signal number, 0 if none> errno=0
 *   <name>_code: ret=<si_code> errno=0
 *   <name>_addr_ok: ret=<1 if si_addr is the expected address> errno=0 */
#include "check.h"

#include <setjmp.h>

static sigjmp_buf jump;
static volatile int got_sig, got_code;
static void *volatile got_addr;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    siglongjmp(jump, 1);
}

enum op { READ, WRITE, EXEC, UD2 };

static void probe(const char *name, enum op op, char *p, void *expect_addr)
{
    got_sig = 0;
    got_code = 0;
    got_addr = NULL;
    if (sigsetjmp(jump, 1) == 0) {
        switch (op) {
        case READ:
            (void)*(volatile char *)p;
            break;
        case WRITE:
            *(volatile char *)p = 1;
            break;
        case EXEC:
            ((void (*)(void))p)();
            break;
        case UD2:
            __asm__ volatile("ud2");
            break;
        }
    }
    char n[96];
    VALUE(name, got_sig);
    snprintf(n, sizeof n, "%s_code", name);
    VALUE(n, got_code);
    snprintf(n, sizeof n, "%s_addr_ok", name);
    VALUE(n, got_sig != 0 && got_addr == expect_addr);
}

int main(void)
{
    start();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    MUST(sigaction(SIGSEGV, &sa, NULL));
    MUST(sigaction(SIGBUS, &sa, NULL));
    MUST(sigaction(SIGILL, &sa, NULL));

    /* [0] RW  [1] R  [2] NONE  [3] unmapped  [4] RW then NONE  [5] RW (ret) */
    char *a = arena(6);
    map_fixed(a, PAGE, PROT_READ | PROT_WRITE);
    map_fixed(a + PAGE, PAGE, PROT_READ);
    MUST(SC(SYS_munmap, a + 3 * PAGE, PAGE));
    map_fixed(a + 4 * PAGE, PAGE, PROT_READ | PROT_WRITE);
    a[4 * PAGE] = 'k';
    MUST(SC(SYS_mprotect, a + 4 * PAGE, PAGE, PROT_NONE));
    map_fixed(a + 5 * PAGE, PAGE, PROT_READ | PROT_WRITE);
    a[5 * PAGE] = (char)0xc3; /* ret */

    probe("read_rw_page", READ, a + 10, 0);
    probe("write_rw_page", WRITE, a + 10, 0);
    probe("read_readonly_page", READ, a + PAGE + 5, 0);
    probe("write_readonly_page", WRITE, a + PAGE + 5, a + PAGE + 5);
    probe("read_prot_none", READ, a + 2 * PAGE + 9, a + 2 * PAGE + 9);
    probe("write_prot_none", WRITE, a + 2 * PAGE + 9, a + 2 * PAGE + 9);
    probe("read_unmapped", READ, a + 3 * PAGE + 17, a + 3 * PAGE + 17);
    probe("write_unmapped", WRITE, a + 3 * PAGE + 17, a + 3 * PAGE + 17);
    probe("read_after_mprotect_none", READ, a + 4 * PAGE, a + 4 * PAGE);
    probe("read_null", READ, NULL, NULL);
    probe("write_kernel_address", WRITE, (char *)0xffff800000001000UL, NULL);
    probe("exec_non_exec_page", EXEC, a + 5 * PAGE, a + 5 * PAGE);
    MUST(SC(SYS_mprotect, a + 5 * PAGE, PAGE, PROT_READ | PROT_EXEC));
    probe("exec_after_mprotect_exec", EXEC, a + 5 * PAGE, 0);
    probe("exec_unmapped", EXEC, a + 3 * PAGE, a + 3 * PAGE);
    probe("ud2", UD2, NULL, 0);

    MUST(SC(SYS_mprotect, a + 4 * PAGE, PAGE, PROT_READ));
    VALUE("contents_survive_prot_none", a[4 * PAGE] == 'k');

    int fd = make_pattern_file("file", 100);
    char *f = (char *)MUST(SC(SYS_mmap, 0, 3 * PAGE, PROT_READ, MAP_SHARED, fd, 0));
    probe("read_file_mapping_inside", READ, f + 99, 0);
    probe("read_file_mapping_tail_of_page", READ, f + PAGE - 1, 0);
    probe("read_file_mapping_beyond_eof", READ, f + PAGE + 3, f + PAGE + 3);
    probe("write_readonly_shared_file_mapping", WRITE, f + 10, f + 10);

    /* The signal mask is restored by siglongjmp(.., 1): SIGSEGV unblocked. */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    VALUE("sigsegv_unblocked_after_longjmp", sigismember(&cur, SIGSEGV));
    return 0;
}
