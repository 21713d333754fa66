/* Two vCPUs each mark a 1 MiB buffer symbolic before the snapshot, with a compare log
 * that asks for a 32-byte operand where the input holds one byte: the input's cap must
 * stay one input's most (1 MiB; the two buffers once made it 2 MiB and the candidate
 * overran the VMM's scratch). The main thread ends right after its call, possibly while
 * the other vCPU's call has the snapshot on its way: no execution ends then, and the
 * campaign goes on. */
#include "guest.h"
#include "symhv/agent.h"
#include "symhv/coverage.h"

#define MIB (1u << 20)
static uint8_t first[MIB] __attribute__((aligned(4096)));
static uint8_t second[MIB] __attribute__((aligned(4096)));
static struct symhv_cmplog cmplog __attribute__((aligned(4096)));
static volatile int go, ready;

static long other(void *arg)
{
    (void)arg;
    __atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
    while (!go)
        ;
    symhv_make_symbolic(second, MIB, "second");
    for (;;)
        yield();
    return 0;
}

int main(void)
{
    cmplog.count = 1;
    cmplog.entries[0].size = 32;
    cmplog.entries[0].a_len = 1;
    cmplog.entries[0].a[0] = 'A';
    for (int i = 0; i < 32; i++)
        cmplog.entries[0].b[i] = 'B';
    if (symhv_fuzz_cmplog(&cmplog, sizeof cmplog) != 0)
        return 3;
    thread_spawn(other, 0);
    while (!ready)
        yield();
    go = 1;
    symhv_make_symbolic(first, MIB, "first");
    symhv_fuzz_end(0);
    return 0;
}
