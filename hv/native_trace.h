/* Running a static program natively on this host, outside any VM (symhv cov): its
 * arguments, stdin and environment, a time limit, and optionally a one-shot int3 at each
 * of a program's basic blocks (hv/breakpoints.c finds them) whose first hit is recorded,
 * in every thread and in forked children (ptrace). What symhv fuzz's binary-only
 * coverage does in the guest, for a report of what a campaign's test cases reached. */
#ifndef HV_NATIVE_TRACE_H
#define HV_NATIVE_TRACE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Blocks kept across runs: a block hit once is never armed again, so a run costs one
 * stop per block no earlier run reached. */
struct native_blocks {
    const uint64_t *addr;  /* sorted, unique: the ELF's own addresses */
    size_t n;
    uint64_t entry;        /* the ELF's e_entry: with AT_ENTRY it gives the load bias of a
                              position-independent program (0 for the others) */
    uint8_t *hit;          /* n bytes: 1 once reached by some run */
    uint8_t *orig;         /* n bytes: the program's byte there (filled by the first run) */
    uint8_t *state;        /* n bytes, internal: 0 not read yet, 1 armable, 2 never (the
                              program's own int3 is there, or the address is not mapped) */
};

struct native_run {
    const char *program;         /* a host path */
    char *const *argv;           /* NULL-terminated; argv[0] as the program should see it */
    char *const *env_add;        /* NAME=VALUE set on top of this process's environment */
    size_t nenv_add;
    const char *stdin_path;      /* NULL: /dev/null */
    double timeout_s;            /* > 0 */
    struct native_blocks *blocks; /* NULL: a plain run (a gcov build counts for itself) */
};

struct native_result {
    int status;          /* the program's wait status (its first process) */
    bool timed_out;      /* killed at the time limit */
    size_t new_blocks;   /* blocks this run reached that no run had before */
};

/* 0, or -1 with a one-line reason (the program could not be started or traced). The
 * run ends when the program's first process has and nothing it started is left: this
 * process becomes a child subreaper, and at the end kills every child it has (the
 * caller has none of its own). */
int native_run(const struct native_run *r, struct native_result *res, char *why,
               size_t why_size);

/* On SIGINT, SIGTERM or SIGHUP: the running program's group killed, then these paths
 * removed (files, then empty directories, in the order given), then the signal's
 * default end. 0, or -1 (too many paths, or too long). */
#define NATIVE_MAX_CLEANUP 16
int native_cleanup_on_signal(const char *const *paths, size_t n);

#endif
