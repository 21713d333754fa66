/* `symhv fuzz`: snapshot fuzzing of a guest target (the guest agent's symhv_fuzz_start /
 * symhv_fuzz_end).
 *
 * The first symhv_fuzz_start takes a snapshot of the whole machine (snapshot.h). Each
 * execution then ends at symhv_fuzz_end, at any way the guest can end (a crash of the
 * program or of the kernel, a triple fault, a KVM internal error, an access outside
 * RAM, exit, kill: the fuzzer is the VM's end policy) or at the per-execution timeout
 * (a hang). The VM is settled (vm.h), the written pages and every vCPU's state go back
 * to the snapshot, the next input is written into the target's buffer, and the vCPUs
 * go again. The decisions (fuzz/campaign.h) are made on the main thread: coverage, queue,
 * crashes, mutations, and every --concolic-every executions (or on a coverage plateau)
 * one concolic execution through the symbolic engine whose inputs are tried next. */
#ifndef HV_FUZZER_H
#define HV_FUZZER_H

#include <stdbool.h>
#include <stdint.h>

#include "campaign.h" /* struct fuzz_config */

struct vm;
struct hypercalls;
struct engine;
struct console;
struct races;

struct fuzzer;

/* Set up out_dir (locked for the campaign: a second symhv fuzz on it is refused), load
 * the corpus, register the fuzzing hypercalls and become the end policy. NULL after a
 * message. */
struct fuzzer *fuzzer_attach(struct vm *vm, struct hypercalls *hc, struct engine *engine,
                             struct console *console, const struct fuzz_config *cfg);
/* The main thread's work, called in a loop while the VM runs: waits up to a few ms for
 * an execution to end and handles it. false: the campaign is over (a limit). */
/* Race detection on (--races): its watch ends between executions, its races are saved
 * with the execution's input in OUT/races/ and counted in fuzzer_stats. */
void fuzzer_set_races(struct fuzzer *f, struct races *r);
/* The program after -- (a host file or a path in an archive): a fuzz campaign on a
 * program without a coverage map arms breakpoints in it (breakpoints.h). */
void fuzzer_set_program(struct fuzzer *f, const char *path);
/* -c (cmplog_peer.h): the campaign asks `peer` for the compare logs of its new inputs;
 * or, in the peer itself (mode FUZZ_CMPLOG_PEER), peer_fd is the campaign's socket
 * (else -1). 0, or -1 after a message. */
struct cmplog_peer;
int fuzzer_set_cmplog_peer(struct fuzzer *f, struct cmplog_peer *peer, int peer_fd);
bool fuzzer_tick(struct fuzzer *f);
/* After the VM stopped: final stats; returns the run's exit status given the VM's. */
int fuzzer_finish(struct fuzzer *f, int status);
void fuzzer_detach(struct fuzzer *f);

#endif
