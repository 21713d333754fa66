/* A campaign's out_dir: AFL++'s layout (queue/, crashes/, hangs/, fuzzer_stats,
 * plot_data; symhv's crash-notes/), one campaign at a time (an flock), resumed from its
 * queue and its counters, or seeded; cmin's and tmin's inputs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "campaign.h"
#include "log.h"
#include "util.h"

/* One campaign per out_dir: an flock held until the process ends (a killed run's lock
 * goes with it, so a stale lock never blocks). */
static int lock_out_dir(struct fz_campaign *c)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/.symhv-fuzz.lock", c->out_dir);
    c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (c->lock_fd < 0) {
        hv_error_errno("fuzz: cannot create %s", path);
        return -1;
    }
    /* A campaign killed a moment ago may release its lock a little after its exit has
     * been reaped (its last file references go asynchronously): while the pid in the
     * lock file is gone, wait a few seconds before calling the directory busy. */
    for (int tries = 0; flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0 && tries < 60; tries++) {
        char pid[32] = "";
        ssize_t n = pread(c->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        long holder = strtol(pid, NULL, 10);
        if (holder > 0 && kill((pid_t)holder, 0) == 0)
            break; /* alive: busy */
        usleep(50 * 1000);
    }
    if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(c->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        hv_error("fuzz: %s is in use by another symhv fuzz%s%s%s: give each campaign its "
                 "own -o directory", c->out_dir, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(c->lock_fd, 0) < 0 || pwrite(c->lock_fd, pid, (size_t)len, 0) != len) {
        hv_error_errno("fuzz: cannot write %s", path);
        return -1;
    }
    return 0;
}

/* A resumed campaign's counters go on from its fuzzer_stats (fz_stats_resume checks
 * them: values refused or times in the future are named in one line). */
static void resume_counters(struct fz_campaign *c)
{
    char path[PATH_MAX + 16], err[256], note[512];
    snprintf(path, sizeof path, "%s/fuzzer_stats", c->out_dir);
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
    c->n.execs = r.execs_done;
    c->n.total_crashes = r.total_crashes;
    c->n.total_hangs = r.total_hangs;
    c->n.concolic_runs = r.concolic_runs;
    c->n.solver_inputs = r.solver_inputs;
    c->n.solver_kept = r.solver_inputs_kept;
    c->n.imported_kept = r.corpus_imported;
    c->n.last_find_time = r.last_find;
    c->n.last_crash_time = r.last_crash;
    c->n.last_hang_time = r.last_hang;
    c->n.cycles_done = r.cycles_done;
    c->n.execs_before = c->n.execs;
    c->n.execs_at_last_new = c->n.execs_at_last_crash = c->n.last_concolic_exec = c->n.execs;
}

/* A campaign's out_dir: created and locked; resumed from its queue, or started from the
 * seeds. 0, or -1 after a message. */
int fz_outdir_load_campaign(struct fz_campaign *c, const struct fuzz_config *cfg)
{
    char err[512];
    if (cfg->sync_dir && make_dir(cfg->sync_dir) < 0) {
        hv_error_errno("fuzz: cannot create the sync directory %s", cfg->sync_dir);
        return -1;
    }
    if (fz_out_dir_init(c->out_dir, err, sizeof err) < 0) {
        hv_error("fuzz: %s", err);
        return -1;
    }
    if (lock_out_dir(c) < 0)
        return -1;
    /* Resume: an out_dir with a queue continues from it (crashes stay numbered on, the
     * counters go on, known crashes are recognised again); as in afl-fuzz, -i - asks for
     * that, and seeds for a directory that holds a campaign are refused. */
    bool resume_only = cfg->in_dir && strcmp(cfg->in_dir, "-") == 0;
    int n = fz_load_dir(&c->queue, c->queue_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err);
    if (n < 0) {
        hv_error("fuzz: cannot resume: %s", err);
        return -1;
    }
    if (n > 0 && cfg->in_dir && !resume_only) {
        hv_error("fuzz: %s holds a campaign already (%d queue entries): resume it with -i - "
                 "(as in afl-fuzz) or without -i, or give a new -o", c->out_dir, n);
        return -1;
    }
    if (n > 0) {
        hv_info("fuzz: resuming %s: %d queue entries", c->out_dir, n);
        resume_counters(c);
        if (fz_load_dir(&c->known, c->crash_dir, FZ_MAX_INPUT, FZ_FROM_KNOWN_CRASH, err,
                        sizeof err) < 0)
            hv_notice("fuzz: %s (known crashes past it are not recognised)", err);
    } else if (resume_only) {
        hv_error("fuzz: -i -: there is no campaign to resume in %s", c->out_dir);
        return -1;
    } else if (cfg->in_dir) {
        n = fz_load_dir(&c->queue, cfg->in_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err);
        if (n < 0) {
            hv_error("fuzz: %s", err);
            return -1;
        }
        for (size_t i = 0; i < c->queue.n; i++) { /* the queue starts with the seeds */
            char name[256]; /* as afl-fuzz names them: orig: and the seed's file name */
            snprintf(name, sizeof name, "id:%06zu,orig:%.200s", i, c->queue.entries[i].file);
            free(c->queue.entries[i].file);
            c->queue.entries[i].file = strdup(name);
            if (write_file_atomic(c->queue_dir, name, c->queue.entries[i].data,
                                  c->queue.entries[i].len) < 0) {
                hv_error_errno("fuzz: cannot write %s/%s", c->queue_dir, name);
                return -1;
            }
        }
    }
    if (n <= 0 && !cfg->in_dir && cfg->mode == FUZZ_EXPLORE) {
        /* as KLEE starts: no seed, the declared source's size of zeros (one seed per
         * number of arguments for --sym-args, whose count no solver changes) */
        uint32_t len = cfg->blank_seed_len ? cfg->blank_seed_len : 1;
        uint32_t seeds = cfg->blank_seed_counts > 1 && cfg->blank_seed_count_at < len
                             ? cfg->blank_seed_counts : 1;
        uint8_t *zeros = calloc(1, len);
        if (!zeros)
            return -1;
        for (uint32_t k = 0; k < seeds; k++) {
            char name[64];
            if (seeds > 1)
                zeros[cfg->blank_seed_count_at] = (uint8_t)k;
            snprintf(name, sizeof name, seeds > 1 ? "id:%06u,orig:zeros,nargs:%u"
                                                  : "id:%06u,orig:zeros", k,
                     cfg->blank_seed_count_min + k);
            struct fz_entry *e = fz_queue_add(&c->queue, zeros, len, FZ_FROM_SEED);
            e->file = strdup(name);
            if (!e->file || write_file_atomic(c->queue_dir, e->file, e->data, e->len) < 0) {
                hv_error_errno("explore: cannot write %s/%s", c->queue_dir, name);
                free(zeros);
                return -1;
            }
        }
        free(zeros);
        hv_notice("explore: no -i: the search starts from %u zero byte%s%s (-i DIR gives "
                  "seeds of your own)", len, len == 1 ? "" : "s",
                  seeds > 1 ? ", one seed per number of --sym-args arguments" : "");
        n = (int)seeds;
    }
    if (n <= 0) {
        hv_error("%s: no seed inputs: give -i DIR with at least one non-empty file",
                 cfg->mode == FUZZ_EXPLORE ? "explore" : "fuzz");
        return -1;
    }
    return 0;
}

/* symhv cmin: the inputs of -i, and an empty -o to fill. symhv tmin: the input file. */
int fz_outdir_load_tool(struct fz_campaign *c, const struct fuzz_config *cfg)
{
    char err[512];
    if (cfg->mode == FUZZ_CMIN) {
        if (make_dir(c->out_dir) < 0) {
            hv_error_errno("cmin: cannot create %s", c->out_dir);
            return -1;
        }
        if (fz_count_files(c->out_dir) != 0) {
            hv_error("cmin: %s is not empty: give a new -o directory", c->out_dir);
            return -1;
        }
        if (fz_load_dir(&c->queue, cfg->in_dir, FZ_MAX_INPUT, FZ_FROM_SEED, err, sizeof err) < 0) {
            hv_error("cmin: %s", err);
            return -1;
        }
        if (c->queue.n == 0) {
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
    fz_queue_add(&c->queue, data, (uint32_t)len, FZ_FROM_SEED);
    if (fz_tmin_init(&c->tmin, data, (uint32_t)len) < 0) {
        free(data);
        hv_error("tmin: out of memory");
        return -1;
    }
    free(data);
    return 0;
}
