/* The symhv guest agent: what a program inside the guest calls to talk to symhv
 * (S2E users know these as s2ecmd / s2e.h calls).
 *
 * Every call is one hypercall (include/symhv/abi.h) issued by the agent instruction,
 * `in eax, dx` from port SYMHV_HYPERCALL_PORT, with the arguments in registers. Two
 * parties can see it:
 *  - the VMM, when the CPU runs it: the guest OS must let the program's port read
 *    reach the VMM (symhv's test kernel forwards it from its #GP handler; on Linux the
 *    program calls ioperm(0x510, 1, 1) as root);
 *  - the sidecar's interpreter, when the vCPU is being interpreted: it handles
 *    symhv_print_expr and symhv_assume itself, on the symbolic value of the argument.
 */
#ifndef SYMHV_AGENT_H
#define SYMHV_AGENT_H

#include <stddef.h>
#include <stdint.h>

/* The agent instruction: hypercall `nr`; returns its result (< 0: -errno). */
long symhv_hypercall(long nr, long arg0, long arg1, long arg2, long arg3);

/* Make buf[0..len) symbolic as the input `name`; its current bytes are the first
 * concrete input. Returns the input's id (>= 0), or -EINVAL (len 0 or over 1 MiB, bad
 * name) / -EFAULT (a page of buf or name not mapped). */
int symhv_make_symbolic(void *buf, size_t len, const char *name);
/* End the run with `status`, logging msg. */
__attribute__((noreturn)) void symhv_kill(int status, const char *msg);
/* Report a bug at this point (the run goes on). */
int symhv_report_bug(const char *msg);
/* Copy the concrete values of src[0..len) (an input that satisfies the path so far)
 * into dst, without touching the symbolic state of src. */
int symhv_get_example(void *dst, const void *src, size_t len);
/* Print `value` under `name`: its expression over the inputs when it is symbolic
 * (into the run's expressions.txt and the log), else its concrete value. */
void symhv_print_expr(const char *name, uint64_t value);
/* Constrain the inputs: every input generated from here on satisfies `cond`. If cond is
 * false on the current concrete input, the run says so (and ends, when it runs natively). */
void symhv_assume(int cond);

/* Fuzzing (symhv fuzz): the first call takes the snapshot every execution restarts
 * from and returns the length of the input symhv wrote into buf[0..maxlen). coverage
 * (may be NULL) is the target's edge map of map_size bytes, read after each execution. */
long symhv_fuzz_start(void *buf, size_t maxlen, uint8_t *coverage, size_t map_size);
/* Before symhv_fuzz_start: the target's compare log (struct symhv_cmplog in
 * symhv/coverage.h), which symhv reads after executions to put compared values into
 * inputs (AFL++'s CMPLOG, input-to-state). 0, or negative outside symhv fuzz. */
long symhv_fuzz_cmplog(void *log, size_t size);
/* Before symhv_fuzz_start: symhv writes each input's length into l->len and how long
 * the input may be into l->limit. Take the length from there, capped at the limit (not
 * symhv_fuzz_start's result): in a concolic run len is symbolic and the cap tells the
 * solver how far the input may grow, so its inputs may be longer. Give the struct a page
 * of its own: the page traps in concolic runs. 0, or negative outside symhv fuzz. */
struct symhv_fuzz_length; /* symhv/abi.h */
long symhv_fuzz_length(volatile struct symhv_fuzz_length *l);
/* End one execution; status != 0 counts as a crash. Does not return under symhv fuzz. */
void symhv_fuzz_end(int status);
/* A libFuzzer driver's start, the three calls above in order: the compare log, the length
 * word (l: a page of its own), then the snapshot. Returns the input's length (the length
 * word's, capped at its limit, when symhv took it), or < 0 if symhv_fuzz_start failed. */
long symhv_fuzz_start_driver(void *buf, size_t maxlen, uint8_t *coverage, size_t map_size,
                             void *cmplog, size_t cmplog_size, volatile struct symhv_fuzz_length *l);

#endif
