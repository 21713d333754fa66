/* Symbolic data where the easy paths end (the hostile-guest defects D2 and D3):
 *   case=1  an x87 `fld` (which KVM cannot emulate) reads a concrete byte of a symbolic
 *           page: symhv pins the page concrete for that instruction and the run goes on;
 *   case=2  code runs from a symbolic page (the immediate of `mov eax, imm32` is a
 *           symbolic input) and the program branches on what it returned;
 *   case=3  a checksum loop over a symbolic buffer (h = h*31 + in[i]) builds an
 *           expression deeper than the engine keeps: it is concretised past the cap,
 *           the sidecar neither overflows its stack nor stalls. */
#include "guest.h"
#include "symhv/agent.h"

static uint8_t page[4096] __attribute__((aligned(4096)));

static int fld_on_symbolic_page(void)
{
    for (int i = 0; i < 16; i++)
        page[i] = 0;
    page[8 + 6] = 0xf0; /* the double at page+8 is 1.0 */
    page[8 + 7] = 0x3f;
    if (symhv_make_symbolic(page, 8, "input") < 0)
        return 1;
    double d;
    __asm__ volatile("fldl %1; fstpl %0" : "=m"(d) : "m"(page[8]));
    printf("trap_edge: fld read %s\n", d == 1.0 ? "1.0" : "something else");
    return d == 1.0 ? 0 : 1;
}

static int code_on_symbolic_page(void)
{
    static const uint8_t code[] = { 0xb8, 0x11, 0x11, 0x11, 0x11, 0xc3 }; /* mov eax, imm; ret */
    memcpy(page, code, sizeof code);
    if (symhv_make_symbolic(page + 1, 4, "input") < 0)
        return 1;
    uint32_t (*fn)(void) = (uint32_t (*)(void))(uintptr_t)page;
    uint32_t v = fn();
    printf("trap_edge: code returned %s\n", v == 0x600dc0deu ? "the magic" : "something else");
    return 0;
}

static int checksum_loop(void)
{
    static uint8_t in[64];
    long rounds = guest_arg("rounds", 5000);
    if (symhv_make_symbolic(in, sizeof in, "input") < 0)
        return 1;
    uint64_t h = 0;
    for (long i = 0; i < rounds; i++)
        h = h * 31 + in[i & 63];
    printf("trap_edge: checksum %s\n", h == 0x1234567890abcdefull ? "matches" : "differs");
    return 0;
}

int main(void)
{
    switch (guest_arg("case", 0)) {
    case 1: return fld_on_symbolic_page();
    case 2: return code_on_symbolic_page();
    case 3: return checksum_loop();
    default: printf("trap_edge: case=1|2|3\n"); return 2;
    }
}
