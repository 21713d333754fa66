/* A campaign's decisions (campaign.h): the next input, the judgment of an execution,
 * trimming, cmin and tmin. */
#include "campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_CMP_PENDING 4096          /* input-to-state candidates waiting */
#define CMP_CANDIDATES_PER_INPUT 256  /* from one execution's compare log */
#define MAX_SYNC_PENDING 4096         /* imported inputs waiting for their execution */
#define TRIM_MIN_LEN 8                /* shorter entries are not worth the executions */

const char *fz_origin_name(enum fz_origin o)
{
    return o == FZ_FROM_SEED ? "seed" : o == FZ_FROM_SOLVER ? "solver" :
           o == FZ_FROM_SYNC ? "sync" : o == FZ_FROM_KNOWN_CRASH ? "known-crash" :
           o == FZ_FROM_CMPLOG ? "cmplog" : o == FZ_FROM_TRIM ? "trim" :
           o == FZ_FROM_RECHECK ? "recheck" : o == FZ_FROM_ORDER ? "order" :
           o == FZ_FROM_RACE_PASS ? "race-pass" : "mutation";
}

/* ---- set-up ----------------------------------------------------------------------------- */

int fz_campaign_open(struct fz_campaign *c, const struct fuzz_config *cfg)
{
    memset(c, 0, sizeof *c);
    c->cfg = *cfg;
    c->lock_fd = -1;
    snprintf(c->out_dir, sizeof c->out_dir, "%s", cfg->out_dir ? cfg->out_dir : "");
    snprintf(c->queue_dir, sizeof c->queue_dir, "%s/queue", c->out_dir);
    snprintf(c->crash_dir, sizeof c->crash_dir, "%s/crashes", c->out_dir);
    snprintf(c->hang_dir, sizeof c->hang_dir, "%s/hangs", c->out_dir);
    snprintf(c->notes_dir, sizeof c->notes_dir, "%s/crash-notes", c->out_dir);
    if (cfg->mode != FUZZ_CMPLOG_PEER && /* its inputs come one by one from the campaign */
        (!fz_mode_is_tool(cfg->mode) ? fz_outdir_load_campaign(c, cfg)
                                     : fz_outdir_load_tool(c, cfg)) < 0)
        return -1;
    c->nseeds = c->queue.n;
    if (cfg->mode != FUZZ_CMPLOG_PEER) {
        c->n.crashes = fz_count_files(c->crash_dir);
        c->n.hangs = fz_count_files(c->hang_dir);
    }
    char err[512];
    for (unsigned i = 0; i < cfg->ndicts; i++) {
        size_t before = c->dict.n;
        if (fz_dict_load(&c->dict, cfg->dict_paths[i], err, sizeof err) < 0) {
            hv_error("%s: %s", fz_mode_name(c->cfg.mode), err);
            return -1;
        }
        if (c->dict.n == before) {
            hv_error("%s: the dictionary %s holds no tokens", fz_mode_name(c->cfg.mode), cfg->dict_paths[i]);
            return -1;
        }
        hv_info("%s: %zu dictionary tokens from %s", fz_mode_name(c->cfg.mode), c->dict.n - before,
                cfg->dict_paths[i]);
    }
    fz_rng_seed(&c->rng, cfg->seed ? cfg->seed : (uint64_t)time(NULL) ^ (uint64_t)getpid());
    c->cur.data = malloc(FZ_MAX_INPUT);
    if (!c->cur.data) {
        hv_error("%s: out of memory", fz_mode_name(c->cfg.mode));
        return -1;
    }
    c->started = now_s();
    c->last_sync = 0; /* the first import comes at once, then every sync_every_s */
    c->start_time = time(NULL);
    return 0;
}

void fz_campaign_close(struct fz_campaign *c)
{
    fz_queue_free(&c->queue);
    fz_queue_free(&c->pending);
    fz_queue_free(&c->urgent);
    fz_queue_free(&c->synced);
    fz_queue_free(&c->known);
    fz_queue_free(&c->cmp_pending);
    fz_queue_free(&c->recheck);
    fz_queue_free(&c->orders);
    fz_cmin_free(&c->cmin);
    fz_tmin_free(&c->tmin);
    fz_tmin_free(&c->trim);
    fz_dict_free(&c->dict);
    free(c->seen);
    free(c->edge_hits);
    free(c->trace);
    free(c->crash_seen);
    free(c->hang_seen);
    free(c->cmp_scratch);
    free(c->cur.data);
    if (c->lock_fd >= 0)
        close(c->lock_fd); /* releases the out_dir lock */
    c->lock_fd = -1;
}

int fz_campaign_set_map(struct fz_campaign *c, size_t map_len)
{
    size_t alloc = map_len ? map_len : 1;
    free(c->edge_hits);
    free(c->seen), free(c->trace), free(c->crash_seen), free(c->hang_seen);
    c->edge_hits = calloc(alloc, sizeof *c->edge_hits);
    c->seen = calloc(1, alloc);
    c->trace = calloc(1, alloc);
    c->crash_seen = calloc(1, alloc);
    c->hang_seen = calloc(1, alloc);
    c->map_len = map_len;
    if (c->seen && c->trace && c->crash_seen && c->hang_seen && c->edge_hits)
        return 0;
    free(c->seen), free(c->trace), free(c->crash_seen), free(c->hang_seen), free(c->edge_hits);
    c->seen = c->trace = c->crash_seen = c->hang_seen = NULL;
    c->edge_hits = NULL;
    c->map_len = 0;
    return -1;
}

/* ---- files -------------------------------------------------------------------------------- */

/* AFL++'s file names: id:NNNNNN, for a crash its signal (sig:NN), where it came from,
 * when (ms since the start) and after how many executions, then what it adds. */
static void save_input_named(struct fz_campaign *c, const char *dir, uint64_t id,
                             const char *lead, const char *tail, char *name, size_t name_size)
{
    char from[64];
    if (c->cur.origin == FZ_FROM_SYNC)
        snprintf(from, sizeof from, "sync:%s", c->cur.from);
    else
        snprintf(from, sizeof from, "src:%s", fz_origin_name(c->cur.origin));
    snprintf(name, name_size, "id:%06llu%s%s,%s,time:%llu,execs:%llu,op:%s%s%s",
             (unsigned long long)id, lead[0] ? "," : "", lead, from,
             (unsigned long long)((now_s() - c->started) * 1000),
             (unsigned long long)c->n.execs, fz_origin_name(c->cur.origin), tail[0] ? "," : "",
             tail);
    if (write_file_atomic(dir, name, c->cur.data, c->cur.len) < 0)
        hv_error_errno("%s: cannot write %s/%s", fz_mode_name(c->cfg.mode), dir, name);
}

/* The order forced in the execution, as a file name's field ("" if none). */
static void order_field(const struct fz_campaign *c, char *buf, size_t size)
{
    buf[0] = 0;
    if (c->cur.has_order) {
        char text[FZ_ORDER_TEXT];
        fz_order_format(&c->cur.order, text, sizeof text);
        snprintf(buf, size, "sched:%s", text);
    }
}

/* What a crash file is (the fault, or the bug the program reported), in
 * crash-notes/NAME.txt: crashes/ holds inputs only, as AFL++'s tools expect. */
static void save_note(struct fz_campaign *c, const char *name, const char *what)
{
    char file[300], text[2048];
    snprintf(file, sizeof file, "%s.txt", name);
    int len = snprintf(text, sizeof text, "%s\ninput: crashes/%s (%u bytes, from %s)\n", what,
                       name, c->cur.len, fz_origin_name(c->cur.origin));
    if (c->cur.has_order && len > 0 && len < (int)sizeof text)
        len += snprintf(text + len, sizeof text - (size_t)len,
                        "schedule: the access at pc 0x%llx went right after another vCPU's at "
                        "pc 0x%llx (guest-physical page 0x%llx), before that vCPU's next one; "
                        "symhv replay forces that order again\n",
                        (unsigned long long)c->cur.order.wait_pc,
                        (unsigned long long)c->cur.order.for_pc,
                        (unsigned long long)c->cur.order.page);
    if (c->cur.output_len && len > 0 && len < (int)sizeof text) /* which assertion fired */
        len += snprintf(text + len, sizeof text - (size_t)len, "the end of its output:\n%.*s%s",
                        (int)c->cur.output_len, c->cur.output,
                        c->cur.output[c->cur.output_len - 1] == '\n' ? "" : "\n");
    size_t n = len < (int)sizeof text ? (size_t)len : sizeof text - 1;
    if (make_dir(c->notes_dir) < 0 || write_file_atomic(c->notes_dir, file, text, n) < 0)
        hv_error_errno("%s: cannot write %s/%s", fz_mode_name(c->cfg.mode), c->notes_dir, file);
}

/* ---- judging ------------------------------------------------------------------------------ */

/* Is this crash (or hang) worth a file? With a coverage map: its path adds to what
 * crashing (hanging) executions covered so far, as AFL's "unique" crashes; without one:
 * its description (fault, rip, address) is new. */
/* Without a map a crash is told apart by where it happened: its kind (the text before
 * "at rip"), the rip and the first CRASH_KEY_FRAMES return addresses on its stack, not the
 * fault address or deeper frames, which vary with the input for one bug. */
#define CRASH_KEY_FRAMES 3
static void crash_key(const char *what, char *key, size_t size)
{
    const char *rip = strstr(what, " at rip 0x"), *stack = strstr(what, ", stack ");
    size_t n = 0;
    int w = snprintf(key, size, "%.*s", rip ? (int)(rip - what) : (int)strlen(what), what);
    n = w > 0 ? (size_t)w : 0;
    if (rip && n < size) {
        w = snprintf(key + n, size - n, " rip %.*s", (int)strspn(rip + 8, "0x123456789abcdef"),
                     rip + 8);
        n += w > 0 ? (size_t)w : 0;
    }
    if (stack && n < size) {
        const char *p = stack + 8;
        for (int f = 0; f < CRASH_KEY_FRAMES && *p == '0' && n < size; f++) {
            size_t len = strspn(p, "0x123456789abcdef");
            w = snprintf(key + n, size - n, " %.*s", (int)len, p);
            n += w > 0 ? (size_t)w : 0;
            p += len + (p[len] == ' ');
        }
    }
}

static bool unique_outcome(struct fz_campaign *c, uint8_t *seen, const char *what)
{
    if (c->map_len && !c->map_one_shot)
        return fz_merge_coverage(seen, c->trace, c->map_len) != 0;
    char key[sizeof c->crash_whys[0]];
    crash_key(what, key, sizeof key);
    for (unsigned i = 0; i < c->ncrash_whys; i++)
        if (strcmp(c->crash_whys[i], key) == 0)
            return false;
    if (c->ncrash_whys == FZ_MAX_CRASH_WHYS) { /* counted in total_crashes, not saved */
        if (!c->crash_whys_full_said)
            hv_error("%s: %d kinds of crash saved, the most told apart without a coverage "
                     "map: crashes of new kinds are counted from now on, not saved",
                     fz_mode_name(c->cfg.mode), FZ_MAX_CRASH_WHYS);
        c->crash_whys_full_said = true;
        return false;
    }
    snprintf(c->crash_whys[c->ncrash_whys++], sizeof c->crash_whys[0], "%s", key);
    return true;
}

/* A new queue entry: try it shorter, keeping what gives the same classified trace. */
static void start_trim(struct fz_campaign *c, size_t entry)
{
    const struct fz_entry *e = &c->queue.entries[entry];
    if (c->trimming || e->len < TRIM_MIN_LEN || !c->map_len || c->map_one_shot ||
        fz_mode_is_tool(c->cfg.mode) ||
        c->cfg.mode == FUZZ_EXPLORE) /* explore: the solver needs the room */
        return;
    fz_tmin_free(&c->trim);
    if (fz_tmin_init(&c->trim, e->data, e->len) < 0)
        return;
    c->trim.delete_only = true;
    /* as AFL++ trims: blocks down to 1/1024 of the input, never under 4 bytes */
    c->trim.min_block = e->len / 1024 > 4 ? e->len / 1024 : 4;
    c->trim_entry = entry;
    c->trim_hash = fz_trace_hash(c->trace, c->map_len);
    c->trimming = true;
}

/* Trimming is over: the entry (and its file) become the shortest equivalent input. */
static void end_trim(struct fz_campaign *c)
{
    c->trimming = false;
    struct fz_entry *e = &c->queue.entries[c->trim_entry];
    if (c->trim.len >= e->len)
        return;
    c->n.trimmed_bytes += e->len - c->trim.len;
    uint8_t *data = malloc(c->trim.len);
    if (!data)
        return;
    memcpy(data, c->trim.best, c->trim.len);
    free(e->data);
    e->data = data;
    e->len = c->trim.len;
    if (e->file && write_file_atomic(c->queue_dir, e->file, e->data, e->len) < 0)
        hv_error_errno("%s: cannot write %s/%s", fz_mode_name(c->cfg.mode), c->queue_dir, e->file);
}

/* How a crash is told apart for tmin: its signal and, when the VMM names it, where
 * (the rip); fault addresses that follow the input's bytes do not count. */
static void fault_key(const struct fz_campaign *c, const char *what, char *key, size_t size)
{
    const char *rip = strstr(what, "rip 0x");
    size_t n = rip ? strspn(rip + 6, "0123456789abcdef") + 6 : 0;
    snprintf(key, size, "sig %d %.*s", c->cur.signal, (int)n, rip ? rip : "");
    if (!rip) /* no rip: the whole description (a triple fault, an exit status) */
        snprintf(key, size, "sig %d %.120s", c->cur.signal, what);
}

/* cmin and tmin judge differently from a campaign. */
static void judge_tool(struct fz_campaign *c, enum fz_outcome out, const char *what)
{
    if (c->cfg.mode == FUZZ_CMIN) {
        if (out != FZ_OK)
            c->n.tool_failed++; /* failing and hanging inputs are not kept */
        else if (c->map_len)
            fz_cmin_account(&c->cmin, &c->queue, c->cur.entry, c->trace);
        return;
    }
    char key[200];
    fault_key(c, what, key, sizeof key);
    if (!c->tmin_fault[0]) { /* the original input */
        if (out != FZ_CRASH) {
            c->tool_error = true;
            hv_error("tmin: the input does not crash the target (%s): nothing to minimise",
                     out == FZ_HANG ? "it hangs" : out == FZ_FAILED ? "symhv could not run it"
                                                                   : "it runs fine");
            return;
        }
        snprintf(c->tmin_fault, sizeof c->tmin_fault, "%s", key);
        hv_info("tmin: the input fails with %s", what);
        return;
    }
    fz_tmin_outcome(&c->tmin, out == FZ_CRASH && strcmp(key, c->tmin_fault) == 0);
}

/* Did the execution that ended fine add coverage? 2: new edges, 1: new hit counts only,
 * 0: nothing. A target without a coverage map (an uninstrumented program) counts the
 * symbolic branch sides its concolic run took that no run took before. */
static int execution_news(struct fz_campaign *c, uint64_t new_branch_edges)
{
    if (c->map_len)
        return fz_merge_coverage(c->seen, c->trace, c->map_len);
    return c->cur.concolic && new_branch_edges ? 2 : 0;
}

/* A crash, or a bug the program reported: a file in crashes/ (a note beside it). */
static void keep_crash(struct fz_campaign *c, enum fz_outcome out, int status, const char *what)
{
    c->n.total_crashes++;
    if (unique_outcome(c, c->crash_seen, what)) {
        c->n.crashes++;
        char sig[32] = "", name[240];
        if (out == FZ_BUG)
            snprintf(sig, sizeof sig, "bug");
        else if (c->cur.signal > 0)
            snprintf(sig, sizeof sig, "sig:%02d", c->cur.signal);
        else
            snprintf(sig, sizeof sig, "status:%d", status);
        char order[FZ_ORDER_TEXT + 8];
        order_field(c, order, sizeof order);
        save_input_named(c, c->crash_dir, c->n.crashes - 1, sig, order, name, sizeof name);
        save_note(c, name, what);
        c->n.last_crash_time = (uint64_t)time(NULL);
        c->n.execs_at_last_crash = c->n.execs;
        hv_info("%s: crash #%llu (%s) by a %s input after %llu executions", fz_mode_name(c->cfg.mode),
                (unsigned long long)c->n.crashes, what, fz_origin_name(c->cur.origin),
                (unsigned long long)c->n.execs);
    }
    if (c->cfg.until_crash)
        c->done = true;
}

/* The current input, to run again with order o forced. */
static void queue_order_trial(struct fz_campaign *c, const struct fz_order *o)
{
    if (c->orders.n >= FZ_ORDERS_PENDING_MAX ||
        c->orders_bytes + c->cur.len > FZ_ORDERS_PENDING_BYTES) {
        if (!c->n.orders_dropped++)
            hv_error("%s: %zu inputs (%llu MiB) wait to run with a race's order forced, the "
                     "most (%d, %u MiB): more are counted (race_order_drops in fuzzer_stats), "
                     "not run", fz_mode_name(c->cfg.mode), c->orders.n,
                     (unsigned long long)(c->orders_bytes >> 20), FZ_ORDERS_PENDING_MAX,
                     FZ_ORDERS_PENDING_BYTES >> 20);
        return;
    }
    fz_queue_add(&c->orders, c->cur.data, c->cur.len, FZ_FROM_ORDER)->order = *o;
    c->orders_bytes += c->cur.len;
}

void fz_campaign_add_race(struct fz_campaign *c, uint64_t a, uint64_t b, uint64_t page)
{
    struct fz_order both[2] = { { a, b, page }, { b, a, page } };
    for (int k = 0; k < 2 - (a == b); k++) {
        bool known = false;
        for (size_t i = 0; i < c->nrace_orders && !known; i++)
            known = !memcmp(&c->race_orders[i], &both[k], sizeof both[k]);
        if (known)
            continue;
        /* both ways or neither: room for the pair's two orders */
        if (c->nrace_orders + (k == 0 && a != b ? 2 : 1) > FZ_MAX_ORDERS) {
            if (!c->race_orders_full_said)
                hv_error("%s: %d orders of races' accesses are tried on new inputs, the most: "
                         "later races are reported, their orders not tried",
                         fz_mode_name(c->cfg.mode), FZ_MAX_ORDERS);
            c->race_orders_full_said = true;
            return;
        }
        c->race_orders[c->nrace_orders++] = both[k];
        queue_order_trial(c, &both[k]);
    }
}

/* An input that added coverage joins the queue (seeds are there already). */
static void keep_new(struct fz_campaign *c, int news)
{
    struct fz_entry *e = fz_queue_add(&c->queue, c->cur.data, c->cur.len, c->cur.origin);
    if (c->map_len)
        fz_entry_set_edges(e, c->trace, c->map_len);
    e->concolic_done = c->cur.concolic; /* its flips are solved already */
    char name[240];
    save_input_named(c, c->queue_dir, e->id, "", news == 2 ? "+cov" : "+hits", name,
                     sizeof name);
    e->file = strdup(name);
    start_trim(c, e->id);
    /* a new path may be where a known race crashes: orders known before it ran, a few
     * per entry, the next few for the next entry */
    for (size_t k = 0; k < FZ_ORDERS_PER_ENTRY && k < c->race_orders_before; k++)
        queue_order_trial(c, &c->race_orders[c->order_cursor++ % c->race_orders_before]);
    c->n.execs_at_last_new = c->n.execs;
    c->n.last_find_time = (uint64_t)time(NULL);
    c->judged_new = true;
    if (c->cur.origin == FZ_FROM_CMPLOG)
        c->n.cmplog_kept++;
    if (c->cur.origin == FZ_FROM_SOLVER)
        c->n.solver_kept++;
    else if (c->cur.origin == FZ_FROM_SYNC)
        c->n.imported_kept++;
}

/* A crash with an order forced is a finding only if forcing the order brings it every
 * time (its file is to replay): it runs again, first of all, FZ_ORDER_CONFIRM times. A
 * trial's crash whose order never came to be forced is the trial's timing (its input ran
 * fine before): no finding either. True if the outcome is taken here (a run to confirm,
 * or a crash that is not kept). */
static bool confirm_order_crash(struct fz_campaign *c, enum fz_outcome out)
{
    bool any = out == FZ_CRASH || out == FZ_BUG;
    bool crashed = any && c->cur.force_order && c->cur.has_order;
    if (crashed && c->cur.order_crashes < FZ_ORDER_CONFIRM) {
        struct fz_entry *e = fz_queue_add(&c->orders, c->cur.data, c->cur.len, FZ_FROM_ORDER);
        e->order = c->cur.forced;
        e->order_crashes = (uint8_t)(c->cur.order_crashes + 1);
        c->orders_bytes += c->cur.len;
        struct fz_entry again = *e; /* the next to run: first in the queue */
        memmove(&c->orders.entries[1], &c->orders.entries[0],
                (c->orders.n - 1) * sizeof c->orders.entries[0]);
        c->orders.entries[0] = again;
        return true;
    }
    if (!crashed && (c->cur.order_crashes > 0 || any)) {
        if (!c->n.orders_flaky++)
            hv_notice("%s: a crash in a run with a race's order forced did not come with that "
                      "order forced every time: not saved (such orders are counted: "
                      "race_orders_flaky in fuzzer_stats)", fz_mode_name(c->cfg.mode));
        return true;
    }
    return false;
}

void fz_campaign_judge(struct fz_campaign *c, enum fz_outcome out, int status, const char *why,
                       uint64_t new_branch_edges)
{
    c->n.execs++;
    c->judged_new = false;
    if (c->cur.origin == FZ_FROM_RACE_PASS && c->cur.entry < c->queue.n) {
        /* the races' orders this entry has not had, a few a pass (a race seen on one
         * input may crash another) */
        struct fz_entry *e = &c->queue.entries[c->cur.entry];
        for (unsigned k = 0; k < FZ_ORDERS_PER_ENTRY && e->orders_tried < c->nrace_orders; k++)
            queue_order_trial(c, &c->race_orders[e->orders_tried++]);
    }
    if (c->cur.origin == FZ_FROM_RACE_PASS && c->race_pass_next >= c->queue.n) {
        /* a pass over the queue is done (its orders' trials come after it) */
        c->race_quiet_passes = c->nrace_orders == c->race_pass_orders ? c->race_quiet_passes + 1 : 0;
        c->race_pass_orders = c->nrace_orders;
        c->race_pass_next = 0;
    }
    if (c->cur.origin == FZ_FROM_ORDER) {
        c->n.order_trials += c->cur.force_order;
        if (confirm_order_crash(c, out))
            return;
        /* a trial that ran fine adds nothing (the input's coverage counted when it first
         * ran); a hang whose order never came to be forced is the wait's, not the program's */
        if (out == FZ_OK || (out == FZ_HANG && !c->cur.has_order))
            return;
    }
    if (c->map_len) {
        fz_classify(c->trace, c->map_len);
        if (out == FZ_OK) {
            fz_count_hits(c->edge_hits, c->trace, c->map_len);
            if (c->cur.origin == FZ_FROM_SEED && c->cur.entry < c->queue.n) {
                fz_entry_set_edges(&c->queue.entries[c->cur.entry], c->trace, c->map_len);
                start_trim(c, c->cur.entry); /* the first seed that runs fine */
            }
        }
    }
    char what[160];
    if (out == FZ_BUG)
        snprintf(what, sizeof what, "bug: %.150s", why ? why : "");
    else if ((out == FZ_CRASH || out == FZ_FAILED) && why && *why)
        snprintf(what, sizeof what, "%.150s", why);
    else if (out == FZ_CRASH)
        snprintf(what, sizeof what, "exit status %d", status);
    else
        snprintf(what, sizeof what, "hang");
    if (out == FZ_FAILED) { /* symhv's failure: nothing about the program is known */
        c->n.symhv_failures++;
        if (c->n.symhv_failures <= 3 || c->n.symhv_failures % 100 == 0)
            hv_error("%s: symhv could not complete a%s execution (%s): it is no finding; "
                     "%llu so far (fuzzer_stats: symhv_failures)", fz_mode_name(c->cfg.mode),
                     c->cur.concolic ? " concolic" : "n", what,
                     (unsigned long long)c->n.symhv_failures);
        if (fz_mode_is_tool(c->cfg.mode))
            judge_tool(c, out, what);
        return;
    }
    if (out == FZ_BUG)
        c->n.bugs_reported++;
    if (fz_mode_is_tool(c->cfg.mode)) {
        judge_tool(c, out == FZ_BUG ? FZ_CRASH : out, what);
        return;
    }
    if (c->cur.origin == FZ_FROM_TRIM) {
        fz_tmin_outcome(&c->trim, out == FZ_OK && c->map_len &&
                                      fz_trace_hash(c->trace, c->map_len) == c->trim_hash);
        return;
    }
    if (c->cur.origin == FZ_FROM_KNOWN_CRASH) {
        if (out == FZ_CRASH || out == FZ_BUG)
            unique_outcome(c, c->crash_seen, what); /* remembered as seen */
        return;
    }
    if (out == FZ_HANG && c->cur.concolic) {
        /* Interpretation is slower than the CPU: a concolic run past its limit says
         * nothing of the program. Its branch sides so far count; the input runs again
         * natively, and only a hang there is one. */
        c->n.concolic_timeouts++;
        if (c->n.concolic_timeouts <= 3 || c->n.concolic_timeouts % 100 == 0)
            hv_error("%s: a concolic run passed its limit (--concolic-timeout %.0f s): the "
                     "branch sides it reached are kept, and its input runs again natively to "
                     "tell a hang (%llu so far, fuzzer_stats: concolic_timeouts)",
                     fz_mode_name(c->cfg.mode), c->cfg.concolic_timeout_s,
                     (unsigned long long)c->n.concolic_timeouts);
        if (c->recheck.n < MAX_SYNC_PENDING)
            fz_queue_add(&c->recheck, c->cur.data, c->cur.len, FZ_FROM_RECHECK);
        out = FZ_OK;
    }
    int news = 0;
    if ((c->cur.origin == FZ_FROM_RECHECK || c->cur.origin == FZ_FROM_RACE_PASS) && out == FZ_OK)
        return; /* its coverage was the concolic run's; a pass's, its entry's */

    if (out == FZ_CRASH || out == FZ_BUG) {
        keep_crash(c, out, status, what);
    } else if (out == FZ_HANG) {
        c->n.total_hangs++;
        if (unique_outcome(c, c->hang_seen, what)) {
            c->n.hangs++;
            char name[240], order[FZ_ORDER_TEXT + 8];
            order_field(c, order, sizeof order);
            save_input_named(c, c->hang_dir, c->n.hangs - 1, "", order, name, sizeof name);
            c->n.last_hang_time = (uint64_t)time(NULL);
        }
    } else if ((news = execution_news(c, new_branch_edges)) && c->cur.origin != FZ_FROM_SEED) {
        keep_new(c, news);
    }
    if (c->map_len && news == 2) /* only a new edge changes the count */
        c->edges = fz_count_edges(c->seen, c->map_len);
    else if (!c->map_len)
        c->edges += new_branch_edges;
}

void fz_campaign_add_solver_input(struct fz_campaign *c, const uint8_t *data, size_t len,
                                  bool urgent)
{
    fz_queue_add(urgent ? &c->urgent : &c->pending, data,
                 (uint32_t)(len > FZ_MAX_INPUT ? FZ_MAX_INPUT : len), FZ_FROM_SOLVER);
    c->n.solver_inputs++;
}

static void add_cmplog_candidate(void *ctx, const uint8_t *data, uint32_t len)
{
    struct fz_campaign *c = ctx;
    if (c->cmp_pending.n < MAX_CMP_PENDING) {
        fz_queue_add(&c->cmp_pending, data, len, FZ_FROM_CMPLOG);
        c->n.cmplog_inputs++;
    }
}

bool fz_campaign_wants_compare_log(const struct fz_campaign *c)
{
    return !fz_mode_is_tool(c->cfg.mode) && (c->judged_new || c->cur.origin == FZ_FROM_SEED);
}

void fz_campaign_compare_log(struct fz_campaign *c, const struct fz_compare *log, size_t n)
{
    if (!fz_campaign_wants_compare_log(c))
        return;
    if (!c->cmp_scratch && !(c->cmp_scratch = malloc(FZ_MAX_INPUT)))
        return;
    fz_i2s_candidates(c->cur.data, c->cur.len, log, n, c->input_cap, c->cmp_scratch,
                      add_cmplog_candidate, c, CMP_CANDIDATES_PER_INPUT);
}

/* ---- the next input ----------------------------------------------------------------------- */

/* Without a coverage map (an uninstrumented program) coverage is learnt only
 * concolically: explore runs every input so (SAGE's generational search over the
 * symbolic branches), a campaign the solver's inputs (its seeds run natively as its
 * baseline, mutations for crashes and hangs; the queue's concolic runs come on the
 * --concolic-every schedule). */
/* Entry k is mutated next: it is the current item, and counts for the queue cycle. */
static void count_pick(struct fz_campaign *c, size_t k)
{
    struct fz_entry *e = &c->queue.entries[k];
    c->n.cur_item = k;
    if (e->picked_cycle == c->n.cycles_done + 1)
        return;
    c->n.picked_ever += e->picked_cycle == 0;
    e->picked_cycle = c->n.cycles_done + 1;
    if (++c->n.cycle_picked >= c->queue.n) {
        c->n.cycles_done++;
        c->n.cycle_picked = 0;
    }
}

static bool runs_concolic(const struct fz_campaign *c, enum fz_origin origin)
{
    if (c->map_len)
        return false;
    return c->cfg.mode == FUZZ_EXPLORE ||
           (c->cfg.mode == FUZZ_CAMPAIGN && origin == FZ_FROM_SOLVER);
}

/* Is a queue entry's concolic run due (explore: always), and which entry? */
static bool concolic_due(const struct fz_campaign *c, size_t *entry)
{
    if (c->solving)
        return false;
    const struct fz_counters *n = &c->n;
    bool due = c->cfg.mode == FUZZ_EXPLORE ||
               (c->cfg.concolic_every &&
                (n->execs - n->last_concolic_exec >= c->cfg.concolic_every ||
                 (c->cfg.plateau_execs && n->execs - n->execs_at_last_new >= c->cfg.plateau_execs &&
                  n->execs - n->last_concolic_exec >= c->cfg.plateau_execs)));
    for (size_t i = 0; due && i < c->queue.n; i++) {
        size_t k = (c->next_concolic + i) % c->queue.n;
        if (!c->queue.entries[k].concolic_done) {
            *entry = k;
            return true;
        }
    }
    return false;
}

enum fz_source fz_campaign_choose(const struct fz_campaign *c)
{
    size_t entry;
    if (fz_mode_is_tool(c->cfg.mode) && !c->seeds_left)
        return c->cfg.mode == FUZZ_CMIN || c->tool_error ? FZ_NEXT_NONE : FZ_NEXT_TOOL;
    if (c->known.n)
        return FZ_NEXT_KNOWN;
    if (c->trimming && !c->seeds_left)
        return FZ_NEXT_TRIM;
    if (c->seeds_left)
        return FZ_NEXT_SEED;
    if (c->recheck.n)
        return FZ_NEXT_RECHECK;
    /* a race's order trials take turns with the solver's inputs, then with the rest */
    bool odd = c->n.execs & 1;
    if (c->orders.n && odd)
        return FZ_NEXT_ORDER;
    if (c->urgent.n)
        return FZ_NEXT_URGENT;
    if (c->pending.n)
        return FZ_NEXT_PENDING;
    if (c->cfg.mode == FUZZ_EXPLORE) { /* every entry runs concolically: no hurry */
        if (c->cmp_pending.n)
            return FZ_NEXT_CMPLOG;
        if (c->synced.n)
            return FZ_NEXT_SYNC;
        if (c->orders.n)
            return FZ_NEXT_ORDER;
        if (concolic_due(c, &entry))
            return FZ_NEXT_CONCOLIC;
        /* race detection samples: a search done is not a race search done */
        return c->cfg.races && c->queue.n && c->race_quiet_passes < FZ_RACE_QUIET_PASSES
                   ? FZ_NEXT_RACE_PASS : FZ_NEXT_NONE;
    }
    /* A campaign's due concolic run goes before the compare log's candidates and the
     * other instances' finds: on real code (libpng) every new entry brought candidates
     * that brought entries, and no concolic run came in 30,000 executions. */
    if (concolic_due(c, &entry))
        return FZ_NEXT_CONCOLIC;
    /* candidates and mutation take turns, so neither starves the other */
    bool mutate_turn = odd;
    if (c->orders.n && !mutate_turn)
        return FZ_NEXT_ORDER;
    if (c->cmp_pending.n && !mutate_turn)
        return FZ_NEXT_CMPLOG;
    if (c->synced.n && !mutate_turn)
        return FZ_NEXT_SYNC;
    return FZ_NEXT_MUTATION;
}

/* The next input is a stored one, as it is. */
static void take_input(struct fz_campaign *c, const struct fz_entry *e, enum fz_origin origin)
{
    c->cur.len = e->len < FZ_MAX_INPUT ? e->len : FZ_MAX_INPUT; /* cur.data's size */
    memcpy(c->cur.data, e->data, c->cur.len);
    c->cur.origin = origin;
}

/* The next input is one waiting in q, the newest (or the oldest), its origin noted and
 * its memory freed. */
static void take_waiting(struct fz_campaign *c, struct fz_queue *q, enum fz_origin origin,
                         bool oldest)
{
    struct fz_entry e = oldest ? fz_queue_shift(q) : fz_queue_pop(q);
    take_input(c, &e, origin);
    snprintf(c->cur.from, sizeof c->cur.from, "%s", e.from);
    fz_entry_free(&e);
}

/* A candidate of tmin (or of trimming) as the next input. */
static void take_candidate(struct fz_campaign *c, const struct fz_tmin *t, enum fz_origin origin)
{
    c->cur.len = t->cand_len;
    memcpy(c->cur.data, t->cand, c->cur.len);
    c->cur.origin = origin;
}

bool fz_campaign_next(struct fz_campaign *c)
{
    c->cur.concolic = false;
    c->cur.signal = 0;
    c->cur.has_order = false;
    c->cur.force_order = false;
    c->cur.order_crashes = 0;
    c->race_orders_before = c->nrace_orders;
    for (;;) {
        enum fz_source src = fz_campaign_choose(c);
        size_t entry = 0;
        switch (src) {
        case FZ_NEXT_NONE:
            if (c->cfg.mode == FUZZ_EXPLORE && !c->done)
                hv_error("explore: every queue entry ran concolically and no generated input "
                         "is left: the search is complete (%zu paths in the queue)", c->queue.n);
            c->done = true;
            return false;
        case FZ_NEXT_TOOL: /* cmin runs each input once; tmin tries until none is left */
            if (!fz_tmin_next(&c->tmin)) {
                c->done = true;
                return false;
            }
            take_candidate(c, &c->tmin, FZ_FROM_MUTATION);
            break;
        case FZ_NEXT_KNOWN:
            take_waiting(c, &c->known, FZ_FROM_KNOWN_CRASH, false);
            break;
        case FZ_NEXT_TRIM:
            if (!fz_tmin_next(&c->trim)) {
                end_trim(c);
                continue; /* the next source */
            }
            take_candidate(c, &c->trim, FZ_FROM_TRIM);
            break;
        case FZ_NEXT_SEED: /* each seed once, as it is: the coverage baseline */
            c->cur.entry = c->queue.n - c->seeds_left--;
            take_input(c, &c->queue.entries[c->cur.entry], FZ_FROM_SEED);
            break;
        case FZ_NEXT_RECHECK:
            take_waiting(c, &c->recheck, FZ_FROM_RECHECK, true);
            break;
        case FZ_NEXT_RACE_PASS:
            if (!c->race_passes_said) { /* the first pass begins */
                c->race_passes_said = true;
                c->race_pass_orders = c->nrace_orders;
                hv_notice("explore: the search is complete; with --races the %zu queue entries "
                          "run again for race samples until %d passes in a row find no new race",
                          c->queue.n, FZ_RACE_QUIET_PASSES);
            }
            c->cur.entry = c->race_pass_next++;
            take_input(c, &c->queue.entries[c->cur.entry], FZ_FROM_RACE_PASS);
            break;
        case FZ_NEXT_ORDER: {
            struct fz_order o = c->orders.entries[0].order;
            c->cur.order_crashes = c->orders.entries[0].order_crashes;
            c->orders_bytes -= c->orders.entries[0].len;
            take_waiting(c, &c->orders, FZ_FROM_ORDER, true);
            c->cur.force_order = true;
            c->cur.forced = o;
            break;
        }
        case FZ_NEXT_URGENT: /* solver inputs first: bugs and other cases, oldest first */
            take_waiting(c, &c->urgent, FZ_FROM_SOLVER, true);
            break;
        case FZ_NEXT_PENDING:
            /* explore takes them generation by generation (as SAGE: every flip of a run
             * before its children's), a campaign the newest */
            take_waiting(c, &c->pending, FZ_FROM_SOLVER, c->cfg.mode == FUZZ_EXPLORE);
            break;
        case FZ_NEXT_CMPLOG:
            take_waiting(c, &c->cmp_pending, FZ_FROM_CMPLOG, false);
            break;
        case FZ_NEXT_SYNC:
            take_waiting(c, &c->synced, FZ_FROM_SYNC, false);
            break;
        case FZ_NEXT_CONCOLIC: {
            concolic_due(c, &entry);
            struct fz_entry *e = &c->queue.entries[entry];
            e->concolic_done = true;
            c->next_concolic = entry + 1;
            take_input(c, e, e->origin);
            c->cur.concolic = true;
            c->n.last_concolic_exec = c->n.execs;
            break;
        }
        case FZ_NEXT_MUTATION: {
            size_t k = fz_pick(&c->queue, c->map_len ? c->edge_hits : NULL, &c->rng);
            count_pick(c, k);
            c->cur.len = fz_mutate(&c->rng, &c->queue, k, &c->dict, c->cur.data,
                                   c->input_cap < FZ_MAX_INPUT ? c->input_cap : FZ_MAX_INPUT);
            c->cur.origin = FZ_FROM_MUTATION;
            break;
        }
        }
        break;
    }
    if (!c->cur.concolic && runs_concolic(c, c->cur.origin) &&
        (c->cur.origin == FZ_FROM_SEED || c->cur.origin == FZ_FROM_SOLVER ||
         c->cur.origin == FZ_FROM_SYNC)) {
        c->cur.concolic = true;
        c->n.last_concolic_exec = c->n.execs;
        if (c->cur.origin == FZ_FROM_SEED && c->cur.entry < c->queue.n)
            c->queue.entries[c->cur.entry].concolic_done = true;
    }
    if (c->cur.len > c->input_cap)
        c->cur.len = c->input_cap;
    if (c->cur.concolic) {
        c->n.concolic_runs++;
        hv_info("%s: concolic run %llu on %s input (%u bytes)", fz_mode_name(c->cfg.mode),
                (unsigned long long)c->n.concolic_runs, fz_origin_name(c->cur.origin),
                c->cur.len);
    }
    return true;
}

/* ---- the campaign's edges ------------------------------------------------------------------ */

void fz_campaign_sync(struct fz_campaign *c)
{
    c->last_sync = now_s();
    if (!c->cfg.sync_dir || c->synced.n >= MAX_SYNC_PENDING)
        return;
    char err[512];
    struct fz_sync_skipped sk;
    int n = fz_sync_import(c->cfg.sync_dir, c->cfg.instance, &c->synced, FZ_MAX_INPUT,
                           MAX_SYNC_PENDING - c->synced.n, &sk, err, sizeof err);
    if (sk.not_regular + sk.too_big + sk.unreadable + sk.bad_name) {
        /* one line for all of them (each entry is passed over once) */
        char why[256] = "", big[48];
        size_t len = 0;
        snprintf(big, sizeof big, "larger than %u bytes", FZ_MAX_INPUT);
        const struct { size_t n; const char *what; } parts[] = {
            { sk.not_regular, "not regular files (FIFO, device, symlink ...)" },
            { sk.too_big, big },
            { sk.unreadable, "unreadable" },
            { sk.bad_name, "with control characters in their names" },
        };
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
            if (parts[i].n && len < sizeof why)
                len += (size_t)snprintf(why + len, sizeof why - len, "%s%zu %s", len ? ", " : "",
                                        parts[i].n, parts[i].what);
        hv_notice("%s: entries of the other instances' queues in %s not imported: %s",
                  fz_mode_name(c->cfg.mode), c->cfg.sync_dir, why);
    }
    if (n < 0) {
        hv_error("%s: %s", fz_mode_name(c->cfg.mode), err);
    } else if (n > 0) {
        c->n.imported += (uint64_t)n;
        hv_info("%s: %d inputs imported from the other instances in %s", fz_mode_name(c->cfg.mode), n,
                c->cfg.sync_dir);
    }
}

bool fz_campaign_over(const struct fz_campaign *c)
{
    return c->done ||
           (c->cfg.max_execs && c->n.execs - c->n.execs_before >= c->cfg.max_execs) ||
           (c->cfg.max_seconds && now_s() - c->started >= c->cfg.max_seconds);
}

int fz_campaign_finish_tool(struct fz_campaign *c)
{
    if (c->tool_error)
        return -1;
    if (c->cfg.mode == FUZZ_CMPLOG_PEER)
        return 0; /* it wrote each compare log as it came */
    if (c->cfg.mode == FUZZ_CMIN) {
        bool *keep = calloc(c->queue.n ? c->queue.n : 1, sizeof *keep);
        if (!keep)
            return -1;
        size_t kept = fz_cmin_result(&c->cmin, c->queue.n, keep);
        int rc = 0;
        for (size_t i = 0; i < c->queue.n && rc == 0; i++) {
            const char *name = c->queue.entries[i].file; /* as afl-cmin: the input's own name */
            if (keep[i] && write_file_atomic(c->out_dir, name, c->queue.entries[i].data,
                                             c->queue.entries[i].len) < 0) {
                hv_error_errno("cmin: cannot write %s/%s", c->out_dir, name);
                rc = -1;
            }
        }
        free(keep);
        fprintf(stderr, "symhv cmin: %zu of %zu inputs keep all the coverage (%llu crashed or "
                "hung, left out), in %s\n", kept, c->queue.n,
                (unsigned long long)c->n.tool_failed, c->out_dir);
        return rc;
    }
    char dir[PATH_MAX], *slash;
    snprintf(dir, sizeof dir, "%s", c->out_dir);
    slash = strrchr(dir, '/');
    const char *name = slash ? slash + 1 : dir;
    if (slash)
        *slash = 0;
    if (write_file_atomic(slash ? (dir[0] ? dir : "/") : ".", name, c->tmin.best, c->tmin.len) < 0) {
        hv_error_errno("tmin: cannot write %s", c->out_dir);
        return -1;
    }
    fprintf(stderr, "symhv tmin: %u -> %u bytes in %llu executions, failing as before (%s); "
            "written to %s\n", c->queue.entries[0].len, c->tmin.len,
            (unsigned long long)c->tmin.tries, c->tmin_fault, c->out_dir);
    return 0;
}
