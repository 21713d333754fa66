#include "value.h"

const struct sx_expr *sx_v_expr(struct sx_ctx *ctx, struct sx_val v)
{
    return v.e ? v.e : sx_const(ctx, v.w, v.c);
}

struct sx_val sx_v_make(const struct sx_expr *e, sx_u128 concrete)
{
    struct sx_val v = { concrete & sx_mask(e->width), sx_is_const(e) ? NULL : e, e->width };
    return v;
}

static int is_compare(enum sx_op op)
{
    return op == SX_EQ || op == SX_ULT || op == SX_ULE || op == SX_SLT || op == SX_SLE;
}

struct sx_val sx_v_bin(struct sx_ctx *ctx, enum sx_op op, struct sx_val a, struct sx_val b)
{
    unsigned w = is_compare(op) ? 1 : a.w;
    sx_u128 c = sx_apply(op, w, 0, a.c, a.w, b.c, 0);
    if (!a.e && !b.e)
        return sx_v(w, c);
    return sx_v_make(sx_binop(ctx, op, sx_v_expr(ctx, a), sx_v_expr(ctx, b)), c);
}

struct sx_val sx_v_un(struct sx_ctx *ctx, enum sx_op op, struct sx_val a)
{
    sx_u128 c = sx_apply(op, a.w, 0, a.c, a.w, 0, 0);
    if (!a.e)
        return sx_v(a.w, c);
    return sx_v_make(sx_unop(ctx, op, a.e), c);
}

struct sx_val sx_v_extract(struct sx_ctx *ctx, struct sx_val a, unsigned lo, unsigned w)
{
    sx_u128 c = (a.c >> lo) & sx_mask(w);
    if (!a.e)
        return sx_v(w, c);
    return sx_v_make(sx_extract(ctx, a.e, lo, w), c);
}

struct sx_val sx_v_concat(struct sx_ctx *ctx, struct sx_val hi, struct sx_val lo)
{
    unsigned w = hi.w + lo.w;
    sx_u128 c = (hi.c << lo.w) | lo.c;
    if (!hi.e && !lo.e)
        return sx_v(w, c);
    return sx_v_make(sx_concat(ctx, sx_v_expr(ctx, hi), sx_v_expr(ctx, lo)), c);
}

struct sx_val sx_v_zext(struct sx_ctx *ctx, struct sx_val a, unsigned w)
{
    if (!a.e)
        return sx_v(w, a.c);
    return sx_v_make(sx_zext(ctx, a.e, w), a.c);
}

struct sx_val sx_v_sext(struct sx_ctx *ctx, struct sx_val a, unsigned w)
{
    sx_u128 c = sx_apply(SX_SEXT, w, 0, a.c, a.w, 0, 0);
    if (!a.e)
        return sx_v(w, c);
    return sx_v_make(sx_sext(ctx, a.e, w), c);
}

struct sx_val sx_v_ite(struct sx_ctx *ctx, struct sx_val cond, struct sx_val a, struct sx_val b)
{
    if (!cond.e)
        return cond.c ? a : b;
    sx_u128 c = cond.c ? a.c : b.c;
    return sx_v_make(sx_ite(ctx, cond.e, sx_v_expr(ctx, a), sx_v_expr(ctx, b)), c);
}

struct sx_val sx_v_insert(struct sx_ctx *ctx, struct sx_val old, unsigned lo, struct sx_val v)
{
    if (!old.e && !v.e) {
        sx_u128 m = sx_mask(v.w) << lo;
        return sx_v(old.w, (old.c & ~m) | (v.c << lo));
    }
    struct sx_val r = v;
    if (lo > 0)
        r = sx_v_concat(ctx, r, sx_v_extract(ctx, old, 0, lo));
    if (lo + v.w < old.w)
        r = sx_v_concat(ctx, sx_v_extract(ctx, old, lo + v.w, old.w - lo - v.w), r);
    return r;
}
