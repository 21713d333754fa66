/* What the C++ solver backends (cvc5, Bitwuzla) share, over their own term type T:
 * the post-order translation of expressions memoised by node id, and a query's input
 * bytes as plain data, so that a model is read without the expressions. */
#ifndef SYMEX_SOLVER_TERMS_HH
#define SYMEX_SOLVER_TERMS_HH

#include <cstdint>
#include <vector>

extern "C" {
#include "solver_backend.h"
}

namespace sx_terms {

template <typename T> T *memo_slot(std::vector<T> &v, uint32_t id)
{
    if (id >= v.size())
        v.resize((size_t)id * 2 + 1);
    return &v[id];
}

/* root's term. Post-order with an explicit stack: a guest decides how deep expressions
 * are. is_null(t) says a slot holds no term yet; node(e) makes e's term from its
 * operands' terms, which are in memo by then. */
template <typename T, typename IsNull, typename Node>
T translate(std::vector<T> &memo, const struct sx_expr *root, IsNull is_null, Node node)
{
    auto done = [&](const struct sx_expr *e) { return e->id < memo.size() && !is_null(memo[e->id]); };
    std::vector<const struct sx_expr *> st{ root };
    while (!st.empty()) {
        const struct sx_expr *e = st.back();
        if (done(e)) {
            st.pop_back();
            continue;
        }
        const struct sx_expr *kids[3] = { e->a, e->b, e->c };
        bool ready = true;
        for (const struct sx_expr *k : kids)
            if (k && !done(k)) {
                ready = false;
                st.push_back(k);
            }
        if (ready) {
            T t = node(e);
            *memo_slot(memo, e->id) = t;
            st.pop_back();
        }
    }
    return memo[root->id];
}

template <typename T> struct model_leaf {
    uint32_t input, offset;
    T term;
};

/* The input bytes constraints[0..n) use, with their terms (translated already). */
template <typename T>
void model_leaves(struct sx_walker *w, const struct sx_expr *const *c, size_t n,
                  const std::vector<T> &memo, std::vector<model_leaf<T>> &out)
{
    std::vector<const struct sx_expr *> leaves;
    sx_walk(w, c, n,
            [](const struct sx_expr *e, void *arg) {
                if (e->op == SX_INPUT)
                    static_cast<std::vector<const struct sx_expr *> *>(arg)->push_back(e);
                return true;
            },
            &leaves);
    out.clear();
    for (const struct sx_expr *leaf : leaves)
        out.push_back({ (uint32_t)(leaf->value >> 32), (uint32_t)leaf->value, memo[leaf->id] });
}

/* A query's assumptions, one guard literal per constraint (guard(c) asserts c under its
 * guard the first time), the progress beaten on the way; then, when a model is wanted,
 * the query's input bytes noted, and the portfolio's hook called: nothing of the
 * expressions is read after this returns. B derives from hooks (below) and has memo
 * and model_leaves. */
template <typename T, typename B, typename Guard>
std::vector<T> assumptions(B *b, const struct sx_expr *const *c, size_t n, bool model, Guard guard)
{
    std::vector<T> a;
    a.reserve(n);
    for (size_t i = 0; i < n; i++) {
        if (i % SX_PROGRESS_EVERY == SX_PROGRESS_EVERY - 1)
            sx_progress_beat(&b->progress);
        a.push_back(guard(c[i]));
    }
    if (model)
        model_leaves(&b->walker, c, n, b->memo, b->model_leaves);
    if (b->solving)
        b->solving(b->solving_arg);
    return a;
}

/* What every such backend keeps for the table's optional hooks, and the hooks that
 * only store it: a backend's struct derives from this one. */
struct hooks {
    void (*solving)(void *) = nullptr; /* the portfolio's hook, see solver_backend.h */
    void *solving_arg = nullptr;
    struct sx_walker walker = {};
    struct sx_progress progress = { nullptr, nullptr };
};

template <typename B> void destroy(void *impl)
{
    B *b = static_cast<B *>(impl);
    sx_walker_release(&b->walker);
    delete b;
}

template <typename B> void set_progress(void *impl, const struct sx_progress *p)
{
    static_cast<B *>(impl)->progress = p ? *p : sx_progress{ nullptr, nullptr };
}

template <typename B> void set_solving_hook(void *impl, void (*fn)(void *), void *arg)
{
    B *b = static_cast<B *>(impl);
    b->solving = fn;
    b->solving_arg = arg;
}

} // namespace sx_terms

#endif
