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

} // namespace sx_terms

#endif
