/* Path constraints: everything the current (concrete) path assumed about the symbolic
 * inputs, in order, and the branch points where the other side could be taken. */
#ifndef SYMEX_PATH_H
#define SYMEX_PATH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"
#include "solver.h"

/* What flipping a branch point means. */
enum sx_flip_kind {
    SX_FLIP_JUMP = 0,     /* the other side of a conditional jump */
    SX_FLIP_SELECT,       /* the other value of a setcc/cmovcc condition (no fork: the
                             condition is not a path constraint) */
    SX_FLIP_DIV_ZERO,     /* a divisor of zero: #DE (a bug with no branch in the code) */
    SX_FLIP_DIV_OVERFLOW, /* a quotient that does not fit (INT_MIN / -1): #DE */
    SX_FLIP_ADDRESS,      /* another value of a symbolic address that was pinned: another
                             entry of a lookup table, another case of a jump table */
    SX_FLIP_TARGET,       /* another target of a symbolic indirect jump or return */
};
#define SX_CANDIDATES_PER_PC 4 /* candidates kept per instruction and kind (loops) */
/* A conditional jump's occurrences on one path (from the same callers) that all count
 * (constraint and flip);
 * past it only the powers of two do (QSYM's pruning of hot code: a loop over a
 * kilobytes-long input gives tens of branch points, not thousands). Longer than the
 * strings a byte-a-generation search has to get through. */
#define SX_PRUNE_EXACT 64

struct sx_branch {
    uint64_t pc;                   /* address of the branching instruction */
    uint32_t context;              /* SX_FLIP_JUMP: a hash of the callers (0: none known) */
    bool jumped;                   /* the path took the jump (else it fell through) */
    uint8_t kind;                  /* enum sx_flip_kind */
    const struct sx_expr *taken;   /* width-1 condition that held on this path */
    size_t prefix;                 /* constraints recorded before this branch */
    uint64_t value;                /* SX_FLIP_ADDRESS/TARGET: the pinned value */
};

/* Shared by every vCPU's interpreter thread: assume/branch lock `lock`; read the arrays
 * only when no thread is interpreting (at the end of a run). */
/* The input bytes one constraint reads (keys: (input << 32) | offset), for slicing. */
struct sx_leaves {
    uint64_t *keys;          /* NULL until computed */
    uint32_t n;
    bool all;                /* too many to list: treated as touching every byte */
    int8_t seed_holds;       /* the path's input satisfies it: 1, 0, -1 not known yet
                                (every flip's model is seeded with that same input) */
};

struct sx_path {
    pthread_mutex_t lock;
    const struct sx_expr **constraints;
    bool *pinned;             /* per constraint: a value made concrete (sx_path_assume),
                                 not a decision of the path (a branch, a requirement) */
    size_t n, cap;
    struct sx_branch *branches;
    size_t nbranches, branches_cap;
    struct sx_leaves *leaves; /* per constraint, filled by the first flip that needs it */
    size_t leaves_cap;
    bool no_slicing;          /* send whole prefixes (for comparisons) */
    bool no_pruning;          /* every occurrence of a branch counts (for comparisons) */
    bool no_context;          /* branch sides without their callers (for comparisons) */
    bool select_chain;        /* symbolic-index reads as a chain of address compares, not
                                 a tree on the index's bits (for comparisons) */
    uint64_t pruned;          /* branch occurrences run as if concrete (SX_PRUNE_EXACT) */
    struct sx_walker walker;  /* finding the input bytes of constraints */
    struct { uint64_t pc; uint32_t context, count; uint8_t kind; } *seen; /* occurrences
                                                        per (pc, callers, kind) */
    size_t seen_cap, nseen;
    uint64_t sliced_away;     /* constraints left out of flip queries so far */
    struct sx_progress progress; /* beaten while a flip's query is sliced */
};

void sx_path_init(struct sx_path *p);
void sx_path_release(struct sx_path *p);
/* An assumption that is not a choice point: a value pinned concrete (a concretised
 * address, a copy's length). */
void sx_path_assume(struct sx_path *p, const struct sx_expr *cond);
/* A condition every input must meet (symhv_assume's): kept as the path's decisions are. */
void sx_path_require(struct sx_path *p, const struct sx_expr *cond);
/* A branch on symbolic data: `taken` held on this path; its negation is the other side.
 * A hot branch's occurrence may be pruned (see SX_PRUNE_EXACT; counted in `pruned`). */
void sx_path_branch(struct sx_path *p, uint64_t pc, uint32_t context,
                    const struct sx_expr *taken, bool jumped);
/* A flip candidate of another kind: `held` was true on this path; with `assume` it is
 * also a path constraint (a division's divisor != 0), without it only a candidate (a
 * setcc/cmovcc condition the path did not branch on). value: a pinned address's or
 * target's concrete value (0 for the other kinds). */
void sx_path_candidate(struct sx_path *p, uint64_t pc, const struct sx_expr *held,
                       enum sx_flip_kind kind, bool assume, uint64_t value);
/* Solve for an input that follows this path up to branch `i` and then goes the other
 * way. `model` should be seeded with the current input. The query holds only the
 * constraints that share input bytes, transitively, with the negated branch (KLEE's
 * independence): the others read bytes the answer does not change, and the seed
 * satisfies them. Not while threads still add to the path. */
enum sx_sat sx_path_flip(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                         size_t i, struct sx_model *model);
/* The same with more constraints on the negated branch's bytes (the values of a pinned
 * address or target found so far, excluded to find the next). */
enum sx_sat sx_path_flip_excluding(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                                   size_t i, struct sx_model *model,
                                   const struct sx_expr *const *extra, size_t nextra);
/* QSYM's optimistic solving, for a flip the whole query leaves unsat: first the flip
 * with the path's decisions but without the values it pinned concrete (a copy's length
 * made concrete for rep movs: its other values then stay within the path's own bounds),
 * then, if that is not sat, the negated branch alone with the constraints the seed does
 * not meet (assumptions the run must keep). The input may break earlier constraints; the
 * next execution decides whether it reaches the other side. */
enum sx_sat sx_path_flip_optimistic(struct sx_path *p, struct sx_ctx *ctx, struct sx_solver *s,
                                    size_t i, struct sx_model *model);

#endif
