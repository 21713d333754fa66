/* Concolic values: a concrete value always, plus an expression when symbolic.
 * Operations compute both sides at once; while every operand is concrete no
 * expression is built, so concrete execution stays cheap. */
#ifndef SYMEX_VALUE_H
#define SYMEX_VALUE_H

#include "expr.h"

struct sx_val {
    sx_u128 c;                /* concrete value, masked to w bits */
    const struct sx_expr *e;  /* NULL when concrete */
    unsigned w;               /* width in bits, 1..128 */
};

static inline struct sx_val sx_v(unsigned w, sx_u128 c)
{
    return (struct sx_val){ c & sx_mask(w), NULL, w };
}

/* The value as an expression (a constant when concrete). */
const struct sx_expr *sx_v_expr(struct sx_ctx *ctx, struct sx_val v);
/* Wrap an expression whose concrete value is known. */
struct sx_val sx_v_make(const struct sx_expr *e, sx_u128 concrete);

struct sx_val sx_v_bin(struct sx_ctx *ctx, enum sx_op op, struct sx_val a, struct sx_val b);
struct sx_val sx_v_un(struct sx_ctx *ctx, enum sx_op op, struct sx_val a);
struct sx_val sx_v_extract(struct sx_ctx *ctx, struct sx_val a, unsigned lo, unsigned w);
struct sx_val sx_v_concat(struct sx_ctx *ctx, struct sx_val hi, struct sx_val lo);
struct sx_val sx_v_zext(struct sx_ctx *ctx, struct sx_val a, unsigned w);
struct sx_val sx_v_sext(struct sx_ctx *ctx, struct sx_val a, unsigned w);
struct sx_val sx_v_ite(struct sx_ctx *ctx, struct sx_val cond, struct sx_val a, struct sx_val b);
/* `old` with bits [lo, lo + v.w) replaced by v. */
struct sx_val sx_v_insert(struct sx_ctx *ctx, struct sx_val old, unsigned lo, struct sx_val v);
/* Bit `i` of a as a width-1 value. */
static inline struct sx_val sx_v_bit(struct sx_ctx *ctx, struct sx_val a, unsigned i)
{
    return sx_v_extract(ctx, a, i, 1);
}

#endif
