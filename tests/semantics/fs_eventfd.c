/* eventfd and eventfd2: the 8-byte read/write rules, semaphore mode,
 * EAGAIN, the 2^64-2 ceiling, a reader and a writer woken by another
 * process, poll/select readiness, flags and the /proc/self/fd name. */
#include "check.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>

static void sleep_ms(long ms)
{
    struct timespec d = {0, ms * 1000 * 1000};
    nanosleep(&d, NULL);
}

static int revents(int fd, short events)
{
    struct pollfd p = {fd, events, 0};
    MUST(poll(&p, 1, 0));
    return p.revents;
}

int main(void)
{
    start();
    uint64_t v = 0;
    CHECK("eventfd2_bad_flags", SC(SYS_eventfd2, 0, 0x10));
    CHECK("eventfd2_bad_flag_rdwr", SC(SYS_eventfd2, 0, O_RDWR));
    int e = MUST(SC(SYS_eventfd2, 5, EFD_NONBLOCK | EFD_CLOEXEC));
    VALUE("getfl_nonblock_rdwr", MUST(fcntl(e, F_GETFL)) == (O_RDWR | O_NONBLOCK));
    VALUE("getfd_cloexec", MUST(fcntl(e, F_GETFD)));
    char name[64] = {0};
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", e);
    MUST(readlink(link, name, sizeof name - 1));
    VALUE("proc_fd_name", strcmp(name, "anon_inode:[eventfd]") == 0);
    struct stat st;
    MUST(fstat(e, &st));
    VALUE("fstat_mode", st.st_mode);
    CHECK("lseek_espipe", lseek(e, 0, SEEK_SET));
    CHECK("pread_espipe", SC(SYS_pread64, e, &v, 8, 0));
    CHECK("read_short_buffer", SC(SYS_read, e, &v, 7));
    CHECK("read_zero_buffer", SC(SYS_read, e, &v, 0));
    CHECK("read_initval", SC(SYS_read, e, &v, 8));
    VALUE("read_initval_value", v);
    CHECK("read_empty_eagain", SC(SYS_read, e, &v, 8));
    char big[16];
    v = 7;
    CHECK("write_short_buffer", SC(SYS_write, e, &v, 4));
    CHECK("write_7", SC(SYS_write, e, &v, 8));
    v = 3;
    CHECK("write_16_bytes_takes_8", SC(SYS_write, e, &v, 16));
    CHECK("read_16_bytes", SC(SYS_read, e, big, 16));
    memcpy(&v, big, 8);
    VALUE("read_sum", v);
    v = UINT64_MAX;
    CHECK("write_all_ones_einval", SC(SYS_write, e, &v, 8));
    v = UINT64_MAX - 1;
    CHECK("write_max", SC(SYS_write, e, &v, 8));
    VALUE("max_pollin_not_out", revents(e, POLLIN | POLLOUT));
    v = 1;
    CHECK("write_over_max_eagain", SC(SYS_write, e, &v, 8));
    v = 0;
    CHECK("write_zero_at_max", SC(SYS_write, e, &v, 8));
    CHECK("write_bad_pointer", SC(SYS_write, e, 8, 8));
    CHECK("read_max", SC(SYS_read, e, &v, 8));
    VALUE("read_max_value", v == UINT64_MAX - 1);
    VALUE("empty_pollout_only", revents(e, POLLIN | POLLOUT));
    v = 2;
    MUST(SC(SYS_write, e, &v, 8));
    CHECK("read_bad_pointer", SC(SYS_read, e, 8, 8));
    CHECK("read_after_fault_consumed", SC(SYS_read, e, &v, 8));
    close(e);

    /* Semaphore mode: each read takes 1. */
    int s = MUST(SC(SYS_eventfd2, 2, EFD_SEMAPHORE | EFD_NONBLOCK));
    CHECK("sem_read1", SC(SYS_read, s, &v, 8));
    VALUE("sem_read1_value", v);
    CHECK("sem_read2", SC(SYS_read, s, &v, 8));
    VALUE("sem_read2_value", v);
    CHECK("sem_read3_eagain", SC(SYS_read, s, &v, 8));
    close(s);

    /* The old eventfd(2) call has no flags; initval is an unsigned int. */
    int o = MUST(SC(SYS_eventfd, 0x100000003L));
    VALUE("eventfd_getfl", MUST(fcntl(o, F_GETFL)) == O_RDWR);
    CHECK("eventfd_read_u32_initval", SC(SYS_read, o, &v, 8));
    VALUE("eventfd_initval_truncated", v);

    /* A blocking read woken by a child's write. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        uint64_t one = 41;
        write(o, &one, 8);
        _exit(0);
    }
    CHECK("blocking_read_woken", SC(SYS_read, o, &v, 8));
    VALUE("blocking_read_value", v);
    waitpid(pid, NULL, 0);

    /* A blocking write at the ceiling woken by a child's read. */
    v = UINT64_MAX - 2;
    MUST(SC(SYS_write, o, &v, 8));
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        uint64_t got;
        sleep_ms(20);
        read(o, &got, 8);
        _exit(0);
    }
    v = 5;
    CHECK("blocking_write_woken", SC(SYS_write, o, &v, 8));
    waitpid(pid, NULL, 0);
    CHECK("after_blocking_write", SC(SYS_read, o, &v, 8));
    VALUE("after_blocking_write_value", v);

    /* poll woken by a write; select sees read and write readiness. */
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        uint64_t one = 1;
        write(o, &one, 8);
        _exit(0);
    }
    struct pollfd p = {o, POLLIN, 0};
    CHECK("poll_woken", poll(&p, 1, 5000));
    VALUE("poll_woken_revents", p.revents);
    waitpid(pid, NULL, 0);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(o, &rd);
    FD_SET(o, &wr);
    struct timeval tv = {0, 0};
    CHECK("select_ready", select(o + 1, &rd, &wr, NULL, &tv));
    VALUE("select_readable", FD_ISSET(o, &rd) != 0);
    VALUE("select_writable", FD_ISSET(o, &wr) != 0);
    return 0;
}
