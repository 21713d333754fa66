#include "expr.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Arena chunks (one chain per thread): the first small (most contexts stay small), the
 * rest 2 MiB, one transparent huge page where the kernel offers them on request, so a
 * thread making nodes takes one page fault per 2 MiB instead of 512 (faults were a
 * fifth of a symbolic handoff's time). */
#define ARENA_FIRST_BYTES (64u << 10)
#define ARENA_BYTES (2u << 20)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    struct sx_expr nodes[];
};

struct eval_slot {
    sx_u128 value;
    uint32_t stamp;
};

/* Memo for pushing a low-bits extract down a DAG (see sx_extract): direct-mapped, per
 * thread (no lock, no cache line two interpreter threads write), an entry counting only
 * for the context of the same serial. */
#define EXTRACT_MEMO 4096
struct extract_memo {
    uint64_t serial;
    uint32_t id_plus_1;
    uint8_t width;
    const struct sx_expr *result;
};
static __thread struct extract_memo extract_memo[EXTRACT_MEMO];

/* A slot of the hash-consing table keeps the node's hash beside it, so a probe that
 * misses reads no node. */
struct intern_slot {
    uint32_t hash;
    const struct sx_expr *e;  /* NULL: empty */
};

/* Hash-consing per thread: each thread that builds expressions in a context interns
 * into its own table and allocates from its own arena, so building takes no lock and
 * writes no cache line another thread's core holds. One table for all threads, even
 * split in shards, made two vCPUs interpreted at once slower than one alone: with
 * every intern of a new node a lock's line moved between the cores (bench_interp
 * --parallel shows it). Within a thread equal nodes are one node; across threads
 * two equal nodes may exist, which only costs a folding that compares pointers (x ^ x)
 * its shortcut: no code concludes from two pointers differing that the values do. Nodes are
 * immutable once made and reach other threads through release stores (the shadow
 * memory, the path). Ids come from the context in blocks: unique, nearly dense. */
#define ID_BLOCK 1024
struct intern_table {
    size_t nslots;              /* open addressing, linear probing, at most half full */
    struct intern_slot slots[];
};
struct interner {
    struct interner *next;      /* the context's list (under ctx->lock) */
    pthread_t owner;
    struct intern_table *table;
    struct arena_chunk *chunks;
    size_t count;               /* atomic: read by sx_ctx_node_count */
    uint32_t next_id, id_end;   /* this thread's current block of ids */
};

/* Several interpreter threads (one per vCPU in the sidecar) build expressions in one
 * context, so constraints from all vCPUs share one DAG. `lock` guards the list of
 * interners and the inputs; `eval_lock` sx_eval's memo. No code holds both. */
struct sx_ctx {
    uint64_t serial;           /* unique per context ever made (the per-thread caches' key) */
    pthread_spinlock_t lock;
    struct interner *interners;
    uint32_t ids_given;        /* atomic: ids handed out in blocks so far */
    struct sx_input inputs[SX_MAX_INPUTS];
    uint32_t ninputs;
    pthread_mutex_t eval_lock;
    struct eval_slot *eval; /* memo for sx_eval, indexed by node id */
    size_t eval_cap;
    uint32_t eval_stamp;
};

/* This thread's interner in the context it used last (found or made on a switch). */
static __thread struct {
    uint64_t serial;
    struct interner *in;
} current_interner;

static const char *const op_names[SX_OP_COUNT] = {
    [SX_CONST] = "const", [SX_INPUT] = "input", [SX_ADD] = "bvadd", [SX_SUB] = "bvsub",
    [SX_MUL] = "bvmul", [SX_UDIV] = "bvudiv", [SX_SDIV] = "bvsdiv", [SX_UREM] = "bvurem",
    [SX_SREM] = "bvsrem", [SX_AND] = "bvand", [SX_OR] = "bvor", [SX_XOR] = "bvxor",
    [SX_NOT] = "bvnot", [SX_NEG] = "bvneg", [SX_SHL] = "bvshl", [SX_LSHR] = "bvlshr",
    [SX_ASHR] = "bvashr", [SX_EQ] = "=", [SX_ULT] = "bvult", [SX_ULE] = "bvule",
    [SX_SLT] = "bvslt", [SX_SLE] = "bvsle", [SX_EXTRACT] = "extract",
    [SX_CONCAT] = "concat", [SX_ZEXT] = "zext", [SX_SEXT] = "sext", [SX_ITE] = "ite",
};

const char *sx_op_name(enum sx_op op) { return op < SX_OP_COUNT ? op_names[op] : "?"; }

struct sx_ctx *sx_ctx_new(void)
{
    struct sx_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    /* Spin locks: the critical sections are a few loads and stores. */
    static _Atomic uint64_t serials; /* shared by all threads: atomic, no other state */
    ctx->serial = atomic_fetch_add(&serials, 1) + 1;
    pthread_spin_init(&ctx->lock, PTHREAD_PROCESS_PRIVATE);
    pthread_mutex_init(&ctx->eval_lock, NULL);
    return ctx;
}

void sx_ctx_free(struct sx_ctx *ctx)
{
    if (!ctx)
        return;
    for (struct interner *in = ctx->interners, *next; in; in = next) {
        next = in->next;
        while (in->chunks) {
            struct arena_chunk *c = in->chunks->next;
            free(in->chunks);
            in->chunks = c;
        }
        free(in->table);
        free(in);
    }
    free(ctx->eval);
    pthread_spin_destroy(&ctx->lock);
    pthread_mutex_destroy(&ctx->eval_lock);
    free(ctx);
}

size_t sx_ctx_node_count(struct sx_ctx *ctx)
{
    size_t n = 0;
    pthread_spin_lock(&ctx->lock);
    for (struct interner *in = ctx->interners; in; in = in->next)
        n += __atomic_load_n(&in->count, __ATOMIC_RELAXED);
    pthread_spin_unlock(&ctx->lock);
    return n;
}

/* One more than the largest node id so far. */
static size_t id_bound(struct sx_ctx *ctx)
{
    return __atomic_load_n(&ctx->ids_given, __ATOMIC_ACQUIRE);
}

uint32_t sx_input_declare(struct sx_ctx *ctx, const char *name, uint32_t size)
{
    pthread_spin_lock(&ctx->lock);
    if (ctx->ninputs == SX_MAX_INPUTS) {
        pthread_spin_unlock(&ctx->lock);
        return UINT32_MAX;
    }
    struct sx_input *in = &ctx->inputs[ctx->ninputs];
    snprintf(in->name, sizeof in->name, "%s", name);
    in->size = size;
    /* published after the record is complete: readers check ninputs without the lock */
    uint32_t id = ctx->ninputs;
    __atomic_store_n(&ctx->ninputs, id + 1, __ATOMIC_RELEASE);
    pthread_spin_unlock(&ctx->lock);
    return id;
}

void sx_input_byte_name(const struct sx_ctx *ctx, const struct sx_expr *e, char *buf,
                        size_t size)
{
    const struct sx_input *in = sx_input_get(ctx, (uint32_t)(e->value >> 32));
    snprintf(buf, size, "%s[%u]", in ? in->name : "input", (unsigned)e->value);
}

const struct sx_input *sx_input_get(const struct sx_ctx *ctx, uint32_t id)
{
    return id < sx_input_count(ctx) ? &ctx->inputs[id] : NULL;
}

uint32_t sx_input_count(const struct sx_ctx *ctx)
{
    return __atomic_load_n(&ctx->ninputs, __ATOMIC_ACQUIRE);
}

/* ---- concrete semantics ---------------------------------------------------------- */

static __int128 to_signed(sx_u128 v, unsigned width)
{
    if (width < 128 && (v >> (width - 1)) & 1)
        v |= ~sx_mask(width);
    return (__int128)v;
}

sx_u128 sx_apply(enum sx_op op, unsigned width, unsigned lo, sx_u128 a, unsigned a_width,
                 sx_u128 b, sx_u128 c)
{
    sx_u128 m = sx_mask(width);
    switch (op) {
    case SX_ADD: return (a + b) & m;
    case SX_SUB: return (a - b) & m;
    case SX_MUL: return (a * b) & m;
    case SX_UDIV: return b == 0 ? m : a / b; /* SMT-LIB: x/0 = all ones */
    case SX_UREM: return b == 0 ? a : a % b;
    case SX_SDIV: {
        __int128 sa = to_signed(a, width), sb = to_signed(b, width);
        if (sb == 0)
            return sa < 0 ? 1 : m;
        if (sb == -1)
            return (0 - a) & m; /* avoids overflow of MIN / -1 */
        return (sx_u128)(sa / sb) & m;
    }
    case SX_SREM: {
        __int128 sa = to_signed(a, width), sb = to_signed(b, width);
        if (sb == 0)
            return a;
        if (sb == -1)
            return 0;
        return (sx_u128)(sa % sb) & m;
    }
    case SX_AND: return a & b;
    case SX_OR: return a | b;
    case SX_XOR: return a ^ b;
    case SX_NOT: return ~a & m;
    case SX_NEG: return (0 - a) & m;
    case SX_SHL: return b >= width ? 0 : (a << b) & m;
    case SX_LSHR: return b >= width ? 0 : a >> b;
    case SX_ASHR: {
        __int128 sa = to_signed(a, width);
        if (b >= width)
            return sa < 0 ? m : 0;
        return (sx_u128)(sa >> b) & m;
    }
    case SX_EQ: return a == b;
    case SX_ULT: return a < b;
    case SX_ULE: return a <= b;
    case SX_SLT: return to_signed(a, a_width) < to_signed(b, a_width);
    case SX_SLE: return to_signed(a, a_width) <= to_signed(b, a_width);
    case SX_EXTRACT: return (a >> lo) & m;
    case SX_CONCAT: return ((a << (width - a_width)) | b) & m;
    case SX_ZEXT: return a;
    case SX_SEXT: return (sx_u128)to_signed(a, a_width) & m;
    case SX_ITE: return a ? b : c;
    default: abort();
    }
}

/* ---- hash-consing ------------------------------------------------------------------ */

/* Each field times its own odd constant, xored, then splitmix64's finaliser once: every
 * input bit reaches every output bit (bucket = low bits, so a weak mix makes long
 * chains) for a fifth of the multiplications a finaliser per field took. */
static uint32_t node_hash(const struct sx_expr *n)
{
    uint64_t h = ((uint64_t)n->op << 16) | ((uint64_t)n->width << 8) | n->lo;
    h ^= (uint64_t)n->value * 0x9e3779b97f4a7c15ull;
    h ^= (uint64_t)(n->value >> 64) * 0xc2b2ae3d27d4eb4full;
    h ^= (uint64_t)(n->a ? n->a->id + 1 : 0) * 0x165667b19e3779f9ull;
    h ^= (uint64_t)(n->b ? n->b->id + 1 : 0) * 0x27d4eb2f165667c5ull;
    h ^= (uint64_t)(n->c ? n->c->id + 1 : 0) * 0xff51afd7ed558ccdull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    return (uint32_t)(h ^ (h >> 31));
}

static bool node_equal(const struct sx_expr *x, const struct sx_expr *y)
{
    return x->op == y->op && x->width == y->width && x->lo == y->lo && x->value == y->value &&
           x->a == y->a && x->b == y->b && x->c == y->c;
}

static struct intern_table *new_table(size_t nslots)
{
    /* written, not calloc'd: a page first read as the shared zero page and written
     * later costs a TLB flush on every other core running this process */
    struct intern_table *t = malloc(sizeof *t + nslots * sizeof(struct intern_slot));
    if (!t)
        abort();
    memset(t->slots, 0, nslots * sizeof(struct intern_slot));
    t->nslots = nslots;
    return t;
}

static void grow_table(struct interner *in)
{
    struct intern_table *old = in->table, *t = new_table(old->nslots * 2);
    size_t mask = t->nslots - 1;
    for (size_t i = 0; i < old->nslots; i++) {
        if (!old->slots[i].e)
            continue;
        size_t j = old->slots[i].hash & mask;
        while (t->slots[j].e)
            j = (j + 1) & mask;
        t->slots[j] = old->slots[i];
    }
    free(old);
    in->table = t;
}

static struct interner *interner_of(struct sx_ctx *ctx)
{
    if (current_interner.serial == ctx->serial)
        return current_interner.in;
    pthread_t me = pthread_self();
    pthread_spin_lock(&ctx->lock);
    struct interner *in = ctx->interners;
    while (in && !pthread_equal(in->owner, me))
        in = in->next;
    if (!in) {
        in = calloc(1, sizeof *in);
        if (!in)
            abort();
        in->owner = me;
        in->table = new_table(1024);
        in->next = ctx->interners;
        ctx->interners = in;
    }
    pthread_spin_unlock(&ctx->lock);
    current_interner.serial = ctx->serial;
    current_interner.in = in;
    return in;
}

static const struct sx_expr *intern(struct sx_ctx *ctx, const struct sx_expr *proto)
{
    uint32_t h = node_hash(proto);
    struct interner *in = interner_of(ctx);
    struct intern_table *t = in->table;
    size_t mask = t->nslots - 1, j = h & mask;
    for (; t->slots[j].e; j = (j + 1) & mask) {
        if (t->slots[j].hash == h && node_equal(t->slots[j].e, proto))
            return t->slots[j].e;
    }
    if (!in->chunks || in->chunks->used == in->chunks->cap) {
        struct arena_chunk *c = NULL;
        size_t bytes = in->chunks ? ARENA_BYTES : ARENA_FIRST_BYTES;
        if (posix_memalign((void **)&c, bytes, bytes))
            abort();
        if (bytes == ARENA_BYTES)
            madvise(c, bytes, MADV_HUGEPAGE); /* a hint: without it, small pages */
        c->cap = (bytes - sizeof *c) / sizeof c->nodes[0];
        c->next = in->chunks;
        c->used = 0;
        in->chunks = c;
    }
    if (in->next_id == in->id_end) {
        in->next_id = __atomic_fetch_add(&ctx->ids_given, ID_BLOCK, __ATOMIC_ACQ_REL);
        in->id_end = in->next_id + ID_BLOCK;
    }
    struct sx_expr *e = &in->chunks->nodes[in->chunks->used++];
    *e = *proto;
    e->hash = h;
    uint32_t d = 0;
    if (e->a && e->a->depth > d)
        d = e->a->depth;
    if (e->b && e->b->depth > d)
        d = e->b->depth;
    if (e->c && e->c->depth > d)
        d = e->c->depth;
    e->depth = d + 1;
    uint64_t first = e->op == SX_INPUT ? (uint64_t)e->value : UINT64_MAX;
    const struct sx_expr *kids[3] = { e->a, e->b, e->c };
    for (int k = 0; k < 3; k++)
        if (kids[k] && kids[k]->first_input < first)
            first = kids[k]->first_input;
    e->first_input = first;
    e->id = in->next_id++;
    t->slots[j] = (struct intern_slot){ h, e };
    __atomic_store_n(&in->count, in->count + 1, __ATOMIC_RELAXED);
    if (2 * in->count > t->nslots)
        grow_table(in);
    return e;
}

static const struct sx_expr *mk(struct sx_ctx *ctx, enum sx_op op, unsigned width, unsigned lo,
                                const struct sx_expr *a, const struct sx_expr *b,
                                const struct sx_expr *c)
{
    struct sx_expr proto = { .op = (uint8_t)op, .width = (uint8_t)width, .lo = (uint8_t)lo,
                             .a = a, .b = b, .c = c };
    return intern(ctx, &proto);
}

/* ---- constructors with folding -------------------------------------------------------- */

/* Constants recently interned by this thread: code mixing a few constants with symbolic
 * values asks for the same ones again and again (about half of all interning in a
 * parser loop), and a hit here skips the table's lock and probe. Per thread, so no lock;
 * an entry counts only for the context of the same serial (a freed context's entries
 * are never read through). */
#define CONST_CACHE 256
static __thread struct {
    uint64_t serial;
    const struct sx_expr *e;
} const_cache[CONST_CACHE];

const struct sx_expr *sx_const(struct sx_ctx *ctx, unsigned width, sx_u128 value)
{
    value &= sx_mask(width);
    uint64_t key = ((uint64_t)value ^ (uint64_t)(value >> 64)) * 0x9e3779b97f4a7c15ull + width;
    unsigned slot = (unsigned)(key >> 56) % CONST_CACHE;
    if (const_cache[slot].serial == ctx->serial && const_cache[slot].e->width == width &&
        const_cache[slot].e->value == value)
        return const_cache[slot].e;
    struct sx_expr proto = { .op = SX_CONST, .width = (uint8_t)width, .value = value };
    const struct sx_expr *e = intern(ctx, &proto);
    const_cache[slot].serial = ctx->serial;
    const_cache[slot].e = e;
    return e;
}

const struct sx_expr *sx_input_byte(struct sx_ctx *ctx, uint32_t input, uint32_t offset)
{
    struct sx_expr proto = { .op = SX_INPUT, .width = 8,
                             .value = ((sx_u128)input << 32) | offset };
    return intern(ctx, &proto);
}

static bool is_commutative(enum sx_op op)
{
    return op == SX_ADD || op == SX_MUL || op == SX_AND || op == SX_OR || op == SX_XOR ||
           op == SX_EQ;
}

static bool is_const_val(const struct sx_expr *e, sx_u128 v) { return sx_is_const(e) && e->value == v; }

const struct sx_expr *sx_binop(struct sx_ctx *ctx, enum sx_op op, const struct sx_expr *a,
                               const struct sx_expr *b)
{
    unsigned w = a->width;
    bool cmp = op == SX_EQ || op == SX_ULT || op == SX_ULE || op == SX_SLT || op == SX_SLE;
    unsigned rw = cmp ? 1 : w;
    if (sx_is_const(a) && sx_is_const(b))
        return sx_const(ctx, rw, sx_apply(op, rw, 0, a->value, w, b->value, 0));
    if (is_commutative(op) && (sx_is_const(a) || (!sx_is_const(b) && a->id > b->id))) {
        const struct sx_expr *t = a;
        a = b;
        b = t;
    }
    sx_u128 m = sx_mask(w);
    switch (op) {
    case SX_ADD:
        if (is_const_val(b, 0))
            return a;
        /* (x + c1) + c2 -> x + (c1 + c2) */
        if (sx_is_const(b) && a->op == SX_ADD && sx_is_const(a->b))
            return sx_binop(ctx, SX_ADD, a->a, sx_const(ctx, w, a->b->value + b->value));
        break;
    case SX_SUB:
        if (is_const_val(b, 0))
            return a;
        if (a == b)
            return sx_const(ctx, w, 0);
        if (sx_is_const(b)) /* x - c -> x + (-c): one canonical form for offsets */
            return sx_binop(ctx, SX_ADD, a, sx_const(ctx, w, (0 - b->value) & m));
        break;
    case SX_MUL:
        if (is_const_val(b, 1))
            return a;
        if (is_const_val(b, 0))
            return b;
        break;
    case SX_AND:
        if (is_const_val(b, 0))
            return b;
        if (is_const_val(b, m) || a == b)
            return a;
        break;
    case SX_OR:
        if (is_const_val(b, 0) || a == b)
            return a;
        if (is_const_val(b, m))
            return b;
        break;
    case SX_XOR:
        if (is_const_val(b, 0))
            return a;
        if (a == b)
            return sx_const(ctx, w, 0);
        if (is_const_val(b, m))
            return sx_unop(ctx, SX_NOT, a);
        break;
    case SX_SHL:
    case SX_LSHR:
    case SX_ASHR:
        if (is_const_val(b, 0))
            return a;
        if (sx_is_const(b) && b->value >= w && op != SX_ASHR)
            return sx_const(ctx, w, 0);
        break;
    case SX_EQ:
        if (a == b)
            return sx_const(ctx, 1, 1);
        if (w == 1 && sx_is_const(b))
            return b->value ? a : sx_lnot(ctx, a);
        /* zext(x) == c  ->  x == c  (or false when c does not fit) */
        if (sx_is_const(b) && a->op == SX_ZEXT) {
            if (b->value & ~sx_mask(a->a->width))
                return sx_const(ctx, 1, 0);
            return sx_binop(ctx, SX_EQ, a->a, sx_const(ctx, a->a->width, b->value));
        }
        break;
    case SX_ULT:
    case SX_SLT:
        if (a == b)
            return sx_const(ctx, 1, 0);
        break;
    case SX_ULE:
    case SX_SLE:
        if (a == b)
            return sx_const(ctx, 1, 1);
        break;
    default:
        break;
    }
    return mk(ctx, op, rw, 0, a, b, NULL);
}

const struct sx_expr *sx_unop(struct sx_ctx *ctx, enum sx_op op, const struct sx_expr *a)
{
    if (sx_is_const(a))
        return sx_const(ctx, a->width, sx_apply(op, a->width, 0, a->value, a->width, 0, 0));
    if (a->op == op && (op == SX_NOT || op == SX_NEG))
        return a->a;
    return mk(ctx, op, a->width, 0, a, NULL, NULL);
}

const struct sx_expr *sx_lnot(struct sx_ctx *ctx, const struct sx_expr *cond)
{
    return sx_unop(ctx, SX_NOT, cond);
}

/* The low `width` bits of add, sub, mul, the bitwise operators and ite depend only on
 * the low bits of their operands: extract(op(x, y)) = op(extract(x), extract(y)).
 * Registers written 8 or 16 bits at a time otherwise drag stale upper bits along.
 * It recurses down the operands, so it is applied to shallow nodes only. */
#define PUSHDOWN_MAX_DEPTH 32
static const struct sx_expr *extract_low_pushdown(struct sx_ctx *ctx, const struct sx_expr *a,
                                                  unsigned width)
{
    struct extract_memo *m = &extract_memo[(a->id * 131u + width) % EXTRACT_MEMO];
    if (m->serial == ctx->serial && m->id_plus_1 == a->id + 1 && m->width == width)
        return m->result;
    const struct sx_expr *r;
    switch (a->op) {
    case SX_NOT: case SX_NEG:
        r = sx_unop(ctx, (enum sx_op)a->op, sx_extract(ctx, a->a, 0, width));
        break;
    case SX_ITE:
        r = sx_ite(ctx, a->a, sx_extract(ctx, a->b, 0, width), sx_extract(ctx, a->c, 0, width));
        break;
    default:
        r = sx_binop(ctx, (enum sx_op)a->op, sx_extract(ctx, a->a, 0, width),
                     sx_extract(ctx, a->b, 0, width));
        break;
    }
    m = &extract_memo[(a->id * 131u + width) % EXTRACT_MEMO]; /* the recursion may reuse it */
    *m = (struct extract_memo){ ctx->serial, a->id + 1, (uint8_t)width, r };
    return r;
}

const struct sx_expr *sx_extract(struct sx_ctx *ctx, const struct sx_expr *a, unsigned lo,
                                 unsigned width)
{
    if (lo == 0 && width == a->width)
        return a;
    if (sx_is_const(a))
        return sx_const(ctx, width, a->value >> lo);
    switch (a->op) {
    case SX_ADD: case SX_SUB: case SX_MUL: case SX_AND: case SX_OR: case SX_XOR:
    case SX_NOT: case SX_NEG: case SX_ITE:
        if (lo == 0 && a->depth <= PUSHDOWN_MAX_DEPTH)
            return extract_low_pushdown(ctx, a, width);
        break;
    case SX_EXTRACT:
        return sx_extract(ctx, a->a, a->lo + lo, width);
    case SX_CONCAT: {
        unsigned lw = a->b->width;
        if (lo + width <= lw)
            return sx_extract(ctx, a->b, lo, width);
        if (lo >= lw)
            return sx_extract(ctx, a->a, lo - lw, width);
        break;
    }
    case SX_ZEXT:
        if (lo + width <= a->a->width)
            return sx_extract(ctx, a->a, lo, width);
        if (lo >= a->a->width)
            return sx_const(ctx, width, 0);
        if (lo == 0)
            return sx_zext(ctx, a->a, width);
        break;
    case SX_SEXT:
        if (lo + width <= a->a->width)
            return sx_extract(ctx, a->a, lo, width);
        break;
    default:
        break;
    }
    return mk(ctx, SX_EXTRACT, width, lo, a, NULL, NULL);
}

const struct sx_expr *sx_concat(struct sx_ctx *ctx, const struct sx_expr *hi,
                                const struct sx_expr *lo)
{
    unsigned w = hi->width + lo->width;
    if (sx_is_const(hi) && sx_is_const(lo))
        return sx_const(ctx, w, (hi->value << lo->width) | lo->value);
    if (is_const_val(hi, 0))
        return sx_zext(ctx, lo, w);
    /* concat(x[a+k..], x[a..a+k)) -> x[a..] */
    if (hi->op == SX_EXTRACT && lo->op == SX_EXTRACT && hi->a == lo->a &&
        hi->lo == lo->lo + lo->width)
        return sx_extract(ctx, hi->a, lo->lo, w);
    return mk(ctx, SX_CONCAT, w, 0, hi, lo, NULL);
}

const struct sx_expr *sx_zext(struct sx_ctx *ctx, const struct sx_expr *a, unsigned width)
{
    if (width == a->width)
        return a;
    if (sx_is_const(a))
        return sx_const(ctx, width, a->value);
    if (a->op == SX_ZEXT)
        a = a->a;
    return mk(ctx, SX_ZEXT, width, 0, a, NULL, NULL);
}

const struct sx_expr *sx_sext(struct sx_ctx *ctx, const struct sx_expr *a, unsigned width)
{
    if (width == a->width)
        return a;
    if (sx_is_const(a))
        return sx_const(ctx, width, sx_apply(SX_SEXT, width, 0, a->value, a->width, 0, 0));
    if (a->op == SX_SEXT)
        a = a->a;
    return mk(ctx, SX_SEXT, width, 0, a, NULL, NULL);
}

const struct sx_expr *sx_ite(struct sx_ctx *ctx, const struct sx_expr *cond,
                             const struct sx_expr *a, const struct sx_expr *b)
{
    if (sx_is_const(cond))
        return cond->value ? a : b;
    if (a == b)
        return a;
    if (a->width == 1 && is_const_val(a, 1) && is_const_val(b, 0))
        return cond;
    if (a->width == 1 && is_const_val(a, 0) && is_const_val(b, 1))
        return sx_lnot(ctx, cond);
    return mk(ctx, SX_ITE, a->width, 0, cond, a, b);
}

/* ---- evaluation and printing --------------------------------------------------------- */

/* Post-order over the DAG with an explicit stack (a guest decides how deep it is): a
 * node is computed once its operands are; results are memoised by node id. */
struct eval_frame {
    const struct sx_expr *e;
    bool expanded;
};

static bool evaluated(struct sx_ctx *ctx, const struct sx_expr *e)
{
    return e->op == SX_CONST || ctx->eval[e->id].stamp == ctx->eval_stamp;
}

static sx_u128 value_of(struct sx_ctx *ctx, const struct sx_expr *e)
{
    return e->op == SX_CONST ? e->value : ctx->eval[e->id].value;
}

static sx_u128 eval_iter(struct sx_ctx *ctx, const struct sx_expr *root,
                         const uint8_t *const *bytes, const uint32_t *lengths)
{
    size_t cap = 64, n = 0;
    struct eval_frame *st = malloc(cap * sizeof *st);
    if (!st)
        abort();
    st[n++] = (struct eval_frame){ root, false };
    while (n) {
        struct eval_frame *f = &st[n - 1];
        const struct sx_expr *e = f->e;
        if (evaluated(ctx, e)) {
            n--;
            continue;
        }
        if (e->op != SX_INPUT && !f->expanded) {
            f->expanded = true;
            /* an ite needs its condition first, then only the side it takes */
            const struct sx_expr *kids[3] = { e->a, e->op == SX_ITE ? NULL : e->b, NULL };
            if (e->op == SX_ITE && evaluated(ctx, e->a))
                kids[1] = value_of(ctx, e->a) ? e->b : e->c;
            for (int k = 0; k < 3; k++) {
                if (!kids[k] || evaluated(ctx, kids[k]))
                    continue;
                if (n == cap) {
                    cap *= 2;
                    struct eval_frame *g = realloc(st, cap * sizeof *g);
                    if (!g)
                        abort();
                    st = g;
                }
                st[n++] = (struct eval_frame){ kids[k], false };
            }
            continue;
        }
        if (e->op == SX_ITE && evaluated(ctx, e->a)) {
            const struct sx_expr *side = value_of(ctx, e->a) ? e->b : e->c;
            if (!evaluated(ctx, side)) { /* the condition was only known just now */
                f->expanded = false;
                continue;
            }
        }
        sx_u128 v;
        if (e->op == SX_INPUT) {
            uint32_t in = (uint32_t)(e->value >> 32), off = (uint32_t)e->value;
            v = bytes && bytes[in] && off < lengths[in] ? bytes[in][off] : 0;
        } else if (e->op == SX_ITE) {
            v = value_of(ctx, value_of(ctx, e->a) ? e->b : e->c);
        } else {
            v = sx_apply(e->op, e->width, e->lo, value_of(ctx, e->a), e->a->width,
                         e->b ? value_of(ctx, e->b) : 0, 0);
        }
        ctx->eval[e->id].value = v;
        ctx->eval[e->id].stamp = ctx->eval_stamp;
        n--;
    }
    free(st);
    return value_of(ctx, root);
}

sx_u128 sx_eval(struct sx_ctx *ctx, const struct sx_expr *e, const uint8_t *const *bytes,
                const uint32_t *lengths)
{
    size_t count = id_bound(ctx);
    pthread_mutex_lock(&ctx->eval_lock);
    if (ctx->eval_cap < count) {
        size_t cap = count * 2;
        struct eval_slot *s = realloc(ctx->eval, cap * sizeof *s);
        if (!s)
            abort();
        memset(s + ctx->eval_cap, 0, (cap - ctx->eval_cap) * sizeof *s);
        ctx->eval = s;
        ctx->eval_cap = cap;
    }
    if (++ctx->eval_stamp == 0) { /* wrapped: forget every memo */
        memset(ctx->eval, 0, ctx->eval_cap * sizeof *ctx->eval);
        ctx->eval_stamp = 1;
    }
    sx_u128 v = eval_iter(ctx, e, bytes, lengths);
    pthread_mutex_unlock(&ctx->eval_lock);
    return v;
}

struct printer {
    char *buf;
    size_t size, len;
};

__attribute__((format(printf, 2, 3)))
static void pr(struct printer *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->len < p->size ? p->buf + p->len : NULL,
                      p->len < p->size ? p->size - p->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        p->len += (size_t)n;
}

static void print_leaf(struct printer *p, const struct sx_expr *e, const struct sx_ctx *ctx)
{
    if (e->op == SX_CONST) {
        if (e->value >> 64)
            pr(p, "#x%016llx%016llx", (unsigned long long)(e->value >> 64),
               (unsigned long long)e->value);
        else
            pr(p, "0x%llx:%u", (unsigned long long)e->value, e->width);
    } else {
        const struct sx_input *in = sx_input_get(ctx, (uint32_t)(e->value >> 32));
        pr(p, "%s[%u]", in ? in->name : "?", (unsigned)e->value);
    }
}

static void print_open(struct printer *p, const struct sx_expr *e)
{
    switch (e->op) {
    case SX_EXTRACT: pr(p, "(extract %u %u ", e->lo + e->width - 1, e->lo); break;
    case SX_ZEXT:
    case SX_SEXT: pr(p, "(%s %u ", sx_op_name((enum sx_op)e->op), e->width); break;
    default: pr(p, "(%s ", sx_op_name((enum sx_op)e->op)); break;
    }
}

/* A small open-addressed set of node ids (uses, then "already printed"). */
struct id_map {
    uint32_t *keys;   /* id + 1, 0 = empty */
    uint32_t *vals;
    size_t cap, n;
};

static uint32_t *id_slot(struct id_map *m, uint32_t id)
{
    if (2 * (m->n + 1) > m->cap) {
        struct id_map g = { calloc(m->cap ? 2 * m->cap : 64, 4), calloc(m->cap ? 2 * m->cap : 64, 4),
                            m->cap ? 2 * m->cap : 64, 0 };
        if (!g.keys || !g.vals)
            abort();
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                *id_slot(&g, m->keys[i] - 1) = m->vals[i];
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t i = (id * 2654435761u) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != id + 1)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        m->keys[i] = id + 1;
        m->vals[i] = 0;
        m->n++;
    }
    return &m->vals[i];
}

struct print_frame {
    const struct sx_expr *e;
    int next; /* the next operand to print (0 .. 3), -1 before the node opened */
};

size_t sx_expr_print(const struct sx_expr *root, const struct sx_ctx *ctx, char *buf, size_t size)
{
    struct printer p = { buf, size, 0 };
    if (size)
        buf[0] = 0;
    struct id_map uses = { 0 };
    size_t cap = 64, n = 0;
    struct print_frame *st = malloc(cap * sizeof *st);
    const struct sx_expr **todo = malloc(cap * sizeof *todo);
    if (!st || !todo)
        abort();
    /* pass 1: how often each inner node is used (each node expanded once) */
    size_t nt = 0;
    todo[nt++] = root;
    while (nt) {
        const struct sx_expr *e = todo[--nt];
        if (e->op == SX_CONST || e->op == SX_INPUT)
            continue;
        uint32_t *u = id_slot(&uses, e->id);
        if ((*u)++)
            continue;
        const struct sx_expr *kids[3] = { e->a, e->b, e->c };
        for (int k = 0; k < 3; k++) {
            if (!kids[k])
                continue;
            if (nt == cap) {
                cap *= 2;
                const struct sx_expr **t = realloc(todo, cap * sizeof *t);
                if (!t)
                    abort();
                todo = t;
            }
            todo[nt++] = kids[k];
        }
    }
    /* pass 2: print; a node used twice gets a label at its first appearance. Its use
     * count becomes UINT32_MAX once printed. */
    size_t scap = 64;
    st[n++] = (struct print_frame){ root, -1 };
    while (n) {
        struct print_frame *f = &st[n - 1];
        const struct sx_expr *e = f->e;
        if (f->next < 0) {
            if (e->op == SX_CONST || e->op == SX_INPUT) {
                print_leaf(&p, e, ctx);
                n--;
                continue;
            }
            uint32_t *u = id_slot(&uses, e->id);
            if (*u == UINT32_MAX) {
                pr(&p, "N%u", e->id);
                n--;
                continue;
            }
            if (*u > 1)
                pr(&p, "N%u:", e->id);
            *u = UINT32_MAX;
            print_open(&p, e);
            f->next = 0;
        }
        const struct sx_expr *kids[3] = { e->a, e->b, e->c };
        if (f->next < 3 && kids[f->next]) {
            if (f->next > 0)
                pr(&p, " ");
            const struct sx_expr *k = kids[f->next++];
            if (n == scap) {
                scap *= 2;
                struct print_frame *g = realloc(st, scap * sizeof *g);
                if (!g)
                    abort();
                st = g;
            }
            st[n++] = (struct print_frame){ k, -1 };
            continue;
        }
        pr(&p, ")");
        n--;
    }
    free(st);
    free(todo);
    free(uses.keys);
    free(uses.vals);
    return p.len;
}

/* ---- walking a DAG ---------------------------------------------------------------------- */

static void walker_push(struct sx_walker *w, size_t *top, const struct sx_expr *e)
{
    if (*top == w->stack_cap) {
        w->stack_cap = w->stack_cap ? 2 * w->stack_cap : 64;
        w->stack = realloc(w->stack, w->stack_cap * sizeof *w->stack);
        if (!w->stack)
            abort();
    }
    w->stack[(*top)++] = e;
}

/* First time this walk meets e? (marks it) */
static bool walker_first(struct sx_walker *w, const struct sx_expr *e)
{
    if (e->id >= w->mark_cap) {
        size_t cap = ((size_t)e->id + 1) * 2;
        w->mark = realloc(w->mark, cap * sizeof *w->mark);
        if (!w->mark)
            abort();
        memset(w->mark + w->mark_cap, 0, (cap - w->mark_cap) * sizeof *w->mark);
        w->mark_cap = cap;
    }
    if (w->mark[e->id] == w->stamp)
        return false;
    w->mark[e->id] = w->stamp;
    return true;
}

bool sx_walk(struct sx_walker *w, const struct sx_expr *const *roots, size_t n,
             bool (*visit)(const struct sx_expr *e, void *ctx), void *ctx)
{
    if (++w->stamp == 0) { /* wrapped: old marks would look current */
        memset(w->mark, 0, w->mark_cap * sizeof *w->mark);
        w->stamp = 1;
    }
    size_t top = 0;
    for (size_t i = 0; i < n; i++) {
        walker_push(w, &top, roots[i]);
        while (top) {
            const struct sx_expr *e = w->stack[--top];
            if (!walker_first(w, e))
                continue;
            if (!visit(e, ctx))
                return false;
            const struct sx_expr *kids[3] = { e->a, e->b, e->c };
            for (int k = 0; k < 3; k++)
                if (kids[k])
                    walker_push(w, &top, kids[k]);
        }
    }
    return true;
}

void sx_walker_release(struct sx_walker *w)
{
    free(w->mark);
    free(w->stack);
    memset(w, 0, sizeof *w);
}
