/* Test helper: run the real `symhv` binary on a real guest and capture what it says.
 * Paths come from the environment meson sets: SYMHV (the binary) and GUEST_DIR (the
 * built guest kernel and programs). */
#ifndef TESTS_SYMHV_RUN_H
#define TESTS_SYMHV_RUN_H

#include <string.h>

struct run_result {
    int status;  /* exit status, or 128 + signal */
    char *out;   /* everything on stdout, NUL-terminated */
    char *err;   /* everything on stderr */
};

/* Run symhv with the NULL-terminated argument list; arguments starting with "@" are
 * replaced by "$GUEST_DIR/<rest>". Aborts the test if symhv cannot be started. */
void run_symhv(struct run_result *r, const char *const args[]);
/* Same, as user `uid` (for permission tests); the caller must be root. */
void run_symhv_as(struct run_result *r, const char *const args[], int uid);
void run_result_free(struct run_result *r);
/* Path of a built guest file, in a static buffer. */
const char *guest_path(const char *name);
/* Run symhv and assert its exit status and that stdout/stderr contain each needle
 * (NULL: not checked); on failure both streams are shown. */
void expect_symhv(const char *const args[], int status, const char *out_needle,
                  const char *err_needle);

#define ck_assert_contains(hay, needle) \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "expected \"%s\" in:\n%s", (needle), (hay))

#endif
