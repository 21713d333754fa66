/* The concolic engine attached to a VM: the VMM's side of the symbolic sidecar.
 *
 * A vCPU whose native execution reads symbolic bytes is handed to the sidecar process
 * (symhv-symex, started at the first symhv_make_symbolic) until its registers and flags
 * are concrete again; the other vCPUs keep running in KVM meanwhile, and several vCPUs
 * can be in the sidecar at once. Requests travel through shared-memory slots with
 * io_uring doorbells (include/symhv/sidecar.h). If the sidecar dies, the run continues
 * concretely and says so.
 */
#ifndef HV_ENGINE_H
#define HV_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct vm_config;

/* Uses output_dir, replay_path (run concretely with these input bytes), seed_path (start
 * the symbolic run from these bytes), solver_timeout_ms and clock_slow_down. */
int engine_create(struct vm *vm, const struct vm_config *cfg);
/* Per-vCPU checks once the vCPU exists (--clock-slow-down needs the TSC offset). */
int engine_check_vcpu(struct vcpu *v);
void engine_destroy(struct vm *vm);

/* SYMHV_HC_MAKE_SYMBOLIC: [gva, gva+len) of the calling vCPU becomes input `name`.
 * With --replay, the replay file's bytes are written there instead. Returns the id. */
int engine_make_symbolic(struct vcpu *v, uint64_t gva, uint64_t len, const char *name);
/* Concrete bytes were written over [gpa, gpa+len) (by vCPU v natively, or by the VMM on
 * its behalf): they stop being symbolic; pages left with no symbolic byte rejoin the
 * memslots. */
int engine_concretise(struct vcpu *v, uint64_t gpa, uint64_t len);
/* The vCPU is stopped in a read exit that touches symbolic bytes: interpret it. */
int engine_handoff(struct vcpu *v);
/* symhv_fuzz_start outside `symhv fuzz`: one execution with the replay (or seed) input
 * written to [gva, gva+max_len); returns its length (0 without one), or -errno. */
int32_t engine_fuzz_input(struct vcpu *v, uint64_t gva, uint64_t max_len);
/* Ask every handoff in progress to stop (concretise and return the vCPU soon). */
void engine_cancel_handoffs(struct vm *vm);
/* A bug report from the guest: saved with the input that reaches it. */
void engine_report_bug(struct vcpu *v, const char *message);
/* symhv_print_expr run natively: the value is concrete. */
void engine_print_expr(struct vcpu *v, const char *name, uint64_t value);
/* Fuzzing: solve the concolic execution that just ended, hand each generated input to
 * add(), then forget it all (inputs, symbolic pages, the sidecar's path) for the next
 * one. Returns the number of inputs. Every vCPU must be parked. */
int engine_concolic_collect(struct vm *vm,
                            void (*add)(void *ctx, const uint8_t *data, size_t len), void *ctx);
/* End of the run: solve for the other side of every symbolic branch and write the
 * output directory. */
void engine_finish(struct vm *vm);

#endif
