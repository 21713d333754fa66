#include "smtlib.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ---- */

struct collect {
    const struct sx_expr **nodes;
    size_t n, cap;
};

static bool collect_node(const struct sx_expr *e, void *arg)
{
    struct collect *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        const struct sx_expr **t = realloc(c->nodes, c->cap * sizeof *t);
        if (!t)
            return false;
        c->nodes = t;
    }
    c->nodes[c->n++] = e;
    return true;
}

static int by_id(const void *a, const void *b)
{
    uint32_t x = (*(const struct sx_expr *const *)a)->id, y = (*(const struct sx_expr *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Where node e is in the id-sorted list. */
static size_t place_of(const struct collect *c, const struct sx_expr *e)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->nodes[mid]->id < e->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Operands before their users: ids are not that order (threads take ids in blocks), so
 * a post-order walk, iterative, gives each node its name (`name`, by place) and the
 * order to write them in (`order`). */
static bool topo_order(const struct collect *c, size_t *name, const struct sx_expr **order)
{
    const size_t unnamed = (size_t)-1;
    for (size_t i = 0; i < c->n; i++)
        name[i] = unnamed;
    size_t *stack = malloc((c->n ? c->n : 1) * sizeof *stack * 4), next = 0;
    if (!stack)
        return false;
    for (size_t root = 0; root < c->n; root++) {
        if (name[root] != unnamed)
            continue;
        size_t sp = 0;
        stack[sp++] = root;
        while (sp) {
            size_t i = stack[sp - 1];
            if (name[i] != unnamed) {
                sp--;
                continue;
            }
            const struct sx_expr *e = c->nodes[i];
            const struct sx_expr *kids[3] = { e->a, e->b, e->c };
            bool ready = true;
            for (int k = 0; k < 3; k++) {
                if (!kids[k])
                    continue;
                size_t j = place_of(c, kids[k]);
                if (name[j] == unnamed) {
                    ready = false;
                    stack[sp++] = j; /* at most 3 per node on the stack: 4n is room */
                }
            }
            if (ready) {
                name[i] = next;
                order[next++] = e;
                sp--;
            }
        }
    }
    free(stack);
    return true;
}

static void u128_decimal(sx_u128 v, char out[48])
{
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

static const char *const smt_ops[SX_OP_COUNT] = {
    [SX_ADD] = "bvadd", [SX_SUB] = "bvsub", [SX_MUL] = "bvmul", [SX_UDIV] = "bvudiv",
    [SX_SDIV] = "bvsdiv", [SX_UREM] = "bvurem", [SX_SREM] = "bvsrem", [SX_AND] = "bvand",
    [SX_OR] = "bvor", [SX_XOR] = "bvxor", [SX_NOT] = "bvnot", [SX_NEG] = "bvneg",
    [SX_SHL] = "bvshl", [SX_LSHR] = "bvlshr", [SX_ASHR] = "bvashr", [SX_EQ] = "=",
    [SX_ULT] = "bvult", [SX_ULE] = "bvule", [SX_SLT] = "bvslt", [SX_SLE] = "bvsle",
    [SX_CONCAT] = "concat",
};

static bool is_compare(unsigned op)
{
    return op == SX_EQ || op == SX_ULT || op == SX_ULE || op == SX_SLT || op == SX_SLE;
}

bool sx_smtlib_write(FILE *f, struct sx_ctx *ctx, const struct sx_expr *const *constraints,
                     size_t n)
{
    struct collect c = { 0 };
    struct sx_walker w = { 0 };
    bool ok = sx_walk(&w, constraints, n, collect_node, &c);
    sx_walker_release(&w);
    if (!ok) {
        free(c.nodes);
        errno = ENOMEM;
        return false;
    }
    qsort(c.nodes, c.n, sizeof *c.nodes, by_id);
    size_t *name = malloc((c.n ? c.n : 1) * sizeof *name);
    const struct sx_expr **order = malloc((c.n ? c.n : 1) * sizeof *order);
    if (!name || !order || !topo_order(&c, name, order)) {
        free(name);
        free(order);
        free(c.nodes);
        errno = ENOMEM;
        return false;
    }
#define NAME(e) name[place_of(&c, (e))]
    fprintf(f, "; symhv query: %zu constraints, %zu nodes\n(set-logic QF_BV)\n", n, c.n);
    for (uint32_t i = 0; i < sx_input_count(ctx); i++) {
        const struct sx_input *in = sx_input_get(ctx, i);
        char iname[sizeof in->name];
        size_t k = 0;
        for (; in->name[k] && k < sizeof iname - 1; k++) /* a guest names inputs: one line */
            iname[k] = in->name[k] >= 0x20 && in->name[k] < 0x7f ? in->name[k] : '?';
        iname[k] = 0;
        fprintf(f, "; input %u %u %s\n", i, in->size, k ? iname : "?");
    }
    for (size_t i = 0; i < c.n; i++) {
        const struct sx_expr *e = c.nodes[i];
        if (e->op == SX_INPUT)
            fprintf(f, "(declare-fun i%u.%u () (_ BitVec 8))\n", (unsigned)(e->value >> 32),
                    (unsigned)e->value);
    }
    for (size_t i = 0; i < c.n; i++) {
        const struct sx_expr *e = order[i];
        size_t a = e->a ? NAME(e->a) : 0, b = e->b ? NAME(e->b) : 0;
        fprintf(f, "(define-fun e%zu () (_ BitVec %u) ", i, e->width);
        char dec[48];
        switch (e->op) {
        case SX_CONST:
            u128_decimal(e->value, dec);
            fprintf(f, "(_ bv%s %u)", dec, e->width);
            break;
        case SX_INPUT:
            fprintf(f, "i%u.%u", (unsigned)(e->value >> 32), (unsigned)e->value);
            break;
        case SX_NOT:
        case SX_NEG: fprintf(f, "(%s e%zu)", smt_ops[e->op], a); break;
        case SX_EXTRACT:
            fprintf(f, "((_ extract %u %u) e%zu)", e->lo + e->width - 1, e->lo, a);
            break;
        case SX_ZEXT:
        case SX_SEXT:
            fprintf(f, "((_ %s %u) e%zu)", e->op == SX_ZEXT ? "zero_extend" : "sign_extend",
                    e->width - e->a->width, a);
            break;
        case SX_ITE:
            fprintf(f, "(ite (= e%zu #b1) e%zu e%zu)", a, b, NAME(e->c));
            break;
        default:
            if (is_compare(e->op))
                fprintf(f, "(ite (%s e%zu e%zu) #b1 #b0)", smt_ops[e->op], a, b);
            else
                fprintf(f, "(%s e%zu e%zu)", smt_ops[e->op], a, b);
            break;
        }
        fputs(")\n", f);
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "(assert (= e%zu #b1))\n", NAME(constraints[i]));
#undef NAME
    fputs("(check-sat)\n(exit)\n", f);
    free(name);
    free(order);
    free(c.nodes);
    return !ferror(f);
}

/* ---- reading ---- */

#define MAX_TOKENS 32 /* the longest line symhv writes has 21 */

struct reader {
    struct sx_ctx *ctx;
    const struct sx_expr **nodes;
    size_t n, cap;
    const struct sx_expr **cons;
    size_t ncons, cons_cap;
    uint32_t ninputs; /* inputs this file declared (ids 0..) */
    unsigned long line;
    char *err;
    size_t err_size;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct reader *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->err_size, "line %lu: %s", r->line, msg);
    return -1;
}

/* Split at blanks and parentheses; parentheses are tokens of their own. */
static int tokenize(char *s, char *tok[MAX_TOKENS])
{
    int n = 0;
    while (*s) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            *s++ = 0;
            continue;
        }
        if (n == MAX_TOKENS)
            return -1;
        if (*s == '(' || *s == ')') {
            static char open[] = "(", close[] = ")";
            tok[n++] = *s == '(' ? open : close;
            *s++ = 0;
            continue;
        }
        tok[n++] = s;
        while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '(' && *s != ')')
            s++;
    }
    return n;
}

/* Does tok[0..n) equal the pattern? In the pattern, '%' stands for any one token. */
static bool shape(char *const *tok, int n, const char *const *pat, int np)
{
    if (n != np)
        return false;
    for (int i = 0; i < n; i++)
        if (strcmp(pat[i], "%") != 0 && strcmp(pat[i], tok[i]) != 0)
            return false;
    return true;
}
#define SHAPE(tok, n, ...) \
    shape(tok, n, (const char *const[]){ __VA_ARGS__ }, \
          (int)(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)))

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    if (!*s || strlen(s) > 10)
        return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool parse_u128(const char *s, sx_u128 *out)
{
    if (!*s || strlen(s) > 39)
        return false;
    sx_u128 v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        sx_u128 next = v * 10 + (sx_u128)(*s - '0');
        if (next / 10 != v)
            return false; /* past 2^128 */
        v = next;
    }
    *out = v;
    return true;
}

/* A reference eN to an earlier node. */
static const struct sx_expr *ref(struct reader *r, const char *s)
{
    uint32_t k;
    if (s[0] != 'e' || !parse_u32(s + 1, UINT32_MAX - 1, &k) || k >= r->n)
        return NULL;
    return r->nodes[k];
}

static const struct sx_expr *input_ref(struct reader *r, const char *s)
{
    const char *dot = s[0] == 'i' ? strchr(s, '.') : NULL;
    if (!dot || dot - s > 11)
        return NULL;
    char id[12];
    memcpy(id, s + 1, (size_t)(dot - s - 1));
    id[dot - s - 1] = 0;
    uint32_t input, offset;
    if (!parse_u32(id, UINT32_MAX, &input) || input >= r->ninputs ||
        !parse_u32(dot + 1, UINT32_MAX, &offset) || offset >= sx_input_get(r->ctx, input)->size)
        return NULL;
    return sx_input_byte(r->ctx, input, offset);
}

static int op_of(const char *name)
{
    for (int op = 0; op < SX_OP_COUNT; op++)
        if (smt_ops[op] && strcmp(smt_ops[op], name) == 0)
            return op;
    return -1;
}

/* The node of a define-fun's body tok[0..n); its declared width is w. */
static const struct sx_expr *body(struct reader *r, char *const *tok, int n, unsigned w)
{
    struct sx_ctx *ctx = r->ctx;
    const struct sx_expr *a, *b, *c;
    uint32_t x, y;
    if (n == 1)
        return w == 8 ? input_ref(r, tok[0]) : NULL;
    if (SHAPE(tok, n, "(", "_", "%", "%", ")")) { /* (_ bvV W) */
        sx_u128 v;
        if (strncmp(tok[2], "bv", 2) != 0 || !parse_u128(tok[2] + 2, &v) ||
            !parse_u32(tok[3], 128, &x) || x != w || (v & ~sx_mask(w)))
            return NULL;
        return sx_const(ctx, w, v);
    }
    if (SHAPE(tok, n, "(", "%", "%", ")")) { /* (bvnot eA) */
        int op = op_of(tok[1]);
        if ((op != SX_NOT && op != SX_NEG) || !(a = ref(r, tok[2])) || a->width != w)
            return NULL;
        return sx_unop(ctx, (enum sx_op)op, a);
    }
    if (SHAPE(tok, n, "(", "%", "%", "%", ")")) { /* (bvadd eA eB), (concat eA eB) */
        int op = op_of(tok[1]);
        if (op < 0 || op == SX_NOT || op == SX_NEG || is_compare((unsigned)op) ||
            !(a = ref(r, tok[2])) || !(b = ref(r, tok[3])))
            return NULL;
        if (op == SX_CONCAT)
            return a->width + b->width == w ? sx_concat(ctx, a, b) : NULL;
        return a->width == w && b->width == w ? sx_binop(ctx, (enum sx_op)op, a, b) : NULL;
    }
    if (SHAPE(tok, n, "(", "ite", "(", "%", "%", "%", ")", "#b1", "#b0", ")")) {
        int op = op_of(tok[3]);
        if (op < 0 || !is_compare((unsigned)op) || w != 1 || !(a = ref(r, tok[4])) ||
            !(b = ref(r, tok[5])) || a->width != b->width)
            return NULL;
        return sx_binop(ctx, (enum sx_op)op, a, b);
    }
    if (SHAPE(tok, n, "(", "ite", "(", "=", "%", "#b1", ")", "%", "%", ")")) {
        if (!(a = ref(r, tok[4])) || a->width != 1 || !(b = ref(r, tok[7])) ||
            !(c = ref(r, tok[8])) || b->width != w || c->width != w)
            return NULL;
        return sx_ite(ctx, a, b, c);
    }
    if (SHAPE(tok, n, "(", "(", "_", "extract", "%", "%", ")", "%", ")")) {
        if (!parse_u32(tok[4], 127, &x) || !parse_u32(tok[5], 127, &y) || !(a = ref(r, tok[7])) ||
            y > x || x >= a->width || x - y + 1 != w)
            return NULL;
        return sx_extract(ctx, a, y, w);
    }
    if (SHAPE(tok, n, "(", "(", "_", "%", "%", ")", "%", ")")) {
        bool zext = strcmp(tok[3], "zero_extend") == 0;
        if ((!zext && strcmp(tok[3], "sign_extend") != 0) || !parse_u32(tok[4], 127, &x) ||
            !(a = ref(r, tok[6])) || a->width + x != w)
            return NULL;
        return zext ? sx_zext(ctx, a, w) : sx_sext(ctx, a, w);
    }
    return NULL;
}

static bool push(const struct sx_expr ***v, size_t *n, size_t *cap, const struct sx_expr *e)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        const struct sx_expr **t = realloc(*v, c * sizeof *t);
        if (!t)
            return false;
        *v = t;
        *cap = c;
    }
    (*v)[(*n)++] = e;
    return true;
}

static int read_line(struct reader *r, char *line)
{
    if (strncmp(line, "; input ", 8) == 0) {
        char *name = line + 8;
        uint32_t id, size;
        /* "ID SIZE NAME...": the name runs to the end of the line */
        char *sp1 = strchr(name, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        if (!sp2)
            return fail(r, "an input line is not '; input ID SIZE NAME'");
        *sp1 = *sp2 = 0;
        if (!parse_u32(name, SX_MAX_INPUTS - 1, &id) || !parse_u32(sp1 + 1, UINT32_MAX, &size))
            return fail(r, "an input's id or size is not a number in range");
        char *nm = sp2 + 1;
        nm[strcspn(nm, "\r\n")] = 0;
        if (id != r->ninputs)
            return fail(r, "input %u out of order (expected %u)", id, r->ninputs);
        const struct sx_input *have = sx_input_get(r->ctx, id);
        if (have) {
            if (have->size != size || strncmp(have->name, nm, sizeof have->name - 1) != 0)
                return fail(r, "input %u differs from the one an earlier query declared", id);
        } else if (sx_input_declare(r->ctx, nm, size) != id) {
            return fail(r, "input %u cannot be declared", id);
        }
        r->ninputs++;
        return 0;
    }
    if (line[0] == ';' || line[0] == '\n' || line[0] == 0)
        return 0;
    char *tok[MAX_TOKENS];
    int n = tokenize(line, tok);
    if (n < 0)
        return fail(r, "a line longer than any symhv writes");
    if (n == 0 || SHAPE(tok, n, "(", "set-logic", "QF_BV", ")") ||
        SHAPE(tok, n, "(", "check-sat", ")") || SHAPE(tok, n, "(", "exit", ")"))
        return 0;
    if (SHAPE(tok, n, "(", "declare-fun", "%", "(", ")", "(", "_", "BitVec", "8", ")", ")"))
        return input_ref(r, tok[2]) ? 0 : fail(r, "unknown input byte %s", tok[2]);
    if (n >= 11 && SHAPE(tok, 9, "(", "define-fun", "%", "(", ")", "(", "_", "BitVec", "%") &&
        strcmp(tok[9], ")") == 0 && strcmp(tok[n - 1], ")") == 0) {
        uint32_t k, w;
        if (tok[2][0] != 'e' || !parse_u32(tok[2] + 1, UINT32_MAX, &k) || k != r->n)
            return fail(r, "node %s out of order (expected e%zu)", tok[2], r->n);
        if (r->n >= SX_SMTLIB_MAX_NODES)
            return fail(r, "more than %u nodes", SX_SMTLIB_MAX_NODES);
        if (!parse_u32(tok[8], 128, &w) || w == 0)
            return fail(r, "width %s out of 1..128", tok[8]);
        const struct sx_expr *e = body(r, tok + 10, n - 11, w);
        if (!e)
            return fail(r, "node e%u is not one symhv writes, or its operands do not fit", k);
        if (e->width != w)
            return fail(r, "node e%u has width %u, declared %u", k, e->width, w);
        if (!push(&r->nodes, &r->n, &r->cap, e))
            return fail(r, "out of memory");
        return 0;
    }
    if (SHAPE(tok, n, "(", "assert", "(", "=", "%", "#b1", ")", ")")) {
        const struct sx_expr *e = ref(r, tok[4]);
        if (!e || e->width != 1)
            return fail(r, "assert of %s, which is no earlier node of width 1", tok[4]);
        if (!push(&r->cons, &r->ncons, &r->cons_cap, e))
            return fail(r, "out of memory");
        return 0;
    }
    return fail(r, "not a line symhv writes");
}

int sx_smtlib_read(FILE *f, struct sx_ctx *ctx, const struct sx_expr ***constraints, size_t *n,
                   char *err, size_t err_size)
{
    struct reader r = { .ctx = ctx, .err = err, .err_size = err_size };
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    bool any = false;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        r.line++;
        if (strlen(line) > 4096) {
            rc = fail(&r, "a line longer than any symhv writes");
            break;
        }
        any |= strncmp(line, "; symhv query:", 14) == 0;
        rc = read_line(&r, line);
    }
    free(line);
    if (rc == 0 && ferror(f))
        rc = fail(&r, "read error: %s", strerror(errno));
    if (rc == 0 && !any)
        rc = fail(&r, "no '; symhv query:' header: not a query symhv wrote");
    free(r.nodes);
    if (rc) {
        free(r.cons);
        return -1;
    }
    *constraints = r.cons;
    *n = r.ncons;
    return 0;
}
