/* One vCPU asks the VMM the same question without pause (a refused symhv_fuzz_cmplog:
 * -EINVAL every time) while the other takes the snapshot. The snapshot's settle finds the
 * asking vCPU between its exit and its return to the guest more often than not; the answer
 * it was given there must be the answer it gets, then and after every restore. (Completing
 * that pending exit for the settle once overwrote a hypercall's answer with zeros, so a
 * refused call read as a success.) An execution ends with status 5 if any answer the asking
 * vCPU saw since the snapshot was not -EINVAL. */
#include "guest.h"
#include "symhv/agent.h"

static uint8_t buf[4096] __attribute__((aligned(4096)));
static uint8_t map[65536] __attribute__((aligned(4096)));
static volatile long asked, wrong_answer;

static long asker(void *arg)
{
    (void)arg;
    for (;;) {
        long r = symhv_fuzz_cmplog(0, 0);
        if (r != -SYMHV_EINVAL)
            wrong_answer = r ? r : 1;
        asked++;
    }
    return 0;
}

int main(void)
{
    thread_spawn(asker, 0);
    while (asked < 100)
        yield();
    symhv_fuzz_start(buf, sizeof buf, map, sizeof map);
    long from = asked; /* the asker's answers after the snapshot, two at least */
    while (asked < from + 2)
        __asm__ volatile("pause");
    if (wrong_answer)
        symhv_fuzz_end(5);
    map[buf[0]]++;
    symhv_fuzz_end(0);
    return 0;
}
