#include "fuzzer.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breakpoints.h"
#include "cmplog_peer.h"
#include "console.h"
#include "fuzz_internal.h"
#include "guest_mem.h"
#include "log.h"
#include "races.h"
#include "snapshot.h"
#include "symhv/sidecar.h" /* SC_FLIP_*: what a solver input flips */
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define STATUS_PERIOD_S 1.0
#define STATS_PERIOD_S 5.0
#define REQUEST_WAIT_MS 10

/* ---- setup ---------------------------------------------------------------------------- */


struct fuzzer *fuzzer_attach(struct vm *vm, struct hypercalls *hc, struct engine *engine,
                             struct console *console, const struct fuzz_config *cfg)
{
    struct fuzzer *f = calloc(1, sizeof *f);
    if (!f) {
        hv_error("fuzz: out of memory");
        return NULL;
    }
    f->vm = vm;
    f->engine = engine;
    f->console = console;
    f->c.lock_fd = -1;
    f->peer_fd = -1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    if (fz_campaign_open(&f->c, cfg) < 0) {
        fuzzer_detach(f);
        return NULL;
    }
    f->tty = isatty(STDERR_FILENO);
    f->last_status = f->last_stats = now_s();
    fuzz_calls_attach(f, hc);
    return f;
}

void fuzzer_detach(struct fuzzer *f)
{
    if (!f)
        return;
    if (f->vm->end_opaque == f)
        vm_set_end_policy(f->vm, NULL, NULL);
    breakpoints_free(f->bps);
    snapshot_free(f->snap);
    free(f->cmplog_copy);
    free(f->afl_headers);
    free(f->peer_log);
    free(f->whole);
    fz_campaign_close(&f->c);
    free(f);
}

void fuzzer_set_program(struct fuzzer *f, const char *path) { f->program = path; }

int fuzzer_set_cmplog_peer(struct fuzzer *f, struct cmplog_peer *peer, int peer_fd)
{
    f->peer = peer;
    f->peer_fd = peer_fd;
    if ((peer || peer_fd >= 0) &&
        !(f->peer_log = malloc(CMPLOG_PEER_MAX_COMPARES * sizeof *f->peer_log))) {
        hv_error("fuzz: out of memory");
        return -1;
    }
    if (peer_fd >= 0 && !(f->afl_headers = malloc(SYMHV_AFL_CMP_MAP_W * sizeof *f->afl_headers))) {
        hv_error("fuzz: out of memory");
        return -1;
    }
    return 0;
}

/* A fuzz campaign on a program with no coverage map of its own: breakpoints at its basic
 * blocks, armed in the snapshot (it is taken). Said either way. */
static void arm_breakpoints(struct fuzzer *f)
{
    if (f->c.cfg.mode != FUZZ_CAMPAIGN || f->map.npages || f->c.cfg.no_breakpoints ||
        !f->program) /* a --target or a Linux guest: no program of symhv's kernel */
        return;
    char why[256] = "";
    if (access(f->program, R_OK) != 0)
        snprintf(why, sizeof why, "the program is no host file symhv can read");
    else if ((f->bps = breakpoints_open(f->program, true, why, sizeof why))) {
        struct guest_as as;
        guest_as_from_sregs(&as, f->vm, snapshot_sregs(f->snap, f->claims.start_vcpu), true);
        /* where symhv's kernel put a static-pie program (the guest's word: a wrong one
         * only leaves blocks unarmed, each address goes through the page tables) */
        const struct symhv_boot_info *info =
            vm_gpa_to_host(f->vm, SYMHV_BOOT_INFO_ADDR, sizeof *info);
        uint64_t bias = info ? info->program_base : 0;
        long armed = 0;
        if (fz_campaign_set_map(&f->c, breakpoints_count(f->bps)) < 0)
            snprintf(why, sizeof why, "out of memory for the map");
        else if ((armed = breakpoints_arm(f->bps, f->vm, &as, f->snap, bias)) == 0)
            snprintf(why, sizeof why, "none of its blocks is mapped at the snapshot");
        if (armed > 0) {
            f->c.map_one_shot = true;
            f->c.coverage_name = "breakpoints";
            hv_notice("fuzz: binary-only coverage: an int3 at each of %ld basic blocks of %s, "
                      "removed at its first hit (--no-breakpoints: none)", armed, f->program);
            return;
        }
        breakpoints_free(f->bps); /* nothing of it was armed */
        f->bps = NULL;
        if (fz_campaign_set_map(&f->c, 0) < 0)
            hv_error("fuzz: out of memory");
    }
    hv_notice("fuzz: no binary-only coverage (%s): the coverage is the symbolic branch sides "
              "of concolic runs", why);
}

/* ---- races ---------------------------------------------------------------------------- */

void fuzzer_set_races(struct fuzzer *f, struct races *r)
{
    f->races = r;
    f->c.cfg.races = r != NULL;
    /* a resumed campaign's races keep their ids */
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/races", f->c.out_dir);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        unsigned long id;
        if (sscanf(e->d_name, "id:%lu", &id) == 1 && id + 1 > f->races_saved)
            f->races_saved = id + 1;
    }
    if (d)
        closedir(d);
}

/* The execution's new races: each with its input (a file as a crash is) and its report. */
static void save_races(struct fuzzer *f)
{
    if (!f->races || fz_mode_is_tool(f->c.cfg.mode))
        return;
    struct race got[4];
    char dir[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/races", f->c.out_dir);
    for (size_t n; (n = races_take_new(f->races, got, 4)) > 0;) {
        for (size_t i = 0; i < n; i++) /* each order of the pair, tried on inputs */
            fz_campaign_add_race(&f->c, got[i].first.pc, got[i].second.pc,
                                 page_floor(got[i].first.gpa));
        if (make_dir(dir) < 0) {
            hv_error_errno("fuzz: cannot make %s; %zu races not saved", dir, n);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            char name[96], note[128], text[1024];
            snprintf(name, sizeof name, "id:%06zu,pcs:%llx+%llx", f->races_saved,
                     (unsigned long long)got[i].first.pc, (unsigned long long)got[i].second.pc);
            snprintf(note, sizeof note, "%s.txt", name);
            races_format(&got[i], name, text, sizeof text);
            if (write_file_atomic(dir, name, f->c.cur.data, f->c.cur.len) < 0 ||
                write_file_atomic(dir, note, text, strlen(text)) < 0) {
                hv_error_errno("fuzz: cannot write %s/%s", dir, name);
                continue;
            }
            f->races_saved++;
            hv_info("fuzz: race saved as races/%s", name);
        }
    }
}

/* ---- the settled VM: snapshot, restore, inputs ---------------------------------------- */

static int restore(struct fuzzer *f)
{
    double t0 = now_s();
    int rc = snapshot_restore(f->snap, f->vm, &f->phases.restored_pages);
    f->phases.restore += now_s() - t0;
    f->phases.restores++;
    return rc;
}

/* After an execution that gave the queue a new entry (or ran a seed): the values its
 * comparisons wanted, put into it. */
static bool input_to_state(struct fuzzer *f)
{
    if (f->cmplog_ready) {
        fuzz_buffer_copy(f, &f->cmplog, f->cmplog_copy, FZ_CMPLOG_SIZE, false);
        uint32_t count;
        memcpy(&count, f->cmplog_copy, sizeof count);
        if (count > FZ_CMPLOG_ENTRIES)
            count = FZ_CMPLOG_ENTRIES; /* the guest's word: bounded here */
        fz_campaign_compare_log(&f->c, (const struct fz_compare *)(f->cmplog_copy + 8), count);
    }
    if (!f->peer || f->peer->gone)
        return true;
    /* -c: the same input through the CMPLOG build, in the peer's VM */
    long n = cmplog_peer_ask(f->peer, f->c.cur.data, f->c.cur.len, f->c.cfg.exec_timeout_s + 10,
                             f->peer_log, CMPLOG_PEER_MAX_COMPARES);
    if (n >= 0)
        fz_campaign_compare_log(&f->c, f->peer_log, (size_t)n);
    return n != CMPLOG_PEER_NO_START; /* -c named no working CMPLOG build: the campaign stops */
}

/* ---- the -c peer: the campaign's inputs through the CMPLOG build ---------------------- */

/* The next input the campaign sends, as c->cur; false when it is over (peer_over). */
static bool peer_take_input(struct fuzzer *f)
{
    uint32_t len = 0;
    int rc = cmplog_peer_take_input(f->peer_fd, f->c.cur.data, f->c.input_cap, &len);
    if (rc <= 0) {
        f->peer_over = true;
        if (rc < 0) /* said: the peer ends with an error */
            vm_request_stop(f->vm, HV_EXIT_SETUP_ERROR);
        return false;
    }
    f->c.cur.len = len;
    f->c.cur.concolic = false;
    f->c.cur.force_order = false;
    return true;
}

/* An execution ended: its compare log to the campaign. */
static bool peer_send_log(struct fuzzer *f)
{
    struct guest_as as;
    guest_as_from_sregs(&as, f->vm, snapshot_sregs(f->snap, f->claims.start_vcpu), false);
    int rc = cmplog_peer_send_log(f->peer_fd, &as, f->afl_cmp_map, f->afl_headers, f->peer_log);
    if (rc == 1 && !f->peer_cut_noted) {
        f->peer_cut_noted = true;
        hv_notice("an execution logged more than %d distinct comparisons: the first %d go to "
                  "input-to-state", CMPLOG_PEER_MAX_COMPARES, CMPLOG_PEER_MAX_COMPARES);
    }
    return rc >= 0;
}

/* ---- decisions ---------------------------------------------------------------------- */

/* The concolic run's concrete parts and their bytes, for its solver's inputs. */
static void keep_concrete_parts(struct fuzzer *f)
{
    pthread_mutex_lock(&f->lock);
    f->solved_run.concrete = f->claims.concrete;
    pthread_mutex_unlock(&f->lock);
    if (!fz_keep_concrete(&f->solved_run.concrete, f->c.cur.data, f->c.cur.len) &&
        !f->concrete_overflow_noted) {
        f->concrete_overflow_noted = true;
        hv_error("fuzz: more than %d concrete parts of the input (or %d bytes): the solver's "
                 "inputs keep the first only", FZ_MAX_CONCRETE_PARTS, FZ_MAX_CONCRETE_BYTES);
    }
}

static void add_solver_input(void *ctx, const uint8_t *data, size_t len,
                             const struct engine_result *why)
{
    struct fuzzer *f = ctx;
    if (f->solved_run.concrete.n && (f->whole || (f->whole = malloc(FZ_MAX_INPUT)))) {
        len = fz_put_back_concrete(&f->solved_run.concrete, data, len, f->whole, FZ_MAX_INPUT);
        data = f->whole;
    }
    uint32_t marked = f->solved_run.marked;
    if (marked > f->solved_run.len || f->solved_run.length_symbolic) {
        /* the marked bytes, then the length word: the input is as long as the word says */
        uint32_t n = f->solved_run.len;
        if (f->solved_run.length_symbolic && len >= (size_t)marked + sizeof n)
            memcpy(&n, data + marked, sizeof n);
        len = n < marked ? n : marked;
    }
    fz_campaign_add_solver_input(&f->c, data, len,
                                 why->kind != SC_FLIP_BRANCH && why->kind != SC_FLIP_SELECT);
}

/* How much longer than its input a concolic run may make one: the solver tends to pick
 * the longest length a path allows, and every byte more is a loop iteration more in the
 * next run's formulas (a 4 KiB step took a TLV parser's search 1000 queries a run). */
#define CONCOLIC_GROWTH 64

static void write_length(struct fuzzer *f, uint32_t limit)
{
    struct symhv_fuzz_length l = { f->c.cur.len, limit };
    fuzz_buffer_copy(f, &f->length_word, &l, sizeof l, true);
}

/* A fuzz target's input into its buffer; in a concolic run symbolic, and with a length
 * word the word and the buffer's next bytes (zero) too, so a flip may ask for a longer
 * input. */
static void place_target_input(struct fuzzer *f)
{
    uint32_t marked = f->c.cur.len;
    uint8_t *padded = NULL;
    if (f->c.cur.concolic && f->length_word.npages) {
        marked = f->c.input_cap - f->c.cur.len > CONCOLIC_GROWTH ? f->c.cur.len + CONCOLIC_GROWTH
                                                             : f->c.input_cap;
        if ((padded = calloc(1, marked)))
            memcpy(padded, f->c.cur.data, f->c.cur.len);
        else
            marked = f->c.cur.len;
    }
    fuzz_buffer_copy(f, &f->input, padded ? padded : f->c.cur.data, marked, true);
    free(padded);
    if (f->length_word.npages)
        write_length(f, f->c.cur.concolic ? marked : f->c.input_cap);
    if (!f->c.cur.concolic)
        return;
    struct guest_as as;
    guest_as_from_sregs(&as, f->vm, snapshot_sregs(f->snap, f->claims.start_vcpu), false);
    if (engine_make_symbolic(f->engine, NULL, &as, f->input.gva, marked, "input") < 0) {
        f->c.cur.concolic = false;
        return;
    }
    f->cur_marked = marked;
    f->cur_length_symbolic =
        f->length_word.npages && engine_make_symbolic(f->engine, NULL, &as, f->length_word.gva,
                                                      sizeof(uint32_t), "input_len") >= 0;
}

/* symhv_make_symbolic's campaign: the input's first bytes into the buffers the snapshot
 * holds (marked symbolic in a concolic run); the program's later calls take the rest. */
static void place_snap_inputs(struct fuzzer *f)
{
    uint64_t off = 0;
    struct fz_concrete_parts concrete = { 0 };
    for (unsigned i = 0; i < f->claims.nsnap_inputs; i++) {
        struct snap_input *si = &f->claims.snap_inputs[i];
        if (si->concrete)
            fz_note_concrete(&concrete, off, si->len);
        if (off < f->c.cur.len) {
            uint64_t n = f->c.cur.len - off < si->len ? f->c.cur.len - off : si->len;
            if (guest_write(&si->as, si->gva, f->c.cur.data + off, n) < 0)
                hv_error("fuzz: cannot write the input into the buffer '%s'", si->name);
        }
        if (f->c.cur.concolic && !si->concrete &&
            engine_make_symbolic(f->engine, NULL, &si->as, si->gva, si->len, si->name) < 0)
            hv_error("fuzz: the input '%s' stays concrete in this concolic run", si->name);
        off += si->len;
    }
    pthread_mutex_lock(&f->lock); /* the program's later calls read these */
    f->claims.offset = off;
    f->claims.calls = f->claims.nsnap_inputs;
    f->claims.concrete = concrete;
    pthread_mutex_unlock(&f->lock);
}

/* Choose and place the next input; may start a concolic execution. */
/* The campaign's next input, placed into the guest; may start a concolic execution. */
static void next_input(struct fuzzer *f)
{
    pthread_mutex_lock(&f->lock); /* a new execution: no bug reported in it yet */
    f->end.bug_reported = false;
    pthread_mutex_unlock(&f->lock);
    f->cur_marked = 0;
    f->cur_length_symbolic = false;
    if (f->c.cfg.mode == FUZZ_CMPLOG_PEER ? !peer_take_input(f) : !fz_campaign_next(&f->c))
        return;
    /* half the execution's time at most, so that an order whose other access never
     * comes makes no hang */
    if (f->c.cur.force_order &&
        (!f->races || races_force_order(f->races, &f->c.cur.forced, f->c.cfg.exec_timeout_s / 2) < 0))
        f->c.cur.force_order = false; /* said; the input runs all the same, as no trial */
    if (f->bps && f->c.cur.concolic) /* the interpreter reads the program's own code */
        breakpoints_disarm_live(f->bps, f->vm);
    struct kvm_regs *regs = snapshot_regs(f->snap, f->claims.start_vcpu);
    if (f->claims.by_make_symbolic) {
        place_snap_inputs(f);
        regs->rax = 0; /* the first symhv_make_symbolic's input id */
    } else {
        place_target_input(f);
        regs->rax = f->c.cur.len; /* the input's length is what symhv_fuzz_start returns */
    }
    struct vcpu *v = &f->vm->vcpus[f->claims.start_vcpu];
    if (vcpu_set_regs(v, regs) == 0)
        vcpu_state_replaced(v);
    f->exec_started = now_s();
}

/* ---- status ------------------------------------------------------------------------- */

static double per_exec_us(const struct phases *p, double sum)
{
    return p->samples ? sum * 1e6 / (double)p->samples : 0.0;
}

static void status(struct fuzzer *f, bool final)
{
    double t = now_s();
    if (fz_mode_is_tool(f->c.cfg.mode))
        return; /* the tools write their result at the end, nothing else */
    const struct phases *p = &f->phases;
    struct fz_vm_figures vm = {
        .restored_pages = p->restored_pages,
        .restore_us = p->restores ? p->restore * 1e6 / (double)p->restores : 0.0,
        .exec_us = per_exec_us(p, p->exec), .settle_us = per_exec_us(p, p->settle),
        .judge_us = per_exec_us(p, p->judge), .next_us = per_exec_us(p, p->next),
        .guest_ram_mib = f->vm->mem.bytes >> 20,
        .queries = f->search.queries, .cache_hits = f->search.cache_hits,
        .flips_pruned = f->search.flips_pruned, .flips_unasked = f->search.flips_unasked,
        .branches_pruned = f->search.branches_pruned, .solver_seconds = f->search.solver_seconds,
        .solver = engine_solver_name(f->engine),
        .concolic_for_s = f->c.cur.concolic ? t - f->exec_started : 0,
    };
    if (f->races) {
        struct race_stats rs = races_stats(f->races);
        vm.races_on = true;
        vm.races_found = rs.found;
        vm.race_samples = rs.samples;
        vm.race_held = rs.held;
        vm.race_sync_pairs = rs.sync_pairs;
        vm.race_dropped = rs.dropped;
        vm.race_handoffs = rs.handoffs;
    }
    if (final || t - f->last_stats >= STATS_PERIOD_S) {
        fz_campaign_write_stats(&f->c, &vm);
        f->last_stats = t;
    }
    if (!final && t - f->last_status < (f->tty ? STATUS_PERIOD_S : STATS_PERIOD_S))
        return;
    f->last_status = t;
    fz_campaign_status_line(&f->c, &vm, f->tty, final);
}

/* ---- the main thread ------------------------------------------------------------------ */

/* A background solving that is over (or, wait: the campaign ends) gives its inputs to the
 * campaign, which runs them next. */
static void collect_background_solving(struct fuzzer *f, bool wait)
{
    if (!f->c.solving || (!wait && !engine_solve_done(f->engine)))
        return;
    int found = engine_solve_collect(f->engine, wait ? NULL : add_solver_input, f, &f->search);
    f->c.solving = false;
    if (wait)
        hv_info("fuzz: the campaign ended while the solver worked: its %d inputs are not run",
                found);
    else
        hv_info("fuzz: background solving gave %d new inputs", found);
}


/* The VM is settled: take the snapshot, or judge the execution and go back to it. */
static bool between_executions(struct fuzzer *f, enum request req, enum fz_outcome out,
                               int status, const char *why)
{
    struct vm *vm = f->vm;
    if (req == REQ_SNAPSHOT) {
        /* The snapshot holds an empty coverage map: every execution starts from it, and
         * the restore empties the map pages the execution dirtied (no map write per
         * execution, which also made 16 more pages to restore each time). */
        if (f->map.npages) {
            memset(f->c.trace, 0, f->map.len);
            fuzz_buffer_copy(f, &f->map, f->c.trace, f->map.len, true);
        }
        if (f->c.cfg.mode == FUZZ_CMIN && (!f->map.npages || fz_cmin_init(&f->c.cmin, f->map.len) < 0)) {
            hv_error("cmin: the target has no coverage map: build it with build/cc/symhv-cc "
                     "(or symhv-c++), afl-clang-fast -static, or scripts/symhv-build-fuzzer");
            return false;
        }
        races_quiesce(f->races); /* no watch in the snapshot */
        struct fz_order stale;
        if (f->races) /* start-up's handoffs name no execution's crash */
            races_take_handoff(f->races, &stale);
        f->snap = snapshot_take(vm);
        if (!f->snap)
            return false;
        pthread_mutex_lock(&f->lock); /* no vCPU runs: no call adds a buffer now */
        if (f->claims.by_make_symbolic) {
            uint64_t cap = 0;
            for (unsigned i = 0; i < f->claims.nsnap_inputs; i++)
                cap += f->claims.snap_inputs[i].len;
            /* several buffers (two vCPUs' 1 MiB each) may add up past what one input
             * holds: the bytes past FZ_MAX_INPUT stay as the snapshot has them */
            if (cap > FZ_MAX_INPUT)
                hv_error("fuzz: the program's %u symbolic buffers hold %llu bytes, more than "
                         "one input's %u: the bytes past it stay concrete", f->claims.nsnap_inputs,
                         (unsigned long long)cap, FZ_MAX_INPUT);
            f->c.input_cap = cap > FZ_MAX_INPUT ? FZ_MAX_INPUT : (uint32_t)cap;
        }
        atomic_store(&f->have_snapshot, true);
        pthread_mutex_unlock(&f->lock);
        arm_breakpoints(f);
        if (f->claims.by_make_symbolic)
            hv_info("fuzz: snapshot taken on vCPU %u at symhv_make_symbolic (%u vCPUs, %u "
                    "buffers, %u bytes so far: the input is every buffer's bytes in call "
                    "order); %zu seeds", f->claims.start_vcpu, vm->ncpus, f->claims.nsnap_inputs,
                    f->c.input_cap, f->c.queue.n);
        else
            hv_info("fuzz: snapshot taken on vCPU %u (%u vCPUs, input up to %llu bytes, "
                    "coverage %s, %llu bytes); %zu seeds", f->claims.start_vcpu, vm->ncpus,
                    (unsigned long long)f->input.len,
                    fz_coverage_name(&f->c),
                    (unsigned long long)f->map.len, f->c.queue.n);
        if (f->c.cfg.mode == FUZZ_CMPLOG_PEER &&
            (cmplog_peer_hello(f->peer_fd, f->afl_cmp_map != 0) < 0 || !f->afl_cmp_map))
            return false; /* no such build: the campaign says so */
        console_mute(f->console, true); /* the target's output would flood the log */
        console_take_tail(f->console, f->output_tail, sizeof f->output_tail); /* start-up's */
        f->c.seeds_left = f->c.queue.n;
        size_t longer = 0;
        for (size_t i = 0; i < f->c.queue.n && !f->claims.by_make_symbolic; i++)
            longer += f->c.queue.entries[i].len > f->input.len;
        if (longer)
            hv_error("fuzz: %zu of %zu seeds are longer than the target's input buffer (%llu "
                     "bytes, symhv_fuzz_start's max_len): they run cut to that length",
                     longer, f->c.queue.n, (unsigned long long)f->input.len);
    } else if (f->c.cfg.mode == FUZZ_CMPLOG_PEER) {
        if (!peer_send_log(f) || restore(f) < 0)
            return false;
        next_input(f);
        return true;
    } else {
        double t0 = now_s();
        collect_background_solving(f, false);
        if (f->claims.by_make_symbolic) { /* the input reaches as far as the program's buffers */
            pthread_mutex_lock(&f->lock);
            if (f->claims.offset > f->c.input_cap)
                f->c.input_cap = (uint32_t)f->claims.offset;
            pthread_mutex_unlock(&f->lock);
        }
        f->search.new_branch_edges = 0;
        f->search.budget_s = f->c.cfg.solve_budget_s; /* one run's share, then the next */
        if (f->c.cfg.max_seconds) { /* --max-time holds while the solver works, too */
            double left = f->c.cfg.max_seconds - (now_s() - f->c.started);
            left = left > 0.001 ? left : 0.001;
            if (!f->search.budget_s || left < f->search.budget_s)
                f->search.budget_s = left;
        }
        if (f->c.cur.concolic) {
            f->solved_run.marked = f->cur_marked;
            f->solved_run.len = f->c.cur.len;
            f->solved_run.length_symbolic = f->cur_length_symbolic;
            keep_concrete_parts(f);
            /* A campaign with a map solves in the background and fuzzes on (its inputs
             * join as they come); explore, and a program without a map, whose only
             * coverage is the run's new branch sides, wait for them (judge() needs them);
             * so does a campaign counted in executions (--max-execs), which would
             * otherwise end before the solver's inputs came and run. */
            if (f->c.cfg.mode == FUZZ_CAMPAIGN && (f->map.npages || f->bps) && !f->c.cfg.max_execs &&
                engine_solve_begin(f->engine, f->search.budget_s) == 0) {
                f->c.solving = true;
                hv_info("fuzz: concolic run over; solving in the background");
            } else {
                int found = engine_concolic_collect(f->engine, add_solver_input, f, &f->search);
                hv_info("fuzz: concolic run gave %d new inputs, %llu new branch sides", found,
                        (unsigned long long)f->search.new_branch_edges);
            }
        }
        races_quiesce(f->races);
        /* a crash right after a held access went after another's: its file keeps that
         * order, for replay to force it again */
        f->c.cur.has_order = f->races && races_take_handoff(f->races, &f->c.cur.order);
        save_races(f); /* with the input as it ran, before the judge takes it */
        if (f->map.npages)
            fuzz_buffer_copy(f, &f->map, f->c.trace, f->map.len, false);
        else if (f->bps)
            breakpoints_take_trace(f->bps, f->c.trace, f->c.map_len);
        f->c.cur.output_len = console_take_tail(f->console, f->output_tail, sizeof f->output_tail);
        f->c.cur.output = f->output_tail;
        fz_campaign_judge(&f->c, req == REQ_HANG ? FZ_HANG : out, status, why,
                          f->c.cur.concolic ? f->search.new_branch_edges : 0);
        if ((f->cmplog_ready || f->peer) && req != REQ_HANG &&
            fz_campaign_wants_compare_log(&f->c) && !input_to_state(f))
            return false;
        double t1 = now_s();
        if (restore(f) < 0)
            return false;
        double t2 = now_s();
        next_input(f);
        if (req == REQ_END) { /* the executions phase_samples counts */
            f->phases.judge += t1 - t0;
            f->phases.next += now_s() - t2;
        }
        return true;
    }
    next_input(f);
    return true;
}

bool fuzzer_tick(struct fuzzer *f)
{
    struct vm *vm = f->vm;
    pthread_mutex_lock(&f->lock);
    if (f->end.request == REQ_NONE) {
        struct timespec ts = deadline_after_ms(REQUEST_WAIT_MS);
        pthread_cond_timedwait(&f->cond, &f->lock, &ts);
    }
    if (f->end.request == REQ_NONE && atomic_load(&f->have_snapshot)) {
        double limit = f->c.cur.concolic ? f->c.cfg.concolic_timeout_s : f->c.cfg.exec_timeout_s;
        if (now_s() - f->exec_started >= limit) { /* a hang: settle the VM ourselves */
            f->end.request = REQ_HANG;
            vm_begin_settle(vm);
        }
    }
    enum request req = f->end.request;
    enum fz_outcome out = f->end.outcome;
    int st = f->end.status;
    f->c.cur.signal = f->end.signal;
    char why[448];
    snprintf(why, sizeof why, "%s", f->end.why);
    if (req == REQ_END && out == FZ_OK && f->end.bug_reported) { /* it ran on, then ended fine */
        out = FZ_BUG;
        snprintf(why, sizeof why, "%.240s", f->end.bug_message);
    }
    pthread_mutex_unlock(&f->lock);
    if (f->c.cfg.sync_dir && now_s() - f->c.last_sync >= f->c.cfg.sync_every_s)
        fz_campaign_sync(&f->c);
    if (req == REQ_NONE) {
        if (atomic_load(&f->have_snapshot))
            status(f, false);
        if (f->c.cfg.max_seconds && now_s() - f->c.started >= f->c.cfg.max_seconds) {
            vm_request_stop(vm, 0);
            return false;
        }
        return true;
    }
    double t_posted = f->end.t_posted; /* set before the request we read under the lock */
    if (!vm_wait_settled(vm))
        return false; /* the VM stops */
    double t_settled = now_s();
    if (req == REQ_END && f->phases.released > 0) {
        f->phases.exec += t_posted - f->phases.released;
        f->phases.settle += t_settled - t_posted;
        f->phases.samples++;
    }
    bool go = between_executions(f, req, out, st, why);
    if (!go)
        vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
    pthread_mutex_lock(&f->lock);
    f->end.request = REQ_NONE;
    pthread_mutex_unlock(&f->lock);
    status(f, false);
    bool more = go && !fz_campaign_over(&f->c) && !f->peer_over;
    if (!more)
        vm_request_stop(vm, vm_is_stopping(vm) ? vm->exit_status : 0);
    f->phases.released = now_s();
    vm_resume_settled(vm); /* the stopped vCPUs see the stop and leave */
    return more;
}

int fuzzer_finish(struct fuzzer *f, int vm_status)
{
    collect_background_solving(f, true);
    if (atomic_load(&f->have_snapshot) && fz_mode_is_tool(f->c.cfg.mode)) {
        console_mute(f->console, false);
        if (vm_status != 0)
            return vm_status;
        return fz_campaign_finish_tool(&f->c) < 0 ? HV_EXIT_SETUP_ERROR : 0;
    }
    if (atomic_load(&f->have_snapshot)) {
        console_mute(f->console, false);
        status(f, true);
        if (vm_status == HV_EXIT_SIGNAL)
            hv_error("fuzz: stopped by a signal; everything found is in %s", f->c.out_dir);
        return vm_status;
    }
    if (f->claims.ended_before_start && vm_status < HV_EXIT_TIMEOUT) {
        hv_error("%s: the target ended before its input was read: a program (after --) must "
                 "open the @@ or --sym-file file or read stdin; a fuzz target must call "
                 "symhv_fuzz_start (scripts/symhv-build-fuzzer); a program of symhv's "
                 "runtime must call symhv_make_symbolic",
                 f->c.cfg.mode == FUZZ_EXPLORE ? "explore" : "fuzz");
        return HV_EXIT_SETUP_ERROR;
    }
    return vm_status;
}
