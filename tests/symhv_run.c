#include "symhv_run.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kvm.h>

/* Why /dev/kvm cannot run guests, or NULL if it can. */
static const char *kvm_unusable_reason(void)
{
    static char why[128];
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, sizeof why, "/dev/kvm: %s", strerror(errno));
        return why;
    }
    int api = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    if (api == KVM_API_VERSION)
        return NULL;
    snprintf(why, sizeof why, "/dev/kvm answers API version %d, not %d", api, KVM_API_VERSION);
    return why;
}

int kvm_usable(void) { return kvm_unusable_reason() == NULL; }

void skip_suite_without_kvm(const char *suite)
{
    const char *why = kvm_unusable_reason();
    if (!why)
        return;
    printf("SKIP: suite %s needs KVM, which this machine does not offer (%s); none of its "
           "tests ran\n", suite, why);
    exit(77);
}

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

const char *linux_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", env_or_die("LINUX_DIR"), name);
    return path;
}

static void put_newc(FILE *f, const char *name, uint32_t mode, const void *data, size_t len,
                     uint32_t ino)
{
    size_t namesize = strlen(name) + 1;
    fprintf(f, "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x", ino, mode, 0, 0,
            1, 0, len, 0, 0, 0, 0, namesize, 0);
    fwrite(name, 1, namesize, f);
    for (size_t pad = (110 + namesize) % 4; pad && pad < 4; pad++)
        fputc(0, f);
    if (len) /* a directory's data is NULL: fwrite(NULL, ...) is UB even for 0 bytes */
        fwrite(data, 1, len, f);
    for (size_t pad = len % 4; pad && pad < 4; pad++)
        fputc(0, f);
}

void write_cpio(const char *path, const struct cpio_member *m, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    for (size_t i = 0; i < n; i++)
        put_newc(f, m[i].name, m[i].mode, m[i].data, m[i].data ? strlen(m[i].data) : 0,
                 (uint32_t)i + 1);
    put_newc(f, "TRAILER!!!", 0, "", 0, 0);
    ck_assert_int_eq(fclose(f), 0);
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

/* argv for symhv with "@name" expanded; strings live in `space`. */
struct argv_space {
    char *argv[64];
    char expanded[64][4096];
};

static char **build_argv(struct argv_space *a, const char *const args[])
{
    int argc = 0;
    a->argv[argc++] = (char *)env_or_die("SYMHV");
    for (int i = 0; args[i]; i++) {
        ck_assert_int_lt(argc, 62);
        if (args[i][0] == '@' && strcmp(args[i], "@@") != 0) { /* @@: AFL++'s, as it is */
            snprintf(a->expanded[argc], sizeof a->expanded[argc], "%s", guest_path(args[i] + 1));
            a->argv[argc] = a->expanded[argc];
        } else if (args[i][0] == '%') {
            snprintf(a->expanded[argc], sizeof a->expanded[argc], "%s", linux_path(args[i] + 1));
            a->argv[argc] = a->expanded[argc];
        } else {
            a->argv[argc] = (char *)args[i];
        }
        argc++;
    }
    a->argv[argc] = NULL;
    return a->argv;
}

/* Fork and exec symhv with stdout/stderr to out/err (NULL: /dev/null), stdin from `in`
 * (NULL: the test's), as user `uid` when uid >= 0. */
static pid_t start(const char *const args[], FILE *in, FILE *out, FILE *err, int uid)
{
    static struct argv_space space; /* one test process, one thread */
    char **argv = build_argv(&space, args);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(out ? fileno(out) : null, 1);
        dup2(err ? fileno(err) : null, 2);
        if (in)
            dup2(fileno(in), 0);
        if (uid >= 0 && (setgid((gid_t)uid) < 0 || setuid((uid_t)uid) < 0))
            _exit(99);
        execv(argv[0], argv);
        _exit(98);
    }
    return pid;
}

/* A run that ended with wait status `ws`: its status and output into r. */
static void ended(int ws, FILE *out, FILE *err, struct run_result *r)
{
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    r->out = slurp(out);
    r->err = slurp(err);
    fclose(out);
    fclose(err);
    ck_assert_msg(r->status != 98, "could not execute %s", env_or_die("SYMHV"));
}

static void finish(pid_t pid, FILE *out, FILE *err, struct run_result *r)
{
    int ws;
    while (waitpid(pid, &ws, 0) < 0)
        ck_assert_int_eq(errno, EINTR);
    ended(ws, out, err, r);
}

/* Each of the process's threads as "name:state:wchan", for a run that did not end. */
static void describe_threads(pid_t pid, char *buf, size_t cap)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    size_t at = 0;
    buf[0] = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) && at + 128 < cap) {
        if (e->d_name[0] == '.')
            continue;
        char path[600], stat[512] = "", wchan[64] = "?";
        snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(stat, sizeof stat, f))
                stat[0] = 0;
            fclose(f);
        }
        snprintf(path, sizeof path, "%s/%s/wchan", dir, e->d_name);
        if ((f = fopen(path, "r"))) {
            if (!fgets(wchan, sizeof wchan, f))
                snprintf(wchan, sizeof wchan, "?");
            fclose(f);
        }
        /* stat: "tid (comm) S ...": the name and the state letter */
        char *open = strchr(stat, '('), *close = strrchr(stat, ')');
        if (open && close && close > open && close[1] == ' ')
            at += (size_t)snprintf(buf + at, cap - at, " %.*s:%c:%s", (int)(close - open - 1),
                                   open + 1, close[2], wchan);
    }
    closedir(d);
}

void run_symhv_within(struct run_result *r, const char *const args[], int seconds,
                      const char *what)
{
    FILE *out = tmpfile(), *err = tmpfile();
    ck_assert_msg(out && err, "tmpfile: %s", strerror(errno));
    pid_t pid = start(args, NULL, out, err, -1);
    for (long waited_ms = 0;; waited_ms += 20) {
        int ws;
        pid_t got = waitpid(pid, &ws, WNOHANG);
        ck_assert_int_ge(got, 0);
        if (got == pid) {
            ended(ws, out, err, r);
            return;
        }
        if (waited_ms >= seconds * 1000L) {
            char threads[2048];
            describe_threads(pid, threads, sizeof threads);
            kill(pid, SIGKILL);
            char *said = slurp(err);
            ck_abort_msg("%s: symhv did not end within %d s (threads:%s); killed; stderr:\n%s",
                         what, seconds, threads, said);
        }
        usleep(20000);
    }
}

static void run(struct run_result *r, const char *const args[], int uid)
{
    FILE *out = tmpfile(), *err = tmpfile();
    ck_assert_msg(out && err, "tmpfile: %s", strerror(errno));
    finish(start(args, NULL, out, err, uid), out, err, r);
}

void run_symhv_with_stdin(struct run_result *r, const char *const args[], const char *input)
{
    FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
    ck_assert_msg(in && out && err, "tmpfile: %s", strerror(errno));
    ck_assert_int_eq(fputs(input, in) >= 0 && fflush(in) == 0, 1);
    rewind(in);
    finish(start(args, in, out, err, -1), out, err, r);
    fclose(in);
}

void run_symhv_with_silent_stdin(struct run_result *r, const char *const args[])
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    FILE *in = fdopen(p[0], "r"), *out = tmpfile(), *err = tmpfile();
    ck_assert_msg(in && out && err, "pipe/tmpfile: %s", strerror(errno));
    pid_t pid = start(args, in, out, err, -1);
    fclose(in); /* the child has it; the write end stays open, silent, until symhv ends */
    finish(pid, out, err, r);
    close(p[1]);
}

void start_symhv(struct symhv_child *c, const char *const args[])
{
    c->out = tmpfile();
    c->err = tmpfile();
    ck_assert_msg(c->out && c->err, "tmpfile: %s", strerror(errno));
    c->pid = start(args, NULL, c->out, c->err, -1);
}

void finish_symhv(struct symhv_child *c, struct run_result *r)
{
    finish(c->pid, c->out, c->err, r);
}

/* The pid of symhv's child process (the sidecar) once it exists, or -1 after `seconds`. */
pid_t child_of(pid_t parent, double seconds)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", parent);
    for (double waited = 0; waited < seconds; waited += 0.05) {
        /* any of its threads may have started the child */
        DIR *d = opendir(dir);
        int child = -1;
        for (struct dirent *e; d && child < 0 && (e = readdir(d));) {
            char path[400];
            snprintf(path, sizeof path, "%s/%s/children", dir, e->d_name);
            FILE *f = e->d_name[0] != '.' ? fopen(path, "r") : NULL;
            if (f) {
                if (fscanf(f, "%d", &child) != 1)
                    child = -1;
                fclose(f);
            }
        }
        if (d)
            closedir(d);
        if (child > 0)
            return child;
        usleep(50 * 1000);
    }
    return -1;
}

void run_symhv(struct run_result *r, const char *const args[]) { run(r, args, -1); }

void run_symhv_as(struct run_result *r, const char *const args[], int uid)
{
    run(r, args, uid);
}

pid_t spawn_symhv(const char *const args[]) { return start(args, NULL, NULL, NULL, -1); }

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

void symbol_range(const char *path, const char *name, unsigned long long *start,
                  unsigned long long *end)
{
    char cmd[4200], line[256];
    snprintf(cmd, sizeof cmd, "nm -S '%s'", path);
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "cannot run nm on %s", path);
    *start = *end = 0;
    while (fgets(line, sizeof line, p)) {
        unsigned long long addr, size;
        char type, sym[128];
        if (sscanf(line, "%llx %llx %c %127s", &addr, &size, &type, sym) == 4 &&
            strcmp(sym, name) == 0) {
            *start = addr;
            *end = addr + size;
        }
    }
    pclose(p);
    ck_assert_msg(*end > *start, "no symbol %s in %s", name, path);
}
