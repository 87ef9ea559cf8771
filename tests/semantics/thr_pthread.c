/* Threads through the C library: pthread_create/join with N threads and
 * their return values, a 4-thread mutex counter (exact count), condition
 * variables (a bounded producer/consumer queue), __thread variables per
 * thread, gettid distinct per thread and getpid shared, pthread_exit of a
 * non-leader thread, and a signal sent with pthread_kill (tgkill) running
 * its handler on the target thread. Only synchronised results are
 * printed, so the output is the same on every run. */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#define N 8

static __thread long tls_value = 7;
static long tls_seen[N];
static long tids[N];
static long pids[N];

static void *square(void *arg)
{
    long i = (long)arg;
    tls_seen[i] = tls_value; /* every thread starts with the initial value */
    tls_value = 100 + i;
    sched_yield();
    tls_seen[i] += tls_value * 1000; /* and sees only its own writes */
    tids[i] = SC0(SYS_gettid);
    pids[i] = getpid();
    return (void *)(i * i);
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if (i % 1000 == 0)
            sched_yield();
    }
    return NULL;
}

#define QCAP 4
#define ITEMS 200
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int queue[QCAP], qhead, qlen;

static void *producer(void *arg)
{
    (void)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == QCAP)
            pthread_cond_wait(&not_full, &qlock);
        queue[(qhead + qlen++) % QCAP] = i;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qlock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long sum = 0, order_ok = 1, last = 0;
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == 0)
            pthread_cond_wait(&not_empty, &qlock);
        int v = queue[qhead];
        qhead = (qhead + 1) % QCAP;
        qlen--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qlock);
        if (v != last + 1)
            order_ok = 0;
        last = v;
        sum += v;
    }
    return (void *)(sum * 10 + order_ok);
}

static void *exits_early(void *arg)
{
    (void)arg;
    pthread_exit((void *)42);
    return NULL;
}

static volatile int sig_ready, sig_got;
static volatile long handler_tid, target_tid;

static void on_usr1(int sig)
{
    (void)sig;
    handler_tid = SC0(SYS_gettid);
    sig_got = 1;
}

static void *sig_target(void *arg)
{
    (void)arg;
    target_tid = SC0(SYS_gettid);
    sig_ready = 1;
    while (!sig_got)
        sched_yield();
    return NULL;
}

/* A signal interrupting a blocked pipe read in another thread: EINTR
 * without SA_RESTART, the read restarts (and gets the data) with it. */
static int rp[2];
static volatile int reader_ready;
static long read_ret, read_err;
static volatile int usr2_hits;

static void on_usr2(int sig)
{
    (void)sig;
    usr2_hits++;
}

static void *pipe_reader(void *arg)
{
    (void)arg;
    char c = 0;
    reader_ready = 1;
    errno = 0;
    read_ret = SC(SYS_read, rp[0], &c, 1);
    read_err = read_ret < 0 ? errno : 0;
    return (void *)(long)c;
}

static long interrupt_read(int restart, long *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = restart ? SA_RESTART : 0;
    MUST(sigaction(SIGUSR2, &sa, NULL));
    MUST(SC(SYS_pipe2, rp, 0));
    reader_ready = 0;
    pthread_t th;
    MUST(-pthread_create(&th, NULL, pipe_reader, NULL));
    while (!reader_ready)
        sched_yield();
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    MUST(-pthread_kill(th, SIGUSR2));
    nanosleep(&ts, NULL);
    MUST(SC(SYS_write, rp[1], "z", 1));
    void *c;
    MUST(-pthread_join(th, &c));
    close(rp[0]);
    close(rp[1]);
    *err = read_err;
    return read_ret == 1 && (long)c == 'z';
}

/* nanosleep interrupted by a signal in another thread: EINTR, rem set. */
static volatile int sleeper_ready;
static long sleep_ret, sleep_err, rem_ok;

static void *long_sleeper(void *arg)
{
    (void)arg;
    struct timespec req = {10, 0}, rem = {-1, -1};
    sleeper_ready = 1;
    errno = 0;
    sleep_ret = SC(SYS_nanosleep, &req, &rem);
    sleep_err = errno;
    rem_ok = rem.tv_sec >= 0 && rem.tv_sec < 10 && rem.tv_nsec >= 0 && rem.tv_nsec < 1000000000L &&
             rem.tv_sec * 1000000000L + rem.tv_nsec > 5 * 1000000000L;
    return NULL;
}

/* Broadcast: every waiter wakes. */
static pthread_mutex_t bl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bc = PTHREAD_COND_INITIALIZER;
static int go, waiting;

static void *bwait(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&bl);
    waiting++;
    while (!go)
        pthread_cond_wait(&bc, &bl);
    pthread_mutex_unlock(&bl);
    return (void *)1;
}

int main(void)
{
    start();
    pthread_t th[N];
    long main_tid = SC0(SYS_gettid);

    long created = 0;
    for (long i = 0; i < N; i++)
        created += pthread_create(&th[i], NULL, square, (void *)i) == 0;
    VALUE("create_n_threads", created);
    long sum = 0;
    for (long i = 0; i < N; i++) {
        void *ret;
        MUST(-pthread_join(th[i], &ret));
        sum += (long)ret;
    }
    VALUE("join_sum_of_squares", sum);
    int tls_ok = 1, tid_ok = 1, pid_ok = 1;
    for (long i = 0; i < N; i++) {
        if (tls_seen[i] != 7 + (100 + i) * 1000)
            tls_ok = 0;
        if (tids[i] == main_tid || tids[i] <= 0)
            tid_ok = 0;
        for (long j = 0; j < i; j++)
            if (tids[j] == tids[i])
                tid_ok = 0;
        if (pids[i] != getpid())
            pid_ok = 0;
    }
    VALUE("tls_per_thread", tls_ok);
    VALUE("main_tls_untouched", tls_value == 7);
    VALUE("gettid_distinct", tid_ok);
    VALUE("getpid_shared", pid_ok);
    VALUE("main_tid_is_pid", main_tid == getpid());

    for (long i = 0; i < 4; i++)
        MUST(-pthread_create(&th[i], NULL, add, (void *)10000));
    for (long i = 0; i < 4; i++)
        MUST(-pthread_join(th[i], NULL));
    VALUE("mutex_counter", counter);

    void *csum;
    MUST(-pthread_create(&th[0], NULL, consumer, NULL));
    MUST(-pthread_create(&th[1], NULL, producer, NULL));
    MUST(-pthread_join(th[1], NULL));
    MUST(-pthread_join(th[0], &csum));
    VALUE("condvar_queue_sum_and_order", (long)csum);

    for (long i = 0; i < 3; i++)
        MUST(-pthread_create(&th[i], NULL, bwait, NULL));
    for (;;) {
        pthread_mutex_lock(&bl);
        int w = waiting;
        pthread_mutex_unlock(&bl);
        if (w == 3)
            break;
        sched_yield();
    }
    pthread_mutex_lock(&bl);
    go = 1;
    pthread_cond_broadcast(&bc);
    pthread_mutex_unlock(&bl);
    long woke = 0;
    for (long i = 0; i < 3; i++) {
        void *r;
        MUST(-pthread_join(th[i], &r));
        woke += (long)r;
    }
    VALUE("cond_broadcast_wakes_all", woke);

    void *early;
    MUST(-pthread_create(&th[0], NULL, exits_early, NULL));
    MUST(-pthread_join(th[0], &early));
    VALUE("pthread_exit_value", (long)early);

    signal(SIGUSR1, on_usr1);
    MUST(-pthread_create(&th[0], NULL, sig_target, NULL));
    while (!sig_ready)
        sched_yield();
    VALUE("pthread_kill", pthread_kill(th[0], SIGUSR1));
    MUST(-pthread_join(th[0], NULL));
    VALUE("signal_ran_on_target_thread", handler_tid == target_tid && handler_tid != main_tid);
    CHECK("tgkill_wrong_tgid", SC(SYS_tgkill, getpid() + 1000000, main_tid, 0));
    CHECK("tgkill_exited_thread", SC(SYS_tgkill, getpid(), target_tid, 0));
    CHECK("tgkill_self_sig0", SC(SYS_tgkill, getpid(), main_tid, 0));
    long err;
    VALUE("read_interrupted_no_restart_got_data", interrupt_read(0, &err));
    VALUE("read_interrupted_no_restart_eintr", err == EINTR);
    VALUE("read_interrupted_sa_restart_got_data", interrupt_read(1, &err));
    VALUE("read_interrupted_sa_restart_no_error", err);
    VALUE("usr2_handler_ran_twice", usr2_hits);

    MUST(-pthread_create(&th[0], NULL, long_sleeper, NULL));
    while (!sleeper_ready)
        sched_yield();
    struct timespec settle = {0, 50 * 1000 * 1000};
    nanosleep(&settle, NULL);
    MUST(-pthread_kill(th[0], SIGUSR2));
    MUST(-pthread_join(th[0], NULL));
    VALUE("nanosleep_interrupted_returned_minus_1", sleep_ret == -1);
    VALUE("nanosleep_interrupted_eintr", sleep_err == EINTR);
    VALUE("nanosleep_interrupted_rem", rem_ok);
    return 0;
}
