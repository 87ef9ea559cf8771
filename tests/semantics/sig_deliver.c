/* Signal delivery: handlers run on a real frame and return through
 * rt_sigreturn; masks, SA_NODEFER, SA_RESETHAND, pending signals delivered
 * on unblock, sigpending, sigaltstack with SA_ONSTACK, a handler editing
 * the saved RIP to skip a faulting instruction, registers and SSE state
 * surviving a handler, and errors of the signal syscalls. */
#include "check.h"

#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

static volatile int hits, last_sig, nested_blocked, in_handler_mask_has_self;
static volatile long handler_sp;
static volatile int si_code_seen, si_pid_ok;

static void count_handler(int sig)
{
    hits++;
    last_sig = sig;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    in_handler_mask_has_self = sigismember(&cur, sig);
    nested_blocked = sigismember(&cur, SIGUSR2);
}

static void info_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    hits++;
    last_sig = sig;
    si_code_seen = si->si_code;
    si_pid_ok = si->si_pid == getpid();
}

static void sp_handler(int sig)
{
    char here;
    (void)sig;
    handler_sp = (long)&here;
    hits++;
}

static void skip_ud2(int sig, siginfo_t *si, void *ucv)
{
    (void)si;
    ucontext_t *uc = ucv;
    last_sig = sig;
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* ud2 is two bytes */
}

static void clobber_sse(int sig)
{
    (void)sig;
    volatile double x = 3.0;
    __asm__ volatile("xorpd %%xmm0, %%xmm0\n\txorpd %%xmm1, %%xmm1" ::: "xmm0", "xmm1");
    hits += (int)x;
}

static void install(int sig, void (*fn)(int), int flags, int mask_sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    if (mask_sig)
        sigaddset(&sa.sa_mask, mask_sig);
    MUST(sigaction(sig, &sa, NULL));
}

static void install_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = flags | SA_SIGINFO;
    MUST(sigaction(sig, &sa, NULL));
}

int main(void)
{
    start();

    install(SIGUSR1, count_handler, 0, SIGUSR2);
    hits = 0;
    CHECK("raise_usr1", raise(SIGUSR1));
    VALUE("raise_usr1_hits", hits);
    VALUE("raise_usr1_last_sig", last_sig);
    VALUE("handler_mask_has_self", in_handler_mask_has_self);
    VALUE("handler_mask_has_sa_mask", nested_blocked);

    install(SIGUSR1, count_handler, SA_NODEFER, 0);
    raise(SIGUSR1);
    VALUE("nodefer_mask_has_self", in_handler_mask_has_self);

    install(SIGUSR1, count_handler, SA_RESETHAND, 0);
    hits = 0;
    raise(SIGUSR1);
    struct sigaction cur;
    sigaction(SIGUSR1, NULL, &cur);
    VALUE("resethand_ran_once", hits);
    VALUE("resethand_now_default", cur.sa_handler == SIG_DFL);

    install_info(SIGUSR2, info_handler, 0);
    CHECK("kill_self_usr2", kill(getpid(), SIGUSR2));
    VALUE("kill_si_code_is_user", si_code_seen == SI_USER);
    VALUE("kill_si_pid_ok", si_pid_ok);
    long tid = syscall(SYS_gettid);
    CHECK("tgkill_self_usr2", SC(SYS_tgkill, getpid(), tid, SIGUSR2));
    VALUE("tgkill_si_code_is_tkill", si_code_seen == SI_TKILL);

    /* Blocked: pending until unblocked, then delivered once. */
    install(SIGUSR1, count_handler, 0, 0);
    sigset_t block, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    MUST(sigprocmask(SIG_BLOCK, &block, NULL));
    hits = 0;
    raise(SIGUSR1);
    raise(SIGUSR1);
    VALUE("blocked_not_delivered", hits);
    sigpending(&pend);
    VALUE("blocked_is_pending", sigismember(&pend, SIGUSR1));
    MUST(sigprocmask(SIG_UNBLOCK, &block, NULL));
    VALUE("unblock_delivers_once", hits);
    sigpending(&pend);
    VALUE("pending_cleared", sigismember(&pend, SIGUSR1));

    /* Ignored signals vanish, even when blocked first. */
    install(SIGUSR1, SIG_IGN, 0, 0);
    hits = 0;
    CHECK("raise_ignored", raise(SIGUSR1));
    VALUE("ignored_no_hit", hits);
    CHECK("raise_sigchld_default_ignored", raise(SIGCHLD));

    /* An alternate stack. */
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    CHECK("sigaltstack_set", sigaltstack(&ss, NULL));
    install(SIGUSR1, sp_handler, SA_ONSTACK, 0);
    raise(SIGUSR1);
    VALUE("onstack_handler_on_altstack",
          handler_sp > (long)altstack && handler_sp < (long)altstack + (long)sizeof altstack);
    install(SIGUSR1, sp_handler, 0, 0);
    raise(SIGUSR1);
    VALUE("no_onstack_handler_off_altstack",
          !(handler_sp > (long)altstack && handler_sp < (long)altstack + (long)sizeof altstack));
    stack_t old;
    CHECK("sigaltstack_query", sigaltstack(NULL, &old));
    VALUE("sigaltstack_query_size", old.ss_size == sizeof altstack);
    VALUE("sigaltstack_query_flags", old.ss_flags);
    stack_t tiny = {.ss_sp = altstack, .ss_size = 1024, .ss_flags = 0};
    CHECK("sigaltstack_too_small", sigaltstack(&tiny, NULL));
    stack_t badflags = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0x10};
    CHECK("sigaltstack_bad_flags", sigaltstack(&badflags, NULL));
    stack_t off = {.ss_flags = SS_DISABLE};
    CHECK("sigaltstack_disable", sigaltstack(&off, NULL));
    sigaltstack(NULL, &old);
    VALUE("sigaltstack_disabled_flags", old.ss_flags);

    /* The handler edits the saved RIP: execution resumes after ud2. */
    install_info(SIGILL, skip_ud2, 0);
    last_sig = 0;
    __asm__ volatile("ud2");
    VALUE("ud2_skipped_by_handler", last_sig);

    /* Registers and SSE state survive a handler that clobbers them. */
    install(SIGUSR1, clobber_sse, 0, 0);
    volatile double a = 1.5, b = 2.25;
    double before = a * b;
    register double keep __asm__("xmm1") = before;
    __asm__ volatile("" : "+x"(keep));
    raise(SIGUSR1);
    __asm__ volatile("" : "+x"(keep));
    VALUE("sse_survives_handler", keep == before);

    /* Syscall errors. */
    CHECK("sigaction_sigkill", sigaction(SIGKILL, &(struct sigaction){.sa_handler = SIG_IGN}, NULL));
    CHECK("sigaction_bad_signal", SC(SYS_rt_sigaction, 65, 0, 0, 8));
    CHECK("sigaction_bad_setsize", SC(SYS_rt_sigaction, SIGUSR1, 0, 0, 4));
    CHECK("sigprocmask_bad_how", SC(SYS_rt_sigprocmask, 7, &block, 0, 8));
    CHECK("kill_bad_signal", kill(getpid(), 65));
    CHECK("kill_signal_zero", kill(getpid(), 0));
    CHECK("tgkill_bad_tid", SC(SYS_tgkill, getpid(), -5, SIGUSR1));
    sigset_t all;
    sigfillset(&all);
    MUST(sigprocmask(SIG_SETMASK, &all, NULL));
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    VALUE("sigkill_never_blocked", sigismember(&now, SIGKILL));
    VALUE("sigstop_never_blocked", sigismember(&now, SIGSTOP));
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);

    /* SIGPIPE with a handler: the write fails with EPIPE after the handler. */
    install(SIGPIPE, count_handler, 0, 0);
    int p[2];
    MUST(pipe(p));
    close(p[0]);
    hits = 0;
    CHECK("write_closed_pipe", write(p[1], "x", 1));
    VALUE("sigpipe_handler_ran", hits);
    VALUE("sigpipe_last_sig", last_sig);
    return 0;
}
