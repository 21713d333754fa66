/* A campaign's decisions, without a VM: which input runs next, what an execution that
 * ended was worth (coverage, a crash, a hang, a bug the program reported), the out_dir
 * (AFL++'s layout, locked for one campaign, resumed), trimming, cmin and tmin, and the
 * campaign's counters. hv/fuzzer.c runs the executions: it places `cur` into the guest,
 * copies the target's coverage map into `trace` and calls fz_campaign_judge, then
 * fz_campaign_next. The main thread's, one at a time: no lock here. */
#ifndef FUZZ_CAMPAIGN_H
#define FUZZ_CAMPAIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign_state.h" /* the data: struct fz_campaign and its parts */

const char *fz_origin_name(enum fz_origin o);

/* Out_dir created and locked, the corpus loaded (a campaign's queue resumed or seeded;
 * cmin's inputs; tmin's file), dictionaries, the random stream. 0, or -1 after a
 * message. fz_campaign_close frees everything and lets the lock go. */
int fz_campaign_open(struct fz_campaign *c, const struct fuzz_config *cfg);
void fz_campaign_close(struct fz_campaign *c);
/* Coverage maps for a target's map of map_len bytes (0: none). 0 or -1. */
int fz_campaign_set_map(struct fz_campaign *c, size_t map_len);

/* Which source the next input comes from (pure: the priority order). */
enum fz_source fz_campaign_choose(const struct fz_campaign *c);
/* Take the next input into c->cur (cut to c->input_cap); may make it concolic. false if
 * the campaign is done (c->done). */
bool fz_campaign_next(struct fz_campaign *c);
/* Judge the execution of c->cur that ended: with a map, c->trace holds its coverage;
 * new_branch_edges: the symbolic branch sides its concolic run added (a target without
 * a map). why: the crash's description or the bug's message. */
void fz_campaign_judge(struct fz_campaign *c, enum fz_outcome out, int status, const char *why,
                       uint64_t new_branch_edges);
/* A race between the accesses at pcs a and b on guest-physical page `page` (--races):
 * the input just run goes again with each order of the two forced (the access at one pc
 * waits for the other's), and so does every input that joins the queue from now on. */
void fz_campaign_add_race(struct fz_campaign *c, uint64_t a, uint64_t b, uint64_t page);

/* A solver input waiting for its execution (urgent: a division's, a target's, an
 * address's flip: another case, maybe a bug). */
void fz_campaign_add_solver_input(struct fz_campaign *c, const uint8_t *data, size_t len,
                                  bool urgent);
/* Does the execution just judged want its compare log read (a seed, or an input that
 * joined the queue, in a campaign)? Then fz_campaign_compare_log makes input-to-state
 * candidates from it. */
bool fz_campaign_wants_compare_log(const struct fz_campaign *c);
void fz_campaign_compare_log(struct fz_campaign *c, const struct fz_compare *log, size_t n);
/* Import what the other instances published (every sync_every_s). */
void fz_campaign_sync(struct fz_campaign *c);
/* A limit reached: --max-execs, --max-time, or done. */
bool fz_campaign_over(const struct fz_campaign *c);
/* cmin/tmin: write the result. 0, or -1 after a message. */
int fz_campaign_finish_tool(struct fz_campaign *c);

/* ---- out_dir (outdir.c), for fz_campaign_open: 0 or -1 after a message ---- */
int fz_outdir_load_campaign(struct fz_campaign *c, const struct fuzz_config *cfg);
int fz_outdir_load_tool(struct fz_campaign *c, const struct fuzz_config *cfg);

/* ---- stats (stats.c) ---- */
/* fuzzer_stats (AFL++'s keys and format, symhv's after them) and a plot_data line. */
void fz_campaign_write_stats(struct fz_campaign *c, const struct fz_vm_figures *vm);
/* The status line (tty: over itself). */
void fz_campaign_status_line(const struct fz_campaign *c, const struct fz_vm_figures *vm,
                             bool tty, bool final);

#endif
