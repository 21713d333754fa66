/* Test program for symbolic pages (run on 2 vCPUs). A second thread counts in ordinary
 * memory the whole time, and must advance while the page is trapped. The main thread
 * marks 50 bytes of a page symbolic, checks the agent's error codes for wild pointers
 * and lengths, reads a concrete byte of the symbolic page (the VMM emulates it),
 * overwrites the symbolic bytes (each write traps and makes them concrete, which
 * releases the page), and reads everything back. */
#include "guest.h"
#include "symhv/agent.h"
#include "background_counter.h"

static uint8_t page[4096] __attribute__((aligned(4096)));
static uint8_t other[4096] __attribute__((aligned(4096)));
int main(void)
{
    int ok = 1;
    for (int i = 0; i < 4096; i++)
        page[i] = (uint8_t)(i * 7);
    background_counter_start();

    int id = symhv_make_symbolic(page + 100, 50, "input");
    int errs[6] = {
        symhv_make_symbolic(page, 0, "empty"),
        symhv_make_symbolic((void *)0xdead00000000ull, 16, "wild"),
        symhv_make_symbolic(page, 16, (const char *)0xdead00000000ull),
        symhv_make_symbolic(page, 2u << 20, "huge"),
        symhv_make_symbolic((void *)0x1000, 16, "bootarea"),
        symhv_get_example(other, (const void *)0xdead00000000ull, 4),
    };
    printf("trap_check: input id %d, errors %d %d %d %d %d %d\n", id, errs[0], errs[1], errs[2],
           errs[3], errs[4], errs[5]);
    ok &= id == 0 && errs[0] == -22 && errs[1] == -14 && errs[2] == -14 && errs[3] == -22 &&
          errs[4] == -14 && errs[5] == -14;

    uint64_t before = background_counter_read();
    volatile uint8_t *p = page;
    /* A concrete byte of the symbolic page: trapped, emulated from RAM. */
    ok &= p[10] == (uint8_t)(10 * 7);
    /* get_example copies the current concrete values of the input. */
    ok &= symhv_get_example(other, page + 100, 50) == 0;
    for (int i = 0; i < 50; i++)
        ok &= other[i] == (uint8_t)((100 + i) * 7);
    /* Overwrite every symbolic byte: each write traps and concretises it. While the page
     * is still trapped (49 bytes to go) the other thread must be counting: waited for,
     * since on a loaded host the other vCPU's thread may not run within a few writes. */
    p[100] = 0x5a;
    for (long spins = 0; spins < 200000000L && background_counter_read() == before; spins++)
        __builtin_ia32_pause();
    for (int i = 101; i < 150; i++)
        p[i] = 0x5a;
    for (int i = 100; i < 150; i++)
        ok &= p[i] == 0x5a;
    ok &= p[99] == (uint8_t)(99 * 7) && p[150] == (uint8_t)(150 * 7);
    uint64_t after = background_counter_read();
    background_counter_stop();
    printf("trap_check: data %s, counter advanced by %s\n", ok ? "ok" : "WRONG",
           after > before ? "more than 0" : "0");
    return ok && after > before ? 0 : 1;
}
