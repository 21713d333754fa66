/* fuzzer_stats: written for afl-whatsup and read back on resume; the status line.
 * A resumed campaign's counters and times, read back from the fuzzer_stats it wrote.
 * The file is a user's to edit and a crash's to truncate: every value is checked, what
 * is refused says so in one line. */
#include <ctype.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "log.h"
#include "util.h"

#define COUNT_LIMIT 1000000000000000000ull /* 10^18: far above any real count or time */

static const struct {
    const char *key;
    size_t offset;
    bool is_time;
} resume_keys[] = {
    { "execs_done", offsetof(struct fz_resume, execs_done), false },
    { "total_crashes", offsetof(struct fz_resume, total_crashes), false },
    { "total_hangs", offsetof(struct fz_resume, total_hangs), false },
    { "concolic_runs", offsetof(struct fz_resume, concolic_runs), false },
    { "solver_inputs", offsetof(struct fz_resume, solver_inputs), false },
    { "solver_inputs_kept", offsetof(struct fz_resume, solver_inputs_kept), false },
    { "corpus_imported", offsetof(struct fz_resume, corpus_imported), false },
    { "cycles_done", offsetof(struct fz_resume, cycles_done), false },
    { "last_find", offsetof(struct fz_resume, last_find), true },
    { "last_crash", offsetof(struct fz_resume, last_crash), true },
    { "last_hang", offsetof(struct fz_resume, last_hang), true },
};
#define NKEYS (sizeof resume_keys / sizeof resume_keys[0])

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

enum value_kind { VALUE_OK, VALUE_NOT_A_COUNT, VALUE_TOO_LARGE };

/* A plain decimal number in [p, end), blanks around it allowed. */
static enum value_kind parse_count(const char *p, const char *end, uint64_t *out)
{
    while (p < end && blank(*p))
        p++;
    while (end > p && blank(end[-1]))
        end--;
    if (p == end)
        return VALUE_NOT_A_COUNT;
    uint64_t v = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return VALUE_NOT_A_COUNT; /* a sign, a fraction, an exponent, garbage */
        v = v * 10 + (uint64_t)(*p - '0');
        if (v >= COUNT_LIMIT)
            return VALUE_TOO_LARGE; /* checked each digit: v * 10 never wraps */
    }
    *out = v;
    return VALUE_OK;
}

/* One more part of the one-line note, after ", " (what does not fit is cut). */
__attribute__((format(printf, 4, 5)))
static void note_add(char *note, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len + 2 >= size)
        return;
    if (*len) {
        memcpy(note + *len, ", ", 3);
        *len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(note + *len, size - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len += (size_t)w < size - *len ? (size_t)w : size - *len - 1;
}

int fz_stats_value(const char *out_dir, const char *key, char *buf, size_t size)
{
    char path[PATH_MAX], why[256];
    if (snprintf(path, sizeof path, "%s/fuzzer_stats", out_dir) >= (int)sizeof path)
        return -1;
    size_t len, klen = strlen(key);
    char *text = (char *)read_file(path, 1u << 20, &len, why, sizeof why); /* no FIFO */
    if (!text)
        return -1;
    int rc = -1;
    for (size_t at = 0; at < len && rc < 0;) { /* whole lines, however long */
        const char *line = text + at, *nl = memchr(line, '\n', len - at);
        size_t n = nl ? (size_t)(nl - line) : len - at;
        at += n + 1;
        if (n <= klen || memcmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != ':'))
            continue;
        const char *v = memchr(line + klen, ':', n - klen);
        if (!v)
            continue;
        v++;
        size_t vn = n - (size_t)(v - line);
        while (vn && *v == ' ')
            v++, vn--;
        while (vn && v[vn - 1] == ' ')
            vn--;
        if (vn >= size || memchr(v, 0, vn))
            continue; /* does not fit, or a NUL inside: no such value */
        memcpy(buf, v, vn);
        buf[vn] = 0;
        rc = 0;
    }
    free(text);
    return rc;
}

size_t fz_stats_resume(const char *text, size_t len, uint64_t now, struct fz_resume *out,
                       char *note, size_t note_size)
{
    memset(out, 0, sizeof *out);
    if (note_size)
        note[0] = 0;
    size_t note_len = 0, refused = 0;
    bool seen[NKEYS] = { false };
    for (const char *line = text, *stop = text + len; line < stop;) {
        const char *eol = memchr(line, '\n', (size_t)(stop - line));
        if (!eol)
            eol = stop; /* the last line without its newline */
        const char *k = line;
        while (k < eol && ((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
            k++;
        size_t klen = (size_t)(k - line);
        const char *colon = k;
        while (colon < eol && blank(*colon))
            colon++;
        for (size_t i = 0; klen && colon < eol && *colon == ':' && i < NKEYS; i++) {
            if (seen[i] || strlen(resume_keys[i].key) != klen ||
                memcmp(resume_keys[i].key, line, klen) != 0)
                continue;
            seen[i] = true; /* the first line with the key counts */
            uint64_t v = 0;
            enum value_kind kind = parse_count(colon + 1, eol, &v);
            if (kind == VALUE_NOT_A_COUNT) {
                note_add(note, note_size, &note_len, "%s is not a %s (taken as 0)",
                         resume_keys[i].key, resume_keys[i].is_time ? "time" : "count");
                refused++;
            } else if (kind == VALUE_TOO_LARGE) {
                note_add(note, note_size, &note_len, "%s is too large (taken as 0)",
                         resume_keys[i].key);
                refused++;
            } else if (resume_keys[i].is_time && v > now) {
                note_add(note, note_size, &note_len, "%s is %llus in the future (taken as now)",
                         resume_keys[i].key, (unsigned long long)(v - now));
                *(uint64_t *)((char *)out + resume_keys[i].offset) = now;
                refused++;
            } else {
                *(uint64_t *)((char *)out + resume_keys[i].offset) = v;
            }
            break;
        }
        if (eol == stop)
            break;
        line = eol + 1;
    }
    return refused;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* A value fuzzer_stats can hold as it is: letters, digits, '-', '_' (afl-whatsup
 * sources the file as shell assignments). */
static bool plain_word(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return false;
    return true;
}

/* fuzzer_stats in AFL++'s format and with its keys (afl-whatsup sources it as shell
 * assignments: keys are identifiers, values plain), symhv's own keys after them. */
void fz_campaign_write_stats(struct fz_campaign *c, const struct fz_vm_figures *vm)
{
    struct text s = { 0 };
    double t = now_s(), run = t - c->started;
    double eps = (double)(c->n.execs - c->n.execs_before) / (run + 1e-9); /* this run's */
    const char *name = c->cfg.instance ? c->cfg.instance : "symhv";
    if (c->minute_mark == 0) {
        c->minute_mark = c->started;
        c->minute_execs = c->n.execs_before;
    }
    if (t - c->minute_mark >= 60) {
        c->eps_last_min = (double)(c->n.execs - c->minute_execs) / (t - c->minute_mark);
        c->minute_mark = t;
        c->minute_execs = c->n.execs;
    }
    size_t pending = c->queue.n - c->n.picked_ever; /* entries never mutated yet */
    text_printf(&s, "start_time        : %llu\nlast_update       : %llu\nrun_time          : %.0f\n",
                (unsigned long long)c->start_time, (unsigned long long)time(NULL), run);
    text_printf(&s, "fuzzer_pid        : %d\ncycles_done       : %llu\ncycles_wo_finds   : 0\n",
                (int)getpid(), (unsigned long long)c->n.cycles_done);
    text_printf(&s, "execs_done        : %llu\nexecs_per_sec     : %.2f\nexecs_ps_last_min : %.2f\n",
                (unsigned long long)c->n.execs, eps, c->eps_last_min > 0 ? c->eps_last_min : eps);
    text_printf(&s, "corpus_count      : %zu\ncorpus_favored    : 0\ncorpus_found      : %zu\n"
                "corpus_imported   : %llu\ncorpus_variable   : 0\nmax_depth         : 1\n"
                "cur_item          : %zu\npending_favs      : 0\npending_total     : %zu\n"
                "stability         : 100.00%%\nbitmap_cvg        : %.2f%%\n",
                c->queue.n, c->queue.n - c->nseeds, (unsigned long long)c->n.imported_kept,
                c->n.cur_item, pending,
                c->map_len ? 100.0 * (double)c->edges / (double)c->map_len : 0.0);
    text_printf(&s, "saved_crashes     : %llu\nsaved_hangs       : %llu\nlast_find         : %llu\n"
                "last_crash        : %llu\nlast_hang         : %llu\nexecs_since_crash : %llu\n"
                "exec_timeout      : %.0f\nslowest_exec_ms   : 0\npeak_rss_mb       : 0\n"
                "cpu_affinity      : -1\nedges_found       : %zu\ntotal_edges       : %llu\n"
                "var_byte_count    : 0\nhavoc_expansion   : 0\nauto_dict_entries : 0\n"
                "testcache_size    : 0\ntestcache_count   : 0\ntestcache_evict   : 0\n",
                (unsigned long long)c->n.crashes, (unsigned long long)c->n.hangs,
                (unsigned long long)c->n.last_find_time, (unsigned long long)c->n.last_crash_time,
                (unsigned long long)c->n.last_hang_time,
                (unsigned long long)(c->n.execs - c->n.execs_at_last_crash),
                c->cfg.exec_timeout_s * 1000, c->edges, (unsigned long long)c->map_len);
    text_printf(&s, "afl_banner        : %s\nafl_version       : symhv-%s\ntarget_mode       : "
                "symhv snapshot\ncommand_line      : symhv fuzz\n", name, SYMHV_VERSION);
    text_printf(&s, "total_crashes     : %llu\ntotal_hangs       : %llu\nconcolic_runs     : %llu\n"
                "solver_inputs     : %llu\nsolver_inputs_kept: %llu\nsync_imported     : %llu\n"
                "cmplog_inputs     : %llu\ncmplog_inputs_kept: %llu\ntrimmed_bytes     : %llu\n"
                "last_restore_pages: %llu\nrestore_us_avg    : %.1f\nguest_ram_mib     : %llu\n"
                "exec_us_avg       : %.1f\nsettle_us_avg     : %.1f\njudge_us_avg      : %.1f\n"
                "next_input_us_avg : %.1f\nconcolic_timeouts : %llu\n",
                (unsigned long long)c->n.total_crashes, (unsigned long long)c->n.total_hangs,
                (unsigned long long)c->n.concolic_runs, (unsigned long long)c->n.solver_inputs,
                (unsigned long long)c->n.solver_kept, (unsigned long long)c->n.imported,
                (unsigned long long)c->n.cmplog_inputs, (unsigned long long)c->n.cmplog_kept,
                (unsigned long long)c->n.trimmed_bytes, (unsigned long long)vm->restored_pages,
                vm->restore_us, (unsigned long long)vm->guest_ram_mib, vm->exec_us,
                vm->settle_us, vm->judge_us, vm->next_us,
                (unsigned long long)c->n.concolic_timeouts);
    if (c->cfg.target[0])
        text_printf(&s, "symhv_target      : %s\n", c->cfg.target);
    if (c->cfg.inputs[0])
        text_printf(&s, "symhv_inputs      : %s\n", c->cfg.inputs);
    text_printf(&s, "reported_bugs     : %llu\nsymhv_failures    : %llu\ncoverage          : %s\n",
                (unsigned long long)c->n.bugs_reported, (unsigned long long)c->n.symhv_failures,
                fz_coverage_name(c));
    text_printf(&s, "solver_queries    : %llu\nsolver_cache_hits : %llu\nsolver_seconds    : %.3f\n"
                "flips_pruned      : %llu\nflips_unasked     : %llu\nsolve_budget_s    : %.0f\n"
                "branches_pruned   : %llu\nsolver_backend    : %s\n",
                (unsigned long long)vm->queries,
                (unsigned long long)vm->cache_hits, vm->solver_seconds,
                (unsigned long long)vm->flips_pruned, (unsigned long long)vm->flips_unasked,
                c->cfg.solve_budget_s, (unsigned long long)vm->branches_pruned,
                !vm->solver ? "none" : plain_word(vm->solver) ? vm->solver : "unknown");
    if (vm->races_on)
        text_printf(&s, "races_found       : %llu\nrace_samples      : %llu\nrace_held         : "
                    "%llu\nrace_sync_pairs   : %llu\nrace_dropped      : %llu\n"
                    "race_handoffs     : %llu\nrace_order_trials : %llu\nrace_order_drops  : "
                    "%llu\nrace_orders_flaky : %llu\n",
                    (unsigned long long)vm->races_found, (unsigned long long)vm->race_samples,
                    (unsigned long long)vm->race_held, (unsigned long long)vm->race_sync_pairs,
                    (unsigned long long)vm->race_dropped, (unsigned long long)vm->race_handoffs,
                    (unsigned long long)c->n.order_trials,
                    (unsigned long long)c->n.orders_dropped,
                    (unsigned long long)c->n.orders_flaky);
    if (s.failed || write_file_atomic(c->out_dir, "fuzzer_stats", s.buf, s.len) < 0)
        hv_error_errno("%s: cannot write %s/fuzzer_stats", fz_mode_name(c->cfg.mode), c->out_dir);
    text_free(&s);

    /* plot_data: one line per stats period, for afl-plot */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/plot_data", c->out_dir);
    bool fresh = access(path, F_OK) != 0;
    FILE *plot = fopen(path, "a");
    bool ok = plot != NULL;
    if (ok && fresh)
        ok = fputs("# relative_time, cycles_done, cur_item, corpus_count, pending_total, "
                   "pending_favs, map_size, saved_crashes, saved_hangs, max_depth, "
                   "execs_per_sec, total_execs, edges_found\n", plot) >= 0;
    if (ok)
        ok = fprintf(plot, "%.0f, %llu, %zu, %zu, %zu, 0, %.2f%%, %llu, %llu, 1, %.2f, %llu, %zu\n",
                     run, (unsigned long long)c->n.cycles_done, c->n.cur_item, c->queue.n,
                     pending, c->map_len ? 100.0 * (double)c->edges / (double)c->map_len : 0.0,
                     (unsigned long long)c->n.crashes, (unsigned long long)c->n.hangs, eps,
                     (unsigned long long)c->n.execs, c->edges) >= 0;
    if (plot && fclose(plot) != 0)
        ok = false;
    if (!ok && !c->plot_failed) {
        hv_error_errno("%s: cannot write %s", fz_mode_name(c->cfg.mode), path);
        c->plot_failed = true;
    }
}

void fz_campaign_status_line(const struct fz_campaign *c, const struct fz_vm_figures *vm,
                             bool tty, bool final)
{
    double t = now_s();
    char last[32] = "none yet";
    uint64_t now = (uint64_t)time(NULL);
    if (c->n.last_find_time) /* the clock may have been set back since */
        snprintf(last, sizeof last, "%llus ago",
                 (unsigned long long)(now > c->n.last_find_time ? now - c->n.last_find_time : 0));
    char more[192] = "";
    if (c->cfg.sync_dir)
        snprintf(more, sizeof more, ", imported %llu kept", (unsigned long long)c->n.imported_kept);
    if (vm->races_on)
        snprintf(more + strlen(more), sizeof more - strlen(more), ", races %llu",
                 (unsigned long long)vm->races_found);
    if (c->solving && !final)
        snprintf(more + strlen(more), sizeof more - strlen(more), ", solving in the background");
    if (vm->concolic_for_s > 0 && !final) /* its time is not -t's: say it is on */
        snprintf(more + strlen(more), sizeof more - strlen(more),
                 ", concolic run for %.0fs (its limit %.0fs)", vm->concolic_for_s,
                 c->cfg.concolic_timeout_s);
    fprintf(stderr, "%ssymhv %s: %.0fs, %llu execs (%.0f/s), queue %zu, crashes %llu, "
            "hangs %llu, edges %zu (%s), last find %s, cmplog %llu kept, solver inputs %llu "
            "(%llu kept; %llu queries, %llu cached, %.1fs)%s%s",
            tty ? "\r\033[K" : "", fz_mode_name(c->cfg.mode), t - c->started,
            (unsigned long long)c->n.execs,
            (double)(c->n.execs - c->n.execs_before) / (t - c->started + 1e-9), c->queue.n,
            (unsigned long long)c->n.crashes, (unsigned long long)c->n.hangs, c->edges,
            fz_coverage_name(c), last,
            (unsigned long long)c->n.cmplog_kept, (unsigned long long)c->n.solver_inputs,
            (unsigned long long)c->n.solver_kept, (unsigned long long)vm->queries,
            (unsigned long long)vm->cache_hits, vm->solver_seconds, more,
            tty && !final ? "" : "\n");
}
