/* A thread that counts in ordinary memory until told to stop: the test and benchmark
 * programs use it to show that one vCPU keeps running while another is trapped. */
#ifndef GUEST_BACKGROUND_COUNTER_H
#define GUEST_BACKGROUND_COUNTER_H

#include "guest.h"

static uint64_t background_count;
static int background_stop;
static int background_tid;

static long background_count_loop(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&background_stop, __ATOMIC_RELAXED))
        __atomic_fetch_add(&background_count, 1, __ATOMIC_RELAXED);
    return 0;
}

static inline uint64_t background_counter_read(void)
{
    return __atomic_load_n(&background_count, __ATOMIC_RELAXED);
}

/* Start the thread and wait until it is counting (on another vCPU, when there is one). */
static inline void background_counter_start(void)
{
    background_tid = thread_spawn(background_count_loop, NULL);
    while (background_counter_read() == 0)
        yield();
}

static inline void background_counter_stop(void)
{
    __atomic_store_n(&background_stop, 1, __ATOMIC_RELAXED);
    thread_join(background_tid);
}

#endif
