/* The Bitwuzla backend ("bitwuzla"): Bitwuzla 0.2.0's C++ API (scripts/bitwuzla builds
 * it: Debian 12 has no package), behind the C backend table.
 *
 * Incremental as the Z3 and cvc5 backends are: one solver for all queries, each
 * constraint asserted once under a guard literal of its own (g => c), a query checked
 * under its guards as assumptions. Translations are memoised by node id. The per-query
 * time limit is Bitwuzla's time-limit-per; another thread interrupts a check through
 * the terminator. Bitwuzla 0.2.0 keeps its terms in a per-thread node manager, so the
 * solver is made, used and destroyed on one thread (the portfolio's workers do so).
 * A check stopped by its time limit or an interrupt leaves the solver as it was, for the
 * next query (its assertions kept: making it anew cost more than the query did); after an
 * exception it is made anew (the terms stay valid; the guards are asserted again as
 * queries need them). Every exception answers SX_UNKNOWN. */
#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <bitwuzla/cpp/bitwuzla.h>

#include "solver_terms.hh"

namespace {

using bitwuzla::Kind;
using bitwuzla::Term;

struct interrupter : bitwuzla::Terminator {
    std::atomic<bool> stop{ false };
    bool terminate() override { return stop.load(std::memory_order_relaxed); }
};

struct bzla_backend : sx_terms::hooks {
    struct sx_ctx *ctx;
    unsigned timeout_ms;
    interrupter stop; /* before `solver`, which points at it: destroyed after it */
    std::unique_ptr<bitwuzla::Bitwuzla> solver;
    std::vector<Term> memo;   /* translated expressions by id */
    std::vector<Term> guards; /* guard literal of each constraint asserted in `solver` */
    std::vector<sx_terms::model_leaf<Term>> model_leaves; /* the current query's */
};

void new_solver(bzla_backend *b)
{
    bitwuzla::Options o;
    o.set(bitwuzla::Option::PRODUCE_MODELS, 1);
    if (b->timeout_ms)
        o.set(bitwuzla::Option::TIME_LIMIT_PER, b->timeout_ms);
    b->guards.clear(); /* asserted in the old solver only */
    b->solver = std::make_unique<bitwuzla::Bitwuzla>(o);
    b->solver->configure_terminator(&b->stop);
}

Term mk_const(unsigned width, sx_u128 v)
{
    if (width <= 64)
        return bitwuzla::mk_bv_value_uint64(bitwuzla::mk_bv_sort(width), (uint64_t)v);
    Term hi = bitwuzla::mk_bv_value_uint64(bitwuzla::mk_bv_sort(width - 64), (uint64_t)(v >> 64));
    Term lo = bitwuzla::mk_bv_value_uint64(bitwuzla::mk_bv_sort(64), (uint64_t)v);
    return bitwuzla::mk_term(Kind::BV_CONCAT, { hi, lo });
}

Term bool_of_bv(const Term &bv1)
{
    return bitwuzla::mk_term(Kind::EQUAL, { bv1, bitwuzla::mk_bv_one(bitwuzla::mk_bv_sort(1)) });
}

Term bv_of_bool(Kind k, const Term &x, const Term &y)
{
    bitwuzla::Sort s1 = bitwuzla::mk_bv_sort(1);
    return bitwuzla::mk_term(Kind::ITE, { bitwuzla::mk_term(k, { x, y }), bitwuzla::mk_bv_one(s1),
                                          bitwuzla::mk_bv_zero(s1) });
}

/* One node whose operands are translated already. */
Term translate_node(bzla_backend *b, const struct sx_expr *e)
{
    Term x = e->a ? b->memo[e->a->id] : Term();
    Term y = e->b ? b->memo[e->b->id] : Term();
    auto op2 = [&](Kind k) { return bitwuzla::mk_term(k, { x, y }); };
    switch (e->op) {
    case SX_CONST: return mk_const(e->width, e->value);
    case SX_INPUT: {
        char name[96];
        sx_input_byte_name(b->ctx, e, name, sizeof name);
        return bitwuzla::mk_const(bitwuzla::mk_bv_sort(8), std::string(name));
    }
    case SX_ADD: return op2(Kind::BV_ADD);
    case SX_SUB: return op2(Kind::BV_SUB);
    case SX_MUL: return op2(Kind::BV_MUL);
    case SX_UDIV: return op2(Kind::BV_UDIV);
    case SX_SDIV: return op2(Kind::BV_SDIV);
    case SX_UREM: return op2(Kind::BV_UREM);
    case SX_SREM: return op2(Kind::BV_SREM);
    case SX_AND: return op2(Kind::BV_AND);
    case SX_OR: return op2(Kind::BV_OR);
    case SX_XOR: return op2(Kind::BV_XOR);
    case SX_NOT: return bitwuzla::mk_term(Kind::BV_NOT, { x });
    case SX_NEG: return bitwuzla::mk_term(Kind::BV_NEG, { x });
    case SX_SHL: return op2(Kind::BV_SHL);
    case SX_LSHR: return op2(Kind::BV_SHR);
    case SX_ASHR: return op2(Kind::BV_ASHR);
    case SX_EQ: return bv_of_bool(Kind::EQUAL, x, y);
    case SX_ULT: return bv_of_bool(Kind::BV_ULT, x, y);
    case SX_ULE: return bv_of_bool(Kind::BV_ULE, x, y);
    case SX_SLT: return bv_of_bool(Kind::BV_SLT, x, y);
    case SX_SLE: return bv_of_bool(Kind::BV_SLE, x, y);
    case SX_EXTRACT:
        return bitwuzla::mk_term(Kind::BV_EXTRACT, { x }, { (uint64_t)e->lo + e->width - 1u, e->lo });
    case SX_CONCAT: return op2(Kind::BV_CONCAT);
    case SX_ZEXT: return bitwuzla::mk_term(Kind::BV_ZERO_EXTEND, { x }, { (uint64_t)(e->width - e->a->width) });
    case SX_SEXT: return bitwuzla::mk_term(Kind::BV_SIGN_EXTEND, { x }, { (uint64_t)(e->width - e->a->width) });
    case SX_ITE: return bitwuzla::mk_term(Kind::ITE, { bool_of_bv(x), y, b->memo[e->c->id] });
    default: abort();
    }
}

Term translate(bzla_backend *b, const struct sx_expr *root)
{
    return sx_terms::translate(
        b->memo, root, [](const Term &t) { return t.is_null(); },
        [b](const struct sx_expr *e) { return translate_node(b, e); });
}

Term guard_of(bzla_backend *b, const struct sx_expr *c)
{
    Term *g = sx_terms::memo_slot(b->guards, c->id);
    if (g->is_null()) {
        Term body = bool_of_bv(translate(b, c));
        Term lit = bitwuzla::mk_const(bitwuzla::mk_bool_sort(), "g" + std::to_string(c->id));
        b->solver->assert_formula(bitwuzla::mk_term(Kind::IMPLIES, { lit, body }));
        g = sx_terms::memo_slot(b->guards, c->id); /* the vector may have moved */
        *g = lit;
    }
    return *g;
}

void read_model(bzla_backend *b, struct sx_model *model)
{
    for (const auto &leaf : b->model_leaves) {
        Term v = b->solver->get_value(leaf.term);
        if (!v.is_value())
            continue;
        unsigned long byte = std::stoul(v.value<std::string>(16), nullptr, 16);
        sx_model_set(model, leaf.input, leaf.offset, (uint8_t)byte);
    }
}

enum sx_sat check_impl(bzla_backend *b, const struct sx_expr *const *c, size_t n,
                       struct sx_model *model)
{
    if (!b->solver)
        new_solver(b);
    std::vector<Term> assumptions = sx_terms::assumptions<Term>(
        b, c, n, model != nullptr, [b](const struct sx_expr *e) { return guard_of(b, e); });
    bitwuzla::Result r = b->solver->check_sat(assumptions);
    if (r == bitwuzla::Result::SAT) {
        if (model)
            read_model(b, model);
        return SX_SAT;
    }
    return r == bitwuzla::Result::UNSAT ? SX_UNSAT : SX_UNKNOWN;
}

} // namespace

static void *bzla_new(struct sx_ctx *ctx, unsigned timeout_ms)
{
    bzla_backend *b = nullptr;
    try {
        b = new bzla_backend;
        b->ctx = ctx;
        b->timeout_ms = timeout_ms;
        new_solver(b);
        return b;
    } catch (...) {
        delete b;
        return nullptr;
    }
}

static enum sx_sat bzla_check(void *impl, const struct sx_expr *const *c, size_t n,
                              struct sx_model *model)
{
    bzla_backend *b = static_cast<bzla_backend *>(impl);
    b->stop.stop.store(false);
    try {
        return check_impl(b, c, n, model);
    } catch (...) { /* a limit reached, out of memory: the caller sees UNKNOWN */
        b->solver.reset();
        return SX_UNKNOWN;
    }
}

/* From another thread: the running check's terminator answers true from now on. */
static void bzla_interrupt(void *impl)
{
    static_cast<bzla_backend *>(impl)->stop.stop.store(true);
}

extern "C" const struct sx_solver_backend sx_backend_bitwuzla = {
    "bitwuzla", bzla_new, bzla_check, sx_terms::destroy<bzla_backend>, nullptr,
    sx_terms::set_progress<bzla_backend>,
    bzla_interrupt, sx_terms::set_solving_hook<bzla_backend>, nullptr,
};
