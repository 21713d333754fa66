/* The wire protocol between the VMM (symhv) and its symbolic sidecar (symhv-symex).
 *
 * Shared memory, no sockets: symhv creates
 *  - the guest RAM memfd (the sidecar maps it and reads/writes guest memory directly),
 *  - a "ring" memfd holding `struct sc_shared`: one request/reply slot per vCPU plus a
 *    control slot, and the symbolic-byte bitmap (one bit per byte of guest RAM),
 *  - two eventfds per slot, the doorbells: VMM -> sidecar and sidecar -> VMM. Each side
 *    rings and waits through its own io_uring (ipc/doorbell.h), so a round trip is one
 *    io_uring_enter per side.
 *
 * A slot is owned by one VMM thread (vCPU i's thread uses slot i, the main thread the
 * control slot) and served by one sidecar thread, so slots are served in parallel.
 * The VMM fills a request, bumps req_seq and rings; the sidecar replies in the same slot,
 * sets rep_seq to the request it answered and rings back. A side woken by a ring checks
 * the sequence number, so a spare ring (left by a wait that timed out) is harmless and a
 * late answer is never taken for the next one. Neither side spins: on 2 cores with the
 * other vCPU busy, a spin before sleeping takes the core the woken thread needs (a call
 * many times slower; README: Benchmarks).
 *
 * The symbolic bitmap is written only by the sidecar (atomically, as its shadow changes)
 * and read by the VMM: a reply lists the pages whose bits may have changed and the VMM
 * re-reads them to decide which pages stay out of KVM's memslots. The written-page
 * bitmap (one bit per guest page) marks every page the sidecar writes in guest RAM, so
 * a snapshot restore copies back exactly those (the VMM clears the bits it collects).
 *
 * The sidecar writes no files: the VMM owns the output directory. What the sidecar
 * produces (generated inputs, the constraints, printed expressions) is fetched by the
 * control slot through the data area, one piece per request (SC_OP_RESULT, SC_OP_TEXT).
 *
 * While working on a request the sidecar bumps the slot's heartbeat (per interpreted
 * instruction, per solver query): a request whose heartbeat stands still for the VMM's
 * stall limit means the sidecar is stuck or stopped, and it is treated as dead.
 */
#ifndef SYMHV_SIDECAR_H
#define SYMHV_SIDECAR_H

#include <sched.h>
#include <stdint.h>

#include "symhv/abi.h"

#define SC_MAGIC 0x7343796dU /* "myCs" */
#define SC_VERSION 11
#define SC_MAX_EXTENTS 272   /* a 1 MiB input spans at most 257 pages */
#define SC_MAX_PAGES 1024    /* pages listed in one reply; more: SC_PAGES_OVERFLOW */
#define SC_MESSAGE_MAX 512
/* The solver backend a run uses when none is named (symhv --solver, symhv-symex
 * --solver): Bitwuzla where it is built, which the query corpus favours (README), else
 * the portfolio. Bitwuzla runs under a deadline of its own (a portfolio of one): on a
 * deep checksum it ran past its per-query limit without returning. */
#ifdef SYMHV_HAVE_BITWUZLA
#define SC_DEFAULT_SOLVER "bitwuzla"
#else
#define SC_DEFAULT_SOLVER "portfolio"
#endif
/* The backends this build has, by name: symex/solver.c's table, and what symhv checks
 * --solver against (hv does not link symex). */
#ifdef SYMHV_HAVE_CVC5
#define SC_SOLVERS_CVC5 ", cvc5, z3+cvc5"
#define SC_PORTFOLIO_MEMBERS "z3 and cvc5"
#else
#define SC_SOLVERS_CVC5 ""
#define SC_PORTFOLIO_MEMBERS "z3 and z3-fresh"
#endif
#ifdef SYMHV_HAVE_BITWUZLA
#define SC_SOLVERS_BITWUZLA ", bitwuzla, z3+bitwuzla"
#else
#define SC_SOLVERS_BITWUZLA ""
#endif
#if defined SYMHV_HAVE_BITWUZLA && defined SYMHV_HAVE_CVC5
#define SC_SOLVERS_BOTH ", bitwuzla+cvc5"
#else
#define SC_SOLVERS_BOTH ""
#endif
#define SC_SOLVERS_BUILT "z3, z3-fresh" SC_SOLVERS_CVC5 SC_SOLVERS_BITWUZLA SC_SOLVERS_BOTH
/* The same as said to users: every name, the default marked. */
#define SC_SOLVERS_NAMED "portfolio (" SC_PORTFOLIO_MEMBERS "), " SC_SOLVERS_BUILT \
    "; the default: " SC_DEFAULT_SOLVER

#define SC_DATA_MAX (SYMHV_SYMBOLIC_MAX_BYTES) /* the data area: one input, or text */

/* vCPU state in the interpreter's register order (rax rcx rdx rbx rsp rbp rsi rdi
 * r8..r15). cr3/cr4/efer let the sidecar walk the guest page tables. */
struct sc_cpu {
    uint64_t gpr[16];
    uint64_t rip, rflags, fs_base, gs_base;
    uint64_t cr0, cr3, cr4, efer, cpl;
    uint8_t xmm[16][16];
};

struct sc_extent {          /* guest-physical bytes [gpa, gpa+len) = input[offset..) */
    uint64_t gpa;
    uint32_t len, offset;
};

enum sc_op {
    SC_OP_NONE = 0,
    SC_OP_MAKE_SYMBOLIC,    /* name, input_len, extents: declare input, mark bytes */
    SC_OP_CONCRETISE,       /* gpa, len: concrete bytes were written there */
    SC_OP_HANDOFF,          /* cpu: interpret until registers are concrete; cpu out */
    SC_OP_FINISH,           /* solve the branch flips; keep the inputs for RESULT;
                               input = SC_FINISH_* flags; len = time budget in ms
                               (0: none; flips past it are not asked) */
    SC_OP_QUIT,             /* reply, then exit */
    SC_OP_RESET,            /* forget inputs, shadow and path (next fuzzing round) */
    SC_OP_PIN,              /* gpa, len: concretise the symbolic bytes there, recording
                               byte == value (an instruction the CPU must run natively) */
    SC_OP_RESULT,           /* control slot, after FINISH: result `index`, input `input`:
                               its bytes into the data area, its description in `result` */
    SC_OP_TEXT,             /* control slot: text `index` (enum sc_text) from byte `gpa`
                               on into the data area; `len` = its total length */
};

enum sc_finish_flags {
    SC_FINISH_PRUNE = 1,    /* a search across executions (explore, the fuzzer's concolic
                               runs): count the branch sides this path adds to those seen
                               since the sidecar started (new_branch_edges), and flip only
                               branches whose other side is neither seen nor tried yet */
};

enum sc_text {
    SC_TEXT_CONSTRAINTS = 0, /* the path constraints, one per line */
    SC_TEXT_EXPRESSIONS = 1, /* lines printed by symhv_print_expr on symbolic values */
};

/* What a generated input flips. */
enum sc_flip {              /* the values of enum sx_flip_kind (symex/path.h) */
    SC_FLIP_BRANCH = 0,     /* the other side of a conditional jump */
    SC_FLIP_SELECT = 1,     /* the other value of a setcc/cmovcc condition */
    SC_FLIP_DIV_ZERO = 2,   /* a division by zero (#DE) */
    SC_FLIP_DIV_OVERFLOW = 3, /* a quotient overflow, INT_MIN / -1 (#DE) */
    SC_FLIP_ADDRESS = 4,    /* another value of a pinned symbolic address */
    SC_FLIP_TARGET = 5,     /* another target of a symbolic indirect jump */
};

struct sc_result {
    uint32_t branch;        /* index of the branch point on the path */
    uint32_t kind;          /* enum sc_flip */
    uint64_t pc;            /* the flipped instruction */
    uint32_t taken;         /* the direction the path took (the input goes the other) */
    uint32_t input_len;     /* SC_OP_RESULT: bytes of the requested input */
    uint32_t variant;       /* a pinned address's or target's further values: 1, 2, ...
                               (0: the first, or another kind) */
    uint32_t optimistic;    /* 1: solved without the path before it (the whole query was
                               unsat; sx_path_flip_optimistic) */
};

enum sc_status {
    SC_OK = 0,
    SC_FAILED = 1,          /* message says why */
};

/* Why a handoff ended. */
enum sc_stop {
    SC_STOP_CONCRETE = 0,   /* registers and flags hold no symbolic value */
    SC_STOP_NATIVE,         /* an instruction the interpreter does not model: the CPU
                               runs it (its operands were concretised) */
    SC_STOP_LIMIT,          /* step limit: concretised */
    SC_STOP_CANCELLED,      /* the VMM asked (VM stopping): concretised */
    SC_STOP_EXHAUSTED,      /* the sidecar reached its memory or time limit: concretised;
                               symbolic execution is over for this run (`exhausted`) */
    SC_STOP_PAGE_FAULT,     /* the next instruction touches a page the guest has not
                               mapped (or not writable): the VMM delivers the #PF
                               (fault_addr, fault_error) and the guest's handler runs;
                               natively the instruction would trap on its symbolic
                               operand first and never reach the fault */
};

/* Totals a FINISH reply carries for the run summary. */
struct sc_stats {
    uint64_t instructions, stops_native, parallel_peak;
    uint64_t constraints, branches, flipped_sat, flipped_unsat, flipped_unknown;
    uint64_t branches_pruned;           /* occurrences of hot branches run as if concrete
                                           (past SX_PRUNE_EXACT, not a power of two) */
    uint64_t flipped_optimistic;        /* of the unsat: solved on the branch alone */
    uint64_t flipped_too_large;         /* of the unknown: too large to send to the solver */
    uint64_t sliced_away;               /* path constraints left out of flip queries (they
                                           share no input byte with the flipped branch) */
    uint64_t unsolved_past_limit;       /* of the unknown: not tried, a limit was reached */
    uint64_t assumptions, expressions_printed, pinned_bytes;
    uint64_t concretised_deep;          /* values concretised for growing past SX_MAX_DEPTH */
    uint64_t concretised_stack;         /* symbolic values stored concrete on a ring-0 stack
                                           (SX_RING0_STACK_BYTES in symex/interp.h) */
    uint64_t released_regs;             /* registers made concrete without a constraint
                                           when the CPU took over (sx_state_release) */
    uint64_t results;                   /* generated inputs FINISH keeps for RESULT */
    uint64_t new_branch_edges;          /* SC_FINISH_PRUNE: sides no path took before */
    uint64_t flips_pruned;              /* SC_FINISH_PRUNE: flips left out (seen, tried) */
    uint64_t peak_memory_bytes;
    uint64_t solver_cache_hits;         /* FINISH: queries answered by the query cache */
    uint64_t flips_deferred;            /* FINISH: cut short by the first pass's timeout,
                                           asked again with the full one after it */
    double interpreter_seconds, solver_seconds;
};

struct sc_slot {
    /* request: written by the VMM before it rings */
    uint32_t op, vcpu;
    uint64_t gpa, len;                  /* CONCRETISE, PIN; TEXT: offset */
    uint32_t index, input;              /* RESULT, TEXT */
    char name[SYMHV_INPUT_NAME_MAX + 1]; /* MAKE_SYMBOLIC */
    uint32_t input_len, nextents;
    struct sc_extent extents[SC_MAX_EXTENTS];
    struct sc_cpu cpu;                  /* HANDOFF: in, and out */
    uint32_t cancel;                    /* atomic: VMM -> sidecar, stop interpreting */

    /* reply: written by the sidecar before it rings back */
    int32_t status;
    uint32_t stop;                      /* enum sc_stop */
    int32_t input_id;
    uint32_t npages;                    /* pages whose symbolic bits may have changed */
    uint32_t pages_overflow;            /* more than SC_MAX_PAGES: VMM rescans all RAM */
    uint64_t pages[SC_MAX_PAGES];
    uint64_t instructions;
    uint64_t rent_ns;                   /* HANDOFF: what a handoff costs the VMM (its mean,
                                           ns): once the registers are concrete the
                                           interpreter goes on this long before it gives
                                           the vCPU back, in case the code reads symbolic
                                           data again (ski rental: at most 2x the better
                                           choice in hindsight) */
    uint64_t rented_returns;            /* HANDOFF reply: 1 if it ended after renting */
    uint64_t fault_addr;                /* HANDOFF reply, SC_STOP_PAGE_FAULT: CR2 */
    uint32_t fault_error;               /* ... and the #PF error code (P, W/R, U/S) */
    uint32_t fault_pad;
    uint64_t served_ns;                 /* from the request's arrival to this reply (the
                                           VMM's handoff breakdown) */
    struct sc_stats stats;              /* FINISH */
    struct sc_result result;            /* RESULT */
    uint64_t data_len;                  /* RESULT, TEXT: bytes in the data area */
    uint32_t exhausted;                 /* the sidecar's limits were reached: no more
                                           symbolic execution (message says which) */
    char message[SC_MESSAGE_MAX];

    uint64_t heartbeat;                 /* atomic: bumped while the sidecar works */
    uint64_t req_seq, rep_seq;          /* atomic: the request posted, the one answered */

    /* progress: the concrete state after the last instruction the interpreter
     * retired, so the VMM can resume the vCPU there if the sidecar dies mid-handoff.
     * checkpoint_seq is odd while the sidecar writes `checkpoint` (a seqlock). */
    uint64_t checkpoint_seq;
    struct sc_cpu checkpoint;
};

struct sc_shared {
    uint32_t magic, version;
    uint32_t nslots;                    /* vCPUs + 1 (the last one is the control slot) */
    uint32_t ready;                     /* sidecar -> VMM: set once all threads serve */
    /* Locked read-modify-writes of guest memory that can meet each other: the VMM's
     * emulation of one on trapped RAM (a read exit, then the write) and the sidecar's
     * compare-exchange for an interpreted one. Both hold it across the whole RMW, so a
     * mutex word sharing a page with symbolic bytes still works (sc_rmw_lock). */
    uint32_t rmw_lock;
    uint32_t reserved;
    uint64_t mem_bytes;
    uint64_t bitmap_offset;             /* from the start of the mapping */
    uint64_t written_offset;            /* written-page bitmap */
    uint64_t data_offset;               /* the data area, SC_DATA_MAX bytes */
    struct sc_slot slots[];
};

/* Take rmw_lock (held for microseconds: spin, then yield). give_up, if given, is asked
 * now and then (the other side may have died holding it): true ends the wait. */
static inline void sc_rmw_lock(uint32_t *lock, int (*give_up)(void *), void *ctx)
{
    for (unsigned spins = 0; __atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE); spins++) {
        __builtin_ia32_pause();
        if (spins % 1024 == 1023) {
            if (give_up && give_up(ctx)) {
                __atomic_store_n(lock, 1, __ATOMIC_RELEASE);
                return;
            }
            sched_yield();
        }
    }
}
static inline void sc_rmw_unlock(uint32_t *lock) { __atomic_store_n(lock, 0, __ATOMIC_RELEASE); }

/* Layout of the shared memfd for `nslots` slots and `mem_bytes` of guest RAM. */
static inline uint64_t sc_round_page(uint64_t n) { return (n + 4095) & ~4095ull; }
static inline uint64_t sc_bitmap_offset(uint32_t nslots)
{
    return sc_round_page(sizeof(struct sc_shared) + (uint64_t)nslots * sizeof(struct sc_slot));
}
static inline uint64_t sc_written_offset(uint32_t nslots, uint64_t mem_bytes)
{
    return sc_bitmap_offset(nslots) + sc_round_page(mem_bytes / 8);
}
static inline uint64_t sc_data_offset(uint32_t nslots, uint64_t mem_bytes)
{
    return sc_written_offset(nslots, mem_bytes) + sc_round_page(mem_bytes / 4096 / 8 + 8);
}
static inline uint64_t sc_shared_size(uint32_t nslots, uint64_t mem_bytes)
{
    return sc_data_offset(nslots, mem_bytes) + sc_round_page(SC_DATA_MAX);
}

/* Attaching to a sidecar that is already running (symhv-symex --listen PATH, then
 * symhv --symex-socket PATH): symhv connects to the unix socket and sends one message,
 * a struct sc_attach as data and, as SCM_RIGHTS, the descriptors in the order of the
 * SC_FD_* numbers below (guest RAM, slots, the doorbells slot by slot). The sidecar
 * learns symhv's pid from the socket (SO_PEERCRED) and symhv learns the sidecar's. */
struct sc_attach {
    uint32_t magic, version;
    uint32_t nslots, solver_timeout_ms;
    uint64_t mem_bytes;
    uint64_t max_memory_bytes;          /* 0: no limit (see symhv-symex --help) */
    double max_seconds;                 /* 0: no limit */
};

/* File descriptors symhv hands symhv-symex (dup'ed to these numbers). */
enum {
    SC_FD_GUEST_MEM = 3,
    SC_FD_SHARED = 4,
    SC_FD_DOORBELLS = 5,   /* slot i: to-sidecar = 5 + 2i, to-VMM = 6 + 2i */
};

#endif
