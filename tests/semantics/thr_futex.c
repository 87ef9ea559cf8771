/* futex(2) directly through syscall(): the error cases and results of
 * gVisor's futex tests (Wait_ZeroTimeout, Wait_WrongVal, Wait_ZeroBitset,
 * WaitBitset_NegativeTimeout, Wake0, WakeOp*, WakeWrongKind, wake counts
 * with real waiter threads, (CMP_)REQUEUE, bitset filtering, PI locks,
 * robust list sizes), clone(2)/clone3(2) flag errors, and a raw
 * clone(CLONE_THREAD) whose child exits alone: CLONE_PARENT_SETTID and
 * CLONE_CHILD_CLEARTID (0 written and a shared waiter woken).
 * Waiter threads announce themselves and the main thread waits until
 * they are all queued before waking, so the counts are deterministic. */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

/* <linux/futex.h> values (musl ships no kernel headers). */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE_FLAG)
#define FUTEX_REQUEUE_PRIVATE (FUTEX_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_CMP_REQUEUE_PRIVATE (FUTEX_CMP_REQUEUE | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_OP_PRIVATE (FUTEX_WAKE_OP | FUTEX_PRIVATE_FLAG)
#define FUTEX_LOCK_PI_PRIVATE (FUTEX_LOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_UNLOCK_PI_PRIVATE (FUTEX_UNLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_TRYLOCK_PI_PRIVATE (FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAIT_BITSET_PRIVATE (FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_WAKE_BITSET_PRIVATE (FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG)
#define FUTEX_OP_SET 0
#define FUTEX_OP_ADD 1
#define FUTEX_OP_OR 2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR 4
#define FUTEX_OP_OPARG_SHIFT 8
#define FUTEX_OP_CMP_EQ 0
#define FUTEX_OP_CMP_NE 1
#define FUTEX_OP(op, oparg, cmp, cmparg) \
    ((((op) & 0xf) << 28) | (((cmp) & 0xf) << 24) | (((oparg) & 0xfff) << 12) | ((cmparg) & 0xfff))
#define FUTEX_WAITERS 0x80000000
#define FUTEX_TID_MASK 0x3fffffff
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif

struct robust_list {
    struct robust_list *next;
};
struct robust_list_head {
    struct robust_list list;
    long futex_offset;
    struct robust_list *list_op_pending;
};

static long fx(void *addr, int op, long val, void *ts_or_n, void *addr2, long val3)
{
    return syscall(SYS_futex, addr, (long)op, val, ts_or_n, addr2, val3);
}

/* -- waiter threads ----------------------------------------------------- */

struct waiter {
    int *word;
    int op;
    unsigned bitset;
    long ret;
    int err;
    pthread_t th;
};

static atomic_int arrived;

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    atomic_fetch_add(&arrived, 1);
    errno = 0;
    w->ret = fx(w->word, w->op, 0, NULL, NULL, w->bitset);
    w->err = errno;
    return NULL;
}

/* Wait until `n` waiters have announced themselves, then give them time
 * to block in futex_wait (they have nothing else to do). */
static void settle(int n)
{
    while (atomic_load(&arrived) < n)
        sched_yield();
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void spawn(struct waiter *w, int *word, int op, unsigned bitset)
{
    w->word = word;
    w->op = op;
    w->bitset = bitset;
    MUST(-pthread_create(&w->th, NULL, wait_thread, w));
}

static long joined_ok(struct waiter *ws, int n)
{
    long ok = 0;
    for (int i = 0; i < n; i++) {
        MUST(-pthread_join(ws[i].th, NULL));
        ok += ws[i].ret == 0;
    }
    return ok;
}

static int word_a, word_b, word_c;

static void wake_counts(void)
{
    struct waiter ws[4];
    atomic_store(&arrived, 0);
    for (int i = 0; i < 4; i++)
        spawn(&ws[i], &word_a, FUTEX_WAIT_PRIVATE, 0);
    settle(4);
    CHECK("wake_0_wakes_one", fx(&word_a, FUTEX_WAKE_PRIVATE, 0, NULL, NULL, 0));
    CHECK("wake_2", fx(&word_a, FUTEX_WAKE_PRIVATE, 2, NULL, NULL, 0));
    CHECK("wake_all_rest", fx(&word_a, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
    CHECK("wake_none_left", fx(&word_a, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
    VALUE("waiters_returned_0", joined_ok(ws, 4));
}

static void bitsets(void)
{
    struct waiter ws[2];
    atomic_store(&arrived, 0);
    spawn(&ws[0], &word_a, FUTEX_WAIT_BITSET_PRIVATE, 0x1);
    spawn(&ws[1], &word_a, FUTEX_WAIT_BITSET_PRIVATE, 0x2);
    settle(2);
    CHECK("wake_bitset_no_match", fx(&word_a, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 0x4));
    CHECK("wake_bitset_match_one", fx(&word_a, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 0x2));
    CHECK("wake_bitset_match_other", fx(&word_a, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 0x3));
    VALUE("bitset_waiters_returned_0", joined_ok(ws, 2));
}

static void wrong_kind(void)
{
    struct waiter ws[2];
    atomic_store(&arrived, 0);
    spawn(&ws[0], &word_a, FUTEX_WAIT, 0);          /* shared */
    spawn(&ws[1], &word_b, FUTEX_WAIT_PRIVATE, 0);  /* private */
    settle(2);
    CHECK("private_wake_misses_shared", fx(&word_a, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    CHECK("shared_wake_misses_private", fx(&word_b, FUTEX_WAKE, 1, NULL, NULL, 0));
    CHECK("shared_wake_shared", fx(&word_a, FUTEX_WAKE, 1, NULL, NULL, 0));
    CHECK("private_wake_private", fx(&word_b, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    VALUE("kind_waiters_returned_0", joined_ok(ws, 2));
}

static void requeue(void)
{
    struct waiter ws[3];
    atomic_store(&arrived, 0);
    for (int i = 0; i < 3; i++)
        spawn(&ws[i], &word_a, FUTEX_WAIT_PRIVATE, 0);
    settle(3);
    CHECK("cmp_requeue_wrong_val", fx(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &word_b, 5));
    CHECK("requeue_negative", fx(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, -1, (void *)1L, &word_b, 0));
    CHECK("cmp_requeue_1_wake_1_move", fx(&word_a, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &word_b, 0));
    CHECK("requeued_one_on_b", fx(&word_b, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
    CHECK("requeue_0_wake_1_move", fx(&word_a, FUTEX_REQUEUE_PRIVATE, 0, (void *)1L, &word_c, 0));
    CHECK("requeued_one_on_c", fx(&word_c, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
    CHECK("none_left_on_a", fx(&word_a, FUTEX_WAKE_PRIVATE, 100, NULL, NULL, 0));
    VALUE("requeue_waiters_returned_0", joined_ok(ws, 3));
}

static void wake_op_with_waiters(void)
{
    struct waiter ws[2];
    /* WakeOpCondSuccess: b += 1, old b == 1 -> both woken. */
    word_b = 1;
    atomic_store(&arrived, 0);
    spawn(&ws[0], &word_a, FUTEX_WAIT_PRIVATE, 0);
    spawn(&ws[1], &word_c, FUTEX_WAIT_PRIVATE, 0);
    settle(2);
    /* ws[1] waits on word_c; use word_c as uaddr2 for the op */
    word_c = 0;
    CHECK("wake_op_cond_success",
          fx(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word_c,
             FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0)));
    VALUE("wake_op_b_incremented", word_c);
    VALUE("wake_op_waiters_returned_0", joined_ok(ws, 2));

    atomic_store(&arrived, 0);
    word_c = 0;
    spawn(&ws[0], &word_a, FUTEX_WAIT_PRIVATE, 0);
    spawn(&ws[1], &word_c, FUTEX_WAIT_PRIVATE, 0);
    settle(2);
    CHECK("wake_op_cond_failure",
          fx(&word_a, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &word_c,
             FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_NE, 0)));
    CHECK("wake_op_failure_leftover", fx(&word_c, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    VALUE("wake_op_failure_waiters_returned_0", joined_ok(ws, 2));
    word_b = word_c = 0;
}

static void wake_op0(void)
{
    int b;
    b = 1;
    CHECK("wake_op0_set", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b, FUTEX_OP(FUTEX_OP_SET, 2, 0, 0)));
    VALUE("wake_op0_set_value", b);
    CHECK("wake_op0_add", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b, FUTEX_OP(FUTEX_OP_ADD, 3, 0, 0)));
    VALUE("wake_op0_add_value", b);
    CHECK("wake_op0_or", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b, FUTEX_OP(FUTEX_OP_OR, 8, 0, 0)));
    VALUE("wake_op0_or_value", b);
    CHECK("wake_op0_andn", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b, FUTEX_OP(FUTEX_OP_ANDN, 1, 0, 0)));
    VALUE("wake_op0_andn_value", b);
    CHECK("wake_op0_xor", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b, FUTEX_OP(FUTEX_OP_XOR, 0xff, 0, 0)));
    VALUE("wake_op0_xor_value", b);
    CHECK("wake_op0_shift", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b,
                               FUTEX_OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, 0, 0)));
    VALUE("wake_op0_shift_value", b);
    CHECK("wake_op0_bad_op", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b, FUTEX_OP(7, 1, 0, 0)));
    CHECK("wake_op0_bad_cmp", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, &b, FUTEX_OP(FUTEX_OP_SET, 9, 7, 0)));
    VALUE("wake_op0_bad_cmp_value", b);
    CHECK("wake_op_fault", fx(NULL, FUTEX_WAKE_OP_PRIVATE, 1, NULL, NULL, FUTEX_OP(FUTEX_OP_SET, 2, 0, 0)));
}

static void errors(void)
{
    int w = 0;
    struct timespec zero = {0, 0}, past = {1, 0}, bad = {0, 1000000000L};
    CHECK("wait_zero_timeout", fx(&w, FUTEX_WAIT_PRIVATE, 0, &zero, NULL, 0));
    CHECK("wait_wrong_val", fx(&w, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0));
    CHECK("wait_wrong_val_zero_timeout", fx(&w, FUTEX_WAIT_PRIVATE, 1, &zero, NULL, 0));
    CHECK("wait_bad_timespec", fx(&w, FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0));
    CHECK("wait_bad_timeout_ptr", fx(&w, FUTEX_WAIT_PRIVATE, 0, (void *)8L, NULL, 0));
    CHECK("wait_bitset_zero_mask", fx(&w, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0));
    CHECK("wait_bitset_past_deadline", fx(&w, FUTEX_WAIT_BITSET_PRIVATE, 0, &past, NULL, -1));
    CHECK("wait_bitset_past_deadline_realtime",
          fx(&w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &past, NULL, -1));
    CHECK("wake_bitset_zero_mask", fx(&w, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0));
    CHECK("wake_no_waiters", fx(&w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    CHECK("wait_unaligned", fx((char *)&w + 1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    CHECK("wake_unaligned", fx((char *)&w + 2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    CHECK("wait_null", fx(NULL, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    CHECK("wake_private_null", fx(NULL, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    CHECK("wake_shared_null", fx(NULL, FUTEX_WAKE, 1, NULL, NULL, 0));
    CHECK("wake_realtime_flag", fx(&w, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, NULL, 0));
    CHECK("unknown_cmd", fx(&w, 99, 0, NULL, NULL, 0));
    CHECK("futex_fd_removed", fx(&w, 2, 0, NULL, NULL, 0));
}

/* -- PI ------------------------------------------------------------------------ */

static int pi_word;
static long pi_thread_saw_owner;

static void *pi_locker(void *arg)
{
    (void)arg;
    long tid = SC0(SYS_gettid);
    atomic_fetch_add(&arrived, 1);
    long r = fx(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    pi_thread_saw_owner = r == 0 && (pi_word & FUTEX_TID_MASK) == tid;
    fx(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0);
    return NULL;
}

static void pi(void)
{
    long tid = SC0(SYS_gettid);
    CHECK("trylock_pi_free", fx(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    VALUE("trylock_pi_owner_is_me", pi_word == tid);
    CHECK("trylock_pi_own", fx(&pi_word, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    CHECK("lock_pi_own", fx(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    CHECK("unlock_pi", fx(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    VALUE("unlock_pi_word", pi_word);
    CHECK("unlock_pi_not_owner", fx(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    CHECK("lock_pi_free", fx(&pi_word, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    pthread_t th;
    atomic_store(&arrived, 0);
    MUST(-pthread_create(&th, NULL, pi_locker, NULL));
    while (!(atomic_load((atomic_int *)&pi_word) & FUTEX_WAITERS))
        sched_yield();
    VALUE("lock_pi_contended_sets_waiters", (pi_word & FUTEX_TID_MASK) == tid);
    CHECK("unlock_pi_hands_over", fx(&pi_word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
    MUST(-pthread_join(th, NULL));
    VALUE("lock_pi_waiter_became_owner", pi_thread_saw_owner);
    VALUE("pi_word_free_at_end", pi_word);
}

/* -- robust lists ------------------------------------------------------------- */

static void robust(void)
{
    struct robust_list_head head = {{&head.list}, 0, NULL};
    void *old_head;
    size_t old_len;
    MUST(SC(SYS_get_robust_list, 0, &old_head, &old_len));
    CHECK("set_robust_list_bad_size", SC(SYS_set_robust_list, &head, sizeof head - 1));
    CHECK("set_robust_list", SC(SYS_set_robust_list, &head, sizeof head));
    void *got;
    size_t len = 0;
    CHECK("get_robust_list", SC(SYS_get_robust_list, 0, &got, &len));
    VALUE("get_robust_list_head", got == &head);
    VALUE("get_robust_list_len", len);
    CHECK("get_robust_list_self_tid", SC(SYS_get_robust_list, SC0(SYS_gettid), &got, &len));
    CHECK("get_robust_list_negative", SC(SYS_get_robust_list, -1, &got, &len));
    CHECK("get_robust_list_no_such", SC(SYS_get_robust_list, 0x3ffffff0, &got, &len));
    MUST(SC(SYS_set_robust_list, old_head, old_len));
}

/* -- clone ------------------------------------------------------------------------ */

#define CF_THREAD (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM)

static volatile long child_tid_seen;
static volatile int child_ran;

static void child_fn(void)
{
    child_tid_seen = syscall(SYS_gettid);
    child_ran = 1;
}

/* clone(2) with a new stack; the child calls fn and exits (SYS_exit). */
static long raw_thread(unsigned long flags, void *stack, int *ptid, int *ctid, void (*fn)(void))
{
    register long r10 __asm__("r10") = (long)ctid;
    register long r8 __asm__("r8") = 0;
    register long r12 __asm__("r12") = (long)fn;
    long ret;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "call *%%r12\n\t"
        "mov $60, %%eax\n\t"
        "xor %%edi, %%edi\n\t"
        "syscall\n\t"
        "hlt\n"
        "1:\n\t"
        : "=a"(ret)
        : "a"((long)SYS_clone), "D"(flags), "S"(stack), "d"(ptid), "r"(r10), "r"(r8), "r"(r12)
        : "rcx", "r11", "memory");
    return ret;
}

static void clone_tests(void)
{
    CHECK("clone_sighand_without_vm", SC(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0));
    CHECK("clone_thread_without_sighand", SC(SYS_clone, CLONE_THREAD | CLONE_VM, 0, 0, 0, 0));
    CHECK("clone_fs_with_newns", SC(SYS_clone, CLONE_FS | CLONE_NEWNS, 0, 0, 0, 0));
    CHECK("clone_thread_with_newpid", SC(SYS_clone, CF_THREAD | CLONE_NEWPID, 0, 0, 0, 0));
    CHECK("clone_pidfd_parent_settid", SC(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID, 0, 0, 0, 0));
    long args[11] = {0};
    CHECK("clone3_too_small", SC(SYS_clone3, args, 8));
    args[0] = CLONE_SIGHAND;
    CHECK("clone3_sighand_without_vm", SC(SYS_clone3, args, 64));

    long sz = 64 * 1024;
    char *stack = (char *)MUST(SC(SYS_mmap, 0, sz, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    static int ptid, ctid;
    ptid = -1;
    ctid = -1;
    long tid = raw_thread(CF_THREAD | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID, stack + sz, &ptid, &ctid,
                          child_fn);
    VALUE("raw_clone_returned_tid", tid > 0);
    VALUE("parent_settid_written", ptid == tid);
    /* Wait for the kernel to clear ctid (a shared-key wake). */
    for (;;) {
        int v = __atomic_load_n(&ctid, __ATOMIC_SEQ_CST);
        if (v == 0)
            break;
        fx(&ctid, FUTEX_WAIT, v, NULL, NULL, 0);
    }
    VALUE("child_cleartid_zeroed", ctid);
    VALUE("child_saw_own_tid", child_ran && child_tid_seen == tid);
    CHECK("exited_thread_is_gone", SC(SYS_tgkill, getpid(), tid, 0));
}

int main(void)
{
    start();
    errors();
    wake_op0();
    wake_counts();
    bitsets();
    wrong_kind();
    requeue();
    wake_op_with_waiters();
    pi();
    robust();
    clone_tests();
    return 0;
}
