/* The fuzzer's brain, independent of the VM: inputs and the queue, the out_dir layout
 * AFL++ users know (queue/, crashes/, hangs/, stats), mutations, and edge coverage.
 * hv/fuzzer.c runs executions in the VM and feeds results here. */
#ifndef FUZZ_FUZZ_H
#define FUZZ_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_MAX_INPUT (1u << 20)  /* the agent's limit for one input */
#define FZ_MAP_MAX (1u << 20)    /* largest coverage map accepted */

/* ---- concrete parts of an input ---- */
/* Parts of an input a program's buffer takes without being made symbolic
 * (SYMHV_INPUT_CONCRETE: --sym-args' count): a concolic run's solver returns the
 * symbolic parts only, one after another; the concrete ones are put back from the run's
 * input. More, or longer, than these are not put back (overflow). */
#define FZ_MAX_CONCRETE_PARTS 8
#define FZ_MAX_CONCRETE_BYTES 64
struct fz_concrete_parts {
    struct { uint32_t off, len; } part[FZ_MAX_CONCRETE_PARTS]; /* in the input, in order */
    unsigned n;
    bool overflow;
    uint8_t bytes[FZ_MAX_CONCRETE_BYTES]; /* their bytes one after another (fz_keep_concrete) */
};
/* A concrete part at off, len bytes. */
void fz_note_concrete(struct fz_concrete_parts *c, uint64_t off, uint64_t len);
/* Their bytes from the run's input (zeros past its end); false if some did not fit. */
bool fz_keep_concrete(struct fz_concrete_parts *c, const uint8_t *input, size_t len);
/* The solver's input (data[0..len): the symbolic parts) with the concrete parts put back
 * where they were, into out[cap]; returns its length. */
size_t fz_put_back_concrete(const struct fz_concrete_parts *c, const uint8_t *data, size_t len,
                            uint8_t *out, size_t cap);

/* ---- a forced order of two accesses (order.c): symhv's schedule control ---- */
/* The access at wait_pc (to guest-physical page `page`) waits until another vCPU's
 * access at for_pc, then goes before that vCPU's next access to the page. A crash file
 * found under one carries it in its name, as `sched:wPC.fPC.pPAGE` (hex), so that
 * `symhv replay FILE` forces it again. */
struct fz_order {
    uint64_t wait_pc, for_pc, page;
};
#define FZ_ORDER_TEXT 64
/* "w401c2e.f401d10.p4c9000" into buf. */
void fz_order_format(const struct fz_order *o, char *buf, size_t size);
/* The text fz_order_format writes (all of it, nothing after): 0, or -1. */
int fz_order_parse(const char *text, struct fz_order *o);
/* The order a file's name carries (the `sched:` field of a name symhv gives, id:...
 * with it after op:, up to the next comma or the end): 1 if it has one, 0 if none, -1 if
 * the field is malformed. */
int fz_order_from_name(const char *name, struct fz_order *o);

/* ---- random numbers (xorshift64*: reproducible with --seed) ---- */
struct fz_rng {
    uint64_t s;
};
void fz_rng_seed(struct fz_rng *r, uint64_t seed);
uint64_t fz_rng_next(struct fz_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t fz_rng_below(struct fz_rng *r, uint64_t n);

/* ---- the queue ---- */
enum fz_origin {
    FZ_FROM_SEED, FZ_FROM_MUTATION, FZ_FROM_SOLVER, FZ_FROM_SYNC,
    FZ_FROM_KNOWN_CRASH, /* a resumed campaign's crash file, run again to recognise it */
    FZ_FROM_CMPLOG,      /* input-to-state: a compared value put into an input */
    FZ_FROM_TRIM,        /* a shorter try of a new queue entry (AFL++'s trim) */
    FZ_FROM_RECHECK,     /* an input whose concolic run passed its limit, run natively:
                            only that tells a hang from a slow interpretation */
    FZ_FROM_ORDER,       /* an input run again with a race's pair of accesses forced in
                            one order (--races) */
    FZ_FROM_RACE_PASS,   /* a queue entry run again for race samples (explore --races) */
};

#define FZ_NAME_MAX 32 /* an instance name in a sync directory, with its NUL */

struct fz_entry {
    uint8_t *data;
    uint32_t len;
    enum fz_origin origin;
    char from[FZ_NAME_MAX];  /* FZ_FROM_SYNC: the instance it came from */
    uint32_t *edges;         /* queue entries: map indices it covered (schedule.c) */
    char *file;              /* queue entries the fuzzer saved: their file's name */
    uint32_t nedges;
    uint32_t id;
    uint64_t picked_cycle;   /* the last queue cycle it was mutated in, plus one (0: never) */
    bool concolic_done;      /* a concolic run started from it */
    struct fz_order order;   /* FZ_FROM_ORDER: the order to force */
    uint8_t order_crashes;   /* FZ_FROM_ORDER: runs with it forced that crashed so far */
    uint16_t orders_tried;   /* queue entries in race passes: race_orders[0..this) were
                                queued as trials on it */
};

struct fz_queue {
    struct fz_entry *entries;
    size_t n, cap;
};

void fz_queue_free(struct fz_queue *q);
/* The newest entry, taken out of q (q->n > 0): the caller frees it with fz_entry_free. */
struct fz_entry fz_queue_pop(struct fz_queue *q);
/* The oldest entry, likewise. */
struct fz_entry fz_queue_shift(struct fz_queue *q);
void fz_entry_free(struct fz_entry *e);
/* Copies data. Returns the new entry. */
struct fz_entry *fz_queue_add(struct fz_queue *q, const uint8_t *data, uint32_t len,
                              enum fz_origin origin);

/* ---- dictionary tokens (-x FILE: one token per line, "quoted" with \xNN escapes, or
 * AFL's name="value"; -x DIR: one token per file) ---- */
#define FZ_DICT_FILE_MAX 128
struct fz_dict {
    uint8_t **tokens;
    uint32_t *lens;
    size_t n;
};
/* Add the tokens of a dictionary file or directory to d (zeroed before the first).
 * 0, or -1 with a message in err. */
int fz_dict_load(struct fz_dict *d, const char *path, char *err, size_t err_size);
void fz_dict_free(struct fz_dict *d);

/* ---- mutation ---- */
/* Write a mutant of q->entries[index] into out (capacity max_len): a stack of 1..16
 * random mutations (bit/byte flips, arithmetic, interesting values, block copy and
 * delete, dictionary tokens, splicing with another entry). Returns its length (>= 1). */
uint32_t fz_mutate(struct fz_rng *r, const struct fz_queue *q, size_t index,
                   const struct fz_dict *dict, uint8_t *out, uint32_t max_len);

/* ---- coverage ---- */
/* AFL's hit-count buckets: trace[i] becomes 1, 2, 4, 8, 16, 32, 64 or 128. */
void fz_classify(uint8_t *trace, size_t n);
/* Fold a classified trace into `seen` (bits of buckets seen so far). Returns 2 if an
 * edge was hit for the first time, 1 if only a new hit-count bucket, 0 otherwise. */
int fz_merge_coverage(uint8_t *seen, const uint8_t *trace, size_t n);
size_t fz_count_edges(const uint8_t *seen, size_t n);

/* ---- out_dir ---- */
/* Create out_dir with queue/, crashes/, hangs/. Returns 0, or -1 with a message. */
int fz_out_dir_init(const char *out_dir, char *err, size_t err_size);
/* Load every regular file of dir into the queue with `origin`, each entry's file its
 * name (empty ones skipped). Returns the number loaded, or -1 with a message: a file
 * over max_len bytes, or one that cannot be read. */
int fz_load_dir(struct fz_queue *q, const char *dir, uint32_t max_len, enum fz_origin origin,
                char *err, size_t err_size);
/* Files in dir (0 if it does not exist). */
size_t fz_count_files(const char *dir);

/* ---- resuming a campaign (stats.c) ---- */
/* What a resumed campaign goes on from, as its fuzzer_stats says. */
struct fz_resume {
    uint64_t execs_done, total_crashes, total_hangs, concolic_runs, solver_inputs,
        solver_inputs_kept, corpus_imported, cycles_done;
    uint64_t last_find, last_crash, last_hang; /* unix seconds, 0: never */
};
/* Read them from the len bytes of a fuzzer_stats ("key : value" lines; the first line of
 * a key counts, a key absent stays 0). A value that is not a plain decimal number below
 * 10^18 (negative, a fraction, garbage, huge) is refused as 0; a time after `now` is
 * taken as `now`. Returns how many values were refused or clamped, each named in `note`
 * (one line, "" if none). */
size_t fz_stats_resume(const char *text, size_t len, uint64_t now, struct fz_resume *out,
                       char *note, size_t note_size);

/* The value of `key` in out_dir/fuzzer_stats (its first line of that key; surrounding
 * spaces cut) into buf: 0, or -1 if there is no such file or key. */
int fz_stats_value(const char *out_dir, const char *key, char *buf, size_t size);

/* ---- the power schedule (schedule.c) ---- */
#define FZ_ENTRY_EDGES 64 /* edges remembered per queue entry */
/* Count one execution's classified trace into per-edge hit counts. */
void fz_count_hits(uint32_t *hits, const uint8_t *trace, size_t n);
/* Remember which edges an entry's execution covered (the first FZ_ENTRY_EDGES). */
void fz_entry_set_edges(struct fz_entry *e, const uint8_t *trace, size_t n);
/* The next entry to mutate: the rarest edge of three drawn at random wins (hits NULL:
 * uniform). */
size_t fz_pick(const struct fz_queue *q, const uint32_t *hits, struct fz_rng *r);

/* ---- minimisation (minimize.c): symhv cmin and symhv tmin ---- */
struct fz_cmin {
    size_t map_len;
    uint32_t *best;          /* per (map byte, bucket bit): entry index + 1 */
};
int fz_cmin_init(struct fz_cmin *c, size_t map_len);
/* Entry `entry` of q ran with this classified trace. */
void fz_cmin_account(struct fz_cmin *c, const struct fz_queue *q, size_t entry,
                     const uint8_t *trace);
/* Which entries to keep (keep[nentries]); returns how many. */
size_t fz_cmin_result(const struct fz_cmin *c, size_t nentries, bool *keep);
void fz_cmin_free(struct fz_cmin *c);

struct fz_tmin {
    uint8_t *best, *cand;    /* the smallest failing input so far, the next try */
    uint32_t len, cand_len;
    uint32_t block, pos;     /* deletion: block size and where; normalising: the byte */
    bool normalising;
    bool delete_only;        /* trimming a queue entry: no '0' normalisation */
    uint32_t min_block;      /* deletion stops below this block size (0: one byte) */
    uint64_t tries;
};
int fz_tmin_init(struct fz_tmin *t, const uint8_t *data, uint32_t len);
/* Build the next candidate in t->cand; false when there is none left. */
bool fz_tmin_next(struct fz_tmin *t);
/* The candidate failed the same way (it becomes the best) or not. */
void fz_tmin_outcome(struct fz_tmin *t, bool same_failure);
void fz_tmin_free(struct fz_tmin *t);

/* ---- compare operands (cmplog.c) ---- */
#define FZ_CMP_BYTES 32
struct fz_compare {           /* one logged comparison (the guest's symhv_cmplog_entry) */
    uint8_t size, a_len;
    uint8_t pad[6];
    uint8_t a[FZ_CMP_BYTES], b[FZ_CMP_BYTES];
};
_Static_assert(sizeof(struct fz_compare) == 72, "the guest's struct symhv_cmplog_entry");
#define FZ_CMPLOG_ENTRIES 512
#define FZ_CMPLOG_SIZE (8 + FZ_CMPLOG_ENTRIES * sizeof(struct fz_compare)) /* struct symhv_cmplog */
/* An AFL++ CMPLOG map's key (symhv/abi.h): its header word and its H slots, read from a
 * map the guest wrote (every field bounded here). The key's logged comparisons as
 * fz_compare, repeats dropped, at most cap into out; returns how many. */
#define FZ_AFL_CMP_KEY_BYTES (32u * 32u)
size_t fz_afl_cmp_key(uint64_t header, const uint8_t slots[FZ_AFL_CMP_KEY_BYTES],
                      struct fz_compare *out, size_t cap);
/* The slots of a key with this header that hold its log (the rest are stale or unused). */
size_t fz_afl_cmp_key_slots(uint64_t header);
typedef void (*fz_candidate_fn)(void *ctx, const uint8_t *data, uint32_t len);
/* Input-to-state candidates: for each comparison, the input with one operand's bytes
 * replaced by the other's wherever they occur (also byte-swapped for numbers), at most
 * `budget` of them, each handed to emit (valid during the call), none longer than max_len
 * (taken as FZ_MAX_INPUT when larger: one input's most). scratch: max_len bytes. Returns
 * how many. */
size_t fz_i2s_candidates(const uint8_t *input, uint32_t len, const struct fz_compare *cmps,
                         size_t n, uint32_t max_len, uint8_t *scratch, fz_candidate_fn emit,
                         void *ctx, size_t budget);

/* ---- AFL++ sync directories (sync.c) ---- */
/* Entries of the other instances' queues an import passed over (they are not tried
 * again): not regular files (FIFOs, devices, symlinks ...), larger than max_len, not
 * readable, or with control characters in their names. */
struct fz_sync_skipped {
    size_t not_regular, too_big, unreadable, bad_name;
};
/* Import the queue entries the other instances of sync_dir published since the last
 * import into `own`'s (at most max_new, at most max_len bytes each) as FZ_FROM_SYNC
 * entries of `into`. Returns how many, or -1 with a message; what it passed over in
 * *skipped (NULL: not counted). */
int fz_sync_import(const char *sync_dir, const char *own, struct fz_queue *into,
                   uint32_t max_len, size_t max_new, struct fz_sync_skipped *skipped,
                   char *err, size_t err_size);
/* A trace's identity for trimming: a hash of the classified map. */
uint64_t fz_trace_hash(const uint8_t *trace, size_t n);
/* A name AFL++ and symhv accept for an instance (-M/-S): [A-Za-z0-9._-], < FZ_NAME_MAX. */
bool fz_instance_name_ok(const char *name);

#endif
