/* check.h: helpers shared by the semantics corpus.
 *
 * Every check prints exactly one line to stdout:
 *
 *     <name>: ret=<value> errno=<NAME>
 *
 * where <value> is the syscall's return value (or a computed value, for
 * VALUE checks) and <NAME> is the errno name when the call returned -1,
 * else 0. Syscalls are made with syscall(2) and every argument widened to
 * long, so glibc and musl issue exactly the same kernel call (their
 * wrappers differ: musl's mmap, for one, rejects some lengths itself).
 * Programs must be deterministic: never print an address, a pid, a time or
 * an inode number; compare addresses inside the program and print the
 * verdict (1/0) instead.
 *
 * stdout is line buffered so a crash still shows the checks before it.
 * Setup steps use MUST(): a failure prints "SETUP-FAILED ..." and exits 3.
 */
#ifndef CHECK_H
#define CHECK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096L
#define RW (PROT_READ | PROT_WRITE)
#define MAX_RW_COUNT 0x7ffff000L

static inline const char *errno_name(int e)
{
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC)
    E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(ENOTBLK)
    E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL)
    E(ENFILE) E(EMFILE) E(ENOTTY) E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE)
    E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG)
    E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(EIDRM) E(ENODATA)
    E(ETIME) E(EOVERFLOW) E(EBADFD) E(EILSEQ) E(ENOTSOCK) E(EDESTADDRREQ)
    E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT)
    E(EOPNOTSUPP) E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN)
    E(ENETUNREACH) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN)
    E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED) E(EALREADY) E(EINPROGRESS)
    E(ESTALE) E(EDQUOT) E(ECANCELED) E(EOWNERDEAD) E(ENOTRECOVERABLE)
#undef E
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "E#%d", e);
        return buf;
    }
    }
}

static inline void report(const char *name, long ret, int err)
{
    if (ret == -1)
        printf("%s: ret=-1 errno=%s\n", name, errno_name(err));
    else
        printf("%s: ret=%ld errno=0\n", name, ret);
}

/* CHECK(name, call): run a call that returns -1/errno on failure. */
#define CHECK(name, expr)                 \
    do {                                  \
        errno = 0;                        \
        long check_r_ = (long)(expr);     \
        report((name), check_r_, errno);  \
    } while (0)

/* VALUE(name, v): print a computed value (a verdict, a size, a count). */
#define VALUE(name, v) report((name), (long)(v), 0)

/* CHECK_ADDR(name, call, expected): a call returning an address (mmap,
 * mremap): prints ret=-1 errno=... on failure, else ret=1 if the address
 * equals `expected` (pass 0 for "don't care": then ret=0). */
#define CHECK_ADDR(name, expr, expected)                                   \
    do {                                                                   \
        errno = 0;                                                         \
        long check_r_ = (long)(expr);                                      \
        long check_x_ = (long)(expected);                                  \
        if (check_r_ == -1)                                                \
            report((name), -1, errno);                                     \
        else                                                               \
            report((name), check_x_ ? check_r_ == check_x_ : 0, 0);        \
    } while (0)

/* Raw syscalls with every argument converted to long. */
#define L_(x) ((long)(x))
#define SC0(n) syscall(n)
#define SC1(n, a) syscall(n, L_(a))
#define SC2(n, a, b) syscall(n, L_(a), L_(b))
#define SC3(n, a, b, c) syscall(n, L_(a), L_(b), L_(c))
#define SC4(n, a, b, c, d) syscall(n, L_(a), L_(b), L_(c), L_(d))
#define SC5(n, a, b, c, d, e) syscall(n, L_(a), L_(b), L_(c), L_(d), L_(e))
#define SC6(n, a, b, c, d, e, f) syscall(n, L_(a), L_(b), L_(c), L_(d), L_(e), L_(f))
#define SC_PICK_(_1, _2, _3, _4, _5, _6, NAME, ...) NAME
#define SC(n, ...) SC_PICK_(__VA_ARGS__, SC6, SC5, SC4, SC3, SC2, SC1, none)(n, __VA_ARGS__)

static inline long must_(long r, const char *what, int line)
{
    if (r == -1) {
        printf("SETUP-FAILED line %d: %s: errno=%s\n", line, what, errno_name(errno));
        exit(3);
    }
    return r;
}
#define MUST(expr) must_((long)(expr), #expr, __LINE__)

static inline void start(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    umask(022);
    signal(SIGPIPE, SIG_IGN);
}

/* Anonymous private mapping; exits on failure. */
static inline char *map_anon(long len, int prot)
{
    return (char *)MUST(SC(SYS_mmap, 0, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
}

/* A reserved PROT_NONE window of `pages` pages: carve controlled layouts
 * inside it with MAP_FIXED so results never depend on where the kernel
 * puts things. */
static inline char *arena(long pages)
{
    return map_anon(pages * PAGE, PROT_NONE);
}

static inline char *map_fixed(char *at, long len, int prot)
{
    return (char *)MUST(SC(SYS_mmap, at, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
}

static inline int open_file(const char *name, int flags)
{
    return (int)MUST(SC(SYS_openat, AT_FDCWD, name, flags | O_CLOEXEC, 0644));
}

/* A file named `name` holding `len` bytes of the pattern byte(i) = i % 251. */
static inline int make_pattern_file(const char *name, long len)
{
    int fd = open_file(name, O_RDWR | O_CREAT | O_TRUNC);
    char buf[4096];
    for (long off = 0; off < len;) {
        long n = len - off < (long)sizeof buf ? len - off : (long)sizeof buf;
        for (long i = 0; i < n; i++)
            buf[i] = (char)((off + i) % 251);
        MUST(SC(SYS_pwrite64, fd, buf, n, off));
        off += n;
    }
    return fd;
}

static inline int pattern_ok(const char *p, long off, long len)
{
    for (long i = 0; i < len; i++)
        if (p[i] != (char)((off + i) % 251))
            return 0;
    return 1;
}

static inline long file_size(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    return (long)st.st_size;
}

/* Probes through a pipe, so they never fault: 1 if the byte at p can be
 * read (written) by the kernel on our behalf, 0 if that gives EFAULT. */
static int probe_pipe_[2] __attribute__((unused)) = {-1, -1};

static inline void probe_init_(void)
{
    if (probe_pipe_[0] < 0)
        MUST(SC(SYS_pipe2, probe_pipe_, O_CLOEXEC));
}

static inline int can_read(const void *p)
{
    char c;
    probe_init_();
    if (SC(SYS_write, probe_pipe_[1], p, 1) != 1)
        return 0;
    MUST(SC(SYS_read, probe_pipe_[0], &c, 1));
    return 1;
}

/* Writes back the byte already there, so contents are preserved. */
static inline int can_write(void *p)
{
    char c = 0;
    probe_init_();
    if (can_read(p))
        c = *(volatile char *)p;
    MUST(SC(SYS_write, probe_pipe_[1], &c, 1));
    if (SC(SYS_read, probe_pipe_[0], p, 1) == 1)
        return 1;
    MUST(SC(SYS_read, probe_pipe_[0], &c, 1));
    return 0;
}

#endif
