/* The x86-64 concolic interpreter: executes instructions on a register file and memory
 * whose values are concrete plus optionally symbolic (see value.h).
 *
 * Memory is reached through `struct sx_mem_ops` (guest-virtual addresses; the VMM's
 * sidecar translates them, tests use host memory directly); symbolic bytes live in a
 * `struct sx_shadow`. Branches on symbolic data follow the concrete side and are
 * recorded in a `struct sx_path`. Flags are lazy: the last flag-setting operation is
 * kept and each condition is derived from it only when read (so `cmp a, b; jb` gives
 * the constraint a <u b, not a formula over flag bits).
 */
#ifndef SYMEX_INTERP_H
#define SYMEX_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"
#include "path.h"
#include "shadow.h"
#include "value.h"

enum sx_gpr { SX_RAX, SX_RCX, SX_RDX, SX_RBX, SX_RSP, SX_RBP, SX_RSI, SX_RDI,
              SX_R8, SX_R9, SX_R10, SX_R11, SX_R12, SX_R13, SX_R14, SX_R15 };

#define SX_FLAG_CF 0x001ull
#define SX_FLAG_PF 0x004ull
#define SX_FLAG_AF 0x010ull
#define SX_FLAG_ZF 0x040ull
#define SX_FLAG_SF 0x080ull
#define SX_FLAG_DF 0x400ull
#define SX_FLAG_OF 0x800ull
#define SX_FLAGS_ARITH (SX_FLAG_CF | SX_FLAG_PF | SX_FLAG_AF | SX_FLAG_ZF | SX_FLAG_SF | SX_FLAG_OF)

struct sx_mem_ops {
    /* Copy bytes; return 0, or -1 if any byte is not mapped. */
    int (*read)(void *opaque, uint64_t addr, void *buf, size_t len);
    int (*write)(void *opaque, uint64_t addr, const void *buf, size_t len);
    /* Atomically: if the len-byte (1, 2, 4, 8) value at addr equals `expected`, store
     * `desired`. Always sets *old to the value found. Return -1 if unmapped. */
    int (*cmpxchg)(void *opaque, uint64_t addr, size_t len, uint64_t expected,
                   uint64_t desired, uint64_t *old);
    /* Optional: virtual page address -> physical page address (0 or -1). When given,
     * the symbolic shadow is keyed by physical address, so several address spaces
     * (vCPUs) share it. NULL: addresses are used as they are. */
    int (*translate)(void *opaque, uint64_t vpage, uint64_t *ppage);
};

/* Which operation last set the arithmetic flags (see flags in interp.c). */
enum sx_flags_op {
    SX_FL_BITS,   /* materialised: one width-1 value per flag in `bits` */
    SX_FL_ADD, SX_FL_ADC, SX_FL_SUB, SX_FL_SBB, SX_FL_INC, SX_FL_DEC,
    SX_FL_LOGIC, SX_FL_SHL, SX_FL_SHR, SX_FL_SAR, SX_FL_MUL,
    SX_FL_IMUL,   /* two/three-operand imul: a, b the factors (overflow built if read) */
    SX_FL_CMP,    /* cmp: as SX_FL_SUB, `res` concrete only (a - b built if a flag needs it) */
};

struct sx_flags {
    enum sx_flags_op op;
    struct sx_val a, b, res, carry_in; /* operands as the operation saw them */
    struct sx_val bits[6];             /* SX_FL_BITS: CF PF AF ZF SF OF */
};

enum sx_status {
    SX_OK,
    SX_UNSUPPORTED,  /* not modelled: symbolic operands were concretised; run it natively */
    SX_FAULT,        /* the instruction faults (see fault_vector, fault_addr) */
    SX_BAD_FETCH,    /* RIP points at unmapped or undecodable bytes */
};

#define SX_PORT_MMIO 0xffffu /* port_in's `port` for a load from agent_mmio_addr */

/* In ring 0 a symbolic value stored on the stack (the block of this many bytes, aligned,
 * that holds RSP: Linux's THREAD_SIZE, symhv's kernel's per-vCPU stacks) is stored as its
 * concrete value, without a constraint. A symbolic byte there would make the VMM trap
 * the stack page, and the CPU itself writes that page when it delivers an interrupt or
 * exception: on PVM hosts such a delivery into a page outside every memslot ends in a
 * double fault (Linux's pwrite() of a symbolic buffer spilled one byte there). */
#define SX_RING0_STACK_BYTES 16384u

struct sx_state {
    struct sx_ctx *ctx;
    struct sx_val gpr[16];   /* width 64, or 32 after a 32-bit write (the upper half is zero) */
    struct sx_val xmm[16];   /* width 128 */
    uint64_t rip;
    struct sx_flags flags;
    uint64_t rflags_other;   /* concrete non-arithmetic bits (DF, IF, bit 1, ...) */
    uint64_t fs_base, gs_base;

    const struct sx_mem_ops *mem;
    void *mem_opaque;
    struct sx_shadow *shadow;
    struct sx_path *path;

    /* Optional: `in` from a port (eax, dx) met while interpreting, e.g. the symhv agent's
     * instruction. Return true when served (the hook set rax; rip already points past
     * the instruction); false: not modelled (the CPU runs it). */
    bool (*port_in)(void *opaque, struct sx_state *s, uint16_t port, unsigned size);
    void *port_opaque;
    /* Optional: the address of a device word whose 32-bit load into eax is that same
     * agent call (symhv's hypercall page); the hook is called with port SX_PORT_MMIO. */
    uint64_t agent_mmio_addr;
    uint64_t insn_pc;        /* the address of the instruction being executed */

    /* Report (once per mnemonic) instructions that had to be concretised. */
    void (*report)(void *opaque, const char *message);
    void *report_opaque;
    uint8_t reported[256];   /* bitmap by Zydis mnemonic (first 2048) */

    struct {                 /* the callers of the last symbolic branch (sx_callers) */
        uint64_t rsp, pc, slot[2], ret[2];
        unsigned n;
        uint32_t hash;
        bool valid;
    } callers;
    uint64_t tlb_vpage, tlb_ppage; /* last translation (mem->translate); kept for the
                                    * state's life: create a new state when CR3 changes */
    struct sx_decode_cache *dcache; /* optional: decoded instructions kept by address
                                     * (NULL: decode every step); one state at a time */
    bool tlb_valid;

    uint64_t instructions;   /* executed */
    uint64_t side_effects;   /* memory writes and served agent calls so far: the steps
                                that cannot be redone (a crash checkpoint must follow) */
    uint64_t depth_cuts;     /* values concretised for growing past SX_MAX_DEPTH */
    bool ring0;              /* interpreting ring-0 code: see SX_RING0_STACK_BYTES */
    uint64_t stack_cuts;     /* symbolic values stored concrete on a ring-0 stack */
    uint64_t released_regs;  /* registers made concrete without a constraint at a native
                                stop (sx_state_release) */
    unsigned fault_vector;
    uint64_t fault_addr;
    bool fault_write;        /* a #PF's access was a write */
    char last_mnemonic[32];  /* of the instruction that stopped the run */
};

void sx_state_init(struct sx_state *s, struct sx_ctx *ctx, const struct sx_mem_ops *mem,
                   void *mem_opaque, struct sx_shadow *shadow, struct sx_path *path);

/* A cache of decoded instructions (about a megabyte) a state may use (sx_state.dcache):
 * decoding is a third of concrete interpretation. Keep one per interpreting thread, from
 * one handoff to the next; entries are checked against the bytes fetched. */
struct sx_decode_cache;
struct sx_decode_cache *sx_decode_cache_new(void);
void sx_decode_cache_free(struct sx_decode_cache *c);
void sx_decode_cache_stats(const struct sx_decode_cache *c, uint64_t *hits, uint64_t *misses);
/* Concrete RFLAGS (arithmetic flags computed from the lazy record). */
uint64_t sx_state_rflags(struct sx_state *s);
void sx_state_set_rflags(struct sx_state *s, uint64_t rflags);
/* One arithmetic flag (SX_FLAG_CF, ...) as a width-1 value. */
struct sx_val sx_state_flag(struct sx_state *s, uint64_t flag);
/* Any symbolic value left in registers or flags? (Flags count as symbolic when the
 * operation that set them had a symbolic operand, even if a flag folds to a constant.) */
bool sx_state_has_symbolic_regs(struct sx_state *s);
/* Replace every symbolic register and flag by its concrete value, recording the
 * constraint that value == expression. */
void sx_state_concretise(struct sx_state *s);
/* The same without the constraints, for the registers left when the CPU takes over from
 * an instruction the interpreter does not model (whose own inputs sx_step pinned): they
 * mostly hold values already stored (a producer's value pushed into a queue, a copy's
 * last vectors) that a pin would fix for every later branch on the stored copy, making
 * its flips unsat. Returns how many values it let go (counted in released_regs). */
uint64_t sx_state_release(struct sx_state *s);

/* Execute one instruction. */
enum sx_status sx_step(struct sx_state *s);

/* Mark [addr, addr+len) as the symbolic input `input` (bytes 0..len-1), keeping the
 * concrete bytes in memory as the current concrete input. */
void sx_make_symbolic(struct sx_state *s, uint64_t addr, uint32_t len, uint32_t input);

#endif
