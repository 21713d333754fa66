/* Symbolic data where the easy paths end (the hostile-guest defects D2 and D3):
 *   case=1  an x87 `fld` (which KVM cannot emulate) reads a concrete byte of a symbolic
 *           page: symhv pins the page concrete for that instruction and the run goes on;
 *   case=2  code runs from a symbolic page (the immediate of `mov eax, imm32` is a
 *           symbolic input) and the program branches on what it returned;
 *   case=3  a checksum loop over a symbolic buffer (h = h*31 + in[i]) builds an
 *           expression deeper than the engine keeps: it is concretised past the cap,
 *           the sidecar neither overflows its stack nor stalls;
 *   case=4  the interpreter loads an XMM register (a concrete load after a symbolic
 *           read) and hands the vCPU back while every other XMM register is zero: the
 *           CPU must go on with the loaded value (KVM_SET_FPU's write was dropped when the
 *           guest's SSE state was in its init state, and the value read as zeros). */
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

static int xmm_after_handoff(void)
{
    static const uint8_t pattern[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    page[0] = 'a';
    if (symhv_make_symbolic(page, 1, "input") < 0)
        return 1;
    uint64_t lo;
    __asm__ volatile("pxor %%xmm0, %%xmm0\n pxor %%xmm1, %%xmm1\n pxor %%xmm2, %%xmm2\n"
                     "pxor %%xmm3, %%xmm3\n pxor %%xmm4, %%xmm4\n pxor %%xmm5, %%xmm5\n"
                     "pxor %%xmm6, %%xmm6\n pxor %%xmm7, %%xmm7\n pxor %%xmm8, %%xmm8\n"
                     "pxor %%xmm9, %%xmm9\n pxor %%xmm10, %%xmm10\n pxor %%xmm11, %%xmm11\n"
                     "pxor %%xmm12, %%xmm12\n pxor %%xmm13, %%xmm13\n pxor %%xmm14, %%xmm14\n"
                     "pxor %%xmm15, %%xmm15\n"
                     "movzbl (%[sym]), %%eax\n"  /* symbolic: the vCPU goes to the sidecar */
                     "movdqu (%[pat]), %%xmm1\n" /* concrete, interpreted */
                     "xorl %%eax, %%eax\n"       /* nothing symbolic is left */
                     "cpuid\n"                   /* not modelled: back to the CPU */
                     "movq %%xmm1, %[lo]\n"
                     : [lo] "=r"(lo)
                     : [sym] "r"(page), [pat] "r"(pattern)
                     : "rax", "rbx", "rcx", "rdx", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
                       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
                       "xmm14", "xmm15", "memory");
    bool kept = lo == 0x0807060504030201ull;
    printf("trap_edge: xmm1 after the handoff %s\n", kept ? "holds the load" : "lost the load");
    return kept ? 0 : 1;
}

int main(void)
{
    switch (guest_arg("case", 0)) {
    case 1: return fld_on_symbolic_page();
    case 2: return code_on_symbolic_page();
    case 3: return checksum_loop();
    case 4: return xmm_after_handoff();
    default: printf("trap_edge: case=1|2|3|4\n"); return 2;
    }
}
