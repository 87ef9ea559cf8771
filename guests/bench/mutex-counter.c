/* mutex-counter: THREADS threads each add 1 to a shared counter N times
 * under one pthread mutex (contended: exercises futex wait/wake).
 * usage: mutex-counter [N=100000] [THREADS=4] */
#include <pthread.h>
#include <string.h>

#include "bench.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long per_thread;

static void *worker(void *arg)
{
    (void)arg;
    for (long i = 0; i < per_thread; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    per_thread = arg_count(argc, argv, 1, 100000);
    long nthreads = arg_count(argc, argv, 2, 4);
    if (nthreads > 64) {
        fprintf(stderr, "%s: at most 64 threads\n", argv[0]);
        return 2;
    }
    pthread_t tids[64];
    for (long t = 0; t < nthreads; t++) {
        int err = pthread_create(&tids[t], NULL, worker, NULL);
        if (err != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    for (long t = 0; t < nthreads; t++)
        pthread_join(tids[t], NULL);
    if (counter != per_thread * nthreads) {
        fprintf(stderr, "mutex-counter: counter %ld, expected %ld\n", counter,
                per_thread * nthreads);
        return 1;
    }
    printf("mutex-counter: %ld threads x %ld increments = %ld\n", nthreads, per_thread,
           counter);
    return 0;
}
