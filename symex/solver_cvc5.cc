/* The cvc5 backend ("cvc5"): Debian's libcvc5-dev 1.0.3, whose only API is C++ (a C API
 * came later), so this one file is C++ behind the C backend table.
 *
 * Incremental as the Z3 backend is: one solver for all queries, each constraint asserted
 * once under a guard literal of its own (g => c), a query checked under its guards as
 * assumptions. Translations are memoised by node id. The per-query time limit is cvc5's
 * tlimit-per; cvc5 1.0.3 cannot be interrupted from another thread (the portfolio says
 * so). Every cvc5 exception (a limit, out of memory) answers SX_UNKNOWN. */
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <cvc5/cvc5.h>

#include "solver_terms.hh"

namespace {

struct cvc5_backend : sx_terms::hooks {
    struct sx_ctx *ctx;
    cvc5::Solver solver;
    std::vector<cvc5::Term> memo;   /* translated expressions by id */
    std::vector<cvc5::Term> guards; /* guard literal of each asserted constraint, by id */
    std::vector<sx_terms::model_leaf<cvc5::Term>> model_leaves; /* the current query's */
};

cvc5::Term mk_const(cvc5_backend *b, unsigned width, sx_u128 v)
{
    if (width <= 64)
        return b->solver.mkBitVector(width, (uint64_t)v);
    cvc5::Term hi = b->solver.mkBitVector(width - 64, (uint64_t)(v >> 64));
    cvc5::Term lo = b->solver.mkBitVector(64, (uint64_t)v);
    return b->solver.mkTerm(cvc5::BITVECTOR_CONCAT, { hi, lo });
}

cvc5::Term bool_of_bv(cvc5_backend *b, const cvc5::Term &bv1)
{
    return b->solver.mkTerm(cvc5::EQUAL, { bv1, b->solver.mkBitVector(1, 1) });
}

cvc5::Term bv_of_bool(cvc5_backend *b, cvc5::Kind k, const cvc5::Term &x, const cvc5::Term &y)
{
    cvc5::Solver &s = b->solver;
    return s.mkTerm(cvc5::ITE, { s.mkTerm(k, { x, y }), s.mkBitVector(1, 1), s.mkBitVector(1, 0) });
}

/* One node whose operands are translated already. */
cvc5::Term translate_node(cvc5_backend *b, const struct sx_expr *e)
{
    cvc5::Solver &s = b->solver;
    cvc5::Term x = e->a ? b->memo[e->a->id] : cvc5::Term();
    cvc5::Term y = e->b ? b->memo[e->b->id] : cvc5::Term();
    switch (e->op) {
    case SX_CONST: return mk_const(b, e->width, e->value);
    case SX_INPUT: {
        char name[96];
        sx_input_byte_name(b->ctx, e, name, sizeof name);
        return s.mkConst(s.mkBitVectorSort(8), name);
    }
    case SX_ADD: return s.mkTerm(cvc5::BITVECTOR_ADD, { x, y });
    case SX_SUB: return s.mkTerm(cvc5::BITVECTOR_SUB, { x, y });
    case SX_MUL: return s.mkTerm(cvc5::BITVECTOR_MULT, { x, y });
    case SX_UDIV: return s.mkTerm(cvc5::BITVECTOR_UDIV, { x, y });
    case SX_SDIV: return s.mkTerm(cvc5::BITVECTOR_SDIV, { x, y });
    case SX_UREM: return s.mkTerm(cvc5::BITVECTOR_UREM, { x, y });
    case SX_SREM: return s.mkTerm(cvc5::BITVECTOR_SREM, { x, y });
    case SX_AND: return s.mkTerm(cvc5::BITVECTOR_AND, { x, y });
    case SX_OR: return s.mkTerm(cvc5::BITVECTOR_OR, { x, y });
    case SX_XOR: return s.mkTerm(cvc5::BITVECTOR_XOR, { x, y });
    case SX_NOT: return s.mkTerm(cvc5::BITVECTOR_NOT, { x });
    case SX_NEG: return s.mkTerm(cvc5::BITVECTOR_NEG, { x });
    case SX_SHL: return s.mkTerm(cvc5::BITVECTOR_SHL, { x, y });
    case SX_LSHR: return s.mkTerm(cvc5::BITVECTOR_LSHR, { x, y });
    case SX_ASHR: return s.mkTerm(cvc5::BITVECTOR_ASHR, { x, y });
    case SX_EQ: return bv_of_bool(b, cvc5::EQUAL, x, y);
    case SX_ULT: return bv_of_bool(b, cvc5::BITVECTOR_ULT, x, y);
    case SX_ULE: return bv_of_bool(b, cvc5::BITVECTOR_ULE, x, y);
    case SX_SLT: return bv_of_bool(b, cvc5::BITVECTOR_SLT, x, y);
    case SX_SLE: return bv_of_bool(b, cvc5::BITVECTOR_SLE, x, y);
    case SX_EXTRACT:
        return s.mkTerm(s.mkOp(cvc5::BITVECTOR_EXTRACT, { (uint32_t)e->lo + e->width - 1u, e->lo }), { x });
    case SX_CONCAT: return s.mkTerm(cvc5::BITVECTOR_CONCAT, { x, y });
    case SX_ZEXT:
        return s.mkTerm(s.mkOp(cvc5::BITVECTOR_ZERO_EXTEND, { (uint32_t)(e->width - e->a->width) }), { x });
    case SX_SEXT:
        return s.mkTerm(s.mkOp(cvc5::BITVECTOR_SIGN_EXTEND, { (uint32_t)(e->width - e->a->width) }), { x });
    case SX_ITE: return s.mkTerm(cvc5::ITE, { bool_of_bv(b, x), y, b->memo[e->c->id] });
    default: abort();
    }
}

cvc5::Term translate(cvc5_backend *b, const struct sx_expr *root)
{
    return sx_terms::translate(
        b->memo, root, [](const cvc5::Term &t) { return t.isNull(); },
        [b](const struct sx_expr *e) { return translate_node(b, e); });
}

cvc5::Term guard_of(cvc5_backend *b, const struct sx_expr *c)
{
    cvc5::Term *g = sx_terms::memo_slot(b->guards, c->id);
    if (g->isNull()) {
        cvc5::Term body = bool_of_bv(b, translate(b, c));
        cvc5::Term lit = b->solver.mkConst(b->solver.getBooleanSort(), "g" + std::to_string(c->id));
        b->solver.assertFormula(b->solver.mkTerm(cvc5::IMPLIES, { lit, body }));
        g = sx_terms::memo_slot(b->guards, c->id); /* the vector may have moved */
        *g = lit;
    }
    return *g;
}

void read_model(cvc5_backend *b, struct sx_model *model)
{
    for (const auto &leaf : b->model_leaves) {
        cvc5::Term v = b->solver.getValue(leaf.term);
        if (!v.isBitVectorValue())
            continue;
        unsigned long byte = std::stoul(v.getBitVectorValue(16), nullptr, 16);
        sx_model_set(model, leaf.input, leaf.offset, (uint8_t)byte);
    }
}

enum sx_sat check_impl(cvc5_backend *b, const struct sx_expr *const *c, size_t n,
                       struct sx_model *model)
{
    std::vector<cvc5::Term> assumptions = sx_terms::assumptions<cvc5::Term>(
        b, c, n, model != nullptr, [b](const struct sx_expr *e) { return guard_of(b, e); });
    cvc5::Result r = b->solver.checkSatAssuming(assumptions);
    if (r.isSat()) {
        if (model)
            read_model(b, model);
        return SX_SAT;
    }
    return r.isUnsat() ? SX_UNSAT : SX_UNKNOWN;
}

} // namespace

static void *cvc5_new(struct sx_ctx *ctx, unsigned timeout_ms)
{
    cvc5_backend *b = nullptr;
    try {
        b = new cvc5_backend;
        b->ctx = ctx;
        b->solver.setOption("incremental", "true");
        b->solver.setOption("produce-models", "true");
        if (timeout_ms)
            b->solver.setOption("tlimit-per", std::to_string(timeout_ms));
        b->solver.setLogic("QF_BV");
        return b;
    } catch (...) {
        if (b)
            sx_walker_release(&b->walker);
        delete b;
        return nullptr;
    }
}

static enum sx_sat cvc5_check(void *impl, const struct sx_expr *const *c, size_t n,
                              struct sx_model *model)
{
    cvc5_backend *b = static_cast<cvc5_backend *>(impl);
    try {
        return check_impl(b, c, n, model);
    } catch (...) { /* a limit reached, out of memory: the caller sees UNKNOWN */
        return SX_UNKNOWN;
    }
}

extern "C" const struct sx_solver_backend sx_backend_cvc5 = {
    "cvc5", cvc5_new, cvc5_check, sx_terms::destroy<cvc5_backend>, nullptr,
    sx_terms::set_progress<cvc5_backend>, nullptr,
    sx_terms::set_solving_hook<cvc5_backend>, nullptr,
};

/* libcln (cvc5's arbitrary-precision numbers) keeps one allocation of its static
 * initialisation past exit; LeakSanitizer, in the test builds, would fail every process
 * that links cvc5 on it. Only that library's leaks are suppressed. */
extern "C" const char *__lsan_default_suppressions(void);
extern "C" __attribute__((used)) const char *__lsan_default_suppressions(void)
{
    return "leak:libcln.so\n";
}

extern "C" const char *__lsan_default_options(void);
extern "C" __attribute__((used)) const char *__lsan_default_options(void)
{
    return "print_suppressions=0";
}
