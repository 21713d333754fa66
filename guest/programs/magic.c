/* The symbolic demo (run on 2+ vCPUs): one thread parses a symbolic 16-byte input with
 * a 4-byte magic and a checksum-guarded field while another thread counts in ordinary
 * memory. symhv finds inputs for the guarded branches; `symhv replay` confirms them. */
#include "guest.h"
#include "symhv/agent.h"
#include "background_counter.h"

static uint8_t input[4096] __attribute__((aligned(4096))); /* a page of its own */
/* A call on the guarded side keeps the compiler from turning the test into a setcc,
 * so the check is a real branch where the interpreter can offer the other side. */
__attribute__((noinline)) static int accept(int level)
{
    __asm__ volatile("" ::: "memory");
    return level;
}

/* `counted_from`: the counter before parsing. While the magic is symbolic in a register
 * the interpreter has this vCPU, so the bounded wait below shows the other thread
 * counting during a handoff (on a loaded host its vCPU may not run within a few
 * interpreted instructions). */
__attribute__((noinline)) static int parse(const uint8_t *in, uint64_t counted_from)
{
    uint32_t magic;
    memcpy(&magic, in, 4);
    for (int spins = 0; spins < 1000000 && background_counter_read() == counted_from; spins++)
        __asm__ volatile("" : "+r"(magic));
    if (magic != 0x56484d53) /* "SMHV" */
        return 0;
    uint8_t sum = 0;
    for (int i = 4; i < 15; i++)
        sum = (uint8_t)(sum * 3 + in[i]);
    if (sum == in[15])
        return accept(2);
    return 1;
}

int main(void)
{
    memcpy(input, "hello, symhv! 00", 16);
    background_counter_start();
    int id = symhv_make_symbolic(input, 16, "input");
    uint64_t before = background_counter_read();
    int r = parse(input, before);
    uint64_t after = background_counter_read();
    background_counter_stop();
    if (r == 2)
        printf("magic: checksum branch reached\n");
    else if (r == 1)
        printf("magic: magic branch reached\n");
    else
        printf("magic: input rejected\n");
    printf("magic: input id %d, counter advanced by %s while parsing\n", id,
           after > before ? "more than 0" : "0");
    return 0;
}
