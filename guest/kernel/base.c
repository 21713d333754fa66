/* What every part of the kernel stands on: what the VMM handed over (boot info, launch
 * image), the CPUs, the bounds of user memory, the reproducible random stream, and bulk
 * copies and zeroing of user memory (by the VMM when that is worth an exit). */
#include "kernel.h"
#include "base.h"

struct kernel kernel;
struct cpu cpus[SYMHV_MAX_VCPUS];

#define KCOPY_MIN 256 /* smaller copies are cheaper in ring 0 than an exit */

static uint64_t random_state; /* under the big kernel lock */

struct cpu *this_cpu(void)
{
    /* Each vCPU runs on its own SYMHV_STACK_SIZE stack: the stack says who we are. */
    uint64_t sp = (uint64_t)__builtin_frame_address(0);
    return &cpus[(sp - SYMHV_STACKS_ADDR) / SYMHV_STACK_SIZE];
}

bool user_range_ok(uint64_t addr, uint64_t len)
{
    return addr >= USER_AREA_START && addr <= kernel.user_top && len <= kernel.user_top - addr;
}

void random_fill(void *buf, uint64_t n)
{
    if (!random_state)
        random_state = (kernel.launch ? kernel.launch->random_seed : 0) * 2 + 1;
    uint8_t *p = buf;
    for (uint64_t k = 0; k < n; k += 8) {
        random_state = random_state * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = random_state ^ (random_state >> 29);
        memcpy(p + k, &r, n - k < 8 ? n - k : 8);
    }
}

void kcopy(uint64_t dst, uint64_t src, uint64_t len)
{
    if (len >= KCOPY_MIN)
        hypercall(SYMHV_HC_KCOPY, dst, src, len, 0);
    else
        memmove((void *)dst, (const void *)src, len);
}

void kzero(uint64_t addr, uint64_t len)
{
    if (len >= KCOPY_MIN)
        hypercall(SYMHV_HC_KZERO, addr, len, 0, 0);
    else
        memset((void *)addr, 0, len);
}
