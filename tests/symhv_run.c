#include "symhv_run.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

    if (uid == -2) { /* spawn_symhv: in the background, output discarded */
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            execv(argv[0], argv);
            _exit(98);
        }
        r->status = pid;
        return;
    }
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

pid_t spawn_symhv(const char *const args[])
{
    struct run_result r = { 0 };
    run(&r, args, -2);
    return (pid_t)r.status;
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

static char temp_dirs[8][64];
static int ntemp_dirs;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_temp_dirs(void)
{
    for (int i = 0; i < ntemp_dirs; i++)
        nftw(temp_dirs[i], remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

const char *test_temp_dir(void)
{
    ck_assert_int_lt(ntemp_dirs, 8);
    char *path = temp_dirs[ntemp_dirs++];
    snprintf(path, 64, "/tmp/symhv-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(path));
    if (ntemp_dirs == 1)
        atexit(remove_temp_dirs);
    return path;
}

int output_file_exists(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

char *read_output_file(const char *dir, const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *data = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(fread(data, 1, (size_t)size, f), size);
    data[size] = 0;
    fclose(f);
    if (len)
        *len = (size_t)size;
    return data;
}

double output_value(const char *dir, const char *file, const char *key)
{
    char *text = read_output_file(dir, file, NULL);
    double v = -1;
    size_t klen = strlen(key);
    for (char *line = text; line && *line;) {
        const char *p = line + klen;
        while (strncmp(line, key, klen) == 0 && *p == ' ')
            p++;
        if (strncmp(line, key, klen) == 0 && *p == ':')
            v = strtod(p + 1, NULL);
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    free(text);
    return v;
}

double summary_value(const char *dir, const char *key)
{
    return output_value(dir, "summary.txt", key);
}
