/* Differential tests: every modelled instruction class, run natively on the host CPU and
 * in the interpreter from the same random state, must leave the same registers, flags
 * (except those the manual leaves undefined) and memory.
 *
 * Each case also runs symbolically: registers (except pointer registers a case fixes)
 * and flags become input bytes; the expressions the interpreter builds on one input are
 * then evaluated under a second random input and must match a native run on that
 * second input, whenever the second input satisfies the recorded path constraints. */
#include <check.h>
#include "../check_main.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "native.h"

/* ---- the cases ----------------------------------------------------------------------- */

enum setup {
    S_NONE,      /* random registers */
    S_MEM,       /* rbx points into the data buffer */
    S_DIV,       /* unsigned divide: rcx != 0, rdx < rcx (and ah < cl) */
    S_IDIV,      /* signed divide: rdx = sign of rax, rcx not 0 and no overflow */
    S_STRING,    /* rsi, rdi into the data buffer, rcx small; DF random */
    S_BTMEM,     /* rbx into data, rcx a small signed bit offset */
};

#define UNDEF_ALL (SX_FLAGS_ARITH)
#define U_LOGIC SX_FLAG_AF
#define U_MUL (SX_FLAG_SF | SX_FLAG_ZF | SX_FLAG_AF | SX_FLAG_PF)
#define U_SHIFT (SX_FLAG_AF | SX_FLAG_OF) /* OF only defined for 1-bit shifts */
#define U_BT (SX_FLAG_OF | SX_FLAG_SF | SX_FLAG_AF | SX_FLAG_PF)

/* name, Intel-syntax code, flags the manual leaves undefined, setup */
#define CASES(X) \
    X(mov_r64, "mov rax, rbx; mov ecx, edx; mov r8w, r9w; mov sil, dil; mov ah, bl", 0, S_NONE) \
    X(mov_imm, "mov rax, 0x123456789abcdef0; mov ecx, -5; mov dx, 7; mov bh, 0x80", 0, S_NONE) \
    X(mov_mem, "mov rax, [rbx]; mov [rbx+8], rcx; mov edx, [rbx+20]; mov [rbx+3], r9b; mov [rbx+40], dword ptr 0x80000000", 0, S_MEM) \
    X(movzx_movsx, "movzx eax, bl; movzx rcx, dx; movsx rdx, r8b; movsx esi, di; movsxd r9, r10d; movsx ax, r11b", 0, S_NONE) \
    X(lea, "lea rax, [rbx+rcx*4+0x10]; lea edx, [rsi+rdi-3]; lea r8, [r9*8]; lea cx, [rax+rbx]", 0, S_NONE) \
    X(add, "add rax, rbx", 0, S_NONE) \
    X(add32, "add eax, ebx", 0, S_NONE) \
    X(add8, "add al, bl", 0, S_NONE) \
    X(add16_imm, "add cx, 0x7ff0", 0, S_NONE) \
    X(add_imm8, "add rdx, -3", 0, S_NONE) \
    X(add_mem, "add [rbx+8], rax", 0, S_MEM) \
    X(adc, "adc rax, rbx", 0, S_NONE) \
    X(adc8, "adc cl, dl", 0, S_NONE) \
    X(sub, "sub rax, rbx", 0, S_NONE) \
    X(sub32_mem, "sub ecx, [rbx+4]", 0, S_MEM) \
    X(sbb, "sbb rax, rbx", 0, S_NONE) \
    X(sbb16, "sbb si, di", 0, S_NONE) \
    X(inc, "inc rax", 0, S_NONE) \
    X(inc8, "inc bl", 0, S_NONE) \
    X(dec, "dec ecx", 0, S_NONE) \
    X(dec_mem, "dec qword ptr [rbx+16]", 0, S_MEM) \
    X(neg, "neg rax", 0, S_NONE) \
    X(neg16, "neg dx", 0, S_NONE) \
    X(and, "and rax, rbx", U_LOGIC, S_NONE) \
    X(or32, "or ecx, edx", U_LOGIC, S_NONE) \
    X(xor8, "xor sil, dil", U_LOGIC, S_NONE) \
    X(xor_self, "xor eax, eax", U_LOGIC, S_NONE) \
    X(not, "not rax; not bl; not ecx", 0, S_NONE) \
    X(cmp, "cmp rax, rbx", 0, S_NONE) \
    X(cmp8_imm, "cmp al, 0x41", 0, S_NONE) \
    X(cmp_mem, "cmp dword ptr [rbx+4], 7", 0, S_MEM) \
    X(test, "test rax, rbx", U_LOGIC, S_NONE) \
    X(test8, "test cl, 0x80", U_LOGIC, S_NONE) \
    X(shl1, "shl rax, 1", SX_FLAG_AF, S_NONE) \
    X(shl_imm, "shl rax, 7", U_SHIFT, S_NONE) \
    X(shl_cl, "shl rdx, cl", U_SHIFT, S_NONE) \
    X(shl32_cl, "shl ebx, cl", U_SHIFT, S_NONE) \
    X(shr1, "shr ecx, 1", SX_FLAG_AF, S_NONE) \
    X(shr_imm, "shr rax, 13", U_SHIFT, S_NONE) \
    X(shr_cl, "shr rbx, cl", U_SHIFT, S_NONE) \
    X(sar1, "sar rax, 1", SX_FLAG_AF, S_NONE) \
    X(sar_imm, "sar rdx, 63", U_SHIFT, S_NONE) \
    X(sar32_cl, "sar esi, cl", U_SHIFT, S_NONE) \
    X(rol_imm, "rol rax, 5", SX_FLAG_OF, S_NONE) \
    X(rol1, "rol ebx, 1", 0, S_NONE) \
    X(ror_cl, "ror rdx, cl", SX_FLAG_OF, S_NONE) \
    X(ror1, "ror rsi, 1", 0, S_NONE) \
    X(mul, "mul rbx", U_MUL, S_NONE) \
    X(mul32, "mul ecx", U_MUL, S_NONE) \
    X(mul8, "mul bl", U_MUL, S_NONE) \
    X(imul1, "imul rbx", U_MUL, S_NONE) \
    X(imul1_16, "imul cx", U_MUL, S_NONE) \
    X(imul2, "imul rax, rbx", U_MUL, S_NONE) \
    X(imul3, "imul ecx, edx, 0x12345", U_MUL, S_NONE) \
    X(imul3_8, "imul rsi, rdi, -7", U_MUL, S_NONE) \
    X(div64, "div rcx", UNDEF_ALL, S_DIV) \
    X(div32, "div ecx", UNDEF_ALL, S_DIV) \
    X(div8, "div cl", UNDEF_ALL, S_DIV) \
    X(idiv64, "idiv rcx", UNDEF_ALL, S_IDIV) \
    X(idiv32, "idiv ecx", UNDEF_ALL, S_IDIV) \
    X(setcc, "setb al; setz bl; setl cl; setle dl; seto sil; sets dil; setp r8b; setnbe r9b", 0, S_NONE) \
    X(cmp_setcc, "cmp rax, rbx; setb cl; setl dl; setle sil; setbe dil; setz r8b; seto r9b; setnz r10b; setnl r11b", 0, S_NONE) \
    X(cmovcc, "cmovb rax, rbx; cmovz ecx, edx; cmovl rsi, rdi; cmovnle r8, r9; cmovo r10w, r11w", 0, S_NONE) \
    X(cmp_cmov, "cmp ecx, edx; cmovb eax, ebx; cmovl rsi, rdi; cmovbe r8, r9", 0, S_NONE) \
    X(jcc, "cmp rax, rbx; jb 1f; inc r15; 1: jl 2f; inc r14; 2: jz 3f; inc r13; 3: js 4f; inc r12; 4: jnbe 5f; inc r11; 5: jo 6f; inc r10; 6: jp 7f; inc r9; 7: nop", 0, S_NONE) \
    X(jcc_test, "test ecx, ecx; jz 1f; add r15, 1; 1: jle 2f; add r14, 1; 2: nop", U_LOGIC, S_NONE) \
    X(push_pop, "push rax; push 0x12345; push -1; pop rbx; pop rcx; pop rdx; push rsi; pop r8", 0, S_NONE) \
    X(call_ret, "call 1f; jmp 2f; 1: mov rax, [rsp]; ret; 2: nop", 0, S_NONE) \
    X(jmp_reg, "lea rax, [rip+1f]; jmp rax; inc rbx; 1: nop", 0, S_NONE) \
    X(ret_imm, "lea rax, [rip+1f]; push rcx; push rax; ret 8; 1: nop", 0, S_NONE) \
    X(leave, "mov rbp, rsp; sub rsp, 32; push rax; leave", 0, S_NONE) \
    X(xchg, "xchg rax, rbx; xchg ecx, edx; xchg sil, dil", 0, S_NONE) \
    X(xchg_mem, "xchg [rbx+8], rax; xchg ecx, [rbx+16]", 0, S_MEM) \
    X(cmpxchg, "cmpxchg rbx, rcx", 0, S_NONE) \
    X(cmpxchg_eq, "mov rdx, rax; cmpxchg rdx, rcx", 0, S_NONE) \
    X(lock_cmpxchg, "mov rax, [rbx+8]; lock cmpxchg [rbx+8], rcx; lock cmpxchg [rbx+16], edx", 0, S_MEM) \
    X(xadd, "xadd rax, rbx; xadd cl, dl", 0, S_NONE) \
    X(lock_xadd, "lock xadd [rbx+8], rax; lock add dword ptr [rbx+4], 5; lock inc qword ptr [rbx+24]", 0, S_MEM) \
    X(bswap, "bswap rax; bswap ecx", 0, S_NONE) \
    X(bt, "bt rax, rbx", U_BT, S_NONE) \
    X(bt_imm, "bt ecx, 17", U_BT, S_NONE) \
    X(bts, "bts rdx, rcx", U_BT, S_NONE) \
    X(btr, "btr esi, 31", U_BT, S_NONE) \
    X(btc, "btc rdi, 63", U_BT, S_NONE) \
    X(bt_mem, "bt qword ptr [rbx], rcx; btc dword ptr [rbx+8], ecx; bts qword ptr [rbx+16], 3", U_BT, S_BTMEM) \
    X(cdq_family, "cbw; cwde; cdqe; cqo; mov r8, rdx; cdq; mov r9, rdx; cwd", 0, S_NONE) \
    X(movs, "rep movsb; movsq; rep movsd", 0, S_STRING) \
    X(stos, "rep stosq; stosb; rep stosw", 0, S_STRING) \
    X(lods, "lodsb; lodsq; lodsd", 0, S_STRING) \
    X(cmps, "repe cmpsb", 0, S_STRING) \
    X(cmps_ne, "repne cmpsq", 0, S_STRING) \
    X(scas, "repne scasb", 0, S_STRING) \
    X(scas_e, "repe scasd", 0, S_STRING) \
    X(flag_ops, "stc; cmc; adc rax, 0; clc; sbb rbx, 0; cld", 0, S_NONE) \
    X(sse_moves, "movdqu xmm0, [rbx]; movdqu [rbx+32], xmm1; movq xmm2, rax; movq rcx, xmm3; movd xmm4, edx; movd esi, xmm5; movq xmm6, [rbx+8]; movq [rbx+64], xmm7; movq xmm8, xmm9; movups xmm10, xmm11; movdqa xmm12, [rbx-64]; movaps [rbx+64], xmm13", 0, S_MEM) \
    X(sse_cmp, "pxor xmm0, xmm1; pcmpeqb xmm2, xmm3; pcmpeqb xmm4, xmm4; pmovmskb eax, xmm2; pmovmskb ecx, xmm5; pcmpeqb xmm6, [rbx]; pmovmskb edx, xmm6", 0, S_MEM) \
    X(sse_logic, "por xmm0, xmm1; pand xmm2, xmm3; pandn xmm4, xmm5; orps xmm6, xmm7; xorps xmm8, xmm9; andps xmm10, [rbx]; andnpd xmm11, xmm12; orpd xmm13, [rbx+16]", 0, S_MEM) \
    X(sse_lanes, "paddb xmm0, xmm1; paddw xmm2, xmm3; paddd xmm4, xmm5; paddq xmm6, xmm7; psubb xmm8, xmm9; psubw xmm10, xmm11; psubd xmm12, xmm13; psubq xmm14, xmm15", 0, S_NONE) \
    X(sse_minmax, "pminub xmm0, xmm1; pmaxub xmm2, xmm3; pminsw xmm4, xmm5; pmaxsw xmm6, xmm7; pcmpeqw xmm8, xmm9; pcmpeqd xmm10, xmm11; pcmpgtb xmm12, xmm13; pcmpgtw xmm14, xmm15; pcmpgtd xmm1, [rbx]", 0, S_MEM) \
    X(sse_shifts, "psllw xmm0, 3; psrld xmm1, 7; psrlq xmm2, 63; psraw xmm3, 15; psrad xmm4, 40; pslldq xmm5, 3; psrldq xmm6, 9; psllq xmm7, xmm8; psrlw xmm9, 16; psrldq xmm10, 0; pslldq xmm11, 17", 0, S_NONE) \
    X(sse_shuffle, "punpcklbw xmm0, xmm1; punpckhbw xmm2, xmm3; punpcklwd xmm4, xmm5; punpckhdq xmm6, xmm7; punpcklqdq xmm8, xmm9; punpckhqdq xmm10, xmm11; pshufd xmm12, xmm13, 0x1b; pshuflw xmm14, xmm15, 0xe4; pshufhw xmm1, xmm2, 0x39; punpckldq xmm3, [rbx]", 0, S_MEM) \
    X(sse_halves, "movlpd xmm0, [rbx]; movhpd xmm1, [rbx+8]; movlps [rbx+16], xmm2; movhps [rbx+24], xmm3; movapd xmm4, [rbx-64]; movupd xmm5, [rbx+3]; movhps xmm6, [rbx+40]", 0, S_MEM) \
    X(bitscan, "bsf rax, rbx; bsr rcx, rdx; tzcnt rsi, rdi; lzcnt r8d, r9d; tzcnt r12w, r13w; popcnt r10, r11", 0, S_NONE) \
    X(bitscan32, "bsf eax, ebx; bsr cx, dx", SX_FLAG_CF | SX_FLAG_OF | SX_FLAG_SF | SX_FLAG_AF | SX_FLAG_PF, S_NONE)

#define SNIPPET(name, text, undef, setup)                                                   \
    __asm__(".pushsection .rodata.snippets,\"a\"\n"                                         \
            ".intel_syntax noprefix\n"                                                      \
            "snip_" #name "_start:\n" text "\nsnip_" #name "_end:\n"                          \
            ".att_syntax prefix\n"                                                          \
            ".popsection\n");                                                               \
    extern const uint8_t snip_##name##_start[] __asm__("snip_" #name "_start");             \
    extern const uint8_t snip_##name##_end[] __asm__("snip_" #name "_end");
CASES(SNIPPET)

struct diff_case {
    const char *name;
    const uint8_t *start, *end;
    uint64_t undef;
    enum setup setup;
};

#define TABLE_ROW(name, text, undef, setup) \
    { #name, snip_##name##_start, snip_##name##_end, (undef), (setup) },
static const struct diff_case cases[] = { CASES(TABLE_ROW) };
#define NCASES (sizeof cases / sizeof cases[0])

/* ---- memory seen by both sides ---------------------------------------------------------- */

#define DATA_BYTES 256
#define STACK_BYTES 4096
static uint8_t data[DATA_BYTES] __attribute__((aligned(64)));
static uint8_t stack[STACK_BYTES] __attribute__((aligned(64)));
static struct native_runner *runner;

static int in_region(uint64_t addr, size_t len)
{
    uint64_t d = (uint64_t)data, s = (uint64_t)stack;
    return (addr >= d && addr + len <= d + DATA_BYTES) ||
           (addr >= s && addr + len <= s + STACK_BYTES) || native_owns(runner, addr, len);
}

static int host_read(void *o, uint64_t addr, void *buf, size_t len)
{
    (void)o;
    if (!in_region(addr, len))
        return -1;
    memcpy(buf, (void *)addr, len);
    return 0;
}

static int host_write(void *o, uint64_t addr, const void *buf, size_t len)
{
    (void)o;
    if (!in_region(addr, len) || native_owns(runner, addr, len))
        return -1;
    memcpy((void *)addr, buf, len);
    return 0;
}

static int host_cmpxchg(void *o, uint64_t addr, size_t len, uint64_t expected, uint64_t desired,
                        uint64_t *old)
{
    (void)o;
    if (!in_region(addr, len))
        return -1;
    uint64_t cur = 0;
    memcpy(&cur, (void *)addr, len);
    *old = cur;
    if (cur == expected)
        memcpy((void *)addr, &desired, len);
    return 0;
}

static const struct sx_mem_ops host_mem = { host_read, host_write, host_cmpxchg, NULL };

/* ---- random states ------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Values that hit carries, overflows and sign changes more often than uniform ones. */
static uint64_t edgy(void)
{
    static const uint64_t special[] = {
        0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
        0xffffffff, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
        0xffffffffffffffffull, 0xfffffffffffffffeull };
    switch (rnd() % 6) {
    case 0: return special[rnd() % (sizeof special / sizeof special[0])];
    case 1: return rnd() & 0xff;
    case 2: return -(rnd() & 0xff);
    case 3: return special[rnd() % (sizeof special / sizeof special[0])] + (rnd() % 3) - 1;
    default: return rnd();
    }
}

/* Registers a setup pins (pointers, counts): not made symbolic. */
static uint32_t fixed_regs(enum setup s)
{
    uint32_t m = 1u << SX_RSP;
    switch (s) {
    case S_MEM: return m | 1u << SX_RBX;
    case S_BTMEM: return m | 1u << SX_RBX | 1u << SX_RCX;
    case S_STRING: return m | 1u << SX_RSI | 1u << SX_RDI | 1u << SX_RCX;
    default: return m;
    }
}

static void apply_setup(enum setup setup, struct cpu_state *st, int keep_pointers)
{
    st->gpr[SX_RSP] = (uint64_t)(stack + STACK_BYTES / 2);
    switch (setup) {
    case S_MEM:
        st->gpr[SX_RBX] = (uint64_t)(data + 64);
        break;
    case S_BTMEM:
        st->gpr[SX_RBX] = (uint64_t)(data + 128);
        if (!keep_pointers)
            st->gpr[SX_RCX] = (uint64_t)((int64_t)(rnd() % 511) - 255);
        break;
    case S_DIV: {
        uint64_t c = st->gpr[SX_RCX];
        if ((c & 0xff) == 0) c |= 1;
        if ((c & 0xffffffff) == 0) c |= 1;
        st->gpr[SX_RCX] = c;
        st->gpr[SX_RDX] = st->gpr[SX_RDX] % c;
        /* 32-bit form: edx < ecx;  8-bit form: ah < cl */
        uint32_t c32 = (uint32_t)c;
        st->gpr[SX_RDX] = (st->gpr[SX_RDX] & ~0xffffffffull) | ((uint32_t)st->gpr[SX_RDX] % c32);
        uint8_t ah = (uint8_t)(st->gpr[SX_RAX] >> 8) % (uint8_t)c;
        st->gpr[SX_RAX] = (st->gpr[SX_RAX] & ~0xff00ull) | ((uint64_t)ah << 8);
        break;
    }
    case S_IDIV: {
        uint64_t c = st->gpr[SX_RCX];
        if ((uint32_t)c == 0 || (uint32_t)c == 0xffffffffu)
            c = (c & ~0xffffffffull) | 3;
        if (c == 0 || c == ~0ull)
            c = 3;
        st->gpr[SX_RCX] = c;
        /* rdx:rax and edx:eax sign-extended from rax / eax: the quotient fits */
        uint64_t a = st->gpr[SX_RAX];
        uint64_t hi64 = (int64_t)a < 0 ? ~0ull : 0;
        uint32_t hi32 = (int32_t)a < 0 ? ~0u : 0;
        st->gpr[SX_RDX] = (hi64 & ~0xffffffffull) | hi32;
        if (hi64 != ((uint64_t)(int64_t)(int32_t)hi32)) /* keep both forms consistent */
            st->gpr[SX_RAX] = (uint64_t)(int64_t)(int32_t)a,
            st->gpr[SX_RDX] = (int32_t)a < 0 ? ~0ull : 0;
        break;
    }
    case S_STRING:
        if (!keep_pointers) {
            st->gpr[SX_RSI] = (uint64_t)(data + 64);
            st->gpr[SX_RDI] = (uint64_t)(data + 160);
            st->gpr[SX_RCX] = rnd() % 6;
        }
        break;
    default:
        break;
    }
}

static void random_state(struct cpu_state *st, enum setup setup)
{
    for (int i = 0; i < 16; i++)
        st->gpr[i] = edgy();
    st->rflags = 0x202 | (rnd() & SX_FLAGS_ARITH);
    if (setup == S_STRING && (rnd() & 1))
        st->rflags |= SX_FLAG_DF;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j += 8) {
            uint64_t v = (rnd() & 1) ? rnd() : 0x4141414141414141ull * (rnd() & 1);
            memcpy(&st->xmm[i][j], &v, 8);
        }
    apply_setup(setup, st, 0);
}

/* ---- interpreter side ------------------------------------------------------------------ */

struct interp_run {
    struct sx_ctx *ctx;
    struct sx_shadow *shadow;
    struct sx_path path;
    struct sx_state st;
    uint32_t regs_input, flags_input;
    uint8_t regs_bytes[16 * 8], flag_bytes[6];
};

static const uint64_t flag_bits[6] = { SX_FLAG_CF, SX_FLAG_PF, SX_FLAG_AF, SX_FLAG_ZF,
                                       SX_FLAG_SF, SX_FLAG_OF };

static void interp_setup(struct interp_run *r, const struct cpu_state *in, uint64_t rip,
                         int symbolic, uint32_t fixed)
{
    r->ctx = sx_ctx_new();
    r->shadow = sx_shadow_new();
    sx_path_init(&r->path);
    sx_state_init(&r->st, r->ctx, &host_mem, NULL, r->shadow, &r->path);
    /* one decode cache for every run of the test: each snippet decoded once, then its
     * cached decoding used from every state (the sidecar keeps one per thread) */
    static struct sx_decode_cache *dcache;
    if (!dcache)
        dcache = sx_decode_cache_new();
    r->st.dcache = dcache;
    r->regs_input = sx_input_declare(r->ctx, "regs", sizeof r->regs_bytes);
    r->flags_input = sx_input_declare(r->ctx, "flags", sizeof r->flag_bytes);
    memcpy(r->regs_bytes, in->gpr, sizeof r->regs_bytes);
    for (int i = 0; i < 16; i++) {
        r->st.gpr[i] = sx_v(64, in->gpr[i]);
        if (symbolic && !(fixed & (1u << i))) {
            const struct sx_expr *e = NULL;
            for (int b = 7; b >= 0; b--) {
                const struct sx_expr *byte = sx_input_byte(r->ctx, r->regs_input, (uint32_t)(8 * i + b));
                e = e ? sx_concat(r->ctx, e, byte) : byte;
            }
            r->st.gpr[i] = sx_v_make(e, in->gpr[i]);
        }
    }
    for (int i = 0; i < 16; i++) {
        sx_u128 v;
        memcpy(&v, in->xmm[i], 16);
        r->st.xmm[i] = sx_v(128, v);
    }
    sx_state_set_rflags(&r->st, in->rflags);
    if (symbolic) {
        for (int f = 0; f < 6; f++) {
            r->flag_bytes[f] = (in->rflags & flag_bits[f]) ? 1 : 0;
            r->st.flags.bits[f] = sx_v_make(
                sx_extract(r->ctx, sx_input_byte(r->ctx, r->flags_input, (uint32_t)f), 0, 1),
                r->flag_bytes[f]);
        }
    }
    r->st.rip = rip;
}

static void interp_release(struct interp_run *r)
{
    sx_path_release(&r->path);
    sx_shadow_free(r->shadow);
    sx_ctx_free(r->ctx);
}

/* ---- comparison ------------------------------------------------------------------------- */

static const char *const reg_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

static void fail_case(const struct diff_case *c, int iter, const char *what, const char *detail)
{
    ck_abort_msg("%s (iteration %d): %s %s", c->name, iter, what, detail);
}

static void run_case(const struct diff_case *c, int iterations)
{
    size_t len = (size_t)(c->end - c->start);
    uint64_t rip = native_load(runner, c->start, len), end = rip + len;
    uint64_t mask = (SX_FLAGS_ARITH | SX_FLAG_DF) & ~c->undef;
    uint8_t data0[DATA_BYTES], stack0[STACK_BYTES], data1[DATA_BYTES], stack1[STACK_BYTES];
    int compared_symbolic = 0;
    char msg[256];

    for (int it = 0; it < iterations; it++) {
        struct cpu_state s1, n1, s2, n2;
        random_state(&s1, c->setup);
        /* Second input: same pinned registers, everything else fresh. */
        random_state(&s2, c->setup);
        uint32_t fixed = fixed_regs(c->setup);
        for (int i = 0; i < 16; i++)
            if (fixed & (1u << i))
                s2.gpr[i] = s1.gpr[i];
        memcpy(s2.xmm, s1.xmm, sizeof s2.xmm); /* XMM registers stay concrete */
        if (c->setup == S_DIV || c->setup == S_IDIV)
            apply_setup(c->setup, &s2, 1);
        if (c->setup == S_STRING)
            s2.rflags = (s2.rflags & ~SX_FLAG_DF) | (s1.rflags & SX_FLAG_DF);
        for (size_t i = 0; i < DATA_BYTES; i++)
            data[i] = (rnd() % 4) ? (uint8_t)rnd() : (uint8_t)(i & 7);
        for (size_t i = 0; i < STACK_BYTES; i++)
            stack[i] = (uint8_t)rnd();
        memcpy(data0, data, sizeof data);
        memcpy(stack0, stack, sizeof stack);

        n2 = s2;
        native_run(runner, &n2);
        uint8_t data2[DATA_BYTES];
        memcpy(data2, data, sizeof data);
        memcpy(data, data0, sizeof data);
        memcpy(stack, stack0, sizeof stack);
        n1 = s1;
        native_run(runner, &n1);
        memcpy(data1, data, sizeof data);
        memcpy(stack1, stack, sizeof stack);

        for (int symbolic = 0; symbolic < 2; symbolic++) {
            memcpy(data, data0, sizeof data);
            memcpy(stack, stack0, sizeof stack);
            struct interp_run r;
            interp_setup(&r, &s1, rip, symbolic, fixed);
            for (int steps = 0; r.st.rip != end; steps++) {
                enum sx_status st = sx_step(&r.st);
                if (st != SX_OK || steps > 200) {
                    snprintf(msg, sizeof msg, "stopped with status %d at %s (rip +%lld)", st,
                             r.st.last_mnemonic, (long long)(r.st.rip - rip));
                    fail_case(c, it, symbolic ? "symbolic run" : "concrete run", msg);
                }
            }
            /* Concrete side: must equal the CPU on input 1. */
            for (int i = 0; i < 16; i++) {
                if ((uint64_t)r.st.gpr[i].c != n1.gpr[i]) {
                    snprintf(msg, sizeof msg, "%s = 0x%llx, CPU 0x%llx", reg_names[i],
                             (unsigned long long)r.st.gpr[i].c, (unsigned long long)n1.gpr[i]);
                    fail_case(c, it, symbolic ? "symbolic run" : "concrete run", msg);
                }
            }
            uint64_t fl = sx_state_rflags(&r.st);
            if ((fl & mask) != (n1.rflags & mask)) {
                snprintf(msg, sizeof msg, "rflags 0x%llx, CPU 0x%llx (compared bits 0x%llx)",
                         (unsigned long long)fl, (unsigned long long)n1.rflags,
                         (unsigned long long)mask);
                fail_case(c, it, symbolic ? "symbolic run" : "concrete run", msg);
            }
            for (int i = 0; i < 16; i++) {
                sx_u128 v;
                memcpy(&v, n1.xmm[i], 16);
                if (r.st.xmm[i].c != v) {
                    snprintf(msg, sizeof msg, "xmm%d differs", i);
                    fail_case(c, it, "run", msg);
                }
            }
            if (memcmp(data, data1, sizeof data) != 0)
                fail_case(c, it, "memory:", "data buffer differs from the CPU's");
            uint64_t sp = n1.gpr[SX_RSP] - (uint64_t)stack;
            if (sp < STACK_BYTES && memcmp(stack + sp, stack1 + sp, STACK_BYTES - sp) != 0)
                fail_case(c, it, "memory:", "stack differs from the CPU's");

            if (symbolic) {
                /* Symbolic side: under input 2, if it follows the same path, every
                 * expression must give what the CPU computes from input 2. */
                uint8_t regs2[16 * 8], flags2[6];
                memcpy(regs2, s2.gpr, sizeof regs2);
                for (int f = 0; f < 6; f++)
                    flags2[f] = (s2.rflags & flag_bits[f]) ? 1 : 0;
                const uint8_t *bytes[2] = { regs2, flags2 };
                const uint32_t lens[2] = { sizeof regs2, sizeof flags2 };
                int same_path = 1;
                for (size_t k = 0; k < r.path.n && same_path; k++)
                    same_path = sx_eval(r.ctx, r.path.constraints[k], bytes, lens) != 0;
                if (same_path) {
                    compared_symbolic++;
                    for (int i = 0; i < 16; i++) {
                        uint64_t v = r.st.gpr[i].e ? (uint64_t)sx_eval(r.ctx, r.st.gpr[i].e, bytes, lens)
                                                   : (uint64_t)r.st.gpr[i].c;
                        if (v != n2.gpr[i]) {
                            snprintf(msg, sizeof msg, "%s = 0x%llx under input 2, CPU 0x%llx",
                                     reg_names[i], (unsigned long long)v,
                                     (unsigned long long)n2.gpr[i]);
                            fail_case(c, it, "symbolic expressions:", msg);
                        }
                    }
                    for (int f = 0; f < 6; f++) {
                        if (!(mask & flag_bits[f]))
                            continue;
                        struct sx_val fv = sx_state_flag(&r.st, flag_bits[f]);
                        unsigned v = fv.e ? (unsigned)sx_eval(r.ctx, fv.e, bytes, lens)
                                          : (unsigned)fv.c;
                        if (v != ((n2.rflags & flag_bits[f]) != 0)) {
                            snprintf(msg, sizeof msg, "flag 0x%llx = %u under input 2, CPU %u",
                                     (unsigned long long)flag_bits[f], v,
                                     (n2.rflags & flag_bits[f]) != 0);
                            fail_case(c, it, "symbolic flags:", msg);
                        }
                    }
                    for (size_t i = 0; i < DATA_BYTES; i++) {
                        const struct sx_expr *e = sx_shadow_get(r.shadow, (uint64_t)(data + i));
                        uint8_t v = e ? (uint8_t)sx_eval(r.ctx, e, bytes, lens) : data[i];
                        if (v != data2[i]) {
                            snprintf(msg, sizeof msg, "data byte %zu = 0x%02x under input 2, CPU 0x%02x",
                                     i, v, data2[i]);
                            fail_case(c, it, "symbolic memory:", msg);
                        }
                    }
                }
            }
            interp_release(&r);
        }
    }
    ck_assert_msg(compared_symbolic > 0 || iterations == 0,
                  "%s: input 2 never followed input 1's path; symbolic side untested", c->name);
}

START_TEST(instruction_matches_cpu)
{
    run_case(&cases[_i], 300);
}
END_TEST

static void setup(void) { runner = native_new(); }
static void teardown(void) { native_free(runner); }

int main(void)
{
    Suite *s = suite_create("symex-diff");
    TCase *tc = tcase_create("diff");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, instruction_matches_cpu, 0, (int)NCASES);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
