#include "interp.h"

#include <Zydis/Zydis.h>
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symhv/stack.h"

/* Internal result of one instruction's semantics. */
enum exec_status { EX_OK, EX_FAULT, EX_UNSUPPORTED, EX_RETRY };

/* What one instruction needs while it executes (its decoding lives in the cache). */
struct insn {
    const ZydisDecodedInstruction *d;
    const ZydisDecodedOperand *ops;
    uint64_t pc, next;
    bool locked;          /* lock prefix, or xchg with memory: memory RMW is atomic */
    bool have_old;        /* locked: concrete value read from the destination */
    uint64_t old;
};

enum { F_CF, F_PF, F_AF, F_ZF, F_SF, F_OF, F_COUNT };
static const uint64_t flag_bit[F_COUNT] = { SX_FLAG_CF, SX_FLAG_PF, SX_FLAG_AF,
                                            SX_FLAG_ZF, SX_FLAG_SF, SX_FLAG_OF };

#define CTX (s->ctx)
#define BIN(op, a, b) sx_v_bin(CTX, (op), (a), (b))

static struct sx_val concretise(struct sx_state *s, struct sx_val v)
{
    if (!v.e)
        return v;
    sx_path_assume(s->path, sx_binop(CTX, SX_EQ, v.e, sx_const(CTX, v.w, v.c)));
    return sx_v(v.w, v.c);
}

/* A symbolic address or jump target pinned to its concrete value: the pin is a path
 * constraint and, flipped, a candidate for another address (another table entry, another
 * switch case) or another target. */
static struct sx_val pin_choice(struct sx_state *s, struct sx_val v, uint64_t pc,
                                enum sx_flip_kind kind)
{
    if (!v.e)
        return v;
    sx_path_candidate(s->path, pc, sx_binop(CTX, SX_EQ, v.e, sx_const(CTX, v.w, v.c)), kind, true,
                      (uint64_t)v.c);
    return sx_v(v.w, v.c);
}

/* A value about to be kept in a register or in memory: past SX_MAX_DEPTH its expression
 * is cut (concretised, constraint recorded), so no guest loop grows one without bound. */
static struct sx_val bound_depth(struct sx_state *s, struct sx_val v)
{
    if (v.e && v.e->depth > SX_MAX_DEPTH) {
        s->depth_cuts++;
        return concretise(s, v);
    }
    return v;
}

/* ---- flags --------------------------------------------------------------------------- */

static struct sx_val msb(struct sx_state *s, struct sx_val v) { return sx_v_bit(CTX, v, v.w - 1); }

static struct sx_val parity(struct sx_state *s, struct sx_val res)
{
    if (!res.e)
        return sx_v(1, !__builtin_parity((unsigned)(res.c & 0xff)));
    struct sx_val p = sx_v_bit(CTX, res, 0);
    for (unsigned i = 1; i < 8; i++)
        p = BIN(SX_XOR, p, sx_v_bit(CTX, res, i));
    return sx_v_un(CTX, SX_NOT, p);
}

/* CF = OF of a signed multiply: the double-width product differs from its low half
 * sign-extended. Built only when a flag is read (most code ignores them). */
static struct sx_val imul_overflow(struct sx_state *s, struct sx_val a, struct sx_val b,
                                   struct sx_val lo)
{
    unsigned w2 = 2 * a.w;
    struct sx_val full = BIN(SX_MUL, sx_v_sext(CTX, a, w2), sx_v_sext(CTX, b, w2));
    return sx_v_un(CTX, SX_NOT, BIN(SX_EQ, full, sx_v_sext(CTX, lo, w2)));
}

static struct sx_val flag_get(struct sx_state *s, int f)
{
    const struct sx_flags *fl = &s->flags;
    if (fl->op == SX_FL_BITS)
        return fl->bits[f];
    struct sx_val a = fl->a, b = fl->b, res = fl->res;
    enum sx_flags_op op = fl->op;
    if (op == SX_FL_CMP) { /* the difference, built only now that a flag needs it */
        op = SX_FL_SUB;
        if (a.e || b.e)
            res = BIN(SX_SUB, a, b);
    }
    unsigned w = res.w;
    switch (f) {
    case F_ZF: return BIN(SX_EQ, res, sx_v(w, 0));
    case F_SF: return msb(s, res);
    case F_PF: return parity(s, res);
    case F_AF:
        switch (op) {
        case SX_FL_ADD: case SX_FL_ADC: case SX_FL_SUB: case SX_FL_SBB:
        case SX_FL_INC: case SX_FL_DEC:
            return sx_v_bit(CTX, BIN(SX_XOR, BIN(SX_XOR, a, b), res), 4);
        default:
            return sx_v(1, 0);
        }
    case F_CF:
        switch (op) {
        case SX_FL_ADD: return BIN(SX_ULT, res, a);
        case SX_FL_ADC: return sx_v_ite(CTX, fl->carry_in, BIN(SX_ULE, res, a), BIN(SX_ULT, res, a));
        case SX_FL_SUB: return BIN(SX_ULT, a, b);
        case SX_FL_SBB: return sx_v_ite(CTX, fl->carry_in, BIN(SX_ULE, a, b), BIN(SX_ULT, a, b));
        case SX_FL_INC: case SX_FL_DEC: return fl->carry_in;
        case SX_FL_SHL: {
            unsigned n = (unsigned)b.c;
            return n <= w ? sx_v_bit(CTX, a, w - n) : sx_v(1, 0);
        }
        case SX_FL_SHR: {
            unsigned n = (unsigned)b.c;
            return n <= w ? sx_v_bit(CTX, a, n - 1) : sx_v(1, 0);
        }
        case SX_FL_SAR: {
            unsigned n = (unsigned)b.c;
            return sx_v_bit(CTX, a, n <= w ? n - 1 : w - 1);
        }
        case SX_FL_MUL: return b;
        case SX_FL_IMUL: return imul_overflow(s, a, b, res);
        default: return sx_v(1, 0);
        }
    case F_OF:
        switch (op) {
        case SX_FL_ADD: case SX_FL_ADC: case SX_FL_INC:
            return msb(s, BIN(SX_AND, BIN(SX_XOR, a, res), BIN(SX_XOR, b, res)));
        case SX_FL_SUB: case SX_FL_SBB: case SX_FL_DEC:
            return msb(s, BIN(SX_AND, BIN(SX_XOR, a, b), BIN(SX_XOR, a, res)));
        case SX_FL_SHL: return BIN(SX_XOR, msb(s, res), flag_get(s, F_CF));
        case SX_FL_SHR: return msb(s, a);
        case SX_FL_MUL: return b;
        case SX_FL_IMUL: return imul_overflow(s, a, b, res);
        default: return sx_v(1, 0);
        }
    }
    return sx_v(1, 0);
}

static void set_flags(struct sx_state *s, enum sx_flags_op op, struct sx_val a, struct sx_val b,
                      struct sx_val res, struct sx_val carry_in)
{
    s->flags.op = op;
    s->flags.a = a;
    s->flags.b = b;
    s->flags.res = res;
    s->flags.carry_in = carry_in;
}

/* Switch to one value per flag so single flags can be changed. */
static void flags_materialize(struct sx_state *s)
{
    if (s->flags.op == SX_FL_BITS)
        return;
    struct sx_val bits[F_COUNT];
    for (int f = 0; f < F_COUNT; f++)
        bits[f] = flag_get(s, f);
    memcpy(s->flags.bits, bits, sizeof bits);
    s->flags.op = SX_FL_BITS;
}

static struct sx_val concrete_only(struct sx_val v)
{
    v.e = NULL;
    return v;
}

/* Only the concrete side is needed: derive the flags from the operands' concrete
 * values, so no expression is built (the sidecar asks after every instruction). */
uint64_t sx_state_rflags(struct sx_state *s)
{
    struct sx_flags saved = s->flags, *fl = &s->flags;
    fl->a = concrete_only(fl->a);
    fl->b = concrete_only(fl->b);
    fl->res = concrete_only(fl->res);
    fl->carry_in = concrete_only(fl->carry_in);
    for (int f = 0; f < F_COUNT; f++)
        fl->bits[f] = concrete_only(fl->bits[f]);
    uint64_t r = s->rflags_other;
    for (int f = 0; f < F_COUNT; f++)
        if (flag_get(s, f).c)
            r |= flag_bit[f];
    s->flags = saved;
    return r;
}

struct sx_val sx_state_flag(struct sx_state *s, uint64_t flag)
{
    for (int f = 0; f < F_COUNT; f++)
        if (flag_bit[f] == flag)
            return flag_get(s, f);
    return sx_v(1, (s->rflags_other & flag) != 0);
}

void sx_state_set_rflags(struct sx_state *s, uint64_t rflags)
{
    s->flags.op = SX_FL_BITS;
    for (int f = 0; f < F_COUNT; f++)
        s->flags.bits[f] = sx_v(1, (rflags & flag_bit[f]) != 0);
    s->rflags_other = (rflags & ~SX_FLAGS_ARITH) | 2;
}

/* Condition code 0..15 in encoding order: O NO B AE E NE BE A S NS P NP L GE LE G. */
static struct sx_val cond_get(struct sx_state *s, unsigned cc)
{
    const struct sx_flags *fl = &s->flags;
    struct sx_val v;
    bool have = false;
    if (fl->op == SX_FL_SUB || fl->op == SX_FL_CMP) { /* cmp a, b: compare the operands */
        have = true;
        switch (cc >> 1) {
        case 1: v = BIN(SX_ULT, fl->a, fl->b); break;
        case 2: v = BIN(SX_EQ, fl->a, fl->b); break;
        case 3: v = BIN(SX_ULE, fl->a, fl->b); break;
        case 6: v = BIN(SX_SLT, fl->a, fl->b); break;
        case 7: v = BIN(SX_SLE, fl->a, fl->b); break;
        default: have = false;
        }
    }
    if (!have) {
        switch (cc >> 1) {
        case 0: v = flag_get(s, F_OF); break;
        case 1: v = flag_get(s, F_CF); break;
        case 2: v = flag_get(s, F_ZF); break;
        case 3: v = BIN(SX_OR, flag_get(s, F_CF), flag_get(s, F_ZF)); break;
        case 4: v = flag_get(s, F_SF); break;
        case 5: v = flag_get(s, F_PF); break;
        case 6: v = BIN(SX_XOR, flag_get(s, F_SF), flag_get(s, F_OF)); break;
        default:
            v = BIN(SX_OR, flag_get(s, F_ZF), BIN(SX_XOR, flag_get(s, F_SF), flag_get(s, F_OF)));
            break;
        }
    }
    return (cc & 1) ? sx_v_un(CTX, SX_NOT, v) : v;
}

/* ---- registers ----------------------------------------------------------------------- */

struct reg_ref {
    enum { R_NONE, R_GPR, R_XMM } kind;
    int index;
    unsigned width, lo;
};

static struct reg_ref reg_ref_of(ZydisRegister r)
{
    struct reg_ref ref = { R_NONE, 0, 0, 0 };
    switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
        ref.kind = R_GPR;
        ref.index = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r) -
                    ZYDIS_REGISTER_RAX;
        ref.width = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r);
        ref.lo = (r == ZYDIS_REGISTER_AH || r == ZYDIS_REGISTER_CH || r == ZYDIS_REGISTER_DH ||
                  r == ZYDIS_REGISTER_BH) ? 8 : 0;
        break;
    case ZYDIS_REGCLASS_XMM:
        ref.kind = R_XMM;
        ref.index = r - ZYDIS_REGISTER_XMM0;
        ref.width = 128;
        break;
    default:
        break;
    }
    return ref;
}

/* reg_ref_of for every register, looked up once (the interpreter asks per operand). */
static struct reg_ref reg_table[ZYDIS_REGISTER_MAX_VALUE + 1];

static void init_reg_table(void)
{
    for (int r = 0; r <= ZYDIS_REGISTER_MAX_VALUE; r++)
        reg_table[r] = reg_ref_of((ZydisRegister)r);
}

static struct reg_ref reg_ref(ZydisRegister r)
{
    return (unsigned)r <= ZYDIS_REGISTER_MAX_VALUE ? reg_table[r] : reg_table[0];
}

/* A GPR holds 64 bits, or after a 32-bit write the 32-bit value alone, its upper half
 * zero (as x86 clears it): the zero extension is built only when more than 32 bits are
 * read, so 32-bit code does not wrap each result in a zext node that the next 32-bit
 * read strips again. */
static struct sx_val gpr_part(struct sx_state *s, int index, unsigned lo, unsigned w)
{
    struct sx_val g = s->gpr[index];
    if (lo == 0 && w == g.w)
        return g;
    if (lo + w <= g.w)
        return sx_v_extract(CTX, g, lo, w);
    if (lo >= g.w)
        return sx_v(w, 0);
    return sx_v_extract(CTX, sx_v_zext(CTX, g, 64), lo, w);
}

static struct sx_val gpr64(struct sx_state *s, int index) { return gpr_part(s, index, 0, 64); }

/* v (depth-bounded) into bits [lo, lo + v.w) of a GPR. */
static void gpr_write(struct sx_state *s, int index, unsigned lo, struct sx_val v)
{
    struct sx_val *g = &s->gpr[index];
    if (v.w == 64 || (v.w == 32 && lo == 0))
        *g = v; /* a 32-bit write clears the upper half: a 32-bit value says so */
    else if (lo + v.w <= g->w)
        *g = sx_v_insert(CTX, *g, lo, v);
    else
        *g = sx_v_insert(CTX, gpr64(s, index), lo, v);
}

static bool reg_read(struct sx_state *s, ZydisRegister r, struct sx_val *out)
{
    struct reg_ref ref = reg_ref(r);
    if (ref.kind == R_GPR)
        *out = gpr_part(s, ref.index, ref.lo, ref.width);
    else if (ref.kind == R_XMM)
        *out = s->xmm[ref.index];
    else
        return false;
    return true;
}

static bool reg_write(struct sx_state *s, ZydisRegister r, struct sx_val v)
{
    v = bound_depth(s, v);
    struct reg_ref ref = reg_ref(r);
    if (ref.kind == R_GPR) {
        gpr_write(s, ref.index, ref.lo, v);
    } else if (ref.kind == R_XMM) {
        s->xmm[ref.index] = v.w == 128 ? v : sx_v_zext(CTX, v, 128);
    } else {
        return false;
    }
    return true;
}

/* The accumulator (AL/AX/EAX/RAX) or RDX of width w. */
static struct sx_val gpr_sized(struct sx_state *s, int index, unsigned w)
{
    return gpr_part(s, index, 0, w);
}

static void gpr_set_sized(struct sx_state *s, int index, struct sx_val v)
{
    gpr_write(s, index, 0, bound_depth(s, v));
}

/* ---- memory -------------------------------------------------------------------------- */

static enum exec_status fault(struct sx_state *s, unsigned vector, uint64_t addr)
{
    s->fault_vector = vector;
    s->fault_addr = addr;
    s->fault_write = false;
    return EX_FAULT;
}

static enum exec_status write_fault(struct sx_state *s, uint64_t addr)
{
    fault(s, 14, addr);
    s->fault_write = true;
    return EX_FAULT;
}

/* Where the shadow keeps the byte at virtual address addr (see sx_mem_ops.translate). */
static uint64_t shadow_key(struct sx_state *s, uint64_t addr)
{
    if (!s->mem->translate)
        return addr;
    uint64_t page = addr & ~4095ull;
    if (!s->tlb_valid || s->tlb_vpage != page) {
        uint64_t p;
        if (s->mem->translate(s->mem_opaque, page, &p) < 0)
            return ~0ull; /* unmapped: the access itself faults */
        s->tlb_vpage = page;
        s->tlb_ppage = p;
        s->tlb_valid = true;
    }
    return s->tlb_ppage | (addr & 4095);
}

static const struct sx_expr *shadow_get(struct sx_state *s, uint64_t addr)
{
    return sx_shadow_get(s->shadow, shadow_key(s, addr));
}

static void shadow_set(struct sx_state *s, uint64_t addr, const struct sx_expr *e)
{
    sx_shadow_set(s->shadow, shadow_key(s, addr), e);
}

static bool shadow_any(struct sx_state *s, uint64_t addr, unsigned len)
{
    if (!s->mem->translate)
        return sx_shadow_any(s->shadow, addr, len);
    for (unsigned i = 0; i < len; i++)
        if (shadow_get(s, addr + i))
            return true;
    return false;
}

static enum exec_status mem_read(struct sx_state *s, uint64_t addr, unsigned bytes,
                                 struct sx_val *out)
{
    uint8_t buf[16];
    if (s->mem->read(s->mem_opaque, addr, buf, bytes) < 0)
        return fault(s, 14, addr);
    sx_u128 c = 0;
    for (unsigned i = bytes; i-- > 0;)
        c = (c << 8) | buf[i];
    if (!shadow_any(s, addr, bytes)) {
        *out = sx_v(bytes * 8, c);
        return EX_OK;
    }
    const struct sx_expr *e = NULL;
    for (unsigned i = bytes; i-- > 0;) {
        const struct sx_expr *b = shadow_get(s, addr + i);
        if (!b)
            b = sx_const(CTX, 8, buf[i]);
        e = e ? sx_concat(CTX, e, b) : b;
    }
    *out = sx_v_make(e, c);
    return EX_OK;
}

/* A store within the ring-0 stack's block, or the frame an event pushes below RSP. */
static bool on_ring0_stack(const struct sx_state *s, uint64_t addr, unsigned bytes)
{
    uint64_t rsp = (uint64_t)s->gpr[SX_RSP].c;
    uint64_t lo = rsp & ~(uint64_t)(SX_RING0_STACK_BYTES - 1), hi = lo + SX_RING0_STACK_BYTES;
    if (rsp - lo < 256)
        lo = rsp - 256;
    return addr + bytes > lo && addr < hi;
}

static void shadow_store(struct sx_state *s, uint64_t addr, struct sx_val v)
{
    unsigned bytes = v.w / 8;
    if (v.e && s->ring0 && on_ring0_stack(s, addr, bytes)) {
        s->stack_cuts++;
        v.e = NULL; /* SX_RING0_STACK_BYTES: the concrete bytes are in memory already */
    }
    if (v.e) {
        for (unsigned i = 0; i < bytes; i++)
            shadow_set(s, addr + i, sx_extract(CTX, v.e, 8 * i, 8));
    } else if (shadow_any(s, addr, bytes)) {
        for (unsigned i = 0; i < bytes; i++)
            shadow_set(s, addr + i, NULL);
    }
}

static enum exec_status mem_write(struct sx_state *s, uint64_t addr, struct sx_val v)
{
    v = bound_depth(s, v);
    uint8_t buf[16];
    unsigned bytes = v.w / 8;
    for (unsigned i = 0; i < bytes; i++)
        buf[i] = (uint8_t)(v.c >> (8 * i));
    if (s->mem->write(s->mem_opaque, addr, buf, bytes) < 0)
        return write_fault(s, addr);
    s->side_effects++;
    shadow_store(s, addr, v);
    return EX_OK;
}

/* Effective address of a memory operand, symbolic if a register in it is. */
/* The low w bits of an address register (zero-extended when it is narrower). */
static struct sx_val address_reg(struct sx_state *s, ZydisRegister reg, unsigned w)
{
    struct reg_ref ref = reg_ref(reg);
    if (ref.kind != R_GPR)
        return sx_v(w, 0);
    if (ref.width >= w)
        return gpr_part(s, ref.index, ref.lo, w);
    return sx_v_zext(CTX, gpr_part(s, ref.index, ref.lo, ref.width), w);
}

static struct sx_val add_term(struct sx_state *s, struct sx_val a, struct sx_val t)
{
    return !a.e && a.c == 0 ? t : BIN(SX_ADD, a, t);
}

/* A memory operand's effective address (no segment base) in w bits: the address width,
 * or LEA's smaller operand size (the low bits of sums and products depend only on the
 * low bits of their terms, so no wider node is built to be cut down again). */
static struct sx_val effective_address(struct sx_state *s, const struct insn *in,
                                       const ZydisDecodedOperand *op, unsigned w)
{
    struct sx_val a = sx_v(w, (uint64_t)op->mem.disp.value);
    if (op->mem.base == ZYDIS_REGISTER_RIP)
        a = sx_v(w, in->next + (uint64_t)op->mem.disp.value);
    else if (op->mem.base != ZYDIS_REGISTER_NONE)
        a = add_term(s, a, address_reg(s, op->mem.base, w));
    if (op->mem.index != ZYDIS_REGISTER_NONE) {
        struct sx_val x = address_reg(s, op->mem.index, w);
        if (op->mem.scale > 1)
            x = BIN(SX_MUL, x, sx_v(w, op->mem.scale));
        a = add_term(s, a, x);
    }
    return a;
}

static struct sx_val op_address(struct sx_state *s, const struct insn *in,
                                const ZydisDecodedOperand *op)
{
    unsigned aw = in->d->address_width == 32 ? 32 : 64;
    struct sx_val a = effective_address(s, in, op, aw);
    if (aw == 32)
        a = sx_v_zext(CTX, a, 64);
    if (op->mem.segment == ZYDIS_REGISTER_FS)
        a = BIN(SX_ADD, a, sx_v(64, s->fs_base));
    else if (op->mem.segment == ZYDIS_REGISTER_GS)
        a = BIN(SX_ADD, a, sx_v(64, s->gs_base));
    return a;
}

/* A concrete address for an access: symbolic addresses are pinned to their concrete
 * value, with that recorded as a path constraint. */
static uint64_t access_address(struct sx_state *s, const struct insn *in,
                               const ZydisDecodedOperand *op)
{
    return (uint64_t)pin_choice(s, op_address(s, in, op), in->pc, SX_FLIP_ADDRESS).c;
}

/* ---- reads through a symbolic address ------------------------------------------------- */

#define SELECT_MAX 256  /* addresses a symbolic read may reach, read exactly; more: pinned */
#define SPAN_DEPTH 12   /* how deep an address expression is looked into (bounded) */

/* Every value of an expression is lo + k*stride <= hi (stride 0: the one value lo). */
struct span {
    uint64_t lo, hi, stride;
};

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* The values an address expression can take, from its structure (base + index*scale,
 * masks, shifts, zero-extended bytes). false: not known to be small enough. */
static bool span_of(const struct sx_expr *e, unsigned depth, struct span *out)
{
    struct span a, b;
    if (e->op == SX_CONST) {
        *out = (struct span){ (uint64_t)e->value, (uint64_t)e->value, 0 };
        return e->value <= UINT64_MAX;
    }
    if (depth >= SPAN_DEPTH)
        return false;
    switch (e->op) {
    case SX_INPUT:
        *out = (struct span){ 0, 255, 1 };
        return true;
    case SX_ZEXT:
        return span_of(e->a, depth + 1, out);
    case SX_ADD:
        if (!span_of(e->a, depth + 1, &a) || !span_of(e->b, depth + 1, &b) ||
            a.hi > UINT64_MAX - b.hi)
            return false;
        *out = (struct span){ a.lo + b.lo, a.hi + b.hi, gcd64(a.stride, b.stride) };
        return e->width >= 64 || out->hi <= (uint64_t)sx_mask(e->width);
    case SX_MUL: case SX_SHL: {
        const struct sx_expr *k = e->b->op == SX_CONST ? e->b : e->op == SX_MUL ? e->a : NULL;
        const struct sx_expr *x = k == e->b ? e->a : e->b;
        if (!k || !span_of(x, depth + 1, &a))
            return false;
        uint64_t f = e->op == SX_SHL ? (k->value < 64 ? 1ull << (unsigned)k->value : 0) : (uint64_t)k->value;
        if (!f || (a.hi && f > UINT64_MAX / a.hi))
            return false;
        *out = (struct span){ a.lo * f, a.hi * f, a.stride * f };
        return e->width >= 64 || out->hi <= (uint64_t)sx_mask(e->width);
    }
    case SX_AND:
        if (e->b->op == SX_CONST || e->a->op == SX_CONST) {
            uint64_t m = (uint64_t)(e->b->op == SX_CONST ? e->b : e->a)->value;
            if (m <= (1u << 16)) {
                *out = (struct span){ 0, m, 1 };
                return true;
            }
        }
        break;
    case SX_LSHR:
        if (e->b->op == SX_CONST && span_of(e->a, depth + 1, &a)) {
            unsigned n = e->b->value < 64 ? (unsigned)e->b->value : 63;
            *out = (struct span){ a.lo >> n, a.hi >> n, 1 };
            return true;
        }
        break;
    case SX_EXTRACT:
        if (e->lo == 0 && span_of(e->a, depth + 1, &a) && a.hi <= (uint64_t)sx_mask(e->width)) {
            *out = a;
            return true;
        }
        break;
    case SX_CONCAT:
        if (e->a->op == SX_CONST && e->a->value == 0)
            return span_of(e->b, depth + 1, out);
        break;
    case SX_ITE:
        if (span_of(e->b, depth + 1, &a) && span_of(e->c, depth + 1, &b)) {
            uint64_t d = a.lo > b.lo ? a.lo - b.lo : b.lo - a.lo;
            *out = (struct span){ a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi,
                                  gcd64(gcd64(a.stride, b.stride), d) };
            return true;
        }
        break;
    default:
        break;
    }
    if (e->width <= 12) { /* a small value, whatever it is */
        *out = (struct span){ 0, (uint64_t)sx_mask(e->width), 1 };
        return true;
    }
    return false;
}

/* A read of `bytes` at symbolic address a: if a can reach at most SELECT_MAX addresses,
 * the value is exact, so a lookup table or a jump table indexed by input keeps every
 * entry (no pin, no constraint). The addresses are lo + k*stride. With a power-of-two
 * stride (nearly always: element sizes) the entry's number k is the low bits of
 * (a - lo) >> log2(stride), and the value is a tree of ites on those bits, log2(n) deep
 * (a multiplexer, as a bit-blasting solver would build for an array read); otherwise a
 * chain, ite(a == x1, [x1], ite(a == x2, [x2], ...)), n compares of the whole address
 * deep. Addresses that fault read as the concrete address's value, and the first is a
 * flip candidate: an input that reads it is a bug with no branch in front of it.
 * Returns false to let the caller pin the address instead. */
static bool select_read(struct sx_state *s, uint64_t pc, struct sx_val a, unsigned bytes,
                        struct sx_val *out, enum exec_status *st)
{
    struct span sp;
    if (!span_of(a.e, 0, &sp) || sp.hi < sp.lo || (uint64_t)a.c < sp.lo || (uint64_t)a.c > sp.hi)
        return false;
    uint64_t n = sp.stride ? (sp.hi - sp.lo) / sp.stride + 1 : 1;
    if (n > SELECT_MAX || n < 2)
        return false;
    struct sx_val here;
    *st = mem_read(s, (uint64_t)a.c, bytes, &here);
    if (*st != EX_OK)
        return true; /* the concrete access faults */
    bool tree = !s->path->select_chain && (sp.stride & (sp.stride - 1)) == 0;
    unsigned bits = 1;
    while ((1ull << bits) < n)
        bits++;
    struct sx_val leaves[SELECT_MAX]; /* the tree's: entry k's value, `here` past n */
    struct sx_val r = here;
    bool faulting = false;
    for (uint64_t k = 0; k < (tree ? 1ull << bits : n); k++) {
        uint64_t x = sp.lo + k * sp.stride;
        struct sx_val v = here;
        if (k < n && x != (uint64_t)a.c && mem_read(s, x, bytes, &v) != EX_OK) {
            v = here;
            s->fault_vector = 0; /* a candidate that faults is no fault of this run */
            if (!faulting) { /* the input may reach it: a bug with no branch in front */
                faulting = true;
                sx_path_candidate(s->path, pc,
                                  sx_lnot(CTX, sx_binop(CTX, SX_EQ, a.e, sx_const(CTX, 64, x))),
                                  SX_FLIP_ADDRESS, false, x);
            }
        }
        if (tree)
            leaves[k] = v;
        else if (v.e != r.e || v.c != r.c)
            r = sx_v_ite(CTX, BIN(SX_EQ, a, sx_v(64, x)), v, r);
    }
    if (tree) {
        struct sx_val k = BIN(SX_LSHR, BIN(SX_SUB, a, sx_v(64, sp.lo)),
                              sx_v(64, (uint64_t)__builtin_ctzll(sp.stride)));
        k = sx_v_extract(CTX, k, 0, bits);
        for (unsigned b = 0; b < bits; b++) /* level b: pairs that differ in bit b of k */
            for (uint64_t j = 0; j < (1ull << (bits - b - 1)); j++)
                leaves[j] = sx_v_ite(CTX, sx_v_bit(CTX, k, b), leaves[2 * j + 1], leaves[2 * j]);
        r = leaves[0];
    }
    *out = r;
    return true;
}

/* Read operand `op` at width w (immediates are extended to w as the encoding says). */
static enum exec_status op_read(struct sx_state *s, struct insn *in,
                                const ZydisDecodedOperand *op, unsigned w, struct sx_val *out)
{
    switch (op->type) {
    case ZYDIS_OPERAND_TYPE_REGISTER:
        if (!reg_read(s, op->reg.value, out))
            return EX_UNSUPPORTED;
        return EX_OK;
    case ZYDIS_OPERAND_TYPE_IMMEDIATE:
        *out = sx_v(w, op->imm.value.u);
        return EX_OK;
    case ZYDIS_OPERAND_TYPE_MEMORY: {
        enum exec_status st;
        if (!in->locked && !(op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) && op->size <= 128) {
            struct sx_val a = op_address(s, in, op);
            if (a.e && select_read(s, in->pc, a, op->size / 8, out, &st))
                return st;
        }
        st = mem_read(s, access_address(s, in, op), op->size / 8, out);
        if (st == EX_OK && in->locked) {
            in->have_old = true;
            in->old = (uint64_t)out->c;
        }
        return st;
    }
    default:
        return EX_UNSUPPORTED;
    }
}

static enum exec_status op_write(struct sx_state *s, struct insn *in,
                                 const ZydisDecodedOperand *op, struct sx_val v)
{
    if (op->type == ZYDIS_OPERAND_TYPE_REGISTER)
        return reg_write(s, op->reg.value, v) ? EX_OK : EX_UNSUPPORTED;
    if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
        return EX_UNSUPPORTED;
    uint64_t addr = access_address(s, in, op);
    if (in->locked && in->have_old && v.w <= 64) {
        uint64_t found;
        if (s->mem->cmpxchg(s->mem_opaque, addr, v.w / 8, in->old, (uint64_t)v.c, &found) < 0)
            return write_fault(s, addr);
        s->side_effects++;
        if (found != in->old)
            return EX_RETRY; /* another CPU changed it since we read it */
        shadow_store(s, addr, v);
        return EX_OK;
    }
    return mem_write(s, addr, v);
}

/* ---- instruction groups --------------------------------------------------------------- */

#define TRY(x) do { enum exec_status st_ = (x); if (st_ != EX_OK) return st_; } while (0)

static enum exec_status exec_alu(struct sx_state *s, struct insn *in)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    unsigned w = dst->size;
    struct sx_val a, b, res, cin = sx_v(1, 0);
    TRY(op_read(s, in, dst, w, &a));
    TRY(op_read(s, in, src, w, &b));
    enum sx_flags_op fop;
    switch (in->d->mnemonic) {
    case ZYDIS_MNEMONIC_ADD: res = BIN(SX_ADD, a, b); fop = SX_FL_ADD; break;
    case ZYDIS_MNEMONIC_ADC:
        cin = flag_get(s, F_CF);
        res = BIN(SX_ADD, BIN(SX_ADD, a, b), sx_v_zext(CTX, cin, w));
        fop = SX_FL_ADC;
        break;
    case ZYDIS_MNEMONIC_SUB: res = BIN(SX_SUB, a, b); fop = SX_FL_SUB; break;
    case ZYDIS_MNEMONIC_CMP: /* most cmps feed one jcc, which compares a and b itself */
        res = sx_v(w, a.c - b.c);
        fop = SX_FL_CMP;
        break;
    case ZYDIS_MNEMONIC_SBB:
        cin = flag_get(s, F_CF);
        res = BIN(SX_SUB, BIN(SX_SUB, a, b), sx_v_zext(CTX, cin, w));
        fop = SX_FL_SBB;
        break;
    case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_TEST: res = BIN(SX_AND, a, b); fop = SX_FL_LOGIC; break;
    case ZYDIS_MNEMONIC_OR: res = BIN(SX_OR, a, b); fop = SX_FL_LOGIC; break;
    default: res = BIN(SX_XOR, a, b); fop = SX_FL_LOGIC; break;
    }
    if (in->d->mnemonic != ZYDIS_MNEMONIC_CMP && in->d->mnemonic != ZYDIS_MNEMONIC_TEST)
        TRY(op_write(s, in, dst, res));
    set_flags(s, fop, a, b, res, cin);
    return EX_OK;
}

static enum exec_status exec_unary(struct sx_state *s, struct insn *in)
{
    const ZydisDecodedOperand *dst = &in->ops[0];
    unsigned w = dst->size;
    struct sx_val a, res;
    TRY(op_read(s, in, dst, w, &a));
    switch (in->d->mnemonic) {
    case ZYDIS_MNEMONIC_NOT:
        return op_write(s, in, dst, sx_v_un(CTX, SX_NOT, a));
    case ZYDIS_MNEMONIC_NEG:
        res = sx_v_un(CTX, SX_NEG, a);
        TRY(op_write(s, in, dst, res));
        set_flags(s, SX_FL_SUB, sx_v(w, 0), a, res, sx_v(1, 0));
        return EX_OK;
    default: { /* INC, DEC: CF is preserved */
        struct sx_val cin = flag_get(s, F_CF);
        bool inc = in->d->mnemonic == ZYDIS_MNEMONIC_INC;
        res = BIN(inc ? SX_ADD : SX_SUB, a, sx_v(w, 1));
        TRY(op_write(s, in, dst, res));
        set_flags(s, inc ? SX_FL_INC : SX_FL_DEC, a, sx_v(w, 1), res, cin);
        return EX_OK;
    }
    }
}

static enum exec_status exec_shift(struct sx_state *s, struct insn *in)
{
    const ZydisDecodedOperand *dst = &in->ops[0];
    unsigned w = dst->size;
    struct sx_val a, count = sx_v(8, 1);
    TRY(op_read(s, in, dst, w, &a));
    if (in->d->operand_count_visible > 1)
        TRY(op_read(s, in, &in->ops[1], 8, &count));
    count = concretise(s, sx_v_extract(CTX, count, 0, 8));
    unsigned n = (unsigned)count.c & (w == 64 ? 63 : 31);
    if (n == 0) /* flags untouched, but a 32-bit destination is still zero-extended */
        return op_write(s, in, dst, a);
    struct sx_val res, nv = sx_v(w, n);
    switch (in->d->mnemonic) {
    case ZYDIS_MNEMONIC_SHL:
        res = BIN(SX_SHL, a, nv);
        TRY(op_write(s, in, dst, res));
        set_flags(s, SX_FL_SHL, a, nv, res, sx_v(1, 0));
        return EX_OK;
    case ZYDIS_MNEMONIC_SHR:
        res = BIN(SX_LSHR, a, nv);
        TRY(op_write(s, in, dst, res));
        set_flags(s, SX_FL_SHR, a, nv, res, sx_v(1, 0));
        return EX_OK;
    case ZYDIS_MNEMONIC_SAR:
        res = BIN(SX_ASHR, a, nv);
        TRY(op_write(s, in, dst, res));
        set_flags(s, SX_FL_SAR, a, nv, res, sx_v(1, 0));
        return EX_OK;
    default: { /* ROL, ROR: only CF and OF change */
        unsigned r = n % w;
        bool left = in->d->mnemonic == ZYDIS_MNEMONIC_ROL;
        res = a;
        if (r)
            res = BIN(SX_OR, BIN(left ? SX_SHL : SX_LSHR, a, sx_v(w, r)),
                      BIN(left ? SX_LSHR : SX_SHL, a, sx_v(w, w - r)));
        TRY(op_write(s, in, dst, res));
        flags_materialize(s);
        struct sx_val cf = left ? sx_v_bit(CTX, res, 0) : msb(s, res);
        s->flags.bits[F_CF] = cf;
        s->flags.bits[F_OF] = left ? BIN(SX_XOR, msb(s, res), cf)
                                   : BIN(SX_XOR, msb(s, res), sx_v_bit(CTX, res, w - 2));
        return EX_OK;
    }
    }
}

/* Full 2w-bit product of a and b, signed or not; sets *overflow (width 1). */
static struct sx_val wide_mul(struct sx_state *s, struct sx_val a, struct sx_val b, bool sign,
                              struct sx_val *overflow)
{
    unsigned w = a.w;
    struct sx_val full = sign ? BIN(SX_MUL, sx_v_sext(CTX, a, 2 * w), sx_v_sext(CTX, b, 2 * w))
                              : BIN(SX_MUL, sx_v_zext(CTX, a, 2 * w), sx_v_zext(CTX, b, 2 * w));
    struct sx_val lo = sx_v_extract(CTX, full, 0, w);
    if (sign)
        *overflow = sx_v_un(CTX, SX_NOT, BIN(SX_EQ, full, sx_v_sext(CTX, lo, 2 * w)));
    else
        *overflow = sx_v_un(CTX, SX_NOT, BIN(SX_EQ, sx_v_extract(CTX, full, w, w), sx_v(w, 0)));
    return full;
}

static enum exec_status exec_mul(struct sx_state *s, struct insn *in)
{
    bool sign = in->d->mnemonic == ZYDIS_MNEMONIC_IMUL;
    unsigned nvis = in->d->operand_count_visible;
    struct sx_val a, b, of, full;
    if (nvis == 1) { /* rdx:rax = rax * src */
        unsigned w = in->ops[0].size;
        TRY(op_read(s, in, &in->ops[0], w, &b));
        a = gpr_sized(s, SX_RAX, w);
        full = wide_mul(s, a, b, sign, &of);
        if (w == 8) {
            gpr_set_sized(s, SX_RAX, full); /* AX */
        } else {
            gpr_set_sized(s, SX_RAX, sx_v_extract(CTX, full, 0, w));
            gpr_set_sized(s, SX_RDX, sx_v_extract(CTX, full, w, w));
        }
        set_flags(s, SX_FL_MUL, a, of, sx_v_extract(CTX, full, 0, w), sx_v(1, 0));
        return EX_OK;
    }
    /* imul dst, src  /  imul dst, src, imm */
    unsigned w = in->ops[0].size;
    if (nvis == 2) {
        TRY(op_read(s, in, &in->ops[0], w, &a));
        TRY(op_read(s, in, &in->ops[1], w, &b));
    } else {
        TRY(op_read(s, in, &in->ops[1], w, &a));
        TRY(op_read(s, in, &in->ops[2], w, &b));
    }
    /* the low half is the result; the overflow flags wait until read */
    struct sx_val res = BIN(SX_MUL, a, b);
    TRY(op_write(s, in, &in->ops[0], res));
    set_flags(s, SX_FL_IMUL, a, b, res, sx_v(1, 0));
    return EX_OK;
}

static enum exec_status exec_div(struct sx_state *s, struct insn *in)
{
    bool sign = in->d->mnemonic == ZYDIS_MNEMONIC_IDIV;
    unsigned w = in->ops[0].size;
    struct sx_val d;
    TRY(op_read(s, in, &in->ops[0], w, &d));
    if (d.c == 0)
        return fault(s, 0, 0);
    struct sx_val n = w == 8 ? gpr_sized(s, SX_RAX, 16)
                             : sx_v_concat(CTX, gpr_sized(s, SX_RDX, w), gpr_sized(s, SX_RAX, w));
    struct sx_val dd = sign ? sx_v_sext(CTX, d, 2 * w) : sx_v_zext(CTX, d, 2 * w);
    struct sx_val q = BIN(sign ? SX_SDIV : SX_UDIV, n, dd);
    struct sx_val r = BIN(sign ? SX_SREM : SX_UREM, n, dd);
    struct sx_val ql = sx_v_extract(CTX, q, 0, w);
    struct sx_val fits = sign ? BIN(SX_EQ, sx_v_sext(CTX, ql, 2 * w), q)
                              : BIN(SX_EQ, sx_v_extract(CTX, q, w, w), sx_v(w, 0));
    if (!fits.c)
        return fault(s, 0, 0); /* quotient overflow: #DE */
    /* no branch in the code, but a bug the input may choose: each is a flip candidate
     * (and, as it held, a constraint of this path) */
    if (d.e)
        sx_path_candidate(s->path, in->pc,
                          sx_lnot(CTX, sx_binop(CTX, SX_EQ, d.e, sx_const(CTX, w, 0))),
                          SX_FLIP_DIV_ZERO, true, 0);
    if (fits.e)
        sx_path_candidate(s->path, in->pc, fits.e, SX_FLIP_DIV_OVERFLOW, true, 0);
    struct sx_val rl = sx_v_extract(CTX, r, 0, w);
    if (w == 8) {
        gpr_set_sized(s, SX_RAX, sx_v_concat(CTX, rl, ql)); /* AH = rem, AL = quot */
    } else {
        gpr_set_sized(s, SX_RAX, ql);
        gpr_set_sized(s, SX_RDX, rl);
    }
    return EX_OK; /* flags are undefined after div: left as they were */
}

static enum exec_status exec_bt(struct sx_state *s, struct insn *in)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    unsigned w = dst->size;
    struct sx_val off;
    TRY(op_read(s, in, src, w, &off));
    off = concretise(s, off);
    struct sx_val a;
    ZydisDecodedOperand adj = *dst;
    uint64_t bit;
    if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY && src->type == ZYDIS_OPERAND_TYPE_REGISTER) {
        /* A register bit offset reaches beyond the operand: signed, in w-bit units. */
        int64_t so = (int64_t)sx_apply(SX_SEXT, 64, 0, off.c, w, 0, 0);
        int64_t units = so >= 0 ? so / (int64_t)w : -((-so + (int64_t)w - 1) / (int64_t)w);
        adj.mem.disp.value += units * (int64_t)(w / 8);
        bit = (uint64_t)(so - units * (int64_t)w);
    } else {
        bit = (uint64_t)off.c & (w - 1);
    }
    TRY(op_read(s, in, &adj, w, &a));
    struct sx_val mask = sx_v(w, (sx_u128)1 << bit), res = a;
    switch (in->d->mnemonic) {
    case ZYDIS_MNEMONIC_BTS: res = BIN(SX_OR, a, mask); break;
    case ZYDIS_MNEMONIC_BTR: res = BIN(SX_AND, a, sx_v_un(CTX, SX_NOT, mask)); break;
    case ZYDIS_MNEMONIC_BTC: res = BIN(SX_XOR, a, mask); break;
    default: break;
    }
    if (in->d->mnemonic != ZYDIS_MNEMONIC_BT)
        TRY(op_write(s, in, &adj, res));
    flags_materialize(s);
    s->flags.bits[F_CF] = sx_v_bit(CTX, a, (unsigned)bit);
    return EX_OK;
}

/* bsf, bsr, tzcnt, lzcnt, popcnt: the bit index (or count) as an ite chain over the
 * source's bits (strcmp finds its first differing byte with bsf on a compare mask).
 * bsf/bsr leave the destination as it was when the source is 0 (AMD's and, in effect,
 * Intel's behaviour); tzcnt/lzcnt give the width then, with CF set. */
static enum exec_status exec_bitscan(struct sx_state *s, struct insn *in)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    unsigned w = dst->size;
    ZydisMnemonic m = in->d->mnemonic;
    struct sx_val x, old, r;
    TRY(op_read(s, in, src, w, &x));
    struct sx_val zero = BIN(SX_EQ, x, sx_v(w, 0));
    if (m == ZYDIS_MNEMONIC_POPCNT) {
        r = sx_v(w, 0);
        for (unsigned i = 0; i < w; i++)
            r = BIN(SX_ADD, r, sx_v_zext(CTX, sx_v_bit(CTX, x, i), w));
    } else {
        bool up = m == ZYDIS_MNEMONIC_BSR || m == ZYDIS_MNEMONIC_LZCNT; /* highest bit wins */
        r = sx_v(w, m == ZYDIS_MNEMONIC_TZCNT || m == ZYDIS_MNEMONIC_LZCNT ? w : 0);
        for (unsigned k = 0; k < w; k++) {
            unsigned bit = up ? k : w - 1 - k;
            uint64_t value = m == ZYDIS_MNEMONIC_LZCNT ? w - 1 - bit : bit;
            r = sx_v_ite(CTX, sx_v_bit(CTX, x, bit), sx_v(w, value), r);
        }
        if (m == ZYDIS_MNEMONIC_BSF || m == ZYDIS_MNEMONIC_BSR) {
            if (w == 32) { /* even the upper half stays: no zero-extension (the CPU's way) */
                ZydisRegister full = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
                                                                      dst->reg.value);
                if (!reg_read(s, full, &old))
                    return EX_UNSUPPORTED;
                r = sx_v_ite(CTX, zero, old, sx_v_zext(CTX, r, 64));
                flags_materialize(s);
                s->flags.bits[F_ZF] = zero;
                return reg_write(s, full, r) ? EX_OK : EX_UNSUPPORTED;
            }
            TRY(op_read(s, in, dst, w, &old));
            r = sx_v_ite(CTX, zero, old, r);
        }
    }
    flags_materialize(s);
    switch (m) {
    case ZYDIS_MNEMONIC_BSF: case ZYDIS_MNEMONIC_BSR:
        s->flags.bits[F_ZF] = zero;
        break;
    case ZYDIS_MNEMONIC_TZCNT: case ZYDIS_MNEMONIC_LZCNT:
        s->flags.bits[F_CF] = zero;
        s->flags.bits[F_ZF] = BIN(SX_EQ, r, sx_v(w, 0));
        break;
    default: /* popcnt */
        for (int f = 0; f < F_COUNT; f++)
            s->flags.bits[f] = sx_v(1, 0);
        s->flags.bits[F_ZF] = zero;
        break;
    }
    return op_write(s, in, dst, r);
}

static enum exec_status push(struct sx_state *s, struct sx_val v)
{
    uint64_t sp = (uint64_t)s->gpr[SX_RSP].c - v.w / 8;
    TRY(mem_write(s, sp, v));
    s->gpr[SX_RSP] = BIN(SX_SUB, gpr64(s, SX_RSP), sx_v(64, v.w / 8));
    return EX_OK;
}

static enum exec_status pop(struct sx_state *s, unsigned w, struct sx_val *out)
{
    TRY(mem_read(s, (uint64_t)s->gpr[SX_RSP].c, w / 8, out));
    s->gpr[SX_RSP] = BIN(SX_ADD, gpr64(s, SX_RSP), sx_v(64, w / 8));
    return EX_OK;
}

static enum exec_status branch_target(struct sx_state *s, struct insn *in, uint64_t *target)
{
    const ZydisDecodedOperand *op = &in->ops[0];
    if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        ZyanU64 t;
        if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in->d, op, in->pc, &t)))
            return EX_UNSUPPORTED;
        *target = t;
        return EX_OK;
    }
    struct sx_val v;
    TRY(op_read(s, in, op, 64, &v));
    *target = (uint64_t)pin_choice(s, v, in->pc, SX_FLIP_TARGET).c; /* pinned */
    return EX_OK;
}

/* The condition code of jcc/setcc/cmovcc by mnemonic (16: none), filled once. */
static uint8_t cc_table[ZYDIS_MNEMONIC_MAX_VALUE + 1];

static void init_cc_table(void)
{
    static const ZydisMnemonic jcc[16] = {
        ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNB,
        ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JNBE,
        ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JNP,
        ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JLE, ZYDIS_MNEMONIC_JNLE };
    static const ZydisMnemonic setcc[16] = {
        ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETNB,
        ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
        ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETNP,
        ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE };
    static const ZydisMnemonic cmov[16] = {
        ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVNB,
        ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
        ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVNP,
        ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE };
    memset(cc_table, 16, sizeof cc_table);
    for (unsigned i = 0; i < 16; i++)
        cc_table[jcc[i]] = cc_table[setcc[i]] = cc_table[cmov[i]] = (uint8_t)i;
}

static unsigned cc_of(ZydisMnemonic m)
{
    return (unsigned)m <= ZYDIS_MNEMONIC_MAX_VALUE ? cc_table[m] : 16;
}

static int read_stack(void *opaque, uint64_t va, void *buf, unsigned len)
{
    struct sx_state *s = opaque;
    return s->mem->read(s->mem_opaque, va, buf, len);
}

/* The calling context of a branch at pc, as QSYM and AFL++'s context-sensitive coverage
 * key theirs: a hash of the two nearest return addresses on the stack (symhv/stack.h:
 * no frame pointers needed). Calls run natively are not seen by the interpreter, so the
 * stack is read (the scan depends on pc too: the first frame must lead to it); the last
 * answer is kept for the same branch while rsp and the two return-address slots hold
 * what they held (a loop's branch costs two reads each time). 0: none known (ring 0,
 * or the comparison without contexts). */
#define CALLERS_SCAN_WORDS 64
static uint32_t sx_callers(struct sx_state *s, uint64_t pc)
{
    if (s->ring0 || s->path->no_context)
        return 0;
    uint64_t rsp = s->gpr[SX_RSP].c;
    bool same = s->callers.valid && s->callers.rsp == rsp && s->callers.pc == pc;
    for (unsigned k = 0; same && k < s->callers.n; k++) {
        uint64_t word;
        same = read_stack(s, s->callers.slot[k], &word, sizeof word) == 0 &&
               word == s->callers.ret[k];
    }
    if (same)
        return s->callers.hash;
    unsigned n = symhv_stack_frame_slots(read_stack, s, pc, rsp, CALLERS_SCAN_WORDS,
                                         s->callers.ret, s->callers.slot, 2);
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (unsigned k = 0; k < n; k++)
        h = (h ^ s->callers.ret[k]) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    s->callers.rsp = rsp;
    s->callers.pc = pc;
    s->callers.n = n;
    s->callers.hash = n ? (uint32_t)h | 1 : 0;
    s->callers.valid = true;
    return s->callers.hash;
}

/* Evaluate condition cc; a symbolic condition becomes a branch point on the path. */
static bool decide(struct sx_state *s, struct insn *in, struct sx_val cond)
{
    if (cond.e)
        sx_path_branch(s->path, in->pc, sx_callers(s, in->pc),
                       cond.c ? cond.e : sx_lnot(CTX, cond.e), cond.c != 0);
    return cond.c != 0;
}

static enum exec_status exec_string(struct sx_state *s, struct insn *in)
{
    unsigned w = in->d->operand_width, n = w / 8;
    ZydisMnemonic m = in->d->mnemonic;
    bool rep = in->d->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
                                   ZYDIS_ATTRIB_HAS_REPNE);
    bool repe = in->d->attributes & ZYDIS_ATTRIB_HAS_REPE;
    bool repne = in->d->attributes & ZYDIS_ATTRIB_HAS_REPNE;
    bool cmp = m == ZYDIS_MNEMONIC_CMPSB || m == ZYDIS_MNEMONIC_CMPSW ||
               m == ZYDIS_MNEMONIC_CMPSD || m == ZYDIS_MNEMONIC_CMPSQ ||
               m == ZYDIS_MNEMONIC_SCASB || m == ZYDIS_MNEMONIC_SCASW ||
               m == ZYDIS_MNEMONIC_SCASD || m == ZYDIS_MNEMONIC_SCASQ;
    int64_t step = (s->rflags_other & SX_FLAG_DF) ? -(int64_t)n : (int64_t)n;
    if (rep)
        s->gpr[SX_RCX] = concretise(s, s->gpr[SX_RCX]);
    s->gpr[SX_RSI] = concretise(s, s->gpr[SX_RSI]);
    s->gpr[SX_RDI] = concretise(s, s->gpr[SX_RDI]);
    for (;;) {
        if (rep && s->gpr[SX_RCX].c == 0)
            break;
        uint64_t si = (uint64_t)s->gpr[SX_RSI].c, di = (uint64_t)s->gpr[SX_RDI].c;
        struct sx_val v, t;
        bool use_si = true, use_di = true;
        switch (m) {
        case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW:
        case ZYDIS_MNEMONIC_MOVSD: case ZYDIS_MNEMONIC_MOVSQ:
            TRY(mem_read(s, si, n, &v));
            TRY(mem_write(s, di, v));
            break;
        case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW:
        case ZYDIS_MNEMONIC_STOSD: case ZYDIS_MNEMONIC_STOSQ:
            TRY(mem_write(s, di, gpr_sized(s, SX_RAX, w)));
            use_si = false;
            break;
        case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW:
        case ZYDIS_MNEMONIC_LODSD: case ZYDIS_MNEMONIC_LODSQ:
            TRY(mem_read(s, si, n, &v));
            gpr_set_sized(s, SX_RAX, v);
            use_di = false;
            break;
        case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW:
        case ZYDIS_MNEMONIC_CMPSD: case ZYDIS_MNEMONIC_CMPSQ:
            TRY(mem_read(s, si, n, &v));
            TRY(mem_read(s, di, n, &t));
            set_flags(s, SX_FL_SUB, v, t, BIN(SX_SUB, v, t), sx_v(1, 0));
            break;
        default: /* SCAS */
            TRY(mem_read(s, di, n, &t));
            v = gpr_sized(s, SX_RAX, w);
            set_flags(s, SX_FL_SUB, v, t, BIN(SX_SUB, v, t), sx_v(1, 0));
            use_si = false;
            break;
        }
        if (use_si)
            s->gpr[SX_RSI] = sx_v(64, si + (uint64_t)step);
        if (use_di)
            s->gpr[SX_RDI] = sx_v(64, di + (uint64_t)step);
        if (!rep)
            break;
        s->gpr[SX_RCX] = sx_v(64, s->gpr[SX_RCX].c - 1);
        if (cmp && (repe || repne)) {
            bool zf = decide(s, in, cond_get(s, 4)); /* E */
            if (repe ? !zf : zf)
                break;
        }
    }
    return EX_OK;
}

/* Per-byte SSE2 operations on 128-bit values. */
static struct sx_val bytewise_eq(struct sx_state *s, struct sx_val a, struct sx_val b)
{
    struct sx_val r;
    for (unsigned i = 0; i < 16; i++) {
        struct sx_val eq = BIN(SX_EQ, sx_v_extract(CTX, a, 8 * i, 8), sx_v_extract(CTX, b, 8 * i, 8));
        struct sx_val byte = sx_v_ite(CTX, eq, sx_v(8, 0xff), sx_v(8, 0));
        r = i == 0 ? byte : sx_v_concat(CTX, byte, r);
    }
    return r;
}

static struct sx_val byte_msbs(struct sx_state *s, struct sx_val a)
{
    struct sx_val r = sx_v_bit(CTX, a, 7);
    for (unsigned i = 1; i < 16; i++)
        r = sx_v_concat(CTX, sx_v_bit(CTX, a, 8 * i + 7), r);
    return sx_v_zext(CTX, r, 32);
}

/* Lane by lane over two 128-bit values: lanes of lw bits, op on each pair. */
enum lane_op { L_ADD, L_SUB, L_MINU, L_MAXU, L_MINS, L_MAXS, L_EQ, L_GTS, L_SHL, L_SHR, L_SAR };

static struct sx_val lanewise(struct sx_state *s, struct sx_val a, struct sx_val b, unsigned lw,
                              enum lane_op op)
{
    struct sx_val r = sx_v(1, 0);
    for (unsigned i = 0; i < 128 / lw; i++) {
        struct sx_val x = sx_v_extract(CTX, a, lw * i, lw), y, v;
        /* shifts take one count (b's low 64 bits, or the immediate) for every lane */
        y = op >= L_SHL ? b : sx_v_extract(CTX, b, lw * i, lw);
        switch (op) {
        case L_ADD: v = BIN(SX_ADD, x, y); break;
        case L_SUB: v = BIN(SX_SUB, x, y); break;
        case L_MINU: v = sx_v_ite(CTX, BIN(SX_ULT, x, y), x, y); break;
        case L_MAXU: v = sx_v_ite(CTX, BIN(SX_ULT, x, y), y, x); break;
        case L_MINS: v = sx_v_ite(CTX, BIN(SX_SLT, x, y), x, y); break;
        case L_MAXS: v = sx_v_ite(CTX, BIN(SX_SLT, x, y), y, x); break;
        case L_EQ: v = sx_v_ite(CTX, BIN(SX_EQ, x, y), sx_v(lw, sx_mask(lw)), sx_v(lw, 0)); break;
        case L_GTS: v = sx_v_ite(CTX, BIN(SX_SLT, y, x), sx_v(lw, sx_mask(lw)), sx_v(lw, 0)); break;
        default: { /* a count of lw or more empties the lane (sar: fills it with the sign) */
            uint64_t n = (uint64_t)y.c;
            if (n >= lw)
                v = op == L_SAR ? BIN(SX_ASHR, x, sx_v(lw, lw - 1)) : sx_v(lw, 0);
            else
                v = BIN(op == L_SHL ? SX_SHL : op == L_SHR ? SX_LSHR : SX_ASHR, x, sx_v(lw, n));
        }
        }
        r = i == 0 ? v : sx_v_concat(CTX, v, r);
    }
    return r;
}

/* punpckl / punpckh: the low (or high) halves of a and b, interleaved lane by lane. */
static struct sx_val unpack(struct sx_state *s, struct sx_val a, struct sx_val b, unsigned lw,
                            bool high)
{
    struct sx_val r = sx_v(1, 0);
    unsigned base = high ? 64 : 0;
    for (unsigned i = 0; i < 64 / lw; i++) {
        struct sx_val pair = sx_v_concat(CTX, sx_v_extract(CTX, b, base + lw * i, lw),
                                         sx_v_extract(CTX, a, base + lw * i, lw));
        r = i == 0 ? pair : sx_v_concat(CTX, pair, r);
    }
    return r;
}

/* pshufd, pshuflw, pshufhw: lanes of b chosen by the immediate's 2-bit fields. */
static struct sx_val shuffle(struct sx_state *s, struct sx_val b, unsigned lw, unsigned first,
                             uint8_t imm)
{
    struct sx_val r = sx_v(1, 0);
    for (unsigned i = 0; i < 128 / lw; i++) {
        struct sx_val v = sx_v_extract(CTX, b, lw * i, lw);
        if (i >= first && i < first + 4)
            v = sx_v_extract(CTX, b, lw * (first + ((imm >> (2 * (i - first))) & 3)), lw);
        r = i == 0 ? v : sx_v_concat(CTX, v, r);
    }
    return r;
}

static enum exec_status exec_sse(struct sx_state *s, struct insn *in)
{
    const ZydisDecodedOperand *dst = &in->ops[0], *src = &in->ops[1];
    struct sx_val a, b;
    enum lane_op lop;
    unsigned lw;
    switch (in->d->mnemonic) {
    case ZYDIS_MNEMONIC_MOVAPD:
        for (int i = 0; i < 2; i++)
            if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
                (access_address(s, in, &in->ops[i]) & 15))
                return fault(s, 13, access_address(s, in, &in->ops[i]));
        /* fall through */
    case ZYDIS_MNEMONIC_MOVUPD:
        TRY(op_read(s, in, src, 128, &b));
        return op_write(s, in, dst, b);
    case ZYDIS_MNEMONIC_POR: case ZYDIS_MNEMONIC_ORPS: case ZYDIS_MNEMONIC_ORPD:
    case ZYDIS_MNEMONIC_PAND: case ZYDIS_MNEMONIC_ANDPS: case ZYDIS_MNEMONIC_ANDPD:
    case ZYDIS_MNEMONIC_XORPS: case ZYDIS_MNEMONIC_XORPD:
    case ZYDIS_MNEMONIC_PANDN: case ZYDIS_MNEMONIC_ANDNPS: case ZYDIS_MNEMONIC_ANDNPD: {
        ZydisMnemonic m = in->d->mnemonic;
        TRY(op_read(s, in, dst, 128, &a));
        TRY(op_read(s, in, src, 128, &b));
        if (m == ZYDIS_MNEMONIC_PANDN || m == ZYDIS_MNEMONIC_ANDNPS || m == ZYDIS_MNEMONIC_ANDNPD)
            return op_write(s, in, dst, BIN(SX_AND, sx_v_un(CTX, SX_NOT, a), b));
        enum sx_op op = m == ZYDIS_MNEMONIC_POR || m == ZYDIS_MNEMONIC_ORPS || m == ZYDIS_MNEMONIC_ORPD
                            ? SX_OR
                        : m == ZYDIS_MNEMONIC_XORPS || m == ZYDIS_MNEMONIC_XORPD ? SX_XOR : SX_AND;
        return op_write(s, in, dst, BIN(op, a, b));
    }
    case ZYDIS_MNEMONIC_PADDB: lop = L_ADD, lw = 8; goto lanes;
    case ZYDIS_MNEMONIC_PADDW: lop = L_ADD, lw = 16; goto lanes;
    case ZYDIS_MNEMONIC_PADDD: lop = L_ADD, lw = 32; goto lanes;
    case ZYDIS_MNEMONIC_PADDQ: lop = L_ADD, lw = 64; goto lanes;
    case ZYDIS_MNEMONIC_PSUBB: lop = L_SUB, lw = 8; goto lanes;
    case ZYDIS_MNEMONIC_PSUBW: lop = L_SUB, lw = 16; goto lanes;
    case ZYDIS_MNEMONIC_PSUBD: lop = L_SUB, lw = 32; goto lanes;
    case ZYDIS_MNEMONIC_PSUBQ: lop = L_SUB, lw = 64; goto lanes;
    case ZYDIS_MNEMONIC_PMINUB: lop = L_MINU, lw = 8; goto lanes;
    case ZYDIS_MNEMONIC_PMAXUB: lop = L_MAXU, lw = 8; goto lanes;
    case ZYDIS_MNEMONIC_PMINSW: lop = L_MINS, lw = 16; goto lanes;
    case ZYDIS_MNEMONIC_PMAXSW: lop = L_MAXS, lw = 16; goto lanes;
    case ZYDIS_MNEMONIC_PCMPEQW: lop = L_EQ, lw = 16; goto lanes;
    case ZYDIS_MNEMONIC_PCMPEQD: lop = L_EQ, lw = 32; goto lanes;
    case ZYDIS_MNEMONIC_PCMPGTB: lop = L_GTS, lw = 8; goto lanes;
    case ZYDIS_MNEMONIC_PCMPGTW: lop = L_GTS, lw = 16; goto lanes;
    case ZYDIS_MNEMONIC_PCMPGTD: lop = L_GTS, lw = 32; goto lanes;
    lanes:
        TRY(op_read(s, in, dst, 128, &a));
        TRY(op_read(s, in, src, 128, &b));
        return op_write(s, in, dst, lanewise(s, a, b, lw, lop));
    case ZYDIS_MNEMONIC_PSLLW: lop = L_SHL, lw = 16; goto shifts;
    case ZYDIS_MNEMONIC_PSLLD: lop = L_SHL, lw = 32; goto shifts;
    case ZYDIS_MNEMONIC_PSLLQ: lop = L_SHL, lw = 64; goto shifts;
    case ZYDIS_MNEMONIC_PSRLW: lop = L_SHR, lw = 16; goto shifts;
    case ZYDIS_MNEMONIC_PSRLD: lop = L_SHR, lw = 32; goto shifts;
    case ZYDIS_MNEMONIC_PSRLQ: lop = L_SHR, lw = 64; goto shifts;
    case ZYDIS_MNEMONIC_PSRAW: lop = L_SAR, lw = 16; goto shifts;
    case ZYDIS_MNEMONIC_PSRAD: lop = L_SAR, lw = 32; goto shifts;
    shifts: /* the count: an immediate, or an xmm/m128's low 64 bits (concretised) */
        TRY(op_read(s, in, dst, 128, &a));
        if (src->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
            b = sx_v(64, src->imm.value.u & 0xff);
        } else {
            TRY(op_read(s, in, src, 128, &b));
            b = concretise(s, sx_v_extract(CTX, b, 0, 64));
        }
        return op_write(s, in, dst, lanewise(s, a, b, lw, lop));
    case ZYDIS_MNEMONIC_PSRLDQ: case ZYDIS_MNEMONIC_PSLLDQ: {
        TRY(op_read(s, in, dst, 128, &a));
        unsigned n = (unsigned)(src->imm.value.u & 0xff);
        if (n >= 16)
            return op_write(s, in, dst, sx_v(128, 0));
        if (n == 0)
            return op_write(s, in, dst, a);
        struct sx_val r =
            in->d->mnemonic == ZYDIS_MNEMONIC_PSRLDQ
                ? sx_v_zext(CTX, sx_v_extract(CTX, a, 8 * n, 128 - 8 * n), 128)
                : sx_v_concat(CTX, sx_v_extract(CTX, a, 0, 128 - 8 * n), sx_v(8 * n, 0));
        return op_write(s, in, dst, r);
    }
    case ZYDIS_MNEMONIC_PUNPCKLBW: case ZYDIS_MNEMONIC_PUNPCKHBW: lw = 8; goto unpacks;
    case ZYDIS_MNEMONIC_PUNPCKLWD: case ZYDIS_MNEMONIC_PUNPCKHWD: lw = 16; goto unpacks;
    case ZYDIS_MNEMONIC_PUNPCKLDQ: case ZYDIS_MNEMONIC_PUNPCKHDQ: lw = 32; goto unpacks;
    case ZYDIS_MNEMONIC_PUNPCKLQDQ: case ZYDIS_MNEMONIC_PUNPCKHQDQ: lw = 64; goto unpacks;
    unpacks: {
        bool high = in->d->mnemonic == ZYDIS_MNEMONIC_PUNPCKHBW ||
                    in->d->mnemonic == ZYDIS_MNEMONIC_PUNPCKHWD ||
                    in->d->mnemonic == ZYDIS_MNEMONIC_PUNPCKHDQ ||
                    in->d->mnemonic == ZYDIS_MNEMONIC_PUNPCKHQDQ;
        TRY(op_read(s, in, dst, 128, &a));
        TRY(op_read(s, in, src, 128, &b));
        return op_write(s, in, dst, unpack(s, a, b, lw, high));
    }
    case ZYDIS_MNEMONIC_PSHUFD: case ZYDIS_MNEMONIC_PSHUFLW: case ZYDIS_MNEMONIC_PSHUFHW: {
        TRY(op_read(s, in, src, 128, &b));
        uint8_t imm = (uint8_t)in->ops[2].imm.value.u;
        struct sx_val r = in->d->mnemonic == ZYDIS_MNEMONIC_PSHUFD ? shuffle(s, b, 32, 0, imm)
                          : in->d->mnemonic == ZYDIS_MNEMONIC_PSHUFLW ? shuffle(s, b, 16, 0, imm)
                                                                     : shuffle(s, b, 16, 4, imm);
        return op_write(s, in, dst, r);
    }
    case ZYDIS_MNEMONIC_MOVLPD: case ZYDIS_MNEMONIC_MOVLPS:
    case ZYDIS_MNEMONIC_MOVHPD: case ZYDIS_MNEMONIC_MOVHPS: {
        bool high = in->d->mnemonic == ZYDIS_MNEMONIC_MOVHPD || in->d->mnemonic == ZYDIS_MNEMONIC_MOVHPS;
        if (dst->type == ZYDIS_OPERAND_TYPE_MEMORY) { /* store one half */
            TRY(op_read(s, in, src, 128, &b));
            return op_write(s, in, dst, sx_v_extract(CTX, b, high ? 64 : 0, 64));
        }
        TRY(op_read(s, in, dst, 128, &a));
        TRY(op_read(s, in, src, 64, &b));
        return op_write(s, in, dst, sx_v_insert(CTX, a, high ? 64 : 0, b));
    }
    case ZYDIS_MNEMONIC_MOVDQA: case ZYDIS_MNEMONIC_MOVAPS:
        for (int i = 0; i < 2; i++)
            if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
                (access_address(s, in, &in->ops[i]) & 15))
                return fault(s, 13, access_address(s, in, &in->ops[i]));
        /* fall through */
    case ZYDIS_MNEMONIC_MOVDQU: case ZYDIS_MNEMONIC_MOVUPS:
        TRY(op_read(s, in, src, 128, &b));
        return op_write(s, in, dst, b);
    case ZYDIS_MNEMONIC_MOVQ: case ZYDIS_MNEMONIC_MOVD: {
        unsigned w = in->d->mnemonic == ZYDIS_MNEMONIC_MOVQ ? 64 : 32;
        TRY(op_read(s, in, src, src->size, &b));
        b = sx_v_extract(CTX, b, 0, w);
        if (dst->type == ZYDIS_OPERAND_TYPE_REGISTER && reg_ref(dst->reg.value).kind == R_XMM)
            b = sx_v_zext(CTX, b, 128);
        return op_write(s, in, dst, b);
    }
    case ZYDIS_MNEMONIC_PXOR:
        TRY(op_read(s, in, dst, 128, &a));
        TRY(op_read(s, in, src, 128, &b));
        return op_write(s, in, dst, BIN(SX_XOR, a, b));
    case ZYDIS_MNEMONIC_PCMPEQB:
        TRY(op_read(s, in, dst, 128, &a));
        TRY(op_read(s, in, src, 128, &b));
        return op_write(s, in, dst, bytewise_eq(s, a, b));
    case ZYDIS_MNEMONIC_PMOVMSKB:
        TRY(op_read(s, in, src, 128, &b));
        return op_write(s, in, dst, sx_v_extract(CTX, byte_msbs(s, b), 0, dst->size));
    default:
        return EX_UNSUPPORTED;
    }
}

static enum exec_status exec_insn(struct sx_state *s, struct insn *in)
{
    ZydisMnemonic m = in->d->mnemonic;
    const ZydisDecodedOperand *o0 = &in->ops[0], *o1 = &in->ops[1];
    struct sx_val a, b;
    unsigned cc = cc_of(m);
    if (cc < 16) {
        struct sx_val cond = cond_get(s, cc);
        if (in->d->meta.category == ZYDIS_CATEGORY_COND_BR) {
            uint64_t target;
            TRY(branch_target(s, in, &target));
            if (decide(s, in, cond))
                s->rip = target;
            return EX_OK;
        }
        /* setcc and cmovcc do not fork, but optimised code puts `if`s there: the other
         * value of the condition is a flip candidate (not a path constraint) */
        if (cond.e)
            sx_path_candidate(s->path, in->pc, cond.c ? cond.e : sx_lnot(CTX, cond.e),
                              SX_FLIP_SELECT, false, 0);
        if (in->d->meta.category == ZYDIS_CATEGORY_SETCC)
            return op_write(s, in, o0, sx_v_zext(CTX, cond, 8));
        /* cmovcc: a select, not a fork: dst = cond ? src : dst (32-bit still zero-extends) */
        TRY(op_read(s, in, o0, o0->size, &a));
        TRY(op_read(s, in, o1, o0->size, &b));
        return op_write(s, in, o0, sx_v_ite(CTX, cond, b, a));
    }
    if (in->d->meta.category == ZYDIS_CATEGORY_STRINGOP)
        return exec_string(s, in);

    switch (m) {
    case ZYDIS_MNEMONIC_IN:
        /* the agent instruction (`in eax, dx`): the owner of the state may serve it */
        if (s->port_in && o1->type == ZYDIS_OPERAND_TYPE_REGISTER && !s->gpr[SX_RDX].e &&
            s->port_in(s->port_opaque, s, (uint16_t)s->gpr[SX_RDX].c, o0->size / 8)) {
            s->side_effects++;
            return EX_OK;
        }
        return EX_UNSUPPORTED;

    case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_ENDBR64: case ZYDIS_MNEMONIC_PAUSE:
    case ZYDIS_MNEMONIC_LFENCE: case ZYDIS_MNEMONIC_MFENCE: case ZYDIS_MNEMONIC_SFENCE:
    case ZYDIS_MNEMONIC_PREFETCHT0: case ZYDIS_MNEMONIC_PREFETCHT1:
    case ZYDIS_MNEMONIC_PREFETCHT2: case ZYDIS_MNEMONIC_PREFETCHNTA:
        return EX_OK;
    case ZYDIS_MNEMONIC_MOV: /* (segment and control registers end up unsupported) */
        if (s->agent_mmio_addr && s->port_in && o1->type == ZYDIS_OPERAND_TYPE_MEMORY &&
            o0->type == ZYDIS_OPERAND_TYPE_REGISTER && o0->reg.value == ZYDIS_REGISTER_EAX &&
            access_address(s, in, o1) == s->agent_mmio_addr &&
            s->port_in(s->port_opaque, s, SX_PORT_MMIO, 4)) {
            s->side_effects++;
            return EX_OK; /* the agent's call through the hypercall page */
        }
        TRY(op_read(s, in, o1, o0->size, &b));
        return op_write(s, in, o0, b);
    case ZYDIS_MNEMONIC_MOVZX:
        TRY(op_read(s, in, o1, o1->size, &b));
        return op_write(s, in, o0, sx_v_zext(CTX, b, o0->size));
    case ZYDIS_MNEMONIC_MOVSX: case ZYDIS_MNEMONIC_MOVSXD:
        TRY(op_read(s, in, o1, o1->size, &b));
        return op_write(s, in, o0, b.w == o0->size ? b : sx_v_sext(CTX, b, o0->size));
    case ZYDIS_MNEMONIC_LEA: { /* no segment base; the operand size's low bits */
        unsigned aw = in->d->address_width == 32 ? 32 : 64, w = o0->size < aw ? o0->size : aw;
        a = effective_address(s, in, o1, w);
        return op_write(s, in, o0, w < o0->size ? sx_v_zext(CTX, a, o0->size) : a);
    }
    case ZYDIS_MNEMONIC_ADD: case ZYDIS_MNEMONIC_ADC: case ZYDIS_MNEMONIC_SUB:
    case ZYDIS_MNEMONIC_SBB: case ZYDIS_MNEMONIC_AND: case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_XOR: case ZYDIS_MNEMONIC_CMP: case ZYDIS_MNEMONIC_TEST:
        return exec_alu(s, in);
    case ZYDIS_MNEMONIC_INC: case ZYDIS_MNEMONIC_DEC: case ZYDIS_MNEMONIC_NEG:
    case ZYDIS_MNEMONIC_NOT:
        return exec_unary(s, in);
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR: case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR:
        return exec_shift(s, in);
    case ZYDIS_MNEMONIC_MUL: case ZYDIS_MNEMONIC_IMUL:
        return exec_mul(s, in);
    case ZYDIS_MNEMONIC_DIV: case ZYDIS_MNEMONIC_IDIV:
        return exec_div(s, in);
    case ZYDIS_MNEMONIC_BT: case ZYDIS_MNEMONIC_BTS: case ZYDIS_MNEMONIC_BTR:
    case ZYDIS_MNEMONIC_BTC:
        return exec_bt(s, in);
    case ZYDIS_MNEMONIC_CBW: case ZYDIS_MNEMONIC_CWDE: case ZYDIS_MNEMONIC_CDQE: {
        unsigned w = in->d->operand_width;
        gpr_set_sized(s, SX_RAX, sx_v_sext(CTX, gpr_sized(s, SX_RAX, w / 2), w));
        return EX_OK;
    }
    case ZYDIS_MNEMONIC_CWD: case ZYDIS_MNEMONIC_CDQ: case ZYDIS_MNEMONIC_CQO: {
        unsigned w = in->d->operand_width;
        struct sx_val x = gpr_sized(s, SX_RAX, w);
        gpr_set_sized(s, SX_RDX, BIN(SX_ASHR, x, sx_v(w, w - 1)));
        return EX_OK;
    }
    case ZYDIS_MNEMONIC_XCHG:
        TRY(op_read(s, in, o0, o0->size, &a));
        TRY(op_read(s, in, o1, o0->size, &b));
        if (o1->type == ZYDIS_OPERAND_TYPE_MEMORY) { /* memory first: it may retry */
            TRY(op_write(s, in, o1, a));
            return op_write(s, in, o0, b);
        }
        TRY(op_write(s, in, o0, b));
        return op_write(s, in, o1, a);
    case ZYDIS_MNEMONIC_CMPXCHG: {
        unsigned w = o0->size;
        struct sx_val acc = gpr_sized(s, SX_RAX, w), d;
        TRY(op_read(s, in, o0, w, &d));
        TRY(op_read(s, in, o1, w, &b));
        struct sx_val eq = BIN(SX_EQ, acc, d);
        bool equal = decide(s, in, eq);
        TRY(op_write(s, in, o0, equal ? b : d)); /* the CPU always writes the destination */
        if (!equal)
            gpr_set_sized(s, SX_RAX, d);
        set_flags(s, SX_FL_SUB, acc, d, BIN(SX_SUB, acc, d), sx_v(1, 0));
        return EX_OK;
    }
    case ZYDIS_MNEMONIC_XADD: {
        TRY(op_read(s, in, o0, o0->size, &a));
        TRY(op_read(s, in, o1, o0->size, &b));
        struct sx_val sum = BIN(SX_ADD, a, b);
        TRY(op_write(s, in, o0, sum));
        TRY(op_write(s, in, o1, a));
        set_flags(s, SX_FL_ADD, a, b, sum, sx_v(1, 0));
        return EX_OK;
    }
    case ZYDIS_MNEMONIC_BSWAP: {
        TRY(op_read(s, in, o0, o0->size, &a));
        struct sx_val r = sx_v_extract(CTX, a, 0, 8);
        for (unsigned i = 1; i < o0->size / 8; i++)
            r = sx_v_concat(CTX, r, sx_v_extract(CTX, a, 8 * i, 8));
        return op_write(s, in, o0, r);
    }
    case ZYDIS_MNEMONIC_PUSH:
        TRY(op_read(s, in, o0, in->d->operand_width, &a));
        return push(s, a);
    case ZYDIS_MNEMONIC_POP:
        TRY(pop(s, in->d->operand_width, &a));
        return op_write(s, in, o0, a);
    case ZYDIS_MNEMONIC_LEAVE:
        s->gpr[SX_RSP] = s->gpr[SX_RBP];
        TRY(pop(s, 64, &a));
        s->gpr[SX_RBP] = a;
        return EX_OK;
    case ZYDIS_MNEMONIC_JMP: {
        uint64_t target;
        TRY(branch_target(s, in, &target));
        s->rip = target;
        return EX_OK;
    }
    case ZYDIS_MNEMONIC_CALL: {
        uint64_t target;
        TRY(branch_target(s, in, &target));
        TRY(push(s, sx_v(64, in->next)));
        s->rip = target;
        return EX_OK;
    }
    case ZYDIS_MNEMONIC_RET:
        TRY(pop(s, 64, &a));
        s->rip = (uint64_t)pin_choice(s, a, in->pc, SX_FLIP_TARGET).c;
        if (in->d->operand_count_visible > 0)
            s->gpr[SX_RSP] = BIN(SX_ADD, gpr64(s, SX_RSP), sx_v(64, o0->imm.value.u & 0xffff));
        return EX_OK;
    case ZYDIS_MNEMONIC_CLD: s->rflags_other &= ~SX_FLAG_DF; return EX_OK;
    case ZYDIS_MNEMONIC_STD: s->rflags_other |= SX_FLAG_DF; return EX_OK;
    case ZYDIS_MNEMONIC_CLC: case ZYDIS_MNEMONIC_STC: case ZYDIS_MNEMONIC_CMC:
        flags_materialize(s);
        s->flags.bits[F_CF] = m == ZYDIS_MNEMONIC_CMC ? sx_v_un(CTX, SX_NOT, s->flags.bits[F_CF])
                                                      : sx_v(1, m == ZYDIS_MNEMONIC_STC);
        return EX_OK;
    case ZYDIS_MNEMONIC_BSF: case ZYDIS_MNEMONIC_BSR: case ZYDIS_MNEMONIC_TZCNT:
    case ZYDIS_MNEMONIC_LZCNT: case ZYDIS_MNEMONIC_POPCNT:
        return exec_bitscan(s, in);
    default: /* the SSE instructions, or not modelled */
        return exec_sse(s, in);
    }
}

/* ---- unsupported instructions ----------------------------------------------------------- */

/* Make every register, memory operand and flag the instruction reads concrete, with a
 * recorded constraint each, so running it natively is exact for this path. */
static void concretise_inputs(struct sx_state *s, struct insn *in)
{
    if (in->d->mnemonic == ZYDIS_MNEMONIC_SYSCALL) {
        /* Linux's system call: the number and six arguments decide what the kernel
         * does (none is an operand Zydis lists) */
        static const int abi[] = { SX_RAX, SX_RDI, SX_RSI, SX_RDX, SX_R10, SX_R8, SX_R9 };
        for (size_t i = 0; i < sizeof abi / sizeof abi[0]; i++)
            s->gpr[abi[i]] = concretise(s, s->gpr[abi[i]]);
    }
    for (unsigned i = 0; i < in->d->operand_count; i++) {
        const ZydisDecodedOperand *op = &in->ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
            struct reg_ref r = reg_ref(op->reg.value);
            if (r.kind == R_GPR)
                s->gpr[r.index] = concretise(s, s->gpr[r.index]);
            else if (r.kind == R_XMM)
                s->xmm[r.index] = concretise(s, s->xmm[r.index]);
        } else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
            if (op->mem.base != ZYDIS_REGISTER_NONE && reg_ref(op->mem.base).kind == R_GPR)
                s->gpr[reg_ref(op->mem.base).index] =
                    concretise(s, s->gpr[reg_ref(op->mem.base).index]);
            if (op->mem.index != ZYDIS_REGISTER_NONE && reg_ref(op->mem.index).kind == R_GPR)
                s->gpr[reg_ref(op->mem.index).index] =
                    concretise(s, s->gpr[reg_ref(op->mem.index).index]);
            if (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ) {
                uint64_t addr = access_address(s, in, op);
                for (unsigned b = 0; b < op->size / 8u; b++) {
                    const struct sx_expr *e = shadow_get(s, addr + b);
                    uint8_t byte;
                    if (!e || s->mem->read(s->mem_opaque, addr + b, &byte, 1) < 0)
                        continue;
                    concretise(s, sx_v_make(e, byte));
                    shadow_set(s, addr + b, NULL);
                }
            }
        }
    }
    if (in->d->cpu_flags && in->d->cpu_flags->tested) {
        flags_materialize(s);
        for (int f = 0; f < F_COUNT; f++)
            s->flags.bits[f] = concretise(s, s->flags.bits[f]);
    }
}

static void report_once(struct sx_state *s, ZydisMnemonic m, const char *what)
{
    if (m < 2048 && (s->reported[m / 8] & (1u << (m % 8))))
        return;
    if (m < 2048)
        s->reported[m / 8] |= (uint8_t)(1u << (m % 8));
    if (s->report) {
        char msg[128];
        snprintf(msg, sizeof msg, "symex: %s '%s'", what, ZydisMnemonicGetString(m));
        s->report(s->report_opaque, msg);
    }
}

/* ---- public ---------------------------------------------------------------------------- */

void sx_state_init(struct sx_state *s, struct sx_ctx *ctx, const struct sx_mem_ops *mem,
                   void *mem_opaque, struct sx_shadow *shadow, struct sx_path *path)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->mem = mem;
    s->mem_opaque = mem_opaque;
    s->shadow = shadow;
    s->path = path;
    for (int i = 0; i < 16; i++) {
        s->gpr[i] = sx_v(64, 0);
        s->xmm[i] = sx_v(128, 0);
    }
    sx_state_set_rflags(s, 0x2);
}

bool sx_state_has_symbolic_regs(struct sx_state *s)
{
    for (int i = 0; i < 16; i++)
        if (s->gpr[i].e || s->xmm[i].e)
            return true;
    /* Flags: symbolic if the operation that set them saw a symbolic operand (without
     * building each flag's expression: this is asked after every instruction). */
    const struct sx_flags *fl = &s->flags;
    if (fl->op == SX_FL_LOGIC) /* CF = OF = 0, the rest from the result: `xor eax, eax`
                                  on a symbolic eax leaves nothing symbolic */
        return fl->res.e != NULL;
    if (fl->op != SX_FL_BITS)
        return fl->a.e || fl->b.e || fl->res.e || fl->carry_in.e;
    for (int f = 0; f < F_COUNT; f++)
        if (fl->bits[f].e)
            return true;
    return false;
}

void sx_state_concretise(struct sx_state *s)
{
    for (int i = 0; i < 16; i++) {
        s->gpr[i] = concretise(s, s->gpr[i]);
        s->xmm[i] = concretise(s, s->xmm[i]);
    }
    flags_materialize(s);
    for (int f = 0; f < F_COUNT; f++)
        s->flags.bits[f] = concretise(s, s->flags.bits[f]);
}

uint64_t sx_state_release(struct sx_state *s)
{
    uint64_t n = 0;
    for (int i = 0; i < 16; i++) {
        n += s->gpr[i].e != NULL;
        s->gpr[i] = sx_v(s->gpr[i].w, s->gpr[i].c);
        n += s->xmm[i].e != NULL;
        s->xmm[i] = sx_v(s->xmm[i].w, s->xmm[i].c);
    }
    flags_materialize(s);
    for (int f = 0; f < F_COUNT; f++)
        s->flags.bits[f] = sx_v(s->flags.bits[f].w, s->flags.bits[f].c);
    s->released_regs += n;
    return n;
}

void sx_make_symbolic(struct sx_state *s, uint64_t addr, uint32_t len, uint32_t input)
{
    for (uint32_t i = 0; i < len; i++)
        shadow_set(s, addr + i, sx_input_byte(CTX, input, i));
}

static ZydisDecoder decoder;
static void init_decoder(void)
{
    ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    init_reg_table();
    init_cc_table();
}

/* Decoded instructions by address. An entry counts only if the bytes fetched now are
 * the ones it was decoded from, so code that changes (or another address space with
 * other code at the same address) is decoded again. */
#define DCACHE_ENTRIES 1024
struct dcache_entry {
    uint64_t rip;
    uint8_t len; /* 0: empty */
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZydisDecodedInstruction d;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
};
struct sx_decode_cache {
    struct dcache_entry e[DCACHE_ENTRIES];
    uint64_t hits, misses;
};

struct sx_decode_cache *sx_decode_cache_new(void) { return calloc(1, sizeof(struct sx_decode_cache)); }
void sx_decode_cache_free(struct sx_decode_cache *c) { free(c); }
void sx_decode_cache_stats(const struct sx_decode_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}

enum sx_status sx_step(struct sx_state *s)
{
    static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
    pthread_once(&tables_once, init_decoder); /* then only read, by every thread */
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    size_t n = sizeof bytes;
    /* Fetch 15 bytes in one go; byte by byte only if that crosses into unmapped memory. */
    if (s->mem->read(s->mem_opaque, s->rip, bytes, n) < 0) {
        n = 0;
        while (n < sizeof bytes && s->mem->read(s->mem_opaque, s->rip + n, &bytes[n], 1) == 0)
            n++;
    }
    struct dcache_entry local, *e = &local;
    if (s->dcache) {
        e = &s->dcache->e[(s->rip ^ (s->rip >> 10)) & (DCACHE_ENTRIES - 1)];
        if (e->len && e->rip == s->rip && e->len <= n && memcmp(e->bytes, bytes, e->len) == 0) {
            s->dcache->hits++;
            goto decoded;
        }
        s->dcache->misses++;
    }
    e->len = 0;
    if (n == 0 || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, bytes, n, &e->d, e->ops))) {
        s->fault_addr = s->rip;
        snprintf(s->last_mnemonic, sizeof s->last_mnemonic, "(undecodable)");
        return SX_BAD_FETCH;
    }
    e->rip = s->rip;
    e->len = e->d.length;
    memcpy(e->bytes, bytes, e->len);
decoded:;
    struct insn in = { .d = &e->d, .ops = e->ops };
    in.pc = s->rip;
    in.next = s->rip + in.d->length;
    s->insn_pc = in.pc;

    in.locked = (in.d->attributes & ZYDIS_ATTRIB_HAS_LOCK) ||
                (in.d->mnemonic == ZYDIS_MNEMONIC_XCHG &&
                 (in.ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY ||
                  in.ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY));
    /* A locked read-modify-write that lost a race to another CPU is redone from the
     * state it started with (its memory write is the first thing it commits). */
    static_assert(sizeof(struct sx_state) < 4096, "saved on the stack per locked insn");
    struct sx_state saved;
    if (in.locked)
        memcpy(&saved, s, sizeof saved);
    for (int attempt = 0;; attempt++) {
        if (attempt > 0)
            memcpy(s, &saved, sizeof saved);
        in.have_old = false;
        s->rip = in.next;
        enum exec_status st = exec_insn(s, &in);
        switch (st) {
        case EX_OK:
            s->instructions++;
            return SX_OK;
        case EX_RETRY:
            if (attempt < 1000)
                continue;
            st = EX_UNSUPPORTED; /* pathological contention: hand it to the CPU */
            /* fall through */
        case EX_UNSUPPORTED:
            s->rip = in.pc;
            concretise_inputs(s, &in);
            snprintf(s->last_mnemonic, sizeof s->last_mnemonic, "%s",
                     ZydisMnemonicGetString(in.d->mnemonic));
            report_once(s, in.d->mnemonic, "not modelled, operands concretised:");
            return SX_UNSUPPORTED;
        case EX_FAULT:
            s->rip = in.pc;
            snprintf(s->last_mnemonic, sizeof s->last_mnemonic, "%s",
                     ZydisMnemonicGetString(in.d->mnemonic));
            return SX_FAULT;
        }
    }
}
