/* One symbolic byte stored on 6000 separate pages (every other page of 48 MiB): more
 * trapped pages than symhv's memslot cap leaves room for. The pages past the cap must
 * not be read natively as symbolic-looking concrete bytes: symhv pins them (says so,
 * counts them) and the run goes on. Then a branch on the copy in the last page. */
#include "guest.h"
#include "symhv/agent.h"

#define NPAGES 6000
static uint8_t area[NPAGES * 8192] __attribute__((aligned(4096)));

int main(void)
{
    static uint8_t x;
    symhv_make_symbolic(&x, 1, "x");
    uint8_t v = x;
    for (unsigned i = 0; i < NPAGES; i++)
        area[(uint64_t)i * 8192] = v;
    printf("many_pages: stored\n");
    volatile uint8_t *last = &area[(uint64_t)(NPAGES - 1) * 8192];
    printf("many_pages: %s\n", *last == 'Z' ? "Z" : "not Z");
    return 0;
}
