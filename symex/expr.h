/* Bit-vector expressions: an immutable, hash-consed DAG.
 *
 * Every node lives in a `struct sx_ctx` (an arena plus the hash-consing table); two
 * structurally equal expressions are the same pointer, so pointer equality is
 * expression equality and pointers can key caches. Constructors fold constants and
 * apply cheap simplifications. Widths are 1..128 bits.
 *
 * A context may be shared by threads (the sidecar interprets several vCPUs at once
 * into one context): constructors, inputs and sx_eval lock internally.
 */
#ifndef SYMEX_EXPR_H
#define SYMEX_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 sx_u128;

enum sx_op {
    SX_CONST,
    SX_INPUT,   /* one symbolic input byte: width 8, input id and offset in `value` */
    SX_ADD, SX_SUB, SX_MUL, SX_UDIV, SX_SDIV, SX_UREM, SX_SREM,
    SX_AND, SX_OR, SX_XOR, SX_NOT, SX_NEG,
    SX_SHL, SX_LSHR, SX_ASHR,          /* shift amount has the operand's width */
    SX_EQ, SX_ULT, SX_ULE, SX_SLT, SX_SLE, /* width 1 */
    SX_EXTRACT, /* bits [lo, lo + width) of a; lo in `lo` */
    SX_CONCAT,  /* a is the high part, b the low part */
    SX_ZEXT, SX_SEXT,
    SX_ITE,     /* a (width 1) ? b : c */
    SX_OP_COUNT
};

struct sx_expr {
    uint8_t op;
    uint8_t width;
    uint8_t lo;          /* SX_EXTRACT */
    uint32_t hash;
    uint32_t id;         /* creation order, unique within the context */
    uint32_t depth;      /* longest path to a leaf (leaves: 1) */
    sx_u128 value;       /* SX_CONST: the value; SX_INPUT: (input id << 32) | offset */
    const struct sx_expr *a, *b, *c;
    uint64_t first_input; /* the least (input id << 32) | offset among its leaves;
                             UINT64_MAX: none (it fills what was padding) */
};

#define SX_MAX_INPUTS 256

/* A guest loop can build expressions as deep as it runs long (h = h*31 + in[i] ...).
 * Nothing here recurses along that depth (evaluation, printing and the solver
 * translation use explicit stacks), and the interpreter concretises a value whose
 * expression grows deeper than this (recording value == expression), so what reaches
 * the solver stays within what it handles. */
#define SX_MAX_DEPTH 1000

struct sx_input {
    char name[64];
    uint32_t size;
};

struct sx_ctx;

struct sx_ctx *sx_ctx_new(void);
void sx_ctx_free(struct sx_ctx *ctx);
size_t sx_ctx_node_count(struct sx_ctx *ctx);

/* Declare a symbolic input of `size` bytes; returns its id (UINT32_MAX past
 * SX_MAX_INPUTS). */
uint32_t sx_input_declare(struct sx_ctx *ctx, const char *name, uint32_t size);
const struct sx_input *sx_input_get(const struct sx_ctx *ctx, uint32_t id);
/* "NAME[OFFSET]" of an SX_INPUT node, as the solver backends name their variables. */
void sx_input_byte_name(const struct sx_ctx *ctx, const struct sx_expr *e, char *buf,
                        size_t size);
uint32_t sx_input_count(const struct sx_ctx *ctx);

static inline sx_u128 sx_mask(unsigned width)
{
    return width >= 128 ? ~(sx_u128)0 : (((sx_u128)1 << width) - 1);
}

const struct sx_expr *sx_const(struct sx_ctx *ctx, unsigned width, sx_u128 value);
const struct sx_expr *sx_input_byte(struct sx_ctx *ctx, uint32_t input, uint32_t offset);
/* Binary and unary operators; operands of binary ops must have equal widths. */
const struct sx_expr *sx_binop(struct sx_ctx *ctx, enum sx_op op, const struct sx_expr *a,
                               const struct sx_expr *b);
const struct sx_expr *sx_unop(struct sx_ctx *ctx, enum sx_op op, const struct sx_expr *a);
const struct sx_expr *sx_extract(struct sx_ctx *ctx, const struct sx_expr *a, unsigned lo,
                                 unsigned width);
const struct sx_expr *sx_concat(struct sx_ctx *ctx, const struct sx_expr *hi,
                                const struct sx_expr *lo);
const struct sx_expr *sx_zext(struct sx_ctx *ctx, const struct sx_expr *a, unsigned width);
const struct sx_expr *sx_sext(struct sx_ctx *ctx, const struct sx_expr *a, unsigned width);
const struct sx_expr *sx_ite(struct sx_ctx *ctx, const struct sx_expr *cond,
                             const struct sx_expr *a, const struct sx_expr *b);
/* Logical negation of a width-1 expression. */
const struct sx_expr *sx_lnot(struct sx_ctx *ctx, const struct sx_expr *cond);

static inline bool sx_is_const(const struct sx_expr *e) { return e->op == SX_CONST; }

/* Evaluate under an assignment of input bytes: bytes[input][offset] (NULL input or
 * offset past its length reads as 0). */
sx_u128 sx_eval(struct sx_ctx *ctx, const struct sx_expr *e, const uint8_t *const *bytes,
                const uint32_t *lengths);
/* Concrete semantics of one operator on constant operands (used by folding and by the
 * interpreter's concrete side, so both agree). */
sx_u128 sx_apply(enum sx_op op, unsigned width, unsigned lo, sx_u128 a, unsigned a_width,
                 sx_u128 b, sx_u128 c);

/* Visit every node reachable from roots[0..n) once, iteratively (a guest decides how
 * deep expressions are). `visit` returns false to stop early; sx_walk then returns
 * false. A walker keeps its buffers from one walk to the next (nodes are marked by
 * walk number, indexed by id: nothing is cleared between walks). */
struct sx_walker {
    uint32_t *mark, stamp;
    size_t mark_cap;
    const struct sx_expr **stack;
    size_t stack_cap;
};
bool sx_walk(struct sx_walker *w, const struct sx_expr *const *roots, size_t n,
             bool (*visit)(const struct sx_expr *e, void *ctx), void *ctx);
void sx_walker_release(struct sx_walker *w);

/* Print in an S-expression syntax, at most `size` bytes; returns the length needed.
 * A node used more than once is printed once with a label (N12:(...)) and referred to
 * by it (N12) afterwards, so the text grows with the DAG, not with its unfolding. */
size_t sx_expr_print(const struct sx_expr *e, const struct sx_ctx *ctx, char *buf, size_t size);
const char *sx_op_name(enum sx_op op);

#endif
