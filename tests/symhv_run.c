#include "symhv_run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *env_or_die(const char *name)
{
    const char *v = getenv(name);
    ck_assert_msg(v && *v, "environment variable %s is not set (run through meson test)",
                  name);
    return v;
}

const char *guest_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", env_or_die("GUEST_DIR"), name);
    return path;
}

static char *slurp(FILE *f)
{
    fflush(f);
    rewind(f);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = 0;
    return buf;
}

static void run(struct run_result *r, const char *const args[], int uid)
{
    char *argv[64];
    char expanded[64][4096];
    int argc = 0;
    argv[argc++] = (char *)env_or_die("SYMHV");
    for (int i = 0; args[i]; i++) {
        ck_assert_int_lt(argc, 62);
        if (args[i][0] == '@') {
            snprintf(expanded[argc], sizeof expanded[argc], "%s", guest_path(args[i] + 1));
            argv[argc] = expanded[argc];
        } else {
            argv[argc] = (char *)args[i];
        }
        argc++;
    }
    argv[argc] = NULL;

    FILE *out = tmpfile(), *err = tmpfile();
    ck_assert_msg(out && err, "tmpfile: %s", strerror(errno));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        if (uid >= 0 && (setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0))
            _exit(99);
        execv(argv[0], argv);
        _exit(98);
    }
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r->out = slurp(out);
    r->err = slurp(err);
    fclose(out);
    fclose(err);
    ck_assert_msg(r->status != 98, "could not execute %s", argv[0]);
}

void run_symhv(struct run_result *r, const char *const args[]) { run(r, args, -1); }

void run_symhv_as(struct run_result *r, const char *const args[], int uid)
{
    run(r, args, uid);
}

void run_result_free(struct run_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

void expect_symhv(const char *const args[], int status, const char *out_needle,
                  const char *err_needle)
{
    struct run_result r;
    run_symhv(&r, args);
    ck_assert_msg(r.status == status, "status %d, expected %d; stderr:\n%s\nstdout:\n%s",
                  r.status, status, r.err, r.out);
    if (out_needle)
        ck_assert_contains(r.out, out_needle);
    if (err_needle)
        ck_assert_contains(r.err, err_needle);
    run_result_free(&r);
}
