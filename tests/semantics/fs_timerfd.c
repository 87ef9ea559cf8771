/* timerfd: create/settime/gettime argument rules, relative and absolute
 * (TFD_TIMER_ABSTIME) timers on CLOCK_REALTIME, CLOCK_MONOTONIC and
 * CLOCK_BOOTTIME, reads of expirations (periodic timers count missed
 * periods), blocking reads woken at expiry, poll and epoll readiness. */
#include "check.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

static long long now_ns(int clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000 * 1000};
    nanosleep(&d, NULL);
}

static struct itimerspec spec(long value_ns, long interval_ns)
{
    struct itimerspec s;
    s.it_value.tv_sec = value_ns / 1000000000L;
    s.it_value.tv_nsec = value_ns % 1000000000L;
    s.it_interval.tv_sec = interval_ns / 1000000000L;
    s.it_interval.tv_nsec = interval_ns % 1000000000L;
    return s;
}

int main(void)
{
    start();
    uint64_t ticks = 0;
    CHECK("create_bad_clock", SC(SYS_timerfd_create, 2, 0));
    CHECK("create_bad_clock_negative", SC(SYS_timerfd_create, -1, 0));
    CHECK("create_bad_flags", SC(SYS_timerfd_create, CLOCK_MONOTONIC, 1));
    int rt = MUST(SC(SYS_timerfd_create, CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC));
    int bt = MUST(SC(SYS_timerfd_create, CLOCK_BOOTTIME, TFD_NONBLOCK));
    int mt = MUST(SC(SYS_timerfd_create, CLOCK_MONOTONIC, 0));
    VALUE("cloexec", MUST(fcntl(rt, F_GETFD)));
    VALUE("getfl_nonblock", MUST(fcntl(rt, F_GETFL)) == (O_RDWR | O_NONBLOCK));
    VALUE("getfl_blocking", MUST(fcntl(mt, F_GETFL)) == O_RDWR);
    char name[64] = {0}, link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", rt);
    MUST(readlink(link, name, sizeof name - 1));
    VALUE("proc_fd_name", strcmp(name, "anon_inode:[timerfd]") == 0);

    struct itimerspec s = spec(0, 0), cur;
    CHECK("gettime_disarmed", SC(SYS_timerfd_gettime, rt, &cur));
    VALUE("gettime_disarmed_zero", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);
    CHECK("gettime_bad_fd", SC(SYS_timerfd_gettime, 99, &cur));
    int p[2];
    MUST(pipe(p));
    CHECK("gettime_not_timerfd", SC(SYS_timerfd_gettime, p[0], &cur));
    CHECK("gettime_bad_pointer", SC(SYS_timerfd_gettime, rt, 8));
    CHECK("settime_bad_flags", SC(SYS_timerfd_settime, rt, 4, &s, 0));
    CHECK("settime_bad_new_pointer", SC(SYS_timerfd_settime, rt, 0, 8, 0));
    CHECK("settime_bad_fd", SC(SYS_timerfd_settime, 99, 0, &s, 0));
    CHECK("settime_not_timerfd", SC(SYS_timerfd_settime, p[0], 0, &s, 0));
    s.it_value.tv_nsec = 1000000000;
    CHECK("settime_bad_nsec", SC(SYS_timerfd_settime, rt, 0, &s, 0));
    s = spec(0, 0);
    s.it_interval.tv_sec = -1;
    CHECK("settime_negative_interval", SC(SYS_timerfd_settime, rt, 0, &s, 0));
    CHECK("read_disarmed_eagain", SC(SYS_read, rt, &ticks, 8));
    CHECK("read_short_buffer", SC(SYS_read, rt, &ticks, 4));
    CHECK("write_einval", SC(SYS_write, rt, &ticks, 8));

    /* A relative one-shot timer on CLOCK_REALTIME. */
    s = spec(100 * 1000000000L, 0);
    CHECK("settime_relative_far", SC(SYS_timerfd_settime, rt, 0, &s, 0));
    CHECK("gettime_armed", SC(SYS_timerfd_gettime, rt, &cur));
    long left = cur.it_value.tv_sec * 1000000000L + cur.it_value.tv_nsec;
    VALUE("gettime_left_in_range", left > 0 && left <= 100 * 1000000000L);
    CHECK("read_before_expiry", SC(SYS_read, rt, &ticks, 8));
    struct pollfd pf = {rt, POLLIN, 0};
    CHECK("poll_before_expiry", poll(&pf, 1, 0));
    s = spec(30 * 1000000L, 0);
    CHECK("settime_relative", SC(SYS_timerfd_settime, rt, 0, &s, 0));
    CHECK("poll_waits_for_expiry", poll(&pf, 1, 5000));
    VALUE("poll_revents", pf.revents);
    CHECK("read_after_expiry", SC(SYS_read, rt, &ticks, 8));
    VALUE("one_shot_ticks", ticks);
    CHECK("read_again_eagain", SC(SYS_read, rt, &ticks, 8));
    CHECK("gettime_expired", SC(SYS_timerfd_gettime, rt, &cur));
    VALUE("expired_one_shot_zero", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

    /* A periodic timer counts the periods missed. */
    s = spec(10 * 1000000L, 10 * 1000000L);
    struct itimerspec old;
    long long t0 = now_ns(CLOCK_BOOTTIME);
    CHECK("settime_periodic", SC(SYS_timerfd_settime, bt, 0, &s, &old));
    VALUE("old_setting_disarmed", old.it_value.tv_sec == 0 && old.it_value.tv_nsec == 0);
    sleep_ms(55);
    CHECK("read_periodic", SC(SYS_read, bt, &ticks, 8));
    long long elapsed = now_ns(CLOCK_BOOTTIME) - t0;
    /* At least 5 periods passed; no more than the time measured allows. */
    VALUE("periodic_counted_missed", ticks >= 5 && (long long)ticks <= elapsed / 10000000LL);
    CHECK("gettime_periodic", SC(SYS_timerfd_gettime, bt, &cur));
    VALUE("periodic_interval_kept", cur.it_interval.tv_nsec == 10 * 1000000L && cur.it_interval.tv_sec == 0);
    s = spec(0, 0);
    CHECK("settime_disarm", SC(SYS_timerfd_settime, bt, 0, &s, &old));
    VALUE("old_interval", old.it_interval.tv_nsec == 10 * 1000000L);
    sleep_ms(15);
    CHECK("read_after_disarm", SC(SYS_read, bt, &ticks, 8));

    /* Absolute deadlines: one in the past expires at once. */
    long long past = now_ns(CLOCK_MONOTONIC) - 1000000000LL;
    s = spec(0, 0);
    s.it_value.tv_sec = past / 1000000000LL;
    s.it_value.tv_nsec = past % 1000000000LL;
    CHECK("settime_abs_past", SC(SYS_timerfd_settime, mt, TFD_TIMER_ABSTIME, &s, 0));
    CHECK("read_abs_past", SC(SYS_read, mt, &ticks, 8));
    VALUE("abs_past_ticks", ticks);
    long long soon = now_ns(CLOCK_MONOTONIC) + 40 * 1000000LL;
    s.it_value.tv_sec = soon / 1000000000LL;
    s.it_value.tv_nsec = soon % 1000000000LL;
    CHECK("settime_abs_future", SC(SYS_timerfd_settime, mt, TFD_TIMER_ABSTIME, &s, 0));
    CHECK("blocking_read_woken_at_expiry", SC(SYS_read, mt, &ticks, 8));
    VALUE("woken_not_early", now_ns(CLOCK_MONOTONIC) >= soon);
    VALUE("abs_future_ticks", ticks);
    long long rsoon = now_ns(CLOCK_REALTIME) + 20 * 1000000LL;
    s.it_value.tv_sec = rsoon / 1000000000LL;
    s.it_value.tv_nsec = rsoon % 1000000000LL;
    CHECK("settime_abs_realtime_cancel_on_set", SC(SYS_timerfd_settime, rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, 0));

    /* epoll: edge-triggered, once per expiry batch. */
    int ep = MUST(epoll_create1(0));
    struct epoll_event ev = {EPOLLIN | EPOLLET, {.u64 = 7}}, got[2];
    CHECK("epoll_add_timerfd", epoll_ctl(ep, EPOLL_CTL_ADD, rt, &ev));
    CHECK("epoll_wait_expiry", epoll_wait(ep, got, 2, 5000));
    VALUE("epoll_events", got[0].events);
    VALUE("epoll_data", (long)got[0].data.u64);
    CHECK("epoll_et_quiet", epoll_wait(ep, got, 2, 0));
    MUST(SC(SYS_read, rt, &ticks, 8));
    s = spec(10 * 1000000L, 10 * 1000000L);
    MUST(SC(SYS_timerfd_settime, rt, 0, &s, 0));
    CHECK("epoll_periodic_1", epoll_wait(ep, got, 2, 5000));
    MUST(SC(SYS_read, rt, &ticks, 8));
    CHECK("epoll_periodic_2", epoll_wait(ep, got, 2, 5000));
    MUST(SC(SYS_read, rt, &ticks, 8));
    ev.events = EPOLLIN;
    MUST(epoll_ctl(ep, EPOLL_CTL_MOD, rt, &ev));
    sleep_ms(25);
    CHECK("epoll_lt_after_sleep", epoll_wait(ep, got, 2, 0));
    CHECK("epoll_lt_still_ready", epoll_wait(ep, got, 2, 0));
    return 0;
}
