"""Signal numbers and names (x86-64), and SIGSEGV/SIGBUS codes."""

from __future__ import annotations

SIGNALS = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
    24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH",
    29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}
SIGNUMS = {name: num for num, name in SIGNALS.items()}

SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL = 4, 5, 6, 7, 8, 9
SIGSEGV, SIGPIPE, SIGCHLD, SIGSTOP = 11, 13, 17, 19
SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM = 1, 2, 3, 10, 12, 14, 15
SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH = 18, 20, 21, 22, 28
NSIG = 64

SEGV_MAPERR, SEGV_ACCERR = 1, 2
BUS_ADRERR = 2


def signal_name(sig: int) -> str:
    """``SIGSEGV`` for 11; real-time signals print as ``SIGRT_<n>`` like strace."""
    if sig in SIGNALS:
        return SIGNALS[sig]
    if 32 <= sig <= NSIG:
        return f"SIGRT_{sig - 32}"
    return str(sig)


# -- sigaction (include/uapi/asm-generic/signal-defs.h, asm/signal.h) -----------------------
SA_SIGINFO, SA_ONSTACK, SA_RESTART = 0x4, 0x08000000, 0x10000000
SA_NODEFER, SA_RESETHAND, SA_RESTORER = 0x40000000, 0x80000000, 0x04000000
SIG_DFL, SIG_IGN = 0, 1
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2

# -- sigaltstack --------------------------------------------------------------------------
SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
MINSIGSTKSZ = 2048

# -- si_code (include/uapi/asm-generic/siginfo.h) ------------------------------------------
SI_USER, SI_KERNEL, SI_TKILL = 0, 0x80, -6
ILL_ILLOPN, FPE_INTDIV, TRAP_BRKPT = 2, 1, 1
CLD_EXITED, CLD_KILLED = 1, 2
