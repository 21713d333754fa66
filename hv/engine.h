/* The concolic engine attached to a VM (symex/ driven by the VMM).
 *
 * A vCPU whose native execution reads symbolic bytes is handed to the interpreter
 * until its registers and flags are concrete again; the other vCPUs keep running in
 * KVM meanwhile. The shadow of symbolic bytes is keyed by guest-physical address and
 * shared by all vCPUs.
 *
 * Today the interpreter runs inside the VMM process, on the trapped vCPU's own thread,
 * one vCPU at a time (the expression context is single-threaded). The design's
 * separate sidecar process with io_uring rings is the next step (issue 4). */
#ifndef HV_ENGINE_H
#define HV_ENGINE_H

#include <stdint.h>

struct vm;
struct vcpu;

/* replay_path: run concretely with these input bytes. seed_path: start the symbolic
 * run from these bytes (e.g. an input a previous run generated). Either may be NULL. */
int engine_create(struct vm *vm, const char *output_dir, const char *replay_path,
                  const char *seed_path);
void engine_destroy(struct vm *vm);

/* SYMHV_HC_MAKE_SYMBOLIC: [gva, gva+len) of the calling vCPU becomes input `name`.
 * With --replay, the replay file's bytes are written there instead. Returns the id. */
int engine_make_symbolic(struct vcpu *v, uint64_t gva, uint64_t len, const char *name);
/* Concrete bytes were written over [gpa, gpa+len) (by a native vCPU or the VMM): they
 * stop being symbolic, and pages left with no symbolic byte rejoin the memslots. */
int engine_concretise(struct vm *vm, uint64_t gpa, uint64_t len);
/* The vCPU is stopped in a read exit that touches symbolic bytes: interpret it. */
int engine_handoff(struct vcpu *v);
/* A bug report from the guest: saved with the input that reaches it. */
void engine_report_bug(struct vcpu *v, const char *message);
/* End of the run: solve for the other side of every symbolic branch and write the
 * output directory. */
void engine_finish(struct vm *vm);

#endif
