#include "fuzzer.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "dump.h"
#include "engine.h"
#include "fuzz.h"
#include "guest_mem.h"
#include "hypercall.h"
#include "log.h"
#include "snapshot.h"
#include "symhv/sidecar.h" /* SC_FLIP_*: what a solver input flips */
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define MAX_BUF_PAGES (FZ_MAX_INPUT / SYMHV_PAGE_SIZE + 2)
#define MAX_MAP_PAGES (FZ_MAP_MAX / SYMHV_PAGE_SIZE + 2)
#define STATUS_PERIOD_S 1.0
#define STATS_PERIOD_S 5.0
#define REQUEST_WAIT_MS 10
#define MAX_CRASH_WHYS 64       /* without a map: distinct crash descriptions kept */

/* A guest-virtual buffer, translated once at the snapshot (the page tables are part of
 * the snapshot, so the translation holds for every execution). */
#define MAX_CMP_PENDING 4096          /* input-to-state candidates waiting */
#define CMP_CANDIDATES_PER_INPUT 256  /* from one execution's compare log */

/* A buffer a program gave symhv_make_symbolic before the snapshot was taken: its bytes
 * are written (and, in a concolic run, marked) again after every restore. */
#define MAX_SNAP_INPUTS 8
struct snap_input {
    struct guest_as as;        /* the caller's address space (caller NULL: the main thread's) */
    uint64_t gva;
    uint32_t len;
    char name[SYMHV_INPUT_NAME_MAX + 1];
};
/* Past these the program's later buffers stay concrete and outside the input file. */
#define MAX_INPUT_BUFFERS 64   /* the engine's MAX_INPUTS */

struct guest_buffer {
    uint64_t gva, len;
    uint64_t gpa[MAX_MAP_PAGES > MAX_BUF_PAGES ? MAX_MAP_PAGES : MAX_BUF_PAGES];
    unsigned npages;
};

enum request { REQ_NONE, REQ_SNAPSHOT, REQ_END, REQ_HANG };
/* How an execution ended: OUT_BUG, the program ran on but reported a bug
 * (symhv_report_bug); OUT_FAILED, symhv could not complete it (no finding). */
enum outcome { OUT_OK, OUT_CRASH, OUT_HANG, OUT_BUG, OUT_FAILED };

struct fuzzer {
    struct vm *vm;
    struct engine *engine;
    struct console *console;
    struct fuzz_config cfg;
    char out_dir[PATH_MAX], queue_dir[PATH_MAX + 8], crash_dir[PATH_MAX + 8],
        hang_dir[PATH_MAX + 8], notes_dir[PATH_MAX + 16];
    int lock_fd;               /* flock on out_dir/.symhv-fuzz.lock for the campaign */

    /* between vCPU threads and the main thread (guarded by lock) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    enum request request;      /* posted with a settle of the VM (vm_begin_settle) */
    enum outcome end_outcome;
    bool bug_reported;         /* symhv_report_bug during this execution: bug_message */
    char bug_message[HC_MESSAGE_MAX];
    int end_status, end_signal;
    char end_why[256];
    bool start_claimed;        /* a symhv_fuzz_start or symhv_make_symbolic owns the snapshot */
    /* A program that marks its own buffers (symhv_make_symbolic): the input file is the
     * concatenation of the buffers in call order. The snapshot is taken at the first call;
     * the buffers given before it are snap_inputs, the later ones get their bytes as each
     * call comes (sym_offset: how far into the input this execution's calls are). */
    bool by_make_symbolic;
    struct snap_input snap_inputs[MAX_SNAP_INPUTS];
    unsigned nsnap_inputs;
    uint64_t sym_offset;
    unsigned sym_calls;
    bool sym_limit_noted;
    bool ended_before_start;   /* the target ended before symhv_fuzz_start */
    bool end_in_window_noted;  /* an end while the snapshot was on its way, said once */
    unsigned start_vcpu;
    struct guest_buffer input, map;
    _Atomic bool have_snapshot;

    /* the main thread's, while the VM is settled */
    struct snapshot *snap;
    uint64_t restored_pages, restores;
    double restore_seconds;
    struct fz_queue queue;
    struct fz_dict dict;
    struct fz_rng rng;
    uint8_t *seen, *trace;     /* coverage: buckets seen so far, this execution's map */
    uint32_t *edge_hits;       /* executions that hit each edge (the power schedule) */
    struct fz_cmin cmin;       /* symhv cmin */
    struct fz_tmin tmin;       /* symhv tmin */
    struct fz_tmin trim;       /* trimming the newest queue entry (as AFL++ trims) */
    bool trimming;
    size_t trim_entry;
    uint64_t trim_hash, trimmed_bytes;
    uint64_t tool_failed;      /* cmin: inputs that crashed or hung (not kept) */
    char tmin_fault[200];      /* tmin: how the original input fails ("" before it ran) */
    bool tool_error;           /* tmin: the input does not fail; cmin: no coverage map */
    size_t cur_entry;          /* FZ_FROM_SEED: the queue entry being run */
    uint8_t *crash_seen, *hang_seen; /* coverage of crashing / hanging executions */
    char crash_whys[MAX_CRASH_WHYS][160];
    unsigned ncrash_whys;
    uint64_t total_crashes, total_hangs, bugs_reported, symhv_failures;
    uint8_t *cur;              /* the input being executed */
    uint32_t cur_len;
    uint32_t input_cap;        /* the longest input that reaches the program: the fuzz
                                  target's buffer, or all symhv_make_symbolic buffers seen */
    enum fz_origin cur_origin;
    bool cur_concolic;
    struct engine_search search; /* the concolic runs' search: this run's new branch
                                    sides (the coverage of a target without a map),
                                    flips pruned, queries */
    int cur_signal;            /* the crash's signal (sig:NN in its file name), 0: none */
    struct fz_queue pending;   /* solver inputs waiting for their execution */
    struct fz_queue urgent;    /* those from a division's, a jump target's or an address's
                                  flip (a bug, another case): they go first */
    struct fz_queue synced;    /* inputs imported from the other instances, waiting */
    struct fz_queue known;     /* a resumed campaign's crashes, to recognise them again */
    struct fz_queue cmp_pending; /* input-to-state candidates waiting for their execution */
    struct guest_buffer cmplog; /* the target's compare log (symhv_fuzz_cmplog) */
    bool cmplog_claimed;       /* under lock: one registration */
    /* The target's length and its cap (struct symhv_fuzz_length; npages 0: none). A
     * concolic run marks the length and the buffer beyond the input, up to cur_marked
     * bytes (the cap then), so the solver's inputs may be longer than the one run. */
    struct guest_buffer length_word;
    bool length_claimed;       /* under lock: one registration */
    uint32_t cur_marked;       /* this concolic run's symbolic input bytes (0: concrete) */
    bool cur_length_symbolic;  /* ... and its length word is symbolic too */
    bool cmplog_ready;         /* written by the registering hypercall before the snapshot */
    bool judged_new;           /* the execution just judged joined the queue */
    uint8_t *cmplog_copy, *cmp_scratch;
    uint64_t cmplog_inputs, cmplog_kept;
    /* where one execution's time goes (bench-fuzz prints it): the target running, the
     * end reaching the main thread and the vCPUs settling, judging, restoring, the next
     * input placed; sums in seconds over `phase_samples` executions */
    double t_released, t_posted; /* t_posted under lock (a vCPU thread sets it) */
    double phase_exec, phase_settle, phase_judge, phase_next; /* restoring: restore_seconds */
    uint64_t phase_samples;
    uint64_t execs_before;     /* executions of the campaign before this run (resumed) */
    char cur_from[FZ_NAME_MAX]; /* FZ_FROM_SYNC: the instance the input came from */
    double last_sync;
    uint64_t imported, imported_kept;
    uint64_t last_find_time, last_crash_time, last_hang_time; /* unix seconds, 0: never */
    uint64_t execs_at_last_crash;
    size_t nseeds;             /* queue entries that were seeds (or the resumed queue) */
    bool plot_failed;          /* reported once */
    time_t start_time;
    size_t next_concolic;      /* queue index of the next concolic run */
    size_t seeds_left;         /* the first executions run the seeds as they are */
    uint64_t execs, crashes, hangs, solver_inputs, solver_kept, concolic_runs;
    uint64_t execs_at_last_new, last_concolic_exec;
    double started, exec_started, last_status, last_stats;
    size_t edges;
    bool tty, done;
};

/* ---- out_dir -------------------------------------------------------------------------- */

/* One campaign per out_dir: an flock held until the process ends (a killed run's lock
 * goes with it, so a stale lock never blocks). */
static int lock_out_dir(struct fuzzer *f)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/.symhv-fuzz.lock", f->out_dir);
    f->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f->lock_fd < 0) {
        hv_error_errno("fuzz: cannot create %s", path);
        return -1;
    }
    /* A campaign killed a moment ago may release its lock a little after its exit has
     * been reaped (its last file references go asynchronously): while the pid in the
     * lock file is gone, wait a few seconds before calling the directory busy. */
    for (int tries = 0; flock(f->lock_fd, LOCK_EX | LOCK_NB) < 0 && tries < 60; tries++) {
        char pid[32] = "";
        ssize_t n = pread(f->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        long holder = strtol(pid, NULL, 10);
        if (holder > 0 && kill((pid_t)holder, 0) == 0)
            break; /* alive: busy */
        usleep(50 * 1000);
    }
    if (flock(f->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(f->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        hv_error("fuzz: %s is in use by another symhv fuzz%s%s%s: give each campaign its "
                 "own -o directory", f->out_dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(f->lock_fd, 0) < 0 || pwrite(f->lock_fd, pid, (size_t)len, 0) != len) {
        hv_error_errno("fuzz: cannot write %s", path);
        return -1;
    }
    return 0;
}

/* A resumed campaign's counters go on from its fuzzer_stats (fz_stats_resume checks
 * them: values refused or times in the future are named in one line). */
static void resume_counters(struct fuzzer *f)
{
    char path[PATH_MAX + 16], err[256], note[512];
    snprintf(path, sizeof path, "%s/fuzzer_stats", f->out_dir);
    size_t len = 0;
    uint8_t *text = NULL;
    if (access(path, F_OK) == 0 || errno != ENOENT) { /* none: killed before its first */
        text = read_file(path, 1 << 20, &len, err, sizeof err);
        if (!text)
            hv_notice("fuzz: %s: %s (the counters start at 0)", path, err);
    }
    struct fz_resume r;
    if (fz_stats_resume(text ? (const char *)text : "", len, (uint64_t)time(NULL), &r, note,
                        sizeof note))
        hv_notice("fuzz: %s: %s", path, note);
    free(text);
    f->execs = r.execs_done;
    f->total_crashes = r.total_crashes;
    f->total_hangs = r.total_hangs;
    f->concolic_runs = r.concolic_runs;
    f->solver_inputs = r.solver_inputs;
    f->solver_kept = r.solver_inputs_kept;
    f->imported_kept = r.corpus_imported;
    f->last_find_time = r.last_find;
    f->last_crash_time = r.last_crash;
    f->last_hang_time = r.last_hang;
    f->execs_before = f->execs;
    f->execs_at_last_new = f->execs_at_last_crash = f->last_concolic_exec = f->execs;
}

/* ---- setup ---------------------------------------------------------------------------- */

static void fuzz_end_policy(struct vcpu *v, const struct guest_end *e, void *opaque);
static int64_t hc_fuzz_start(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_end(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_cmplog(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_length(struct hc_call *c, void *opaque);
static void buffer_copy(struct fuzzer *f, const struct guest_buffer *b, void *host, uint64_t len,
                        bool to_guest);
static int64_t hc_fuzz_make_symbolic(struct hc_call *c, void *opaque);
static int64_t hc_fuzz_report_bug(struct hc_call *c, void *opaque);

/* cmin and tmin run inputs once and write a result; fuzz and explore are campaigns. */
static bool mode_is_tool(enum fuzz_mode m) { return m == FUZZ_CMIN || m == FUZZ_TMIN; }

/* A campaign's out_dir: created and locked; resumed from its queue, or started from the
 * seeds. 0, or -1 after a message. */
static int load_campaign(struct fuzzer *f, const struct fuzz_config *cfg)
{
    char err[512];
    if (cfg->sync_dir && make_dir(cfg->sync_dir) < 0) {
        hv_error_errno("fuzz: cannot create the sync directory %s", cfg->sync_dir);
        return -1;
    }
    if (fz_out_dir_init(f->out_dir, err, sizeof err) < 0) {
        hv_error("fuzz: %s", err);
        return -1;
    }
    if (lock_out_dir(f) < 0)
        return -1;
    /* Resume: an out_dir with a queue continues from it (crashes stay numbered on, the
     * counters go on, known crashes are recognised again); as in afl-fuzz, -i - asks for
     * that, and seeds for a directory that holds a campaign are refused. */
    bool resume_only = cfg->in_dir && strcmp(cfg->in_dir, "-") == 0;
    int n = fz_load_dir(&f->queue, f->queue_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err);
    if (n > 0 && cfg->in_dir && !resume_only) {
        hv_error("fuzz: %s holds a campaign already (%d queue entries): resume it with -i - "
                 "(as in afl-fuzz) or without -i, or give a new -o", f->out_dir, n);
        return -1;
    }
    if (n > 0) {
        hv_info("fuzz: resuming %s: %d queue entries", f->out_dir, n);
        resume_counters(f);
        fz_load_dir(&f->known, f->crash_dir, FZ_MAX_INPUT, FZ_FROM_KNOWN_CRASH, err, sizeof err);
    } else if (resume_only) {
        hv_error("fuzz: -i -: there is no campaign to resume in %s", f->out_dir);
        return -1;
    } else if (cfg->in_dir) {
        n = fz_load_dir(&f->queue, cfg->in_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err);
        if (n < 0) {
            hv_error("fuzz: %s", err);
            return -1;
        }
        for (size_t i = 0; i < f->queue.n; i++) { /* the queue starts with the seeds */
            char name[64];
            snprintf(name, sizeof name, "id:%06zu,orig:seed", i);
            f->queue.entries[i].file = strdup(name);
            if (write_file_atomic(f->queue_dir, name, f->queue.entries[i].data,
                                  f->queue.entries[i].len) < 0) {
                hv_error_errno("fuzz: cannot write %s/%s", f->queue_dir, name);
                return -1;
            }
        }
    }
    if (n <= 0) {
        hv_error("fuzz: no seed inputs: give -i DIR with at least one non-empty file");
        return -1;
    }
    return 0;
}

/* symhv cmin: the inputs of -i, and an empty -o to fill. symhv tmin: the input file. */
static int load_tool_inputs(struct fuzzer *f, const struct fuzz_config *cfg)
{
    char err[512];
    if (cfg->mode == FUZZ_CMIN) {
        if (make_dir(f->out_dir) < 0) {
            hv_error_errno("cmin: cannot create %s", f->out_dir);
            return -1;
        }
        if (fz_count_files(f->out_dir) != 0) {
            hv_error("cmin: %s is not empty: give a new -o directory", f->out_dir);
            return -1;
        }
        if (fz_load_dir(&f->queue, cfg->in_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err) < 0) {
            hv_error("cmin: %s", err);
            return -1;
        }
        if (f->queue.n == 0) {
            hv_error("cmin: no inputs in %s", cfg->in_dir);
            return -1;
        }
        return 0;
    }
    size_t len;
    uint8_t *data = read_file(cfg->in_dir, FZ_MAX_INPUT, &len, err, sizeof err);
    if (!data || len == 0) {
        hv_error("tmin: %s", data ? "the input is empty" : err);
        free(data);
        return -1;
    }
    fz_queue_add(&f->queue, data, (uint32_t)len, FZ_FROM_SEED);
    if (fz_tmin_init(&f->tmin, data, (uint32_t)len) < 0) {
        free(data);
        hv_error("tmin: out of memory");
        return -1;
    }
    free(data);
    return 0;
}

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
    f->cfg = *cfg;
    f->lock_fd = -1;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->cond, NULL);
    snprintf(f->out_dir, sizeof f->out_dir, "%s", cfg->out_dir);
    snprintf(f->queue_dir, sizeof f->queue_dir, "%s/queue", f->out_dir);
    snprintf(f->crash_dir, sizeof f->crash_dir, "%s/crashes", f->out_dir);
    snprintf(f->hang_dir, sizeof f->hang_dir, "%s/hangs", f->out_dir);
    snprintf(f->notes_dir, sizeof f->notes_dir, "%s/crash-notes", f->out_dir);
    if ((!mode_is_tool(cfg->mode) ? load_campaign(f, cfg) : load_tool_inputs(f, cfg)) < 0)
        goto fail;
    f->nseeds = f->queue.n;
    f->crashes = fz_count_files(f->crash_dir);
    f->hangs = fz_count_files(f->hang_dir);
    char err[512];
    for (unsigned i = 0; i < cfg->ndicts; i++) {
        size_t before = f->dict.n;
        if (fz_dict_load(&f->dict, cfg->dict_paths[i], err, sizeof err) < 0) {
            hv_error("fuzz: %s", err);
            goto fail;
        }
        if (f->dict.n == before) {
            hv_error("fuzz: the dictionary %s holds no tokens", cfg->dict_paths[i]);
            goto fail;
        }
        hv_info("fuzz: %zu dictionary tokens from %s", f->dict.n - before, cfg->dict_paths[i]);
    }
    fz_rng_seed(&f->rng, cfg->seed ? cfg->seed : (uint64_t)time(NULL) ^ (uint64_t)getpid());
    f->cur = malloc(FZ_MAX_INPUT);
    if (!f->cur) {
        hv_error("fuzz: out of memory");
        goto fail;
    }
    f->tty = isatty(STDERR_FILENO);
    f->started = f->last_status = f->last_stats = now_s();
    f->start_time = time(NULL);
    hypercall_register(hc, SYMHV_HC_FUZZ_START, hc_fuzz_start, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_END, hc_fuzz_end, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_CMPLOG, hc_fuzz_cmplog, f);
    hypercall_register(hc, SYMHV_HC_FUZZ_LENGTH, hc_fuzz_length, f);
    hypercall_register(hc, SYMHV_HC_MAKE_SYMBOLIC, hc_fuzz_make_symbolic, f);
    hypercall_register(hc, SYMHV_HC_REPORT_BUG, hc_fuzz_report_bug, f);
    vm_set_end_policy(vm, fuzz_end_policy, f);
    return f;
fail:
    fuzzer_detach(f);
    return NULL;
}

void fuzzer_detach(struct fuzzer *f)
{
    if (!f)
        return;
    if (f->vm->end_opaque == f)
        vm_set_end_policy(f->vm, NULL, NULL);
    snapshot_free(f->snap);
    fz_queue_free(&f->queue);
    fz_queue_free(&f->pending);
    fz_queue_free(&f->urgent);
    fz_queue_free(&f->synced);
    fz_queue_free(&f->known);
    fz_queue_free(&f->cmp_pending);
    fz_cmin_free(&f->cmin);
    fz_tmin_free(&f->tmin);
    fz_tmin_free(&f->trim);
    free(f->cmplog_copy);
    free(f->cmp_scratch);
    fz_dict_free(&f->dict);
    free(f->seen);
    free(f->edge_hits);
    free(f->trace);
    free(f->crash_seen);
    free(f->hang_seen);
    free(f->cur);
    if (f->lock_fd >= 0)
        close(f->lock_fd); /* releases the out_dir lock */
    free(f);
}

/* ---- from the vCPU threads ------------------------------------------------------------ */

struct buffer_pages {
    struct guest_buffer *b;
    unsigned max_pages;
};

static int add_buffer_page(uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    (void)n, (void)off;
    struct buffer_pages *bp = ctx;
    if (bp->b->npages == bp->max_pages)
        return -1;
    bp->b->gpa[bp->b->npages++] = page_floor(gpa);
    return 0;
}

static int translate_buffer(const struct guest_as *as, uint64_t gva, uint64_t len,
                            unsigned max_pages, struct guest_buffer *b)
{
    b->gva = gva;
    b->len = len;
    b->npages = 0;
    struct buffer_pages bp = { b, max_pages };
    return guest_for_each_chunk(as, gva, len, true, add_buffer_page, &bp);
}

/* Post a request for the main thread and settle the VM: this vCPU parks as soon as it
 * leaves this exit, the others are kicked out. The first request counts; the main
 * thread owns the settle from here. */
static void post_request(struct fuzzer *f, enum request req, enum outcome out, int status,
                         int signal, const char *why)
{
    pthread_mutex_lock(&f->lock);
    if (f->request == REQ_NONE && !vm_is_stopping(f->vm)) {
        f->request = req;
        f->end_outcome = out;
        f->end_status = status;
        f->end_signal = signal;
        f->t_posted = now_s();
        snprintf(f->end_why, sizeof f->end_why, "%s", why ? why : "");
        vm_begin_settle(f->vm);
        pthread_cond_broadcast(&f->cond);
    }
    pthread_mutex_unlock(&f->lock);
}

/* The coverage maps for a map of map_size bytes (none: one byte each). 0 or -1. */
static int alloc_maps(struct fuzzer *f, uint64_t map_size)
{
    size_t alloc = map_size ? map_size : 1;
    free(f->edge_hits);
    free(f->seen), free(f->trace), free(f->crash_seen), free(f->hang_seen);
    f->edge_hits = calloc(alloc, sizeof *f->edge_hits);
    f->seen = calloc(1, alloc);
    f->trace = calloc(1, alloc);
    f->crash_seen = calloc(1, alloc);
    f->hang_seen = calloc(1, alloc);
    if (f->seen && f->trace && f->crash_seen && f->hang_seen && f->edge_hits)
        return 0;
    free(f->seen), free(f->trace), free(f->crash_seen), free(f->hang_seen), free(f->edge_hits);
    f->seen = f->trace = f->crash_seen = f->hang_seen = NULL;
    f->edge_hits = NULL;
    return -1;
}

static int64_t hc_fuzz_start(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    uint64_t buf = c->arg[0], max_len = c->arg[1], map = c->arg[2], map_size = c->arg[3];
    if (max_len == 0 || max_len > FZ_MAX_INPUT || buf + max_len < buf ||
        map_size > FZ_MAP_MAX || map + map_size < map)
        return -SYMHV_EINVAL;
    /* One snapshot per run, claimed by the first call: every size below comes from
     * this one call (two vCPUs racing here once mixed one's map with the other's
     * buffer sizes: a heap overflow in the VMM). */
    pthread_mutex_lock(&f->lock);
    if (f->start_claimed) {
        pthread_mutex_unlock(&f->lock);
        return -SYMHV_EBUSY;
    }
    f->start_claimed = true;
    pthread_mutex_unlock(&f->lock);
    int64_t err = -SYMHV_EFAULT;
    if (translate_buffer(&c->as, buf, max_len, MAX_BUF_PAGES, &f->input) < 0 ||
        (map_size && translate_buffer(&c->as, map, map_size, MAX_MAP_PAGES, &f->map) < 0))
        goto refuse;
    if (!map_size)
        f->map = (struct guest_buffer){ 0 };
    err = -SYMHV_EINVAL; /* out of host memory for the maps */
    if (alloc_maps(f, map_size) < 0)
        goto refuse;
    f->input_cap = (uint32_t)max_len;
    f->start_vcpu = c->v->index;
    post_request(f, REQ_SNAPSHOT, OUT_OK, 0, 0, NULL);
    return 0; /* replaced by the first input's length when the vCPU is released */
refuse:
    f->input = f->map = (struct guest_buffer){ 0 };
    pthread_mutex_lock(&f->lock);
    f->start_claimed = false; /* a later call with good arguments may still start */
    pthread_mutex_unlock(&f->lock);
    return err;
}

/* symhv_make_symbolic under fuzz/explore: the program's buffers are the input (see
 * by_make_symbolic). Returns the input's id, as outside a campaign. */
static int64_t hc_fuzz_make_symbolic(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    char name[SYMHV_INPUT_NAME_MAX + 1];
    uint64_t buf, len;
    int64_t bad = engine_make_symbolic_args(c, &buf, &len, name);
    if (bad < 0)
        return bad;
    if (guest_for_each_chunk(&c->as, buf, len, true, NULL, NULL) < 0)
        return -SYMHV_EFAULT; /* the campaign writes every buffer: it must be writable */
    pthread_mutex_lock(&f->lock);
    if (f->start_claimed && !f->by_make_symbolic) {
        pthread_mutex_unlock(&f->lock);
        return -SYMHV_EINVAL; /* a fuzz target's input is symhv_fuzz_start's buffer */
    }
    if (!atomic_load(&f->have_snapshot)) {
        /* Before the snapshot (the first call, or another vCPU's while the VM settles
         * for it): a buffer the snapshot holds. */
        if (f->nsnap_inputs == MAX_SNAP_INPUTS) {
            pthread_mutex_unlock(&f->lock);
            return -SYMHV_EBUSY;
        }
        bool first = !f->start_claimed;
        unsigned id = f->nsnap_inputs++;
        struct snap_input *si = &f->snap_inputs[id];
        si->as = c->as;
        si->as.caller = NULL; /* used from the main thread from now on */
        si->gva = buf;
        si->len = (uint32_t)len;
        snprintf(si->name, sizeof si->name, "%s", name);
        f->start_claimed = f->by_make_symbolic = true;
        if (first)
            f->start_vcpu = c->v->index;
        pthread_mutex_unlock(&f->lock);
        if (first) {
            if (alloc_maps(f, 0) < 0) {
                hv_error("fuzz: out of memory");
                vm_request_stop(f->vm, HV_EXIT_SETUP_ERROR);
                return -SYMHV_EINVAL;
            }
            post_request(f, REQ_SNAPSHOT, OUT_OK, 0, 0, NULL);
        }
        return id;
    }
    /* During an execution: the next bytes of the input, in call order. */
    uint64_t off = f->sym_offset;
    unsigned id = f->sym_calls;
    bool inside = id < MAX_INPUT_BUFFERS && off + len <= FZ_MAX_INPUT;
    if (inside) {
        f->sym_offset += len;
        f->sym_calls++;
    }
    bool note = !inside && !f->sym_limit_noted;
    f->sym_limit_noted |= note;
    pthread_mutex_unlock(&f->lock);
    if (!inside) {
        if (note)
            hv_error("fuzz: the program's symbolic buffers pass %d buffers or %u bytes: "
                     "the later ones stay concrete and are not part of the input",
                     MAX_INPUT_BUFFERS, FZ_MAX_INPUT);
        return id;
    }
    if (off < f->cur_len) { /* f->cur is the main thread's only between executions */
        uint64_t n = f->cur_len - off < len ? f->cur_len - off : len;
        if (guest_write(&c->as, buf, f->cur + off, n) < 0)
            return -SYMHV_EFAULT;
    }
    if (f->cur_concolic && engine_make_symbolic(f->engine, c->v, &c->as, buf, len, name) < 0)
        hv_error("fuzz: the input '%s' stays concrete in this concolic run", name);
    return id;
}

/* A registration that comes before symhv_fuzz_start, once (*claimed under f->lock):
 * true if this call is it. */
static bool claim_before_start(struct fuzzer *f, bool *claimed)
{
    pthread_mutex_lock(&f->lock);
    bool refuse = f->start_claimed || *claimed;
    *claimed = true;
    pthread_mutex_unlock(&f->lock);
    return !refuse;
}

/* A refused registration gives its claim back: a later, valid call may still make it. */
static int64_t unclaim(struct fuzzer *f, bool *claimed, int64_t err)
{
    pthread_mutex_lock(&f->lock);
    *claimed = false;
    pthread_mutex_unlock(&f->lock);
    return err;
}

/* symhv_fuzz_cmplog: before symhv_fuzz_start, once. */
static int64_t hc_fuzz_cmplog(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    uint64_t buf = c->arg[0], size = c->arg[1];
    if (size != FZ_CMPLOG_SIZE || buf + size < buf || f->cfg.no_cmplog)
        return -SYMHV_EINVAL;
    if (!claim_before_start(f, &f->cmplog_claimed))
        return -SYMHV_EBUSY;
    if (translate_buffer(&c->as, buf, size, MAX_BUF_PAGES, &f->cmplog) < 0) {
        f->cmplog = (struct guest_buffer){ 0 };
        return unclaim(f, &f->cmplog_claimed, -SYMHV_EFAULT);
    }
    if (!f->cmplog_copy)
        f->cmplog_copy = malloc(FZ_CMPLOG_SIZE);
    if (!f->cmp_scratch)
        f->cmp_scratch = malloc(FZ_MAX_INPUT);
    if (!f->cmplog_copy || !f->cmp_scratch)
        return unclaim(f, &f->cmplog_claimed, -SYMHV_EINVAL);
    f->cmplog_ready = true; /* read by the main thread after the snapshot's settle */
    return 0;
}

/* symhv_fuzz_length: before symhv_fuzz_start, once. */
static int64_t hc_fuzz_length(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    uint64_t word = c->arg[0];
    if (word + sizeof(struct symhv_fuzz_length) < word)
        return -SYMHV_EINVAL;
    if (!claim_before_start(f, &f->length_claimed))
        return -SYMHV_EBUSY;
    if (translate_buffer(&c->as, word, sizeof(struct symhv_fuzz_length), 2, &f->length_word) < 0) {
        f->length_word = (struct guest_buffer){ 0 };
        return unclaim(f, &f->length_claimed, -SYMHV_EFAULT);
    }
    return 0; /* read by the main thread after the snapshot's settle */
}

static void add_cmplog_candidate(void *ctx, const uint8_t *data, uint32_t len)
{
    struct fuzzer *f = ctx;
    if (f->cmp_pending.n < MAX_CMP_PENDING) {
        fz_queue_add(&f->cmp_pending, data, len, FZ_FROM_CMPLOG);
        f->cmplog_inputs++;
    }
}

/* After an execution that gave the queue a new entry (or ran a seed): the values its
 * comparisons wanted, put into it. */
static void input_to_state(struct fuzzer *f)
{
    buffer_copy(f, &f->cmplog, f->cmplog_copy, FZ_CMPLOG_SIZE, false);
    uint32_t count;
    memcpy(&count, f->cmplog_copy, sizeof count);
    if (count > FZ_CMPLOG_ENTRIES)
        count = FZ_CMPLOG_ENTRIES; /* the guest's word: bounded here */
    fz_i2s_candidates(f->cur, f->cur_len, (const struct fz_compare *)(f->cmplog_copy + 8), count,
                      f->input_cap, f->cmp_scratch, add_cmplog_candidate, f,
                      CMP_CANDIDATES_PER_INPUT);
}

static void end_execution(struct fuzzer *f, struct vcpu *v, const struct guest_end *e)
{
    if (!atomic_load(&f->have_snapshot)) {
        /* Another vCPU's call claimed the snapshot and the VM is settling for it: a
         * thread that exits in that window ends no execution (there is none yet) and
         * must not end the campaign; the snapshot holds it as it is then. */
        pthread_mutex_lock(&f->lock);
        bool in_window = f->start_claimed && e->kind == GUEST_EXIT;
        bool say = in_window && !f->end_in_window_noted;
        f->end_in_window_noted |= say;
        f->ended_before_start |= !in_window;
        pthread_mutex_unlock(&f->lock);
        if (say)
            hv_error("fuzz: vCPU %u's thread ended (%s) while the snapshot was being taken: "
                     "it is not part of any execution", v->index,
                     e->why ? e->why : "exit");
        if (!in_window) /* nothing to go back to: the run ends */
            end_plain_run(v, e, NULL);
        return;
    }
    char why[160];
    enum outcome out = e->kind == GUEST_SYMHV_FAILED                 ? OUT_FAILED
                       : e->kind == GUEST_CRASH || e->status != 0 ? OUT_CRASH
                                                                  : OUT_OK;
    if (e->kind != GUEST_EXIT)
        snprintf(why, sizeof why, "%.150s", e->why ? e->why : "crash");
    else
        snprintf(why, sizeof why, "exit status %d", e->status);
    post_request(f, REQ_END, out, e->status, e->kind == GUEST_CRASH ? e->signal : 0, why);
}

/* Every way the guest ends is the end of one execution. */
static void fuzz_end_policy(struct vcpu *v, const struct guest_end *e, void *opaque)
{
    end_execution(opaque, v, e);
}

static int64_t hc_fuzz_end(struct hc_call *c, void *opaque)
{
    unsigned status = (uint32_t)c->arg[0];
    struct guest_end e = { .kind = GUEST_EXIT, .status = (int)status };
    end_execution(opaque, c->v, &e);
    return 0;
}

/* symhv_report_bug during a campaign: the execution goes on (as outside one) and, unless
 * it crashes, ends as a finding of its own (OUT_BUG). The first report counts. */
static int64_t hc_fuzz_report_bug(struct hc_call *c, void *opaque)
{
    struct fuzzer *f = opaque;
    char msg[HC_MESSAGE_MAX];
    if (hc_read_string(c, c->arg[0], msg, sizeof msg) < 0)
        return -SYMHV_EFAULT;
    pthread_mutex_lock(&f->lock);
    if (!f->bug_reported && atomic_load(&f->have_snapshot)) {
        f->bug_reported = true;
        snprintf(f->bug_message, sizeof f->bug_message, "%s", msg);
    }
    pthread_mutex_unlock(&f->lock);
    return 0;
}

/* ---- the settled VM: snapshot, restore, inputs ---------------------------------------- */

static int restore(struct fuzzer *f)
{
    double t0 = now_s();
    int rc = snapshot_restore(f->snap, f->vm, &f->restored_pages);
    f->restore_seconds += now_s() - t0;
    f->restores++;
    return rc;
}

/* Copy between host memory and a translated guest buffer (writes are the VMM's). */
static void buffer_copy(struct fuzzer *f, const struct guest_buffer *b, void *host,
                        uint64_t len, bool to_guest)
{
    uint8_t *h = host;
    uint64_t done = 0;
    for (unsigned i = 0; i < b->npages && done < len; i++) {
        uint64_t off = i == 0 ? page_offset(b->gva) : 0, n = SYMHV_PAGE_SIZE - off;
        if (n > len - done)
            n = len - done;
        if (to_guest)
            guest_write_phys(f->vm, NULL, b->gpa[i] + off, h + done, n);
        else
            memcpy(h + done, f->vm->mem.ram + b->gpa[i] + off, n);
        done += n;
    }
}

/* ---- decisions ---------------------------------------------------------------------- */

static const char *origin_name(enum fz_origin o)
{
    return o == FZ_FROM_SEED ? "seed" : o == FZ_FROM_SOLVER ? "solver" :
           o == FZ_FROM_SYNC ? "sync" : o == FZ_FROM_KNOWN_CRASH ? "known-crash" :
           o == FZ_FROM_CMPLOG ? "cmplog" : o == FZ_FROM_TRIM ? "trim" : "mutation";
}

/* AFL++'s file names: id:NNNNNN, for a crash its signal (sig:NN), where it came from,
 * when (ms since the start) and after how many executions, then what it adds. */
static void save_input_named(struct fuzzer *f, const char *dir, uint64_t id, const char *lead,
                             const char *tail, char *name, size_t name_size)
{
    char from[64];
    if (f->cur_origin == FZ_FROM_SYNC)
        snprintf(from, sizeof from, "sync:%s", f->cur_from);
    else
        snprintf(from, sizeof from, "src:%s", origin_name(f->cur_origin));
    snprintf(name, name_size, "id:%06llu%s%s,%s,time:%llu,execs:%llu,op:%s%s%s",
             (unsigned long long)id, lead[0] ? "," : "", lead, from,
             (unsigned long long)((now_s() - f->started) * 1000), (unsigned long long)f->execs,
             origin_name(f->cur_origin), tail[0] ? "," : "", tail);
    if (write_file_atomic(dir, name, f->cur, f->cur_len) < 0)
        hv_error_errno("fuzz: cannot write %s/%s", dir, name);
}

static void save_input(struct fuzzer *f, const char *dir, uint64_t id, const char *lead,
                       const char *tail)
{
    char name[240];
    save_input_named(f, dir, id, lead, tail, name, sizeof name);
}

static void add_solver_input(void *ctx, const uint8_t *data, size_t len,
                             const struct engine_result *why)
{
    struct fuzzer *f = ctx;
    if (f->cur_marked > f->cur_len || f->cur_length_symbolic) {
        /* the marked bytes, then the length word: the input is as long as the word says */
        uint32_t n = f->cur_len;
        if (f->cur_length_symbolic && len >= (size_t)f->cur_marked + sizeof n)
            memcpy(&n, data + f->cur_marked, sizeof n);
        len = n < f->cur_marked ? n : f->cur_marked;
    }
    bool urgent = why->kind != SC_FLIP_BRANCH && why->kind != SC_FLIP_SELECT;
    fz_queue_add(urgent ? &f->urgent : &f->pending, data,
                 (uint32_t)(len > FZ_MAX_INPUT ? FZ_MAX_INPUT : len), FZ_FROM_SOLVER);
    f->solver_inputs++;
}

/* What a crash file is (the fault, or the bug the program reported), in
 * crash-notes/NAME.txt: crashes/ holds inputs only, as AFL++'s tools expect. */
static void save_note(struct fuzzer *f, const char *name, const char *what)
{
    char file[300], text[400];
    snprintf(file, sizeof file, "%s.txt", name);
    int len = snprintf(text, sizeof text, "%s\ninput: crashes/%s (%u bytes, from %s)\n", what,
                       name, f->cur_len, origin_name(f->cur_origin));
    if (make_dir(f->notes_dir) < 0 ||
        write_file_atomic(f->notes_dir, file, text, (size_t)(len < (int)sizeof text ? len : (int)sizeof text - 1)) < 0)
        hv_error_errno("fuzz: cannot write %s/%s", f->notes_dir, file);
}

/* Is this crash (or hang) worth a file? With a coverage map: its path adds to what
 * crashing (hanging) executions covered so far, as AFL's "unique" crashes; without one:
 * its description (fault, rip, address) is new. */
static bool unique_outcome(struct fuzzer *f, uint8_t *seen, const char *what)
{
    if (f->map.npages)
        return fz_merge_coverage(seen, f->trace, f->map.len) != 0;
    for (unsigned i = 0; i < f->ncrash_whys; i++)
        if (strcmp(f->crash_whys[i], what) == 0)
            return false;
    if (f->ncrash_whys < MAX_CRASH_WHYS)
        snprintf(f->crash_whys[f->ncrash_whys++], sizeof f->crash_whys[0], "%s", what);
    return true;
}

#define TRIM_MIN_LEN 8 /* shorter entries are not worth the executions */

/* A new queue entry: try it shorter, keeping what gives the same classified trace. */
static void start_trim(struct fuzzer *f, size_t entry)
{
    const struct fz_entry *e = &f->queue.entries[entry];
    if (f->trimming || e->len < TRIM_MIN_LEN || !f->map.npages || mode_is_tool(f->cfg.mode) ||
        f->cfg.mode == FUZZ_EXPLORE) /* explore: the solver needs the room */
        return;
    fz_tmin_free(&f->trim);
    if (fz_tmin_init(&f->trim, e->data, e->len) < 0)
        return;
    f->trim.delete_only = true;
    /* as AFL++ trims: blocks down to 1/1024 of the input, never under 4 bytes */
    f->trim.min_block = e->len / 1024 > 4 ? e->len / 1024 : 4;
    f->trim_entry = entry;
    f->trim_hash = fz_trace_hash(f->trace, f->map.len);
    f->trimming = true;
}

/* Trimming is over: the entry (and its file) become the shortest equivalent input. */
static void end_trim(struct fuzzer *f)
{
    f->trimming = false;
    struct fz_entry *e = &f->queue.entries[f->trim_entry];
    if (f->trim.len >= e->len)
        return;
    f->trimmed_bytes += e->len - f->trim.len;
    uint8_t *data = malloc(f->trim.len);
    if (!data)
        return;
    memcpy(data, f->trim.best, f->trim.len);
    free(e->data);
    e->data = data;
    e->len = f->trim.len;
    if (e->file && write_file_atomic(f->queue_dir, e->file, e->data, e->len) < 0)
        hv_error_errno("fuzz: cannot write %s/%s", f->queue_dir, e->file);
}

/* How a crash is told apart for tmin: its signal and, when the VMM names it, where
 * (the rip); fault addresses that follow the input's bytes do not count. */
static void fault_key(const struct fuzzer *f, const char *what, char *key, size_t size)
{
    const char *rip = strstr(what, "rip 0x");
    size_t n = rip ? strspn(rip + 6, "0123456789abcdef") + 6 : 0;
    snprintf(key, size, "sig %d %.*s", f->cur_signal, (int)n, rip ? rip : "");
    if (!rip) /* no rip: the whole description (a triple fault, an exit status) */
        snprintf(key, size, "sig %d %.120s", f->cur_signal, what);
}

/* cmin and tmin judge differently from a campaign. */
static void judge_tool(struct fuzzer *f, enum outcome out, const char *what)
{
    if (f->cfg.mode == FUZZ_CMIN) {
        if (out != OUT_OK)
            f->tool_failed++; /* crashing and hanging inputs are not kept */
        else if (f->map.npages)
            fz_cmin_account(&f->cmin, &f->queue, f->cur_entry, f->trace);
        return;
    }
    char key[200];
    fault_key(f, what, key, sizeof key);
    if (!f->tmin_fault[0]) { /* the original input */
        if (out != OUT_CRASH) {
            f->tool_error = true;
            hv_error("tmin: the input does not crash the target (%s): nothing to minimise",
                     out == OUT_HANG ? "it hangs" : "it runs fine");
            return;
        }
        snprintf(f->tmin_fault, sizeof f->tmin_fault, "%s", key);
        hv_info("tmin: the input fails with %s", what);
        return;
    }
    fz_tmin_outcome(&f->tmin, out == OUT_CRASH && strcmp(key, f->tmin_fault) == 0);
}

/* Did the execution that ended fine add coverage? 2: new edges, 1: new hit counts only,
 * 0: nothing. A target without a coverage map (an uninstrumented program) counts the
 * symbolic branch sides its concolic run took that no run took before. */
static int execution_news(struct fuzzer *f)
{
    if (f->map.npages)
        return fz_merge_coverage(f->seen, f->trace, f->map.len);
    return f->cur_concolic && f->search.new_branch_edges ? 2 : 0;
}

/* Without a coverage map (an uninstrumented program) coverage is learnt only
 * concolically: explore runs every input so (SAGE's generational search over the
 * symbolic branches), a campaign the solver's inputs (its seeds run natively as its
 * baseline, mutations for crashes and hangs; the queue's concolic runs come on the
 * --concolic-every schedule). */
static bool runs_concolic(const struct fuzzer *f)
{
    if (f->map.npages)
        return false;
    return f->cfg.mode == FUZZ_EXPLORE ||
           (f->cfg.mode == FUZZ_CAMPAIGN && f->cur_origin == FZ_FROM_SOLVER);
}

/* Judge the execution that just ended. */
static void judge(struct fuzzer *f, enum outcome out, int status, const char *why)
{
    f->execs++;
    f->judged_new = false;
    int news = 0;
    if (f->map.npages) {
        buffer_copy(f, &f->map, f->trace, f->map.len, false);
        fz_classify(f->trace, f->map.len);
        if (out == OUT_OK) {
            fz_count_hits(f->edge_hits, f->trace, f->map.len);
            if (f->cur_origin == FZ_FROM_SEED && f->cur_entry < f->queue.n) {
                fz_entry_set_edges(&f->queue.entries[f->cur_entry], f->trace, f->map.len);
                start_trim(f, f->cur_entry); /* the first seed that runs fine */
            }
        }
    }
    char what[160];
    if (out == OUT_BUG)
        snprintf(what, sizeof what, "bug: %.150s", why ? why : "");
    else if ((out == OUT_CRASH || out == OUT_FAILED) && why && *why)
        snprintf(what, sizeof what, "%.150s", why);
    else if (out == OUT_CRASH)
        snprintf(what, sizeof what, "exit status %d", status);
    else
        snprintf(what, sizeof what, "hang");
    if (out == OUT_FAILED) { /* symhv's failure: nothing about the program is known */
        f->symhv_failures++;
        if (f->symhv_failures <= 3 || f->symhv_failures % 100 == 0)
            hv_error("fuzz: symhv could not complete a%s execution (%s): it is no finding; "
                     "%llu so far (fuzzer_stats: symhv_failures)",
                     f->cur_concolic ? " concolic" : "n", what,
                     (unsigned long long)f->symhv_failures);
        if (mode_is_tool(f->cfg.mode))
            judge_tool(f, out, what);
        return;
    }
    if (out == OUT_BUG)
        f->bugs_reported++;
    if (mode_is_tool(f->cfg.mode)) {
        judge_tool(f, out == OUT_BUG ? OUT_CRASH : out, what);
        return;
    }
    if (f->cur_origin == FZ_FROM_TRIM) {
        fz_tmin_outcome(&f->trim, out == OUT_OK && f->map.npages &&
                                      fz_trace_hash(f->trace, f->map.len) == f->trim_hash);
        return;
    }
    if (f->cur_origin == FZ_FROM_KNOWN_CRASH) {
        if (out == OUT_CRASH)
            unique_outcome(f, f->crash_seen, what); /* remembered as seen */
        return;
    }
    if (out == OUT_CRASH || out == OUT_BUG) {
        f->total_crashes++;
        if (unique_outcome(f, f->crash_seen, what)) {
            f->crashes++;
            char sig[32] = "", name[240];
            if (out == OUT_BUG)
                snprintf(sig, sizeof sig, "bug");
            else if (f->cur_signal > 0)
                snprintf(sig, sizeof sig, "sig:%02d", f->cur_signal);
            else
                snprintf(sig, sizeof sig, "status:%d", status);
            save_input_named(f, f->crash_dir, f->crashes - 1, sig, "", name, sizeof name);
            save_note(f, name, what);
            f->last_crash_time = (uint64_t)time(NULL);
            f->execs_at_last_crash = f->execs;
            hv_info("fuzz: crash #%llu (%s) by a %s input after %llu executions",
                    (unsigned long long)f->crashes, what, origin_name(f->cur_origin),
                    (unsigned long long)f->execs);
        }
        if (f->cfg.until_crash)
            f->done = true;
    } else if (out == OUT_HANG) {
        f->total_hangs++;
        if (unique_outcome(f, f->hang_seen, what)) {
            f->hangs++;
            save_input(f, f->hang_dir, f->hangs - 1, "", "");
            f->last_hang_time = (uint64_t)time(NULL);
        }
    } else if ((news = execution_news(f)) && f->cur_origin != FZ_FROM_SEED) {
        /* seeds are queued already */
        struct fz_entry *e = fz_queue_add(&f->queue, f->cur, f->cur_len, f->cur_origin);
        if (f->map.npages)
            fz_entry_set_edges(e, f->trace, f->map.len);
        e->concolic_done = f->cur_concolic; /* its flips are solved already */
        char what[32], name[240];
        snprintf(what, sizeof what, "%s", news == 2 ? "+cov" : "+hits");
        save_input_named(f, f->queue_dir, e->id, "", what, name, sizeof name);
        e->file = strdup(name);
        start_trim(f, e->id);
        f->execs_at_last_new = f->execs;
        f->last_find_time = (uint64_t)time(NULL);
        f->judged_new = true;
        if (f->cur_origin == FZ_FROM_CMPLOG)
            f->cmplog_kept++;
        if (f->cur_origin == FZ_FROM_SOLVER)
            f->solver_kept++;
        else if (f->cur_origin == FZ_FROM_SYNC)
            f->imported_kept++;
    }
    if (f->map.npages && news == 2) /* only a new edge changes the count */
        f->edges = fz_count_edges(f->seen, f->map.len);
    else if (!f->map.npages)
        f->edges += f->search.new_branch_edges;
}

/* The next input is a stored one, as it is. */
static void take_input(struct fuzzer *f, const struct fz_entry *e, enum fz_origin origin)
{
    f->cur_len = e->len < FZ_MAX_INPUT ? e->len : FZ_MAX_INPUT; /* f->cur's size */
    memcpy(f->cur, e->data, f->cur_len);
    f->cur_origin = origin;
}

/* The next input is one waiting in q, the newest (or the oldest), its origin noted and
 * its memory freed. */
static void take_waiting(struct fuzzer *f, struct fz_queue *q, enum fz_origin origin, bool oldest)
{
    struct fz_entry e = oldest ? fz_queue_shift(q) : fz_queue_pop(q);
    take_input(f, &e, origin);
    snprintf(f->cur_from, sizeof f->cur_from, "%s", e.from);
    fz_entry_free(&e);
}

/* How much longer than its input a concolic run may make one: the solver tends to pick
 * the longest length a path allows, and every byte more is a loop iteration more in the
 * next run's formulas (a 4 KiB step took a TLV parser's search 1000 queries a run). */
#define CONCOLIC_GROWTH 64

static void write_length(struct fuzzer *f, uint32_t limit)
{
    struct symhv_fuzz_length l = { f->cur_len, limit };
    buffer_copy(f, &f->length_word, &l, sizeof l, true);
}

/* A fuzz target's input into its buffer; in a concolic run symbolic, and with a length
 * word the word and the buffer's next bytes (zero) too, so a flip may ask for a longer
 * input. */
static void place_target_input(struct fuzzer *f)
{
    uint32_t marked = f->cur_len;
    uint8_t *padded = NULL;
    if (f->cur_concolic && f->length_word.npages) {
        marked = f->input_cap - f->cur_len > CONCOLIC_GROWTH ? f->cur_len + CONCOLIC_GROWTH
                                                             : f->input_cap;
        if ((padded = calloc(1, marked)))
            memcpy(padded, f->cur, f->cur_len);
        else
            marked = f->cur_len;
    }
    buffer_copy(f, &f->input, padded ? padded : f->cur, marked, true);
    free(padded);
    if (f->length_word.npages)
        write_length(f, f->cur_concolic ? marked : f->input_cap);
    if (!f->cur_concolic)
        return;
    struct guest_as as;
    guest_as_from_sregs(&as, f->vm, snapshot_sregs(f->snap, f->start_vcpu), false);
    if (engine_make_symbolic(f->engine, NULL, &as, f->input.gva, marked, "input") < 0) {
        f->cur_concolic = false;
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
    for (unsigned i = 0; i < f->nsnap_inputs; i++) {
        struct snap_input *si = &f->snap_inputs[i];
        if (off < f->cur_len) {
            uint64_t n = f->cur_len - off < si->len ? f->cur_len - off : si->len;
            if (guest_write(&si->as, si->gva, f->cur + off, n) < 0)
                hv_error("fuzz: cannot write the input into the buffer '%s'", si->name);
        }
        if (f->cur_concolic &&
            engine_make_symbolic(f->engine, NULL, &si->as, si->gva, si->len, si->name) < 0)
            hv_error("fuzz: the input '%s' stays concrete in this concolic run", si->name);
        off += si->len;
    }
    pthread_mutex_lock(&f->lock); /* the program's later calls read these */
    f->sym_offset = off;
    f->sym_calls = f->nsnap_inputs;
    pthread_mutex_unlock(&f->lock);
}

/* Choose and place the next input; may start a concolic execution. */
static void next_input(struct fuzzer *f)
{
    pthread_mutex_lock(&f->lock); /* a new execution: no bug reported in it yet */
    f->bug_reported = false;
    pthread_mutex_unlock(&f->lock);
    f->cur_concolic = false;
    f->cur_marked = 0;
    f->cur_length_symbolic = false;
    if (mode_is_tool(f->cfg.mode) && !f->seeds_left) {
        /* the tools: cmin runs each input once; tmin tries candidates until none is left */
        if (f->cfg.mode == FUZZ_CMIN || f->tool_error || !fz_tmin_next(&f->tmin)) {
            f->done = true;
            return;
        }
        f->cur_len = f->tmin.cand_len;
        memcpy(f->cur, f->tmin.cand, f->cur_len);
        f->cur_origin = FZ_FROM_MUTATION;
    } else if (f->known.n) { /* a resumed campaign's crashes: recognised, not saved again */
        take_waiting(f, &f->known, FZ_FROM_KNOWN_CRASH, false);
    } else if (f->trimming && !f->seeds_left &&
               (fz_tmin_next(&f->trim) || (end_trim(f), false))) {
        f->cur_len = f->trim.cand_len;
        memcpy(f->cur, f->trim.cand, f->cur_len);
        f->cur_origin = FZ_FROM_TRIM;
    } else if (f->seeds_left) { /* each seed once, as it is: the coverage baseline */
        f->cur_entry = f->queue.n - f->seeds_left--;
        take_input(f, &f->queue.entries[f->cur_entry], FZ_FROM_SEED);
    } else if (f->urgent.n) { /* solver inputs first: bugs and other cases, oldest first */
        take_waiting(f, &f->urgent, FZ_FROM_SOLVER, true);
    } else if (f->pending.n) {
        /* then the other solver inputs: explore takes them generation by generation (as
         * SAGE: every flip of a run before its children's), a campaign the newest */
        take_waiting(f, &f->pending, FZ_FROM_SOLVER, f->cfg.mode == FUZZ_EXPLORE);
    } else if (f->cmp_pending.n) { /* input-to-state candidates */
        take_waiting(f, &f->cmp_pending, FZ_FROM_CMPLOG, false);
    } else if (f->synced.n) { /* then what the other instances found */
        take_waiting(f, &f->synced, FZ_FROM_SYNC, false);
    } else {
        /* explore: every execution past the seeds and the solver's inputs is concolic */
        bool due = f->cfg.mode == FUZZ_EXPLORE ||
                   (f->cfg.concolic_every &&
                    (f->execs - f->last_concolic_exec >= f->cfg.concolic_every ||
                    (f->cfg.plateau_execs &&
                     f->execs - f->execs_at_last_new >= f->cfg.plateau_execs &&
                     f->execs - f->last_concolic_exec >= f->cfg.plateau_execs)));
        size_t candidate = f->queue.n;
        for (size_t i = 0; due && i < f->queue.n && candidate == f->queue.n; i++) {
            size_t k = (f->next_concolic + i) % f->queue.n;
            if (!f->queue.entries[k].concolic_done)
                candidate = k;
        }
        if (due && candidate < f->queue.n) {
            struct fz_entry *e = &f->queue.entries[candidate];
            e->concolic_done = true;
            f->next_concolic = candidate + 1;
            take_input(f, e, e->origin);
            f->cur_concolic = true;
            f->last_concolic_exec = f->execs;
        } else if (f->cfg.mode == FUZZ_EXPLORE) { /* every entry explored: done */
            if (!f->done)
                hv_error("explore: every queue entry ran concolically and no generated input "
                         "is left: the search is complete (%zu paths in the queue)", f->queue.n);
            f->done = true;
            return;
        } else {
            size_t k = fz_pick(&f->queue, f->map.npages ? f->edge_hits : NULL, &f->rng);
            f->cur_len = fz_mutate(&f->rng, &f->queue, k, &f->dict, f->cur,
                                   f->input_cap < FZ_MAX_INPUT ? f->input_cap : FZ_MAX_INPUT);
            f->cur_origin = FZ_FROM_MUTATION;
        }
    }
    if (!f->cur_concolic && runs_concolic(f) &&
        (f->cur_origin == FZ_FROM_SEED || f->cur_origin == FZ_FROM_SOLVER ||
         f->cur_origin == FZ_FROM_SYNC)) {
        f->cur_concolic = true;
        f->last_concolic_exec = f->execs;
        if (f->cur_origin == FZ_FROM_SEED && f->cur_entry < f->queue.n)
            f->queue.entries[f->cur_entry].concolic_done = true;
    }
    if (f->cur_len > f->input_cap)
        f->cur_len = f->input_cap;
    if (f->cur_concolic) {
        f->concolic_runs++;
        hv_info("fuzz: concolic run %llu on %s input (%u bytes)",
                (unsigned long long)f->concolic_runs, origin_name(f->cur_origin), f->cur_len);
    }
    struct kvm_regs *regs = snapshot_regs(f->snap, f->start_vcpu);
    if (f->by_make_symbolic) {
        place_snap_inputs(f);
        regs->rax = 0; /* the first symhv_make_symbolic's input id */
    } else {
        place_target_input(f);
        regs->rax = f->cur_len; /* the input's length is what symhv_fuzz_start returns */
    }
    struct vcpu *v = &f->vm->vcpus[f->start_vcpu];
    if (vcpu_set_regs(v, regs) == 0)
        vcpu_state_replaced(v);
    f->exec_started = now_s();
}

/* ---- status ------------------------------------------------------------------------- */

#define PHASE_US(f, field) ((f)->phase_samples ? (f)->field * 1e6 / (double)(f)->phase_samples : 0.0)

/* fuzzer_stats in AFL++'s format and with its keys (afl-whatsup sources it as shell
 * assignments: keys are identifiers, values plain), symhv's own keys after them. */
static void write_stats(struct fuzzer *f, double t)
{
    struct text s = { 0 };
    double run = t - f->started;
    double eps = (double)f->execs / (run + 1e-9);
    const char *name = f->cfg.instance ? f->cfg.instance : "symhv";
    text_printf(&s, "start_time        : %llu\nlast_update       : %llu\nrun_time          : %.0f\n",
                (unsigned long long)f->start_time, (unsigned long long)time(NULL), run);
    text_printf(&s, "fuzzer_pid        : %d\ncycles_done       : 0\ncycles_wo_finds   : 0\n",
                (int)getpid());
    text_printf(&s, "execs_done        : %llu\nexecs_per_sec     : %.2f\nexecs_ps_last_min : %.2f\n",
                (unsigned long long)f->execs, eps, eps);
    text_printf(&s, "corpus_count      : %zu\ncorpus_favored    : 0\ncorpus_found      : %zu\n"
                "corpus_imported   : %llu\ncorpus_variable   : 0\nmax_depth         : 1\n"
                "cur_item          : 0\npending_favs      : 0\npending_total     : 0\n"
                "stability         : 100.00%%\nbitmap_cvg        : %.2f%%\n",
                f->queue.n, f->queue.n - f->nseeds, (unsigned long long)f->imported_kept,
                f->map.len ? 100.0 * (double)f->edges / (double)f->map.len : 0.0);
    text_printf(&s, "saved_crashes     : %llu\nsaved_hangs       : %llu\nlast_find         : %llu\n"
                "last_crash        : %llu\nlast_hang         : %llu\nexecs_since_crash : %llu\n"
                "exec_timeout      : %.0f\nslowest_exec_ms   : 0\npeak_rss_mb       : 0\n"
                "cpu_affinity      : -1\nedges_found       : %zu\ntotal_edges       : %llu\n"
                "var_byte_count    : 0\nhavoc_expansion   : 0\nauto_dict_entries : 0\n"
                "testcache_size    : 0\ntestcache_count   : 0\ntestcache_evict   : 0\n",
                (unsigned long long)f->crashes, (unsigned long long)f->hangs,
                (unsigned long long)f->last_find_time, (unsigned long long)f->last_crash_time,
                (unsigned long long)f->last_hang_time,
                (unsigned long long)(f->execs - f->execs_at_last_crash),
                f->cfg.exec_timeout_s * 1000, f->edges, (unsigned long long)f->map.len);
    text_printf(&s, "afl_banner        : %s\nafl_version       : symhv-%s\ntarget_mode       : "
                "symhv snapshot\ncommand_line      : symhv fuzz\n", name, SYMHV_VERSION);
    text_printf(&s, "total_crashes     : %llu\ntotal_hangs       : %llu\nconcolic_runs     : %llu\n"
                "solver_inputs     : %llu\nsolver_inputs_kept: %llu\nsync_imported     : %llu\n"
                "cmplog_inputs     : %llu\ncmplog_inputs_kept: %llu\ntrimmed_bytes     : %llu\n"
                "last_restore_pages: %llu\nrestore_us_avg    : %.1f\nguest_ram_mib     : %llu\n"
                "exec_us_avg       : %.1f\nsettle_us_avg     : %.1f\njudge_us_avg      : %.1f\n"
                "next_input_us_avg : %.1f\n",
                (unsigned long long)f->total_crashes, (unsigned long long)f->total_hangs,
                (unsigned long long)f->concolic_runs, (unsigned long long)f->solver_inputs,
                (unsigned long long)f->solver_kept, (unsigned long long)f->imported,
                (unsigned long long)f->cmplog_inputs, (unsigned long long)f->cmplog_kept,
                (unsigned long long)f->trimmed_bytes,
                (unsigned long long)f->restored_pages,
                f->restores ? f->restore_seconds * 1e6 / (double)f->restores : 0.0,
                (unsigned long long)(f->vm->mem.bytes >> 20),
                PHASE_US(f, phase_exec), PHASE_US(f, phase_settle), PHASE_US(f, phase_judge),
                PHASE_US(f, phase_next));
    text_printf(&s, "reported_bugs     : %llu\nsymhv_failures    : %llu\n",
                (unsigned long long)f->bugs_reported, (unsigned long long)f->symhv_failures);
    text_printf(&s, "solver_queries    : %llu\nsolver_cache_hits : %llu\nsolver_seconds    : %.3f\n"
                "flips_pruned      : %llu\n", (unsigned long long)f->search.queries,
                (unsigned long long)f->search.cache_hits, f->search.solver_seconds,
                (unsigned long long)f->search.flips_pruned);
    if (s.failed || write_file_atomic(f->out_dir, "fuzzer_stats", s.buf, s.len) < 0)
        hv_error_errno("fuzz: cannot write %s/fuzzer_stats", f->out_dir);
    text_free(&s);

    /* plot_data: one line per stats period, for afl-plot */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/plot_data", f->out_dir);
    bool fresh = access(path, F_OK) != 0;
    FILE *plot = fopen(path, "a");
    bool ok = plot != NULL;
    if (ok && fresh)
        ok = fputs("# relative_time, cycles_done, cur_item, corpus_count, pending_total, "
                   "pending_favs, map_size, saved_crashes, saved_hangs, max_depth, "
                   "execs_per_sec, total_execs, edges_found\n", plot) >= 0;
    if (ok)
        ok = fprintf(plot, "%.0f, 0, 0, %zu, 0, 0, %.2f%%, %llu, %llu, 1, %.2f, %llu, %zu\n", run,
                     f->queue.n, f->map.len ? 100.0 * (double)f->edges / (double)f->map.len : 0.0,
                     (unsigned long long)f->crashes, (unsigned long long)f->hangs, eps,
                     (unsigned long long)f->execs, f->edges) >= 0;
    if (plot && fclose(plot) != 0)
        ok = false;
    if (!ok && !f->plot_failed) {
        hv_error_errno("fuzz: cannot write %s", path);
        f->plot_failed = true;
    }
}

static void status(struct fuzzer *f, bool final)
{
    double t = now_s();
    if (mode_is_tool(f->cfg.mode))
        return; /* the tools write their result at the end, nothing else */
    if (final || t - f->last_stats >= STATS_PERIOD_S) {
        write_stats(f, t);
        f->last_stats = t;
    }
    if (!final && t - f->last_status < (f->tty ? STATUS_PERIOD_S : STATS_PERIOD_S))
        return;
    f->last_status = t;
    char last[32] = "none yet";
    uint64_t now = (uint64_t)time(NULL);
    if (f->last_find_time) /* the clock may have been set back since */
        snprintf(last, sizeof last, "%llus ago",
                 (unsigned long long)(now > f->last_find_time ? now - f->last_find_time : 0));
    char imported[112] = "";
    if (f->cfg.sync_dir)
        snprintf(imported, sizeof imported, ", imported %llu kept",
                 (unsigned long long)f->imported_kept);
    if (f->cur_concolic && !final) /* its time is not -t's: say it is on */
        snprintf(imported + strlen(imported), sizeof imported - strlen(imported),
                 ", concolic run for %.0fs (its limit %.0fs)", t - f->exec_started,
                 f->cfg.concolic_timeout_s);
    fprintf(stderr, "%ssymhv %s: %.0fs, %llu execs (%.0f/s), queue %zu, crashes %llu, "
            "hangs %llu, edges %zu, last find %s, cmplog %llu kept, solver inputs %llu "
            "(%llu kept; %llu queries, %llu cached, %.1fs)%s%s",
            f->tty ? "\r\033[K" : "", f->cfg.mode == FUZZ_EXPLORE ? "explore" : "fuzz",
            t - f->started, (unsigned long long)f->execs,
            (double)(f->execs - f->execs_before) / (t - f->started + 1e-9), f->queue.n,
            (unsigned long long)f->crashes, (unsigned long long)f->hangs, f->edges, last,
            (unsigned long long)f->cmplog_kept, (unsigned long long)f->solver_inputs,
            (unsigned long long)f->solver_kept, (unsigned long long)f->search.queries,
            (unsigned long long)f->search.cache_hits, f->search.solver_seconds, imported,
            f->tty && !final ? "" : "\n");
}

/* ---- the main thread ------------------------------------------------------------------ */

#define MAX_SYNC_PENDING 4096 /* imported inputs waiting for their execution */

/* Import what the other instances of the sync directory published since last time. */
static void sync_import(struct fuzzer *f)
{
    f->last_sync = now_s();
    if (f->synced.n >= MAX_SYNC_PENDING)
        return;
    char err[512];
    struct fz_sync_skipped sk;
    int n = fz_sync_import(f->cfg.sync_dir, f->cfg.instance, &f->synced, FZ_MAX_INPUT,
                           MAX_SYNC_PENDING - f->synced.n, &sk, err, sizeof err);
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
        hv_notice("fuzz: entries of the other instances' queues in %s not imported: %s",
                  f->cfg.sync_dir, why);
    }
    if (n < 0) {
        hv_error("fuzz: %s", err);
    } else if (n > 0) {
        f->imported += (uint64_t)n;
        hv_info("fuzz: %d inputs imported from the other instances in %s", n, f->cfg.sync_dir);
    }
}

static bool limits_reached(struct fuzzer *f)
{
    return f->done || (f->cfg.max_execs && f->execs - f->execs_before >= f->cfg.max_execs) ||
           (f->cfg.max_seconds && now_s() - f->started >= f->cfg.max_seconds);
}

/* The VM is settled: take the snapshot, or judge the execution and go back to it. */
static bool between_executions(struct fuzzer *f, enum request req, enum outcome out,
                               int status, const char *why)
{
    struct vm *vm = f->vm;
    if (req == REQ_SNAPSHOT) {
        /* The snapshot holds an empty coverage map: every execution starts from it, and
         * the restore empties the map pages the execution dirtied (no map write per
         * execution, which also made 16 more pages to restore each time). */
        if (f->map.npages) {
            memset(f->trace, 0, f->map.len);
            buffer_copy(f, &f->map, f->trace, f->map.len, true);
        }
        if (f->cfg.mode == FUZZ_CMIN && (!f->map.npages || fz_cmin_init(&f->cmin, f->map.len) < 0)) {
            hv_error("cmin: the target hands symhv_fuzz_start no coverage map (build it with "
                     "scripts/symhv-build-fuzzer)");
            return false;
        }
        f->snap = snapshot_take(vm);
        if (!f->snap)
            return false;
        pthread_mutex_lock(&f->lock); /* no vCPU runs: no call adds a buffer now */
        if (f->by_make_symbolic) {
            uint64_t cap = 0;
            for (unsigned i = 0; i < f->nsnap_inputs; i++)
                cap += f->snap_inputs[i].len;
            /* several buffers (two vCPUs' 1 MiB each) may add up past what one input
             * holds: the bytes past FZ_MAX_INPUT stay as the snapshot has them */
            if (cap > FZ_MAX_INPUT)
                hv_error("fuzz: the program's %u symbolic buffers hold %llu bytes, more than "
                         "one input's %u: the bytes past it stay concrete", f->nsnap_inputs,
                         (unsigned long long)cap, FZ_MAX_INPUT);
            f->input_cap = cap > FZ_MAX_INPUT ? FZ_MAX_INPUT : (uint32_t)cap;
        }
        atomic_store(&f->have_snapshot, true);
        pthread_mutex_unlock(&f->lock);
        if (f->by_make_symbolic)
            hv_info("fuzz: snapshot taken on vCPU %u at symhv_make_symbolic (%u vCPUs, %u "
                    "buffers, %u bytes so far: the input is every buffer's bytes in call "
                    "order); %zu seeds", f->start_vcpu, vm->ncpus, f->nsnap_inputs,
                    f->input_cap, f->queue.n);
        else
            hv_info("fuzz: snapshot taken on vCPU %u (%u vCPUs, input up to %llu bytes, "
                    "coverage map %llu bytes); %zu seeds", f->start_vcpu, vm->ncpus,
                    (unsigned long long)f->input.len, (unsigned long long)f->map.len, f->queue.n);
        console_mute(f->console, true); /* the target's output would flood the log */
        f->seeds_left = f->queue.n;
        size_t longer = 0;
        for (size_t i = 0; i < f->queue.n && !f->by_make_symbolic; i++)
            longer += f->queue.entries[i].len > f->input.len;
        if (longer)
            hv_error("fuzz: %zu of %zu seeds are longer than the target's input buffer (%llu "
                     "bytes, symhv_fuzz_start's max_len): they run cut to that length",
                     longer, f->queue.n, (unsigned long long)f->input.len);
    } else {
        double t0 = now_s();
        if (f->by_make_symbolic) { /* the input reaches as far as the program's buffers */
            pthread_mutex_lock(&f->lock);
            if (f->sym_offset > f->input_cap)
                f->input_cap = (uint32_t)f->sym_offset;
            pthread_mutex_unlock(&f->lock);
        }
        f->search.new_branch_edges = 0;
        f->search.budget_s = 0;
        if (f->cfg.max_seconds) { /* --max-time holds while the solver works, too */
            double left = f->cfg.max_seconds - (now_s() - f->started);
            f->search.budget_s = left > 0.001 ? left : 0.001;
        }
        if (f->cur_concolic) { /* first: its new branch sides are coverage for judge() */
            int found = engine_concolic_collect(f->engine, add_solver_input, f, &f->search);
            hv_info("fuzz: concolic run gave %d new inputs, %llu new branch sides", found,
                    (unsigned long long)f->search.new_branch_edges);
        }
        judge(f, req == REQ_HANG ? OUT_HANG : out, status, why);
        if (f->cmplog_ready && req != REQ_HANG && !mode_is_tool(f->cfg.mode) &&
            (f->judged_new || f->cur_origin == FZ_FROM_SEED))
            input_to_state(f);
        double t1 = now_s();
        if (restore(f) < 0)
            return false;
        double t2 = now_s();
        next_input(f);
        if (req == REQ_END) { /* the executions phase_samples counts */
            f->phase_judge += t1 - t0;
            f->phase_next += now_s() - t2;
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
    if (f->request == REQ_NONE) {
        struct timespec ts = deadline_after_ms(REQUEST_WAIT_MS);
        pthread_cond_timedwait(&f->cond, &f->lock, &ts);
    }
    if (f->request == REQ_NONE && atomic_load(&f->have_snapshot)) {
        double limit = f->cur_concolic ? f->cfg.concolic_timeout_s : f->cfg.exec_timeout_s;
        if (now_s() - f->exec_started >= limit) { /* a hang: settle the VM ourselves */
            f->request = REQ_HANG;
            vm_begin_settle(vm);
        }
    }
    enum request req = f->request;
    enum outcome out = f->end_outcome;
    int st = f->end_status;
    f->cur_signal = f->end_signal;
    char why[256];
    snprintf(why, sizeof why, "%s", f->end_why);
    if (req == REQ_END && out == OUT_OK && f->bug_reported) { /* it ran on, then ended fine */
        out = OUT_BUG;
        snprintf(why, sizeof why, "%.240s", f->bug_message);
    }
    pthread_mutex_unlock(&f->lock);
    if (f->cfg.sync_dir && now_s() - f->last_sync >= f->cfg.sync_every_s)
        sync_import(f); /* f->synced is the main thread's */
    if (req == REQ_NONE) {
        if (atomic_load(&f->have_snapshot))
            status(f, false);
        if (f->cfg.max_seconds && now_s() - f->started >= f->cfg.max_seconds) {
            vm_request_stop(vm, 0);
            return false;
        }
        return true;
    }
    double t_posted = f->t_posted; /* set before the request we read under the lock */
    if (!vm_wait_settled(vm))
        return false; /* the VM stops */
    double t_settled = now_s();
    if (req == REQ_END && f->t_released > 0) {
        f->phase_exec += t_posted - f->t_released;
        f->phase_settle += t_settled - t_posted;
        f->phase_samples++;
    }
    bool go = between_executions(f, req, out, st, why);
    if (!go)
        vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
    pthread_mutex_lock(&f->lock);
    f->request = REQ_NONE;
    pthread_mutex_unlock(&f->lock);
    status(f, false);
    bool more = go && !limits_reached(f);
    if (!more)
        vm_request_stop(vm, vm_is_stopping(vm) ? vm->exit_status : 0);
    f->t_released = now_s();
    vm_resume_settled(vm); /* the stopped vCPUs see the stop and leave */
    return more;
}

/* cmin/tmin: write the result. The run's status, or HV_EXIT_SETUP_ERROR. */
static int finish_tool(struct fuzzer *f, int vm_status)
{
    if (vm_status != 0)
        return vm_status;
    if (f->tool_error)
        return HV_EXIT_SETUP_ERROR;
    if (f->cfg.mode == FUZZ_CMIN) {
        bool *keep = calloc(f->queue.n, sizeof *keep);
        if (!keep)
            return HV_EXIT_SETUP_ERROR;
        size_t kept = fz_cmin_result(&f->cmin, f->queue.n, keep);
        int rc = 0;
        for (size_t i = 0; i < f->queue.n && rc == 0; i++) {
            char name[64];
            snprintf(name, sizeof name, "id:%06zu,cmin", i);
            if (keep[i] && write_file_atomic(f->out_dir, name, f->queue.entries[i].data,
                                             f->queue.entries[i].len) < 0) {
                hv_error_errno("cmin: cannot write %s/%s", f->out_dir, name);
                rc = HV_EXIT_SETUP_ERROR;
            }
        }
        free(keep);
        fprintf(stderr, "symhv cmin: %zu of %zu inputs keep all the coverage (%llu crashed or "
                "hung, left out), in %s\n", kept, f->queue.n,
                (unsigned long long)f->tool_failed, f->out_dir);
        return rc;
    }
    char dir[PATH_MAX], *slash;
    snprintf(dir, sizeof dir, "%s", f->out_dir);
    slash = strrchr(dir, '/');
    const char *name = slash ? slash + 1 : dir;
    if (slash)
        *slash = 0;
    if (write_file_atomic(slash ? (dir[0] ? dir : "/") : ".", name, f->tmin.best, f->tmin.len) < 0) {
        hv_error_errno("tmin: cannot write %s", f->out_dir);
        return HV_EXIT_SETUP_ERROR;
    }
    fprintf(stderr, "symhv tmin: %u -> %u bytes in %llu executions, failing as before (%s); "
            "written to %s\n", f->queue.entries[0].len, f->tmin.len,
            (unsigned long long)f->tmin.tries, f->tmin_fault, f->out_dir);
    return 0;
}

int fuzzer_finish(struct fuzzer *f, int vm_status)
{
    if (atomic_load(&f->have_snapshot) && mode_is_tool(f->cfg.mode)) {
        console_mute(f->console, false);
        return finish_tool(f, vm_status);
    }
    if (atomic_load(&f->have_snapshot)) {
        console_mute(f->console, false);
        status(f, true);
        if (vm_status == HV_EXIT_SIGNAL)
            hv_error("fuzz: stopped by a signal; everything found is in %s", f->out_dir);
        return vm_status;
    }
    if (f->ended_before_start && vm_status < HV_EXIT_TIMEOUT) {
        hv_error("%s: the target ended before its input was read: a program (after --) must "
                 "open the @@ or --sym-file file or read stdin; a fuzz target must call "
                 "symhv_fuzz_start (scripts/symhv-build-fuzzer); a program of symhv's "
                 "runtime must call symhv_make_symbolic",
                 f->cfg.mode == FUZZ_EXPLORE ? "explore" : "fuzz");
        return HV_EXIT_SETUP_ERROR;
    }
    return vm_status;
}
