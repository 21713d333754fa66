/* The symhv guest agent: what a program inside the guest calls to talk to symhv
 * (S2E users know these as s2ecmd / s2e.h calls).
 *
 * Every call is one hypercall (include/symhv/abi.h). How a hypercall leaves the guest
 * depends on the guest OS, so the agent calls `symhv_hypercall()`, which the platform
 * provides: symhv's test kernel forwards it through a system call (guest/lib). */
#ifndef SYMHV_AGENT_H
#define SYMHV_AGENT_H

#include <stddef.h>

/* Provided by the platform: issue hypercall `nr`; returns its result (< 0: -errno). */
long symhv_hypercall(long nr, long arg0, long arg1, long arg2);

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

#endif
