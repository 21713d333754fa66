/* Test helper: run the real `symhv` binary on a real guest and capture what it says.
 * Paths come from the environment meson sets: SYMHV (the binary) and GUEST_DIR (the
 * built guest kernel and programs). */
#ifndef TESTS_SYMHV_RUN_H
#define TESTS_SYMHV_RUN_H

#include <stdio.h>
#include <string.h>
#include <sys/types.h>

struct run_result {
    int status;  /* exit status, or 128 + signal */
    char *out;   /* everything on stdout, NUL-terminated */
    char *err;   /* everything on stderr */
};

/* Run symhv with the NULL-terminated argument list; arguments starting with "@" are
 * replaced by "$GUEST_DIR/<rest>" (but "@@", AFL++'s input file, stays). Aborts the test
 * if symhv cannot be started. */
void run_symhv(struct run_result *r, const char *const args[]);
/* Same, with `input` as symhv's stdin. */
void run_symhv_with_stdin(struct run_result *r, const char *const args[], const char *input);
/* Same, with a stdin that stays open and silent until symhv ends (a terminal nobody
 * types into). */
void run_symhv_with_silent_stdin(struct run_result *r, const char *const args[]);
/* Same, but a symhv still running after `seconds` fails the test with `what`, the
 * state of each of its threads and what it said, instead of holding the test until its
 * own timeout. */
void run_symhv_within(struct run_result *r, const char *const args[], int seconds,
                      const char *what);
/* Same, as user `uid` (for permission tests); the caller must be root. */
void run_symhv_as(struct run_result *r, const char *const args[], int uid);
void run_result_free(struct run_result *r);
/* Path of a built guest file, in a static buffer. */
const char *guest_path(const char *name);
/* Path of a built Linux test program (tests/linux/, $LINUX_DIR); "%name" in run_symhv's
 * arguments expands to it as "@name" does to guest files. */
const char *linux_path(const char *name);
/* A cpio (newc) archive at `path` of these members (data: a string, NULL for none). */
struct cpio_member {
    const char *name;
    unsigned mode;   /* st_mode, e.g. 0100644 or 040755 */
    const char *data;
};
void write_cpio(const char *path, const struct cpio_member *m, size_t n);
/* Run symhv and assert its exit status and that stdout/stderr contain each needle
 * (NULL: not checked); on failure both streams are shown. */
void expect_symhv(const char *const args[], int status, const char *out_needle,
                  const char *err_needle);

/* A fresh directory for one run's outputs, removed when the test process ends (each
 * Check test runs in its own process). At most 8 per test. */
const char *test_temp_dir(void);
/* Does dir/name exist and hold at least one byte? */
int output_file_exists(const char *dir, const char *name);
/* dir/name's bytes plus a NUL (malloc'ed; fails the test if unreadable). */
char *read_output_file(const char *dir, const char *name, size_t *len);
/* The number after "key:" (spaces allowed before the colon) in dir/file; -1 if absent. */
double output_value(const char *dir, const char *file, const char *key);
/* The same in dir/summary.txt, a symbolic run's summary. */
double summary_value(const char *dir, const char *key);
/* Start symhv in the background (output discarded); returns its pid. */
pid_t spawn_symhv(const char *const args[]);
/* Start symhv in the background with its output captured; finish_symhv waits for it. */
struct symhv_child {
    pid_t pid;
    FILE *out, *err;
};
void start_symhv(struct symhv_child *c, const char *const args[]);
void finish_symhv(struct symhv_child *c, struct run_result *r);
/* The pid of a child process of `parent` (symhv's sidecar) once there is one; -1 if
 * none appears within `seconds`. */
pid_t child_of(pid_t parent, double seconds);

/* [*start, *end) of the function `name` in the program at `path` (nm -S); fails the
 * test if there is none. */
void symbol_range(const char *path, const char *name, unsigned long long *start,
                  unsigned long long *end);

/* Can this machine run guests: does /dev/kvm open and answer KVM_GET_API_VERSION? */
int kvm_usable(void);
/* For the main() of a suite that needs KVM: without it, one line saying so and exit
 * status 77, which meson counts as SKIP (never as a pass). */
void skip_suite_without_kvm(const char *suite);

#define ck_assert_contains(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle), (hay))

#endif
