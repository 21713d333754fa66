/* symhv cov OUT [-- PROGRAM ARGS]: every test case of a campaign (queue, crashes, hangs)
 * run once natively on this host, split into its symbolic sources as the campaign's
 * fuzzer_stats records them (symhv_target: the --sym-* options and the program), and the
 * program's basic blocks they reached written to OUT/coverage-blocks.txt, by function:
 * a report for a program without source or debug information. The blocks are the ones
 * symhv fuzz's binary-only coverage finds (breakpoints.c); the hits come from one-shot
 * int3s under ptrace (native_trace.c). With --no-blocks the test cases only run: a gcov
 * build counts for itself (scripts/symhv-cov then writes the lcov report). No guest runs. */
#include "cov.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "breakpoints.h"
#include "fuzz.h"
#include "launch.h"
#include "log.h"
#include "native_trace.h"
#include "options.h"
#include "util.h"

#define COV_MAX_FILE (16u << 20)       /* a test case larger than this is no campaign's */
#define COV_MAX_PROGRAM (256u << 20)
#define COV_MAX_WORDS 8192
#define COV_EXIT_ERROR 125

static const char usage_text[] =
    "usage: symhv cov [OPTIONS] OUT_DIR -- PROGRAM [ARGS...]\n"
    "Runs every test case of a campaign (OUT_DIR/queue, crashes and hangs) once, natively on\n"
    "this host (no guest), split into its symbolic sources as the campaign ran them\n"
    "(fuzzer_stats: symhv_target and symhv_inputs; an argument's bytes become that argument,\n"
    "a file's a temporary file whose path replaces the guest path in the arguments, stdin's\n"
    "the program's stdin), and writes OUT_DIR/coverage-blocks.txt: the program's basic\n"
    "blocks that the test cases reached, by function (names from its symbol table), for a\n"
    "program without source or debug information. The blocks are the ones symhv fuzz's\n"
    "binary-only coverage finds, in the program's own code (any x86-64 ELF program: static\n"
    "or dynamic, PIE or not; not its shared libraries), at the ELF's addresses (as objdump\n"
    "shows them); each is watched by a one-shot int3 under ptrace, in every thread and\n"
    "forked child. Of the campaign's record only the --sym-* sources are taken.\n"
    "  -- PROGRAM [ARGS]  the program and its arguments (needed: it runs natively, so it is\n"
    "                     never taken from the campaign's files); @@ is the test case's\n"
    "                     file, as in symhv fuzz\n"
    "  --no-blocks        only run the test cases (a gcov build counts for itself:\n"
    "                     scripts/symhv-cov writes the lcov report from it)\n"
    "  --libfuzzer        also give the test case's path as the last argument\n"
    "  --timeout SEC      per test case (default 10); a longer run is killed and said\n"
    "Every run also gets SYMHV_REPLAY=FILE (the whole test case) for symhv's native replay\n"
    "library. Exit status 0, or 125 with a one-line reason.\n";

struct cov_args {
    const char *out_dir;
    char **program_words;  /* after --, or NULL */
    int nprogram_words;
    bool blocks, libfuzzer;
    double timeout_s;
};

/* ---- the program's functions, for names ------------------------------------------- */

struct function {
    uint64_t addr, size;
    const char *name; /* in the file's string table */
};

struct functions {
    uint8_t *file;
    struct function *f;
    size_t n;
};

static int cmp_function(const void *a, const void *b)
{
    const struct function *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* STT_FUNC symbols with a size and a name inside the string table; none for a stripped
 * program (its blocks are then listed by address alone). */
static void read_functions(const char *path, struct functions *fs)
{
    char why[256];
    size_t size;
    *fs = (struct functions){ 0 };
    fs->file = read_file(path, COV_MAX_PROGRAM, &size, why, sizeof why);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)fs->file;
    /* (tables off their natural alignment: no ELF a linker wrote; not read) */
    if (!fs->file || size < sizeof *eh || eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff > size || eh->e_shoff % 8 ||
        (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > size - eh->e_shoff)
        return;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(fs->file + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
            sh[i].sh_offset > size || sh[i].sh_offset % 8 ||
            sh[i].sh_size > size - sh[i].sh_offset || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (str->sh_offset > size || str->sh_size > size - str->sh_offset || !str->sh_size)
            continue;
        const char *strings = (const char *)fs->file + str->sh_offset;
        const Elf64_Sym *sym = (const Elf64_Sym *)(fs->file + sh[i].sh_offset);
        size_t nsym = sh[i].sh_size / sizeof *sym;
        struct function *f = realloc(fs->f, (fs->n + nsym) * sizeof *f);
        if (!f)
            return;
        fs->f = f;
        for (size_t k = 0; k < nsym; k++)
            if (ELF64_ST_TYPE(sym[k].st_info) == STT_FUNC && sym[k].st_size && sym[k].st_value &&
                sym[k].st_name < str->sh_size &&
                memchr(strings + sym[k].st_name, 0, str->sh_size - sym[k].st_name))
                fs->f[fs->n++] = (struct function){ sym[k].st_value, sym[k].st_size,
                                                    strings + sym[k].st_name };
    }
    if (fs->n)
        qsort(fs->f, fs->n, sizeof *fs->f, cmp_function);
}

/* The function holding a (the last one starting at or before it, if a covers it). */
static const struct function *function_of(const struct functions *fs, uint64_t a)
{
    size_t lo = 0, hi = fs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fs->f[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k-- > 0;) {
        if (a - fs->f[k].addr < fs->f[k].size)
            return &fs->f[k];
        if (fs->f[k].addr != fs->f[lo - 1].addr) /* aliases share an address; stop past them */
            break;
    }
    return NULL;
}

/* ---- the target: as the campaign recorded it ---------------------------------------- */

/* The campaign's target: its symbolic sources (--sym-arg, --sym-file, --sym-stdin,
 * --sym-args) as its fuzzer_stats records them, and the program the user names; parsed
 * with symhv's own option parser, so the sources mean here what they meant there. A
 * record is a file from anywhere (a peer's, a copy): nothing else of it is taken, and
 * the program it names never runs unless the user names it. No guest boots: the kernel
 * named is never read. */
static int load_target(const struct cov_args *a, struct options *opt, char **record_text,
                       char ***words_out)
{
    char record[4096];
    bool have = fz_stats_value(a->out_dir, "symhv_target", record, sizeof record) == 0 && record[0];
    char *text = strdup(have ? record : "");
    char **w = calloc(COV_MAX_WORDS + 8, sizeof *w);
    if (!text || !w) {
        free(text), free(w);
        hv_error("out of memory");
        return -1;
    }
    int n = 0;
    w[n++] = "symhv";
    w[n++] = "run";
    w[n++] = "--kernel=/dev/null";
    char *rec[COV_MAX_WORDS];
    size_t nrec = options_target_words(text, rec, COV_MAX_WORDS), program_at = nrec;
    for (size_t k = 0; k < nrec; k++) {
        if (!strcmp(rec[k], "--")) {
            program_at = k + 1;
            break;
        }
        if (!strncmp(rec[k], "--kernel=", 9) || !strncmp(rec[k], "--target=", 9)) {
            hv_error("cov: the campaign in %s ran a guest of its own (%.9s): symhv cov runs "
                     "a program natively; build the target as a native program "
                     "(symhv-cc -fsanitize=fuzzer) and give it after --", a->out_dir, rec[k]);
            goto fail;
        }
        bool args = !strncmp(rec[k], "--sym-args=", 11);
        if (args || !strncmp(rec[k], "--sym-arg=", 10) || !strncmp(rec[k], "--sym-file=", 11) ||
            !strncmp(rec[k], "--sym-stdin=", 12))
            w[n++] = rec[k];
        for (int more = 0; args && more < 2 && k + 1 < nrec; more++) /* MAX, N */
            w[n++] = rec[++k];
    }
    if (!a->program_words) {
        char said[512] = "";
        for (size_t k = program_at, at = 0; k < nrec && at + 2 < sizeof said; k++) {
            for (const char *c = rec[k]; *c && at + 2 < sizeof said; c++)
                said[at++] = *c >= 0x20 && *c < 0x7f ? *c : '?'; /* no escapes reach the tty */
            said[at++] = ' ';
            said[at] = 0;
        }
        hv_error("cov: name the program after --; it runs natively, so symhv cov does not "
                 "take it from a file%s%s", said[0] ? " (the campaign ran: -- " : "",
                 said[0] ? said : "");
        goto fail;
    }
    w[n++] = "--";
    for (int k = 0; k < a->nprogram_words && n < COV_MAX_WORDS + 4; k++)
        w[n++] = a->program_words[k];
    w[n] = NULL;
    if (options_parse(opt, n, w, stderr) != OPTIONS_RUN)
        goto fail;
    *record_text = text;
    *words_out = w;
    return 0;
fail:
    free(text);
    free(w);
    return -1;
}

/* ---- one test case -------------------------------------------------------------------- */

struct prepared {
    char dir[PATH_MAX];                     /* the temporary files' directory */
    char part[SYMHV_MAX_SYM_SOURCES][PATH_MAX]; /* each source's file there */
    char *argv[OPTIONS_MAX_ARGS + 2];
    char *env[OPTIONS_MAX_ENV + 1];
    size_t nenv;
    char stdin_path[PATH_MAX];
    bool have_stdin;
    char *owned[OPTIONS_MAX_ARGS + SYMHV_MAX_SYM_SOURCES + OPTIONS_MAX_ENV + 4];
    size_t nowned;
};

static char *own(struct prepared *p, char *s)
{
    if (s && p->nowned < sizeof p->owned / sizeof p->owned[0])
        p->owned[p->nowned++] = s;
    else
        free(s), s = NULL;
    return s;
}

static void release(struct prepared *p)
{
    for (size_t k = 0; k < p->nowned; k++)
        free(p->owned[k]);
    p->nowned = 0;
}

/* n bytes, then zeros up to size: a short test case's file is as long as the campaign's
 * was (it gives each source its SIZE, padded with zeros). */
static int write_part(const char *path, const uint8_t *b, size_t n, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(b, 1, n, f) == n;
    for (size_t k = n; ok && k < size; k++)
        ok = fputc(0, f) != EOF;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Each source's temporary file, named after the source (a program may look at a
 * file's name), in dir; and all of them, then dir, removed if symhv cov is killed. */
static int name_parts(const struct launch_config *lc, struct prepared *p)
{
    const char *cleanup[SYMHV_MAX_SYM_SOURCES + 1];
    size_t n = 0;
    for (unsigned k = 0; k < lc->nsources && k < SYMHV_MAX_SYM_SOURCES; k++) {
        char name[SYMHV_INPUT_NAME_MAX + 1], safe[SYMHV_INPUT_NAME_MAX + 1];
        launch_source_name(&lc->sources[k], name, sizeof name);
        sanitize_file_name(name, safe, sizeof safe);
        if (snprintf(p->part[k], sizeof p->part[k], "%s/%u-%s", p->dir, k, safe) >=
            (int)sizeof p->part[k]) {
            hv_error("cov: the temporary directory's path is too long");
            return -1;
        }
        cleanup[n++] = p->part[k];
    }
    cleanup[n++] = p->dir;
    if (native_cleanup_on_signal(cleanup, n) < 0)
        hv_notice("cov: temporary files in %s may stay behind if symhv cov is killed", p->dir);
    return 0;
}

/* The test case's bytes as the program's arguments, files and stdin. */
static int prepare(const struct launch_config *lc, const struct cov_args *a, const char *file,
                   const uint8_t *bytes, size_t len, struct prepared *p, bool *said_unnamed)
{
    for (unsigned k = 0; k < lc->argc; k++)
        p->argv[k] = (char *)lc->argv[k];
    unsigned argc = lc->argc;
    size_t off = 0;
    if (lc->nsources == 0) { /* AFL++'s convention: no @@, the input is stdin */
        snprintf(p->stdin_path, sizeof p->stdin_path, "%s", file);
        p->have_stdin = true;
    }
    for (unsigned k = 0; k < lc->nsources; k++) {
        const struct launch_source *s = &lc->sources[k];
        bool last = k + 1 == lc->nsources;
        size_t want = s->size && !(last && lc->nsources == 1) ? (size_t)s->size : len - off;
        if (want > len - off)
            want = len - off; /* a short file: the rest is empty (symhv pads with zeros) */
        const uint8_t *part = bytes + off;
        off += want;
        if (s->kind == SYMHV_SYM_NARGS) { /* --sym-args: how many of the optional ones */
            unsigned span = lc->nargs_max - lc->nargs_min + 1;
            unsigned n = lc->nargs_min + (want ? part[0] : 0) % span;
            if (s->arg + n <= argc)
                argc = s->arg + n;
            continue;
        }
        if (s->kind == SYMHV_SYM_ARG) {
            if (s->arg >= argc) {
                hv_error("cov: --sym-arg %u: the program has no argument %u (give its "
                         "arguments after --, as the campaign did)", s->arg, s->arg);
                return -1;
            }
            char *text = own(p, strndup((const char *)part, want)); /* to its first NUL */
            if (!text) {
                hv_error("out of memory");
                return -1;
            }
            p->argv[s->arg] = text;
            continue;
        }
        const char *path = file; /* the test case is the one input: used as it is */
        if (lc->nsources > 1) {
            path = p->part[k];
            if (write_part(path, part, want, (size_t)s->size) < 0) {
                hv_error_errno("cov: writing %s", path);
                return -1;
            }
        }
        if (s->kind == SYMHV_SYM_STDIN) {
            snprintf(p->stdin_path, sizeof p->stdin_path, "%s", path);
            p->have_stdin = true;
            continue;
        }
        bool named = false;
        for (unsigned j = 1; j < argc; j++)
            if (!strcmp(lc->argv[j], s->path)) {
                p->argv[j] = own(p, strdup(path));
                named = true;
            }
        if (!named && !*said_unnamed) {
            hv_notice("cov: the program opens %s without naming it in its arguments: natively "
                      "it reads this host's %s, not the test case's bytes", s->path, s->path);
            *said_unnamed = true;
        }
    }
    if (a->libfuzzer && argc < OPTIONS_MAX_ARGS)
        p->argv[argc++] = (char *)file;
    p->argv[argc] = NULL;
    p->nenv = 0;
    for (unsigned k = 0; k < lc->nenv && p->nenv < OPTIONS_MAX_ENV; k++)
        p->env[p->nenv++] = (char *)lc->env[k];
    char replay[PATH_MAX + 16];
    snprintf(replay, sizeof replay, "SYMHV_REPLAY=%s", file);
    p->env[p->nenv] = own(p, strdup(replay));
    if (p->env[p->nenv])
        p->nenv++;
    return 0;
}

/* ---- the report ----------------------------------------------------------------------- */

static void report_blocks(struct text *t, const struct breakpoints *bp, const uint8_t *hit,
                          const struct functions *fs)
{
    size_t n = breakpoints_count(bp);
    const uint64_t *addr = breakpoints_addresses(bp);
    size_t reached = 0, funcs = 0, funcs_reached = 0;
    for (size_t i = 0; i < n; i++)
        reached += hit[i];
    /* per function: its blocks are consecutive (sorted by address) */
    struct text body = { 0 };
    for (size_t i = 0; i < n;) {
        const struct function *f = function_of(fs, addr[i]);
        size_t j = i + 1, got = hit[i];
        while (j < n && function_of(fs, addr[j]) == f)
            got += hit[j++];
        funcs += f != NULL;
        funcs_reached += f && got;
        if (f)
            text_printf(&body, "function %s 0x%llx %zu/%zu\n", f->name,
                        (unsigned long long)f->addr, got, j - i);
        else
            text_printf(&body, "no function 0x%llx %zu/%zu\n", (unsigned long long)addr[i],
                        got, j - i);
        for (size_t k = i; got && k < j; k++) /* a function never reached: one line */
            text_printf(&body, "  %c 0x%llx\n", hit[k] ? '+' : '-', (unsigned long long)addr[k]);
        i = j;
    }
    text_printf(t, "# blocks reached: %zu of %zu (%.1f%%); functions with a block reached: "
                "%zu of %zu\n", reached, n, n ? 100.0 * (double)reached / (double)n : 0.0,
                funcs_reached, funcs);
    text_printf(t, "# per function: its name, address and blocks reached/blocks; then, for a "
                "function reached, each block: + reached, - not\n");
    text_append(t, body.buf ? body.buf : "", body.len);
    text_free(&body);
}

/* ---- the command ---------------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The test cases' paths of OUT/kind (id:* files), sorted, appended to list. */
static int list_cases(const char *out, const char *kind, char ***list, size_t *n)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", out, kind);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t first = *n;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, "id:", 3) != 0)
            continue;
        char path[PATH_MAX + NAME_MAX + 2];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        char **l = realloc(*list, (*n + 1) * sizeof *l);
        char *copy = strdup(path);
        if (!l || !copy) {
            free(copy);
            if (l)
                *list = l;
            closedir(d);
            return -1;
        }
        *list = l;
        (*list)[(*n)++] = copy;
    }
    closedir(d);
    qsort(*list + first, *n - first, sizeof **list, cmp_name);
    return 0;
}

static int parse_args(int argc, char **argv, struct cov_args *a)
{
    *a = (struct cov_args){ .blocks = true, .timeout_s = 10 };
    for (int k = 1; k < argc; k++) {
        if (!strcmp(argv[k], "--")) {
            if (k + 1 >= argc) {
                hv_error("cov: give the program after --");
                return -1;
            }
            a->program_words = argv + k + 1;
            a->nprogram_words = argc - k - 1;
            break;
        } else if (!strcmp(argv[k], "--no-blocks")) {
            a->blocks = false;
        } else if (!strcmp(argv[k], "--libfuzzer")) {
            a->libfuzzer = true;
        } else if (!strcmp(argv[k], "--timeout")) {
            char *end;
            errno = 0;
            double s = k + 1 < argc ? strtod(argv[k + 1], &end) : 0;
            if (k + 1 >= argc || errno || end == argv[k + 1] || *end || !(s > 0) || s > 86400) {
                hv_error("cov: --timeout expects seconds (more than 0), got '%s'",
                         k + 1 < argc ? argv[k + 1] : "");
                return -1;
            }
            a->timeout_s = s;
            k++;
        } else if (argv[k][0] == '-') {
            hv_error("cov: unknown option '%s' (see symhv cov --help)", argv[k]);
            return -1;
        } else if (a->out_dir) {
            hv_error("cov: one campaign directory at a time (got '%s' and '%s')", a->out_dir,
                     argv[k]);
            return -1;
        } else {
            a->out_dir = argv[k];
        }
    }
    if (!a->out_dir) {
        hv_error("cov: give a campaign's directory (see symhv cov --help)");
        return -1;
    }
    struct stat st;
    if (stat(a->out_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        hv_error("cov: %s is no campaign's directory", a->out_dir);
        return -1;
    }
    return 0;
}

int cov_main(int argc, char **argv)
{
    for (int k = 1; k < argc && strcmp(argv[k], "--"); k++)
        if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
            fputs(usage_text, stdout);
            return 0;
        }
    struct cov_args a;
    if (parse_args(argc, argv, &a) < 0)
        return COV_EXIT_ERROR;
    struct options *opt = calloc(1, sizeof *opt);
    char *record = NULL, **words = NULL, **cases = NULL;
    size_t ncases = 0;
    struct breakpoints *bp = NULL;
    struct functions fs = { 0 };
    uint8_t *hit = NULL, *orig = NULL, *state = NULL;
    int status = COV_EXIT_ERROR;
    if (!opt) {
        hv_error("out of memory");
        return COV_EXIT_ERROR;
    }
    if (load_target(&a, opt, &record, &words) < 0)
        goto out;
    const struct launch_config *lc = &opt->boot.launch;
    if (list_cases(a.out_dir, "queue", &cases, &ncases) < 0 ||
        list_cases(a.out_dir, "crashes", &cases, &ncases) < 0 ||
        list_cases(a.out_dir, "hangs", &cases, &ncases) < 0) {
        hv_error("out of memory");
        goto out;
    }
    if (!ncases) {
        hv_error("cov: no test cases in %s/queue, crashes or hangs", a.out_dir);
        goto out;
    }
    struct native_blocks blocks = { 0 };
    if (a.blocks) {
        char why[256];
        if (!(bp = breakpoints_open(lc->program, true, why, sizeof why))) {
            hv_error("cov: %s (--no-blocks runs the test cases without watching blocks)", why);
            goto out;
        }
        size_t n = breakpoints_count(bp);
        hit = calloc(n, 1), orig = calloc(n, 1), state = calloc(n, 1);
        if (!hit || !orig || !state) {
            hv_error("out of memory");
            goto out;
        }
        blocks = (struct native_blocks){ breakpoints_addresses(bp), n, breakpoints_entry(bp),
                                         hit, orig, state };
        read_functions(lc->program, &fs);
    }
    struct prepared *p = calloc(1, sizeof *p);
    if (!p) {
        hv_error("out of memory");
        goto out;
    }
    const char *tmp = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
    snprintf(p->dir, sizeof p->dir, "%s/symhv-cov.XXXXXX", tmp);
    if (!mkdtemp(p->dir)) {
        hv_error_errno("cov: a temporary directory in %s", tmp);
        free(p);
        goto out;
    }
    if (name_parts(lc, p) < 0) {
        rmdir(p->dir);
        free(p);
        goto out;
    }
    size_t ran = 0, cut = 0, failed = 0;
    bool said_unnamed = false;
    struct text per_case = { 0 };
    for (size_t c = 0; c < ncases; c++) {
        char why[512];
        size_t len;
        uint8_t *bytes = read_file(cases[c], COV_MAX_FILE, &len, why, sizeof why);
        if (!bytes) {
            hv_notice("cov: %s: %s (skipped)", cases[c], why);
            failed++;
            continue;
        }
        struct native_result res;
        int rc = prepare(lc, &a, cases[c], bytes, len, p, &said_unnamed);
        if (rc == 0) {
            struct native_run run = {
                .program = lc->program, .argv = p->argv, .env_add = p->env, .nenv_add = p->nenv,
                .stdin_path = p->have_stdin ? p->stdin_path : NULL, .timeout_s = a.timeout_s,
                .blocks = a.blocks ? &blocks : NULL,
            };
            rc = native_run(&run, &res, why, sizeof why);
            if (rc < 0)
                hv_error("cov: %s", why);
        }
        release(p);
        p->have_stdin = false;
        free(bytes);
        if (rc < 0) {
            if (ran == 0)
                break; /* the first one failed: the others would too */
            failed++;
            continue;
        }
        ran++;
        cut += res.timed_out;
        const char *name = strrchr(cases[c], '/') ? strrchr(cases[c], '/') + 1 : cases[c];
        char end[48];
        if (res.timed_out)
            snprintf(end, sizeof end, "killed at the time limit");
        else if (WIFSIGNALED(res.status))
            snprintf(end, sizeof end, "killed by signal %d", WTERMSIG(res.status));
        else
            snprintf(end, sizeof end, "exit status %d", WEXITSTATUS(res.status));
        if (a.blocks)
            text_printf(&per_case, "# %s: %s, %zu new blocks\n", name, end, res.new_blocks);
    }
    for (unsigned k = 0; k < lc->nsources && k < SYMHV_MAX_SYM_SOURCES; k++)
        unlink(p->part[k]); /* written over case by case */
    rmdir(p->dir);
    free(p);
    if (cut)
        hv_notice("cov: %zu test cases ran longer than %gs and were killed (what they reached "
                  "until then counts)", cut, a.timeout_s);
    if (ran == 0) {
        text_free(&per_case);
        hv_error("cov: no test case of %s ran", a.out_dir);
        goto out;
    }
    if (!a.blocks) {
        printf("symhv cov: %zu test cases run%s\n", ran, failed ? " (some failed: said above)" : "");
        text_free(&per_case);
        status = failed ? COV_EXIT_ERROR : 0;
        goto out;
    }
    struct text t = { 0 };
    text_printf(&t, "# symhv cov: the basic blocks of %s that %s's test cases reached, each run "
                "once natively on this host\n", lc->program, a.out_dir);
    text_printf(&t, "# test cases run: %zu (failed: %zu; killed at the %gs limit: %zu)\n", ran,
                failed, a.timeout_s, cut);
    text_append(&t, per_case.buf ? per_case.buf : "", per_case.len);
    text_free(&per_case);
    report_blocks(&t, bp, hit, &fs);
    if (t.failed) {
        hv_error("out of memory for the report");
    } else if (write_file_atomic(a.out_dir, "coverage-blocks.txt", t.buf, t.len) < 0) {
        hv_error_errno("cov: writing %s/coverage-blocks.txt", a.out_dir);
    } else {
        size_t reached = 0, n = breakpoints_count(bp);
        for (size_t i = 0; i < n; i++)
            reached += hit[i];
        printf("symhv cov: %zu test cases run; blocks reached %zu of %zu (%.1f%%); report: "
               "%s/coverage-blocks.txt\n", ran, reached, n,
               n ? 100.0 * (double)reached / (double)n : 0.0, a.out_dir);
        status = failed ? COV_EXIT_ERROR : 0;
    }
    text_free(&t);
out:
    for (size_t c = 0; c < ncases; c++)
        free(cases[c]);
    free(cases);
    breakpoints_free(bp);
    free(fs.f);
    free(fs.file);
    free(hit), free(orig), free(state);
    options_free(opt);
    free(opt);
    free(record);
    free(words);
    return status;
}
