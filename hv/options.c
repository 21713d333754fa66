#include "options.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symhv/sidecar.h" /* SC_SOLVERS_BUILT */
#include "cmplog_peer.h"      /* CMPLOG_PEER_EXTRA_RAM */
#include "fuzz.h"
#include "log.h"
#include "util.h"
#include "vm.h"

#define CONCOLIC_TIMEOUT_MAX_S 120.0 /* a concolic execution's default limit */

static const char usage_text[] =
    "usage: symhv [run] [options] -- PROGRAM [ARGS...]\n"
    "       symhv [run] --kernel FILE [options]\n"
    "       symhv replay INPUT [options] [-- PROGRAM [ARGS...]]\n"
    "       symhv fuzz -i SEED_DIR -o OUT_DIR [options] -- PROGRAM [ARGS...]   (or --target)\n"
    "       symhv explore -i SEED_DIR -o OUT_DIR [options] -- PROGRAM [ARGS...]\n"
    "       symhv cmin -i IN_DIR -o OUT_DIR [options] -- PROGRAM [ARGS...]\n"
    "       symhv tmin -i INPUT -o OUTPUT [options] -- PROGRAM [ARGS...]\n"
    "       symhv show FILE...         (a test case as KLEE's ktest-tool shows one)\n"
    "       symhv cov OUT_DIR -- PROGRAM [ARGS...]   (the blocks its test cases reach)\n"
    "\n"
    "Boot a guest kernel on KVM with one host thread per vCPU, or run a static x86-64\n"
    "Linux program (musl or glibc, threads included) on symhv's own kernel.\n"
    "\n"
    "A program: PROGRAM is a host file (or a path in the --initrd archive); it sees the\n"
    "files of the --initrd cpio archive (read-only), itself at its path under /, /dev/null,\n"
    "/dev/zero, /dev/urandom, and symhv's stdin, stdout and stderr. Its exit status is\n"
    "symhv's; a fatal signal is a crash (126). In ARGS, @@ is a file holding the input (as\n"
    "in AFL++); without @@ or --sym-*, fuzz and explore give the input on stdin.\n"
    "      --sym-file PATH[:SIZE]  the file PATH's bytes are a symbolic input (named PATH\n"
    "                        without its '/'): SIZE bytes, or as many as its first contents\n"
    "                        (--seed/--replay FILE, --input NAME=FILE, the archive's file)\n"
    "      --sym-stdin SIZE  stdin's bytes are a symbolic input (named stdin)\n"
    "      --sym-arg N:SIZE  argv[N] is a symbolic string of up to SIZE bytes (named argN)\n"
    "      --sym-args MIN MAX N  as KLEE: MIN to MAX more symbolic arguments after ARGS, each\n"
    "                        up to N bytes (named argK); how many: a byte of the input\n"
    "                        (named n_args: MIN + byte %% (MAX - MIN + 1)), never symbolic:\n"
    "                        explore starts from one seed per number\n"
    "      --env NAME=VALUE  set a variable of the program's environment (repeatable); the\n"
    "                        default one sets PATH, HOME, LANG, TERM and GLIBC_TUNABLES (glibc\n"
    "                        keeps to its SSE2 string functions, which the interpreter models)\n"
    "\n"
    "  -k, --kernel FILE     guest kernel: a static ELF64 x86-64 executable (default with a\n"
    "                        PROGRAM: symhv's kernel, found next to symhv or as $SYMHV_KERNEL)\n"
    "  -i, --initrd FILE     initial payload placed at the top of guest RAM; symhv's test\n"
    "                        kernel runs it as a ring-3 program\n"
    "  -s, --smp N           number of vCPUs (default 1)\n"
    "  -m, --mem SIZE        guest RAM, e.g. 256M or 1G; a bare number is MiB\n"
    "                        (default 256M, 32M to 3G)\n"
    "  -c, --cmdline TEXT    command line handed to the guest kernel\n"
    "  -t, --timeout SEC     stop the guest after SEC seconds (exit status 124)\n"
    "      --races           report data races between vCPUs (with --smp 2 or more; run,\n"
    "                        fuzz, explore): now and then a vCPU's next access to memory is\n"
    "                        held while its page is watched; another vCPU's access to the\n"
    "                        same bytes meanwhile, one of the two a write and neither a\n"
    "                        locked instruction, is a race, saved in races/ of the output\n"
    "                        directory (README: Races)\n"
    "      --race-window US  how long a sampled access is held (default 1000)\n"
    "      --race-rate N     samples a second (default 100)\n"
    "      --schedule ORDER  force an order of two accesses (run, replay; --smp 2 or\n"
    "                        more): ORDER is a crash file's sched: field, wPC.fPC.pPAGE\n"
    "                        (hex): the first access at the w pc to guest-physical page\n"
    "                        PAGE waits for another vCPU's at the f pc, then goes before\n"
    "                        that vCPU's next one. symhv replay takes it from the file's\n"
    "                        name; --schedule none runs without it\n"
    "  -o, --output DIR      where a symbolic run writes constraints, new inputs (one\n"
    "                        per flipped branch), bug reports and a summary; a DIR that\n"
    "                        holds files already is refused (default: a new\n"
    "                        symhv-out-N, N counting up, and symhv-last pointing at it)\n"
    "      --replay FILE     run concretely with FILE's bytes as the symbolic inputs'\n"
    "                        (what `symhv replay FILE` does): the first input's, and past\n"
    "                        its length the next inputs' in the order they are made\n"
    "                        (as explore and fuzz write them)\n"
    "      --seed FILE       start the symbolic run from FILE's bytes, given out as for\n"
    "                        --replay (e.g. an input a previous run generated: one more\n"
    "                        generation of search)\n"
    "      --input NAME=FILE the bytes of the input called NAME, for a program with\n"
    "                        several symbolic inputs (with --replay or --seed, or alone\n"
    "                        for a symbolic run from those bytes); repeatable\n"
    "      --clock-slow-down[=N]  while a vCPU is interpreted, its guest clock (TSC)\n"
    "                        stands still, or with N runs N times slower, so guest\n"
    "                        timeouts do not fire because of interpretation\n"
    "      --symex-socket PATH  attach to a sidecar started as symhv-symex --listen PATH\n"
    "                        instead of starting one\n"
    "      --solver-timeout MS  per solver query (default 10000); a query that times out\n"
    "                        yields no input, the run goes on\n"
    "      --solver NAME     bitwuzla (the default where built: the fastest on symhv's\n"
    "                        query corpus, README), portfolio (z3 and cvc5 on every\n"
    "                        query in two threads, the first answer wins; the default\n"
    "                        without Bitwuzla), z3, z3-fresh, cvc5, or two of them:\n"
    "                        z3+cvc5, z3+bitwuzla, bitwuzla+cvc5 (those this build\n"
    "                        has); this build's default: " SC_DEFAULT_SOLVER "\n"
    "      --symex-max-memory SIZE  memory the sidecar may use (default 4G; 0: no limit);\n"
    "                        past it symbolic execution stops, the run goes on concretely\n"
    "      --symex-max-time SEC  interpreter and solver time of the sidecar (default: no\n"
    "                        limit); past it, likewise\n"
    "      --symex-stall-timeout SEC  a sidecar request that makes no progress this long\n"
    "                        (sidecar stopped or stuck) counts as its death (default 60)\n"
    "      --kvm-device PATH KVM device (default /dev/kvm)\n"
    "  -v, --verbose         report VMM events on stderr\n"
    "  -h, --help            this text\n"
    "      --version         print the version\n"
    "\n"
    "symhv fuzz (a program after --, a target calling symhv_fuzz_start, or a program\n"
    "marking buffers with symhv_make_symbolic: see explore below, and README). Its\n"
    "coverage: the map of a program built with build/cc/symhv-cc or symhv-c++ (a\n"
    "libFuzzer target with -fsanitize=fuzzer: no @@) or with afl-clang-fast -static,\n"
    "else the symbolic branch sides of concolic runs; the status line says which:\n"
    "  -i, --in-dir DIR      seed inputs (not needed to resume an existing OUT_DIR)\n"
    "  -o, --output DIR      queue/, crashes/, hangs/, fuzzer_stats and plot_data, as\n"
    "                        AFL++ lays them out; with -M/-S the sync directory\n"
    "  -M NAME, -S NAME      an instance of a campaign in the sync directory -o: works in\n"
    "                        OUT/NAME and imports what the other instances (symhv or\n"
    "                        AFL++) publish in OUT/*/queue (-M and -S act alike in symhv)\n"
    "      --sync-every SEC  how often to import from the other instances (default 60)\n"
    "  -c FILE               as in afl-fuzz: FILE is the target built again with\n"
    "                        AFL_LLVM_CMPLOG=1 afl-clang-fast -static; a second symhv\n"
    "                        process runs it on each new queue entry (its own VM, the\n"
    "                        same options, 128 MiB more RAM for the compare map) and\n"
    "                        the values it compared go into inputs; -c 0: the target\n"
    "                        itself is that build\n"
    "      --no-cmplog       ignore the target's compare log (targets built by symhv-cc\n"
    "                        or symhv-build-fuzzer log their compares; symhv puts the compared\n"
    "                        values into inputs, as AFL++'s CMPLOG does)\n"
    "      --no-breakpoints  a program without a coverage map gets none from symhv either\n"
    "                        (by default an int3 at each basic block of a static or\n"
    "                        static-pie program, removed at its first hit: binary-only\n"
    "                        coverage)\n"
    "  -t MS                 as in afl-fuzz: --exec-timeout\n"
    "  -V SEC                as in afl-fuzz: --max-time\n"
    "\n"
    "symhv explore: the fuzz campaign's snapshot, out dir and options, without mutation:\n"
    "every queue entry runs once concolically, every input the solver makes for the\n"
    "other side of a branch (or a division by zero) runs from the snapshot, and those\n"
    "with new coverage join the queue, until none is left (generational search, as\n"
    "SAGE). The input is a program's @@ file or stdin (or --sym-file/--sym-stdin/\n"
    "--sym-arg, one of them), a fuzz target's symhv_fuzz_start buffer, or the buffers a\n"
    "program marks with symhv_make_symbolic: their bytes one after the other in call\n"
    "order, the snapshot at the first call (symhv replay splits a file the same way).\n"
    "symhv cmin (as afl-cmin): runs every input of IN_DIR once from the snapshot and\n"
    "writes to the new OUT_DIR the smallest inputs that keep all their coverage (each\n"
    "edge and hit count); inputs that crash or hang are left out.\n"
    "symhv tmin (as afl-tmin): shrinks the crashing INPUT (deleting blocks, then turning\n"
    "bytes into '0') while it fails the same way (signal and rip), into OUTPUT.\n"
    "Both take the fuzz options that describe the target (--kernel, --target, --smp,\n"
    "--mem, --cmdline, -t).\n"
    "  (-m means another thing in afl-fuzz and is refused: use --mem; -c is the CMPLOG\n"
    "   binary (fuzz only, the other commands' guest command line is --cmdline);\n"
    "   the other commands' -t bounds the whole run, in symhv fuzz that is --max-time)\n"
    "      --target FILE     the target program (same as --initrd)\n"
    "      --exec-timeout MS per execution (default 1000); slower ones are hangs\n"
    "      --concolic-every N  a concolic run through the sidecar every N executions\n"
    "                        (default 2000; 0: never) and on a coverage plateau\n"
    "      --plateau N       executions without new coverage that count as a plateau\n"
    "                        (default 1000)\n"
    "      --solve-budget SEC  solver time for one concolic run's flips (default 60;\n"
    "                        0: none): past it the run's other flips are left for later\n"
    "                        runs, so a search on a big input moves on\n"
    "      --concolic-timeout SEC  limit of one concolic execution (default: 50 times\n"
    "                              -t, 5 to 120 s; 120 without -t)\n"
    "  -x, --dict FILE|DIR   dictionary tokens: a file of AFL++ name=\"value\" lines (or\n"
    "                        one plain token per line), or a directory with one token per\n"
    "                        file; repeatable (up to 8)\n"
    "      --max-execs N     stop after N executions\n"
    "      --max-time SEC    stop after SEC seconds\n"
    "      --until-crash     stop at the first crash\n"
    "      --rng-seed N      seed for the mutations (default: time)\n"
    "\n"
    "Environment: SYMHV_HANDOFF_RENT=0 gives a vCPU back as soon as its registers are\n"
    "concrete (for benchmarks; by default a single symbolic run's sidecar goes on for\n"
    "about what a handoff costs, in case the code reads symbolic data again; fuzz and\n"
    "explore never do).\n"
    "\n"
    "Exit status: the guest's exit status, or 124 timeout, 125 setup error (bad\n"
    "arguments, bad image, no KVM, results that could not be written), 126 guest crash\n"
    "(triple fault, KVM internal error, access outside RAM, kernel panic, crashed guest\n"
    "program), 130 interrupted.\n";

int parse_size(const char *text, uint64_t *bytes)
{
    errno = 0;
    char *end;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno || end == text)
        return -1;
    unsigned shift;
    switch (toupper((unsigned char)*end)) {
    case 0: case 'M': shift = 20; break;
    case 'K': shift = 10; break;
    case 'G': shift = 30; break;
    default: return -1;
    }
    if (*end && end[1] && !(toupper((unsigned char)end[1]) == 'B' && !end[2])
        && !(toupper((unsigned char)end[1]) == 'I' && toupper((unsigned char)end[2]) == 'B' && !end[3]))
        return -1;
    if (n > (UINT64_MAX >> shift))
        return -1;
    *bytes = (uint64_t)n << shift;
    return 0;
}

/* A number of seconds (fractions allowed), positive or with zero_ok also 0, at most 1e7. */
static int parse_seconds(const char *text, bool zero_ok, double *out)
{
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    if (errno || *end || end == text || !(zero_ok ? d >= 0 : d > 0) || d > 1e7)
        return -1;
    *out = d;
    return 0;
}

/* The sidecar's backends (SC_SOLVERS_BUILT: this build's sidecar is built with the same
 * solvers). */
static bool solver_known(const char *name)
{
    if (strcmp(name, "portfolio") == 0)
        return true;
    const char *list = SC_SOLVERS_BUILT;
    size_t len = strlen(name);
    for (const char *at = list; len && (at = strstr(at, name)) != NULL; at += len)
        if ((at == list || at[-1] == ' ') && (at[len] == ',' || at[len] == 0))
            return true;
#ifndef SYMHV_HAVE_CVC5
    if (strstr(name, "cvc5")) {
        hv_error("--solver %s: this symhv was built without cvc5 (install libcvc5-dev and "
                 "rebuild)", name);
        return false;
    }
#endif
#ifndef SYMHV_HAVE_BITWUZLA
    if (strstr(name, "bitwuzla")) {
        hv_error("--solver %s: this symhv was built without Bitwuzla (scripts/bitwuzla "
                 "builds it; then scripts/setup)", name);
        return false;
    }
#endif
    hv_error("--solver expects portfolio, " SC_SOLVERS_BUILT " (the default: "
             SC_DEFAULT_SOLVER "), got '%s'", name);
    return false;
}

static int parse_uint(const char *text, unsigned long max, unsigned long *out)
{
    errno = 0;
    char *end;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    unsigned long n = strtoul(text, &end, 10);
    if (errno || *end || n > max)
        return -1;
    *out = n;
    return 0;
}

/* A byte count: digits, optionally K or M (KiB, MiB); a bare number is bytes. */
static int parse_bytes(const char *text, uint64_t *out)
{
    errno = 0;
    char *end;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    unsigned long long n = strtoull(text, &end, 10);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    if (errno || *end || n == 0 || n > (UINT32_MAX >> shift))
        return -1;
    *out = (uint64_t)n << shift;
    return 0;
}

/* --sym-file PATH[:SIZE], --sym-stdin SIZE, --sym-arg N:SIZE */
static int parse_source(enum symhv_sym_kind kind, char *text, struct launch_source *src)
{
    src->kind = kind;
    if (kind == SYMHV_SYM_STDIN) {
        if (parse_bytes(text, &src->size) < 0) {
            hv_error("--sym-stdin expects a size in bytes, got '%s'", text);
            return -1;
        }
        return 0;
    }
    char *colon = strrchr(text, ':');
    if (kind == SYMHV_SYM_ARG) {
        unsigned long n;
        if (!colon || (*colon = 0, parse_uint(text, OPTIONS_MAX_ARGS - 1, &n) < 0) || n == 0 ||
            parse_bytes(colon + 1, &src->size) < 0) {
            if (colon)
                *colon = ':';
            hv_error("--sym-arg expects N:SIZE (argv[N], N >= 1, up to SIZE bytes), got '%s'", text);
            return -1;
        }
        src->arg = (unsigned)n;
        return 0;
    }
    if (colon && colon[1] && isdigit((unsigned char)colon[1])) {
        if (parse_bytes(colon + 1, &src->size) < 0) {
            hv_error("--sym-file expects PATH[:SIZE] with SIZE in bytes, got '%s'", text);
            return -1;
        }
        *colon = 0;
    }
    if (!text[0]) {
        hv_error("--sym-file expects a guest path");
        return -1;
    }
    src->path = text;
    return 0;
}

/* --sym-args MIN MAX N: MAX arguments of N bytes after the program's own, each a source,
 * then the count's byte (last: the snapshot is at a symbolic source). */
static int add_sym_args(struct options *opt)
{
    struct launch_config *lc = &opt->boot.launch;
    unsigned first = lc->argc, max = lc->nargs_max;
    if (lc->nsources + max + 1 > SYMHV_MAX_SYM_SOURCES) {
        hv_error("--sym-args %u %u: with the other symbolic sources more than %d", lc->nargs_min,
                 max, SYMHV_MAX_SYM_SOURCES);
        return -1;
    }
    if (first + max > OPTIONS_MAX_ARGS) {
        hv_error("--sym-args: more than %d program arguments", OPTIONS_MAX_ARGS);
        return -1;
    }
    for (unsigned k = 0; k < max; k++) {
        opt->program_argv[first + k] = ""; /* the bytes come from the source */
        lc->sources[lc->nsources++] = (struct launch_source){
            .kind = SYMHV_SYM_ARG, .arg = first + k, .size = opt->sym_args_size };
    }
    lc->argc = first + max;
    lc->sources[lc->nsources++] = (struct launch_source){ .kind = SYMHV_SYM_NARGS,
                                                          .arg = first, .size = 1 };
    return 0;
}

/* The program and its arguments (after `--`, or the first word that is no option). */
static int take_program(struct options *opt, int argc, char **argv)
{
    struct launch_config *lc = &opt->boot.launch;
    if (argc > OPTIONS_MAX_ARGS) {
        hv_error("more than %d program arguments", OPTIONS_MAX_ARGS);
        return -1;
    }
    lc->program = argv[0];
    lc->argv = opt->program_argv;
    lc->argc = (unsigned)argc;
    for (int k = 0; k < argc; k++) {
        opt->program_argv[k] = argv[k];
        if (k > 0 && strcmp(argv[k], "@@") == 0) { /* AFL++: a file holding the input */
            opt->program_argv[k] = LAUNCH_INPUT_PATH;
            bool have = false;
            for (unsigned j = 0; j < lc->nsources; j++)
                have |= lc->sources[j].kind == SYMHV_SYM_FILE &&
                        strcmp(lc->sources[j].path, LAUNCH_INPUT_PATH) == 0;
            if (!have && lc->nsources < SYMHV_MAX_SYM_SOURCES)
                lc->sources[lc->nsources++] = (struct launch_source){ .kind = SYMHV_SYM_FILE,
                                                                      .path = LAUNCH_INPUT_PATH };
        }
    }
    return opt->sym_args_size ? add_sym_args(opt) : 0;
}

/* Does path exist as something other than a directory? */
static bool path_is_no_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* Does dir exist with something in it? */
static bool dir_has_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool any = false;
    for (struct dirent *e; !any && (e = readdir(d));)
        any = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return any;
}

/* An AFL++ build (afl-clang-fast) asks for its map through __AFL_SHM_ID, as under
 * afl-fuzz: the kernel has one for it, AFL_MAP_SIZE bytes when --env says so (a build
 * with more edges than the default needs it, and its runtime says so), else AFL++'s
 * default. A program that is no AFL++ build never asks. */
static int afl_map_size(struct launch_config *lc)
{
    unsigned long size = 1ul << 16;
    for (unsigned j = 0; j < lc->nenv; j++) {
        if (strncmp(lc->env[j], "AFL_MAP_SIZE=", 13) != 0)
            continue;
        char *end;
        errno = 0;
        size = strtoul(lc->env[j] + 13, &end, 10);
        if (errno || end == lc->env[j] + 13 || *end || size == 0 || size > FZ_MAP_MAX) {
            hv_error("--env AFL_MAP_SIZE=%s: expected a size from 1 to %u bytes",
                     lc->env[j] + 13, FZ_MAP_MAX);
            return -1;
        }
    }
    lc->afl_map_size = (uint32_t)((size + 63) & ~63ul); /* AFL++ rounds maps to 64 bytes */
    return 0;
}

/* symhv fuzz -c FILE (or -c 0: the target itself): a CMPLOG build of the target program,
 * run by the peer (cmplog_peer.h). */
static int check_cmplog_program(struct options *opt)
{
    if (!opt->boot.launch.program) {
        hv_error("symhv fuzz -c: the CMPLOG binary runs on symhv's kernel beside a program "
                 "named after -- (not a --target or Linux guest)");
        return -1;
    }
    if (opt->fuzz.no_cmplog) {
        hv_error("symhv fuzz: -c and --no-cmplog exclude each other");
        return -1;
    }
    if (opt->vm.mem_bytes + CMPLOG_PEER_EXTRA_RAM > HV_MEM_MAX_BYTES) {
        hv_error("symhv fuzz -c: the CMPLOG peer's VM has --mem plus %llu MiB for the compare "
                 "map, more than %llu MiB: give a smaller --mem",
                 CMPLOG_PEER_EXTRA_RAM >> 20, HV_MEM_MAX_BYTES >> 20);
        return -1;
    }
    if (strcmp(opt->cmplog_program, "0") == 0) {
        opt->cmplog_program = opt->boot.launch.program;
        return 0;
    }
    struct stat st;
    if (stat(opt->cmplog_program, &st) < 0 || !S_ISREG(st.st_mode) ||
        access(opt->cmplog_program, R_OK) < 0) {
        hv_error("symhv fuzz -c %s: no such file, or not readable (a CMPLOG build of the "
                 "target: AFL_LLVM_CMPLOG=1 afl-clang-fast -static)", opt->cmplog_program);
        return -1;
    }
    return 0;
}

/* The sources an input file holds, for fuzzer_stats (symhv show splits files by it). */
static void describe_inputs(struct options *opt)
{
    const struct launch_config *lc = &opt->boot.launch;
    char *d = opt->fuzz.inputs;
    size_t n = 0, size = sizeof opt->fuzz.inputs;
    d[0] = 0;
    for (unsigned k = 0; k < lc->nsources && n < size; k++) {
        char name[SYMHV_INPUT_NAME_MAX + 1];
        launch_source_name(&lc->sources[k], name, sizeof name);
        for (char *p = name; *p; p++) /* a plain value for afl-whatsup's shell reading */
            if (!isalnum((unsigned char)*p) && *p != '/' && *p != '.' && *p != '_' && *p != '-')
                *p = '_';
        int w = lc->harness ? snprintf(d + n, size - n, "%s%s:*", k ? "," : "", name)
                            : snprintf(d + n, size - n, "%s%s:%llu", k ? "," : "", name,
                                       (unsigned long long)lc->sources[k].size);
        if (w < 0 || (size_t)w >= size - n) {
            d[0] = 0; /* too many to say: none said, symhv show takes the file whole */
            return;
        }
        n += (size_t)w;
    }
}

/* symhv fuzz/explore of several symbolic sources (KLEE's habit: a symbolic argument and a
 * symbolic file at once): no harness; the kernel marks each one before the program's
 * first instruction, the campaign's make_symbolic path takes the snapshot at the first
 * and gives each its part of the input in order: one input file holds them all, each
 * source's SIZE bytes one after the other. So every source needs its size. */
static enum options_result several_sources(struct options *opt)
{
    struct launch_config *lc = &opt->boot.launch;
    uint64_t total = 0;
    for (unsigned k = 0; k < lc->nsources; k++) {
        const struct launch_source *s = &lc->sources[k];
        if (s->kind == SYMHV_SYM_NARGS) { /* explore: a seed per number of arguments */
            opt->fuzz.blank_seed_count_at = (uint32_t)total;
            opt->fuzz.blank_seed_counts = lc->nargs_max - lc->nargs_min + 1;
            opt->fuzz.blank_seed_count_min = lc->nargs_min;
        }
        if (s->kind == SYMHV_SYM_FILE && strcmp(s->path, LAUNCH_INPUT_PATH) == 0) {
            hv_error("symhv %s with several symbolic inputs: @@ has no size; name the file "
                     "with --sym-file PATH:SIZE and pass PATH", fz_mode_name(opt->fuzz.mode));
            return OPTIONS_ERROR;
        }
        if (!s->size) {
            hv_error("symhv %s with several symbolic inputs: each needs its size "
                     "(--sym-file PATH:SIZE); one input file holds them all, each its SIZE "
                     "bytes in the order given", fz_mode_name(opt->fuzz.mode));
            return OPTIONS_ERROR;
        }
        total += s->size;
    }
    if (total > FZ_MAX_INPUT) {
        hv_error("symhv %s: the symbolic inputs add up to %llu bytes, more than one input's "
                 "%u", fz_mode_name(opt->fuzz.mode), (unsigned long long)total, FZ_MAX_INPUT);
        return OPTIONS_ERROR;
    }
    lc->harness = false;
    opt->fuzz.blank_seed_len = (uint32_t)total;
    describe_inputs(opt);
    if (afl_map_size(lc) < 0)
        return OPTIONS_ERROR;
    lc->afl_map_size = 0; /* an AFL++ map is taken at a single source's snapshot only */
    return OPTIONS_RUN;
}

/* The symbolic sources get their first contents from --seed/--replay (the first one) and
 * --input NAME=FILE (by name); fuzz and explore take their one input from the fuzzer. */
static enum options_result finish_launch(struct options *opt)
{
    struct launch_config *lc = &opt->boot.launch;
    if (opt->fuzzing && lc->program) {
        lc->harness = true;
        lc->harness_capacity = FZ_MAX_INPUT;
        bool given = lc->nsources > 0; /* else a fuzz target's buffer, or stdin */
        if (lc->nsources == 0) /* AFL++'s convention: no @@, the input is stdin */
            lc->sources[lc->nsources++] = (struct launch_source){ .kind = SYMHV_SYM_STDIN };
        if (lc->nsources > 1)
            return several_sources(opt);
        opt->fuzz.blank_seed_len = (uint32_t)(lc->sources[0].size < FZ_MAX_INPUT
                                                  ? lc->sources[0].size : FZ_MAX_INPUT);
        if (given)
            describe_inputs(opt);
        return afl_map_size(lc) < 0 ? OPTIONS_ERROR : OPTIONS_RUN;
    }
    /* one file for several sources (--replay/--seed of a campaign's input): split over
     * the sources without an --input NAME=FILE of their own, in order */
    uint64_t offset = 0;
    bool split = lc->nsources > 1 && opt->engine.npresets > 0 && opt->engine.presets[0].name == NULL;
    for (unsigned k = 0; k < lc->nsources; k++) {
        char name[SYMHV_INPUT_NAME_MAX + 1];
        launch_source_name(&lc->sources[k], name, sizeof name);
        bool own = false; /* an --input NAME=FILE of its own */
        for (unsigned j = 0; j < opt->engine.npresets; j++)
            own |= opt->engine.presets[j].name && strcmp(opt->engine.presets[j].name, name) == 0;
        for (unsigned j = 0; j < opt->engine.npresets; j++) {
            const struct engine_preset *p = &opt->engine.presets[j];
            if (p->name ? strcmp(p->name, name) == 0 : (!own && (k == 0 || split))) {
                lc->sources[k].initial = p->path;
                lc->sources[k].initial_part = split && !p->name;
                lc->sources[k].initial_offset = offset;
            }
        }
        if (own)
            continue; /* takes no part of the split file */
        if (split && !lc->sources[k].size) {
            hv_error("one input file for several symbolic inputs: each needs its size (--sym-file PATH:SIZE, "
                     "--sym-stdin SIZE, --sym-arg N:SIZE), so the file splits as a campaign "
                     "wrote it; or give each its own with --input NAME=FILE");
            return OPTIONS_ERROR;
        }
        offset += lc->sources[k].size;
    }
    return OPTIONS_RUN;
}

/* The target of a campaign as its options name it, for `symhv replay FILE` alone: each
 * word percent-encoded (bytes other than [A-Za-z0-9/._:=@,+-]), space-separated, paths
 * of host files made absolute. Past the room it is dropped, said once. */
/* A relative path of a host file made absolute (into abs); else path as it is. */
static const char *absolute_path(const char *path, char abs[PATH_MAX])
{
    return path[0] != '/' && realpath(path, abs) ? abs : path;
}

static void record_word(struct fuzz_config *fz, const char *word, bool host_path)
{
    char abs[PATH_MAX];
    if (host_path)
        word = absolute_path(word, abs);
    if (fz->target_dropped)
        return;
    size_t n = strlen(fz->target);
    for (const char *p = word; *p; p++) {
        char enc[4];
        unsigned char ch = (unsigned char)*p;
        if (isalnum(ch) || strchr("/._:=@,+-", ch))
            snprintf(enc, sizeof enc, "%c", ch);
        else
            snprintf(enc, sizeof enc, "%%%02x", ch);
        size_t k = strlen(enc);
        if (n + k + 2 >= sizeof fz->target) {
            fz->target[0] = 0;
            fz->target_dropped = true;
            hv_notice("the target's options and arguments are too long to record in "
                      "fuzzer_stats: symhv replay of this campaign's files needs them given");
            return;
        }
        memcpy(fz->target + n, enc, k + 1);
        n += k;
    }
    fz->target[n++] = ' ';
    fz->target[n] = 0;
}

/* An option that describes the target (not the campaign), recorded as --name=value. */
static void record_target_option(struct fuzz_config *fz, const char *name, const char *value,
                                 bool host_path)
{
    char word[PATH_MAX + 32], abs[PATH_MAX];
    if (host_path)
        value = absolute_path(value, abs);
    snprintf(word, sizeof word, "%s=%s", name, value);
    record_word(fz, word, false);
}

static enum options_result parse_at(struct options *opt, int argc, char **argv, FILE *out,
                                    int depth);
/* "--NAME" of a long option by its value (argv[optind - 1] is the option's value when
 * that was given as the next word). */
static const char *long_name(const struct option *longopts, int c, char *buf, size_t size)
{
    for (const struct option *o = longopts; o->name; o++)
        if (o->val == c) {
            snprintf(buf, size, "--%s", o->name);
            return buf;
        }
    snprintf(buf, size, "-%c", c);
    return buf;
}

static enum options_result parse_words(struct options *opt, int argc, char **argv, FILE *out,
                                       int depth, char **argv0);

size_t options_target_words(char *record, char **words, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *w = strtok_r(record, " ", &save); w && n < max;
         w = strtok_r(NULL, " ", &save)) {
        char *o = w; /* percent-decoding in place */
        for (char *i = w; *i; i++) {
            unsigned v;
            if (*i == '%' && sscanf(i + 1, "%2x", &v) == 1 && isxdigit((unsigned char)i[1]) &&
                isxdigit((unsigned char)i[2]) && v) {
                *o++ = (char)v;
                i += 2;
            } else {
                *o++ = *i;
            }
        }
        *o = 0;
        words[n++] = w;
    }
    return n;
}

/* `symhv replay FILE` and nothing that names the target: a campaign's file knows it
 * (fuzzer_stats' symhv_target beside its directory). The words go after the user's
 * own options, and the whole is parsed again, once. */
static int replay_as_campaign_ran(struct options *opt, char **argv0, const char *file,
                                  FILE *out, int depth)
{
    int argc0 = 0;
    while (argv0[argc0])
        argc0++;
    char dir[PATH_MAX], target[4096];
    snprintf(dir, sizeof dir, "%s", file); /* FILE is OUT/crashes/NAME (or queue, hangs) */
    for (int up = 0; up < 2; up++) { /* dirname, twice */
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            dir[1] = 0; /* "/x" -> "/" */
        else if (slash)
            *slash = 0;
        else /* "crashes" -> ".", and "." (the file was in the cwd) -> ".." */
            snprintf(dir, sizeof dir, "%s", strcmp(dir, ".") == 0 ? ".." : ".");
    }
    if (depth > 0 || fz_stats_value(dir, "symhv_target", target, sizeof target) < 0 || !target[0])
        return -1; /* not a campaign's file: the usual error follows */
    size_t words = 1;
    for (const char *p = target; *p; p++)
        words += *p == ' ';
    char **argv = calloc((size_t)argc0 + words + 1, sizeof *argv);
    char *text = strdup(target);
    if (!argv || !text) {
        free(argv), free(text);
        hv_error("out of memory");
        return OPTIONS_ERROR;
    }
    int argc = 0;
    for (int k = 0; k < argc0; k++) /* symhv replay FILE [the user's options] */
        argv[argc++] = argv0[k];
    argc += (int)options_target_words(text, argv + argc, words);
    hv_notice("replay: the target as the campaign in %s ran it (its fuzzer_stats)", dir);
    enum options_result r = parse_at(opt, argc, argv, out, depth + 1);
    opt->owned[0] = argv; /* opt points into them: freed by options_free */
    opt->owned[1] = text;
    return (int)r;
}

void options_free(struct options *opt)
{
    free(opt->owned[0]);
    free(opt->owned[1]);
    opt->owned[0] = opt->owned[1] = NULL;
}

enum options_result options_parse(struct options *opt, int argc, char **argv, FILE *out)
{
    return parse_at(opt, argc, argv, out, 0);
}

static enum options_result parse_at(struct options *opt, int argc, char **argv, FILE *out,
                                    int depth)
{
    /* the words as given (the parse below moves them), for a replay that reads its
     * target from a campaign */
    char **argv0 = calloc((size_t)argc + 1, sizeof *argv0);
    if (!argv0) {
        hv_error("out of memory");
        return OPTIONS_ERROR;
    }
    memcpy(argv0, argv, (size_t)argc * sizeof *argv);
    enum options_result r = parse_words(opt, argc, argv, out, depth, argv0);
    free(argv0);
    return r;
}

static enum options_result parse_words(struct options *opt, int argc, char **argv, FILE *out,
                                       int depth, char **argv0)
{
    enum { OPT_KVM_DEVICE = 256, OPT_VERSION, OPT_REPLAY, OPT_SEED, OPT_CLOCK, OPT_SOLVER_TIMEOUT, OPT_SOLVER,
           OPT_INITRD, OPT_IN_DIR, OPT_EXEC_TIMEOUT, OPT_CONCOLIC_EVERY, OPT_PLATEAU,
           OPT_CONCOLIC_TIMEOUT, OPT_SOLVE_BUDGET, OPT_MAX_EXECS, OPT_MAX_TIME, OPT_UNTIL_CRASH, OPT_RNG_SEED,
           OPT_SYMEX_SOCKET, OPT_INPUT, OPT_STALL, OPT_SYMEX_MEM, OPT_SYMEX_TIME,
           OPT_SYNC_EVERY, OPT_MEM, OPT_CMDLINE, OPT_TIMEOUT, OPT_NO_CMPLOG, OPT_SYM_FILE,
           OPT_SYM_STDIN, OPT_SYM_ARG, OPT_SYM_ARGS, OPT_ENV, OPT_RACES, OPT_RACE_WINDOW, OPT_RACE_RATE, OPT_SCHEDULE,
           OPT_NO_BREAKPOINTS };
    static const struct option longopts[] = {
        { "kernel", required_argument, NULL, 'k' },
        { "initrd", required_argument, NULL, OPT_INITRD },
        { "target", required_argument, NULL, OPT_INITRD },
        { "in-dir", required_argument, NULL, OPT_IN_DIR },
        { "exec-timeout", required_argument, NULL, OPT_EXEC_TIMEOUT },
        { "concolic-every", required_argument, NULL, OPT_CONCOLIC_EVERY },
        { "plateau", required_argument, NULL, OPT_PLATEAU },
        { "concolic-timeout", required_argument, NULL, OPT_CONCOLIC_TIMEOUT },
        { "solve-budget", required_argument, NULL, OPT_SOLVE_BUDGET },
        { "dict", required_argument, NULL, 'x' },
        { "max-execs", required_argument, NULL, OPT_MAX_EXECS },
        { "max-time", required_argument, NULL, OPT_MAX_TIME },
        { "until-crash", no_argument, NULL, OPT_UNTIL_CRASH },
        { "rng-seed", required_argument, NULL, OPT_RNG_SEED },
        { "symex-socket", required_argument, NULL, OPT_SYMEX_SOCKET },
        { "input", required_argument, NULL, OPT_INPUT },
        { "symex-stall-timeout", required_argument, NULL, OPT_STALL },
        { "symex-max-memory", required_argument, NULL, OPT_SYMEX_MEM },
        { "symex-max-time", required_argument, NULL, OPT_SYMEX_TIME },
        { "sync-every", required_argument, NULL, OPT_SYNC_EVERY },
        { "no-cmplog", no_argument, NULL, OPT_NO_CMPLOG },
        { "no-breakpoints", no_argument, NULL, OPT_NO_BREAKPOINTS },
        { "sym-file", required_argument, NULL, OPT_SYM_FILE },
        { "sym-stdin", required_argument, NULL, OPT_SYM_STDIN },
        { "sym-arg", required_argument, NULL, OPT_SYM_ARG },
        { "sym-args", required_argument, NULL, OPT_SYM_ARGS },
        { "env", required_argument, NULL, OPT_ENV },
        { "smp", required_argument, NULL, 's' },
        /* long forms keep their meaning in `symhv fuzz`, where the letters are AFL++'s */
        { "mem", required_argument, NULL, OPT_MEM },
        { "cmdline", required_argument, NULL, OPT_CMDLINE },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "kvm-device", required_argument, NULL, OPT_KVM_DEVICE },
        { "races", no_argument, NULL, OPT_RACES },
        { "race-window", required_argument, NULL, OPT_RACE_WINDOW },
        { "race-rate", required_argument, NULL, OPT_RACE_RATE },
        { "schedule", required_argument, NULL, OPT_SCHEDULE },
        { "output", required_argument, NULL, 'o' },
        { "replay", required_argument, NULL, OPT_REPLAY },
        { "seed", required_argument, NULL, OPT_SEED },
        { "clock-slow-down", optional_argument, NULL, OPT_CLOCK },
        { "solver-timeout", required_argument, NULL, OPT_SOLVER_TIMEOUT },
        { "solver", required_argument, NULL, OPT_SOLVER },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, OPT_VERSION },
        { 0, 0, 0, 0 },
    };
    memset(opt, 0, sizeof *opt);
    opt->cmplog_peer_fd = -1;
    opt->vm.kvm_path = "/dev/kvm";
    opt->vm.mem_bytes = 256ull << 20;
    opt->vm.ncpus = 1;
    opt->engine.output_dir = "symhv-out";
    opt->engine.output_numbered = true; /* symhv-out-N, made when first written */
    opt->engine.solver_timeout_ms = 10000;
    opt->engine.stall_timeout_s = 60;
    opt->engine.symex_max_memory = 4ull << 30;
    const char *replay_path = NULL, *seed_path = NULL, *schedule_text = NULL;
    opt->fuzz.exec_timeout_s = 1.0;
    opt->fuzz.concolic_timeout_s = 0; /* from -t, below */
    opt->fuzz.solve_budget_s = 60;
    opt->fuzz.concolic_every = 2000;
    opt->fuzz.plateau_execs = 1000;
    opt->fuzz.sync_every_s = 60;
    bool fuzzing = false, output_given = false, exec_timeout_given = false, replay_mode = false;

    /* `symhv run ...` and `symhv ...` are the same command;
     * `symhv replay INPUT ...` is `symhv --replay INPUT ...`. */
    if (argc > 1 && (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "fuzz") == 0 ||
                     strcmp(argv[1], "cmin") == 0 || strcmp(argv[1], "tmin") == 0 ||
                     strcmp(argv[1], "explore") == 0)) {
        fuzzing = argv[1][0] != 'r';
        opt->fuzz.mode = argv[1][0] == 'c'   ? FUZZ_CMIN
                         : argv[1][0] == 't' ? FUZZ_TMIN
                         : argv[1][0] == 'e' ? FUZZ_EXPLORE
                                             : FUZZ_CAMPAIGN;
        argv[1] = argv[0];
        argv++;
        argc--;
    } else if (argc > 1 && strcmp(argv[1], "replay") == 0) {
        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            fputs(usage_text, out);
            return OPTIONS_EXIT_OK;
        }
        replay_mode = true;
        if (argc > 2 && argv[2][0] != '-') { /* symhv replay INPUT ...; else --input only */
            replay_path = argv[2];
            argv[2] = argv[0];
            argv += 2;
            argc -= 2;
        } else {
            argv[1] = argv[0];
            argv++;
            argc--;
        }
    }
    optind = 1;
    opterr = 0;
    int c;
    char optname[48]; /* an option's name, for its error */
    unsigned long n;
    while ((c = getopt_long(argc, argv, "+:k:i:s:m:c:t:o:x:V:M:S:vh", longopts, NULL)) != -1) {
        double d;
        const char *target_opt = c == 'k' ? "--kernel" : c == OPT_INITRD ? "--initrd"
                               : c == 's' ? "--smp" : c == OPT_MEM ? "--mem"
                               : c == OPT_CMDLINE ? "--cmdline" : c == OPT_ENV ? "--env"
                               : c == OPT_SYM_FILE ? "--sym-file" : c == OPT_SYM_STDIN ? "--sym-stdin"
                               : c == OPT_SYM_ARG ? "--sym-arg" : NULL;
        if (fuzzing && target_opt && optarg)
            record_target_option(&opt->fuzz, target_opt, optarg, c == 'k' || c == OPT_INITRD);
        /* In `symhv fuzz` the letters AFL++ users know mean what they mean in afl-fuzz;
         * letters whose AFL++ meaning symhv lacks are refused, never reinterpreted. */
        if (fuzzing && c == 't')
            c = OPT_EXEC_TIMEOUT;
        else if (fuzzing && c == 'V')
            c = OPT_MAX_TIME;
        if (fuzzing && c == 'm') {
            hv_error("symhv fuzz: -m means a memory limit for the target in afl-fuzz; symhv "
                     "has no such option (guest RAM is --mem)");
            return OPTIONS_ERROR;
        }
        if (fuzzing && c == 'c') { /* afl-fuzz's -c: the CMPLOG binary */
            if (opt->fuzz.mode != FUZZ_CAMPAIGN) {
                hv_error("symhv %s: -c (AFL++'s CMPLOG binary) is an option of symhv fuzz; "
                         "the guest command line is --cmdline", fz_mode_name(opt->fuzz.mode));
                return OPTIONS_ERROR;
            }
            opt->cmplog_program = optarg;
            continue;
        }
        if (!fuzzing && (c == 'V' || c == 'M' || c == 'S')) {
            hv_error("-%c is an option of `symhv fuzz` (see symhv --help)", c);
            return OPTIONS_ERROR;
        }
        if (c == OPT_MEM || c == OPT_CMDLINE || c == OPT_TIMEOUT)
            c = c == OPT_MEM ? 'm' : c == OPT_CMDLINE ? 'c' : 't';
        switch (c) {
        case 'M': case 'S':
            if (opt->fuzz.instance) {
                hv_error("symhv fuzz: one -M or -S NAME per instance");
                return OPTIONS_ERROR;
            }
            if (!fz_instance_name_ok(optarg)) {
                hv_error("symhv fuzz: -%c expects an instance name of letters, digits, '.', "
                         "'-' or '_' (up to %d), got '%s'", c, FZ_NAME_MAX - 1, optarg);
                return OPTIONS_ERROR;
            }
            opt->fuzz.instance = optarg;
            opt->fuzz.main_instance = c == 'M';
            break;
        case OPT_SYNC_EVERY:
            if (parse_seconds(optarg, false, &d) < 0) {
                hv_error("--sync-every expects seconds, got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            opt->fuzz.sync_every_s = d;
            break;
        case 'k': opt->boot.kernel_path = optarg; break;
        case 'i': /* AFL's -i in `symhv fuzz`, the initrd otherwise */
            *(fuzzing ? &opt->fuzz.in_dir : &opt->boot.initrd_path) = optarg;
            break;
        case OPT_INITRD: opt->boot.initrd_path = optarg; break;
        case 'c': opt->boot.cmdline = optarg; break;
        case OPT_IN_DIR: opt->fuzz.in_dir = optarg; break;
        case OPT_SYMEX_SOCKET: opt->engine.symex_socket = optarg; break;
        case OPT_INPUT: {
            const char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1] || eq - optarg > SYMHV_INPUT_NAME_MAX) {
                hv_error("--input expects NAME=FILE, got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            if (opt->engine.npresets + 1 >= ENGINE_MAX_PRESETS) {
                hv_error("--input: at most %d inputs", ENGINE_MAX_PRESETS - 1);
                return OPTIONS_ERROR;
            }
            char *name = opt->input_names[opt->engine.npresets];
            memcpy(name, optarg, (size_t)(eq - optarg));
            name[eq - optarg] = 0;
            opt->engine.presets[opt->engine.npresets++] =
                (struct engine_preset){ name, eq + 1 };
            break;
        }
        case OPT_STALL: case OPT_SYMEX_TIME:
            if (parse_seconds(optarg, true, &d) < 0) {
                hv_error("%s expects seconds, got '%s'", long_name(longopts, c, optname, sizeof optname), optarg);
                return OPTIONS_ERROR;
            }
            *(c == OPT_STALL ? &opt->engine.stall_timeout_s : &opt->engine.symex_max_seconds) = d;
            break;
        case OPT_SYMEX_MEM:
            if (!(optarg[0] == '0' && !optarg[1]) &&
                parse_size(optarg, &opt->engine.symex_max_memory) < 0) {
                hv_error("--symex-max-memory expects a size like 4G or 512M, got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            if (optarg[0] == '0' && !optarg[1])
                opt->engine.symex_max_memory = 0;
            break;
        case 'x':
            if (opt->fuzz.ndicts == FUZZ_MAX_DICTS) {
                hv_error("at most %d dictionaries (-x)", FUZZ_MAX_DICTS);
                return OPTIONS_ERROR;
            }
            opt->fuzz.dict_paths[opt->fuzz.ndicts++] = optarg;
            break;
        case OPT_SYM_ARGS: { /* KLEE's three words: MIN here, MAX and N after it */
            unsigned long mn, mx, size;
            if (opt->sym_args_size) {
                hv_error("--sym-args: one per run");
                return OPTIONS_ERROR;
            }
            if (optind + 1 >= argc || parse_uint(optarg, SYMHV_MAX_SYM_SOURCES, &mn) < 0 ||
                parse_uint(argv[optind], SYMHV_MAX_SYM_SOURCES, &mx) < 0 ||
                parse_uint(argv[optind + 1], SYMHV_SYMBOLIC_MAX_BYTES, &size) < 0 || mn > mx ||
                mx == 0 || size == 0) {
                hv_error("--sym-args expects MIN MAX N (0 <= MIN <= MAX, 1 <= MAX <= %d, N >= 1 "
                         "bytes), got '%s%s%s%s%s'", SYMHV_MAX_SYM_SOURCES - 1, optarg,
                         optind < argc ? " " : "", optind < argc ? argv[optind] : "",
                         optind + 1 < argc ? " " : "", optind + 1 < argc ? argv[optind + 1] : "");
                return OPTIONS_ERROR;
            }
            if (fuzzing) {
                record_target_option(&opt->fuzz, "--sym-args", optarg, false);
                record_word(&opt->fuzz, argv[optind], false);
                record_word(&opt->fuzz, argv[optind + 1], false);
            }
            opt->boot.launch.nargs_min = (unsigned)mn;
            opt->boot.launch.nargs_max = (unsigned)mx;
            opt->sym_args_size = size;
            optind += 2;
            break;
        }
        case OPT_SYM_FILE: case OPT_SYM_STDIN: case OPT_SYM_ARG: {
            struct launch_config *lc = &opt->boot.launch;
            if (lc->nsources == SYMHV_MAX_SYM_SOURCES) {
                hv_error("at most %d symbolic sources (--sym-file, --sym-stdin, --sym-arg)",
                         SYMHV_MAX_SYM_SOURCES);
                return OPTIONS_ERROR;
            }
            struct launch_source *src = &lc->sources[lc->nsources];
            *src = (struct launch_source){ 0 };
            if (parse_source(c == OPT_SYM_FILE ? SYMHV_SYM_FILE
                             : c == OPT_SYM_STDIN ? SYMHV_SYM_STDIN : SYMHV_SYM_ARG,
                             optarg, src) < 0)
                return OPTIONS_ERROR;
            lc->nsources++;
            break;
        }
        case OPT_ENV:
            if (!strchr(optarg, '=') || optarg[0] == '=') {
                hv_error("--env expects NAME=VALUE, got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            if (opt->boot.launch.nenv == OPTIONS_MAX_ENV) {
                hv_error("at most %d --env", OPTIONS_MAX_ENV);
                return OPTIONS_ERROR;
            }
            opt->program_env[opt->boot.launch.nenv++] = optarg;
            opt->boot.launch.env = opt->program_env;
            break;
        case OPT_UNTIL_CRASH: opt->fuzz.until_crash = true; break;
        case OPT_NO_CMPLOG: opt->fuzz.no_cmplog = true; break;
        case OPT_NO_BREAKPOINTS: opt->fuzz.no_breakpoints = true; break;
        case OPT_EXEC_TIMEOUT:
            if (parse_uint(optarg, 3600000, &n) < 0 || n == 0) {
                hv_error("--exec-timeout expects milliseconds (1 to 3600000), got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            opt->fuzz.exec_timeout_s = (double)n / 1000;
            exec_timeout_given = true;
            break;
        case OPT_CONCOLIC_EVERY: case OPT_PLATEAU: case OPT_MAX_EXECS: case OPT_RNG_SEED:
            if (parse_uint(optarg, ULONG_MAX - 1, &n) < 0) {
                hv_error("%s expects a number, got '%s'", long_name(longopts, c, optname, sizeof optname), optarg);
                return OPTIONS_ERROR;
            }
            if (c == OPT_CONCOLIC_EVERY)
                opt->fuzz.concolic_every = (unsigned)n;
            else if (c == OPT_PLATEAU)
                opt->fuzz.plateau_execs = (unsigned)n;
            else if (c == OPT_MAX_EXECS)
                opt->fuzz.max_execs = n;
            else
                opt->fuzz.seed = n;
            break;
        case OPT_SOLVE_BUDGET:
            if (parse_seconds(optarg, true, &d) < 0) {
                hv_error("--solve-budget expects seconds (0: no limit), got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            opt->fuzz.solve_budget_s = d;
            break;
        case OPT_CONCOLIC_TIMEOUT: case OPT_MAX_TIME:
            if (parse_seconds(optarg, false, &d) < 0) {
                hv_error("%s expects a positive number of seconds, got '%s'",
                         long_name(longopts, c, optname, sizeof optname),
                         optarg);
                return OPTIONS_ERROR;
            }
            *(c == OPT_MAX_TIME ? &opt->fuzz.max_seconds : &opt->fuzz.concolic_timeout_s) = d;
            break;
        case OPT_KVM_DEVICE: opt->vm.kvm_path = optarg; break;
        case OPT_RACES: opt->races.on = true; break;
        case OPT_SCHEDULE: schedule_text = optarg; break;
        case OPT_RACE_WINDOW: case OPT_RACE_RATE: {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            unsigned long max = c == OPT_RACE_WINDOW ? 1000000 : 10000;
            if (errno || end == optarg || *end || v == 0 || v > max || optarg[0] == '-') {
                hv_error("%s expects a number from 1 to %lu (%s), got '%s'",
                         c == OPT_RACE_WINDOW ? "--race-window" : "--race-rate", max,
                         c == OPT_RACE_WINDOW ? "microseconds" : "samples a second", optarg);
                return OPTIONS_ERROR;
            }
            *(c == OPT_RACE_WINDOW ? &opt->races.window_us : &opt->races.rate) = (unsigned)v;
            opt->races.on = true;
            break;
        }
        case 'o':
            opt->engine.output_dir = optarg;
            opt->engine.output_numbered = false;
            output_given = true;
            break;
        case OPT_REPLAY: replay_path = optarg; break;
        case OPT_SEED: seed_path = optarg; break;
        case 'v': opt->verbose = 1; break;
        case OPT_CLOCK:
            opt->engine.clock_slow_down = INFINITY;
            if (optarg) {
                char *end;
                errno = 0;
                double f = strtod(optarg, &end);
                if (errno || *end || end == optarg || !(f >= 1)) {
                    hv_error("--clock-slow-down expects a factor >= 1, got '%s'", optarg);
                    return OPTIONS_ERROR;
                }
                opt->engine.clock_slow_down = f;
            }
            break;
        case OPT_SOLVER_TIMEOUT:
            if (parse_uint(optarg, 3600000, &n) < 0 || n == 0) {
                hv_error("--solver-timeout expects milliseconds (1 to 3600000), got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            opt->engine.solver_timeout_ms = (unsigned)n;
            break;
        case OPT_SOLVER:
            if (!solver_known(optarg))
                return OPTIONS_ERROR;
            opt->engine.solver = optarg;
            break;
        case 's':
            if (parse_uint(optarg, 100000, &n) < 0) {
                hv_error("--smp expects a number of vCPUs, got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            opt->vm.ncpus = (unsigned)n;
            break;
        case 'm':
            if (parse_size(optarg, &opt->vm.mem_bytes) < 0) {
                hv_error("--mem expects a size like 256M or 1G, got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            break;
        case 't':
            if (parse_seconds(optarg, false, &opt->timeout_s) < 0) {
                hv_error("--timeout expects a positive number of seconds, got '%s'", optarg);
                return OPTIONS_ERROR;
            }
            break;
        case 'h':
            fputs(usage_text, out);
            return OPTIONS_EXIT_OK;
        case OPT_VERSION:
            fprintf(out, "symhv %s\n", SYMHV_VERSION);
            return OPTIONS_EXIT_OK;
        case ':':
            hv_error("option %s needs a value (see symhv --help)", argv[optind - 1]);
            return OPTIONS_ERROR;
        default:
            hv_error("unknown option '%s' (see symhv --help)", argv[optind - 1]);
            return OPTIONS_ERROR;
        }
    }
    if (fuzzing && optind < argc) { /* the program and its arguments, after -- */
        record_word(&opt->fuzz, "--", false);
        for (int k = optind; k < argc; k++)
            record_word(&opt->fuzz, argv[k], k == optind);
    }
    if (optind < argc && take_program(opt, argc - optind, argv + optind) < 0)
        return OPTIONS_ERROR;
    if (opt->sym_args_size && !opt->boot.launch.program) {
        hv_error("--sym-args needs a program: symhv run [OPTIONS] -- PROGRAM [ARGS]");
        return OPTIONS_ERROR;
    }
    if (opt->engine.solver && opt->engine.symex_socket) {
        hv_error("--solver is the attached sidecar's own: start it as symhv-symex --listen "
                 "%s --solver %s", opt->engine.symex_socket, opt->engine.solver);
        return OPTIONS_ERROR;
    }
    if (replay_mode && !replay_path && !opt->engine.npresets) {
        hv_error("replay needs an input file: symhv replay INPUT ... or symhv replay --input "
                 "NAME=FILE ... (see symhv --help)");
        return OPTIONS_ERROR;
    }
    if (replay_path && seed_path) {
        hv_error("--replay and --seed exclude each other (replay runs concretely)");
        return OPTIONS_ERROR;
    }
    if (!opt->boot.kernel_path && opt->boot.launch.program) {
        static const char *const rel[] = { "symhv-kernel", "../guest/symhv-kernel",
                                           "../lib/symhv/symhv-kernel" };
        opt->boot.kernel_path = find_companion("SYMHV_KERNEL", rel, sizeof rel / sizeof rel[0],
                                               R_OK, opt->kernel_path, sizeof opt->kernel_path);
        if (!opt->boot.kernel_path) {
            hv_error("symhv's kernel was not found next to symhv: set SYMHV_KERNEL or give "
                     "--kernel FILE");
            return OPTIONS_ERROR;
        }
    }
    if (replay_mode && replay_path && !opt->boot.kernel_path && !opt->boot.initrd_path &&
        !opt->boot.launch.program) {
        int r = replay_as_campaign_ran(opt, argv0, replay_path, out, depth);
        if (r >= 0)
            return (enum options_result)r;
    }
    if (!opt->boot.kernel_path) {
        if (replay_mode)
            hv_error("replay: no target given, and %s is no campaign's file whose fuzzer_stats "
                     "names one: name it as the campaign did (-- PROGRAM ARGS, or --kernel/"
                     "--target)", replay_path ? replay_path : "the input");
        else
            hv_error("no guest kernel given: use --kernel FILE, or name a program: symhv run "
                     "[OPTIONS] -- PROGRAM [ARGS] (see symhv --help)");
        return OPTIONS_ERROR;
    }
    if (fuzzing && (opt->fuzz.mode == FUZZ_CMIN || opt->fuzz.mode == FUZZ_TMIN)) {
        const char *tool = opt->fuzz.mode == FUZZ_CMIN ? "cmin" : "tmin";
        if (!output_given || !opt->fuzz.in_dir || strcmp(opt->fuzz.in_dir, "-") == 0) {
            hv_error("symhv %s needs -i %s and -o %s (see symhv --help)", tool,
                     opt->fuzz.mode == FUZZ_CMIN ? "IN_DIR" : "INPUT",
                     opt->fuzz.mode == FUZZ_CMIN ? "OUT_DIR" : "OUTPUT");
            return OPTIONS_ERROR;
        }
        if (opt->fuzz.instance || opt->fuzz.max_execs) {
            hv_error("symhv %s takes no -M/-S/--max-execs", tool);
            return OPTIONS_ERROR;
        }
    }
    /* A concolic execution is interpreted where it touches the input: slower than a native
     * one, but -t still sets its scale (50 times it, 5 to 120 s) unless given itself. */
    if (opt->fuzz.concolic_timeout_s == 0)
        opt->fuzz.concolic_timeout_s =
            !exec_timeout_given                        ? CONCOLIC_TIMEOUT_MAX_S
            : 50 * opt->fuzz.exec_timeout_s < 5        ? 5
            : 50 * opt->fuzz.exec_timeout_s > CONCOLIC_TIMEOUT_MAX_S ? CONCOLIC_TIMEOUT_MAX_S
                                                       : 50 * opt->fuzz.exec_timeout_s;
    if (fuzzing) {
        if (!output_given) {
            hv_error("symhv fuzz needs -o OUT_DIR (see symhv --help)");
            return OPTIONS_ERROR;
        }
        if (replay_path || seed_path || opt->engine.npresets) {
            hv_error("symhv fuzz takes its inputs from -i DIR, not --replay/--seed/--input");
            return OPTIONS_ERROR;
        }
        opt->fuzz.out_dir = opt->engine.output_dir;
        if (opt->fuzz.instance) { /* -o is the sync directory, the instance works in it */
            opt->fuzz.sync_dir = opt->engine.output_dir;
            int len = snprintf(opt->fuzz_out_dir, sizeof opt->fuzz_out_dir, "%s/%s",
                               opt->fuzz.sync_dir, opt->fuzz.instance);
            if (len < 0 || (size_t)len >= sizeof opt->fuzz_out_dir) {
                hv_error("symhv fuzz: the sync directory's path is too long");
                return OPTIONS_ERROR;
            }
            opt->fuzz.out_dir = opt->fuzz_out_dir;
        }
        if (opt->timeout_s && !opt->fuzz.max_seconds) /* --timeout bounds the campaign */
            opt->fuzz.max_seconds = opt->timeout_s;
        opt->timeout_s = 0;
        opt->engine.output_dir = NULL; /* concolic runs hand their inputs to the fuzzer */
        opt->fuzzing = true;
    } else if (opt->fuzz.in_dir) {
        hv_error("--in-dir is an option of `symhv fuzz`");
        return OPTIONS_ERROR;
    } else if (output_given && path_is_no_dir(opt->engine.output_dir)) {
        hv_error("-o %s exists and is no directory", opt->engine.output_dir);
        return OPTIONS_ERROR;
    } else if (output_given && dir_has_files(opt->engine.output_dir)) {
        /* as KLEE: one run's files per directory, never two runs' mixed */
        hv_error("-o %s holds files already (of another run?): give a new directory, or "
                 "leave -o out for a new symhv-out-N", opt->engine.output_dir);
        return OPTIONS_ERROR;
    }
    /* --replay/--seed FILE: the first input; it goes before the --input NAME=FILE ones */
    const char *first = replay_path ? replay_path : seed_path;
    if (first) {
        memmove(&opt->engine.presets[1], &opt->engine.presets[0],
                opt->engine.npresets * sizeof opt->engine.presets[0]);
        opt->engine.presets[0] = (struct engine_preset){ NULL, first };
        opt->engine.npresets++;
    }
    opt->engine.replay = replay_mode || replay_path;
    if (schedule_text && strcmp(schedule_text, "none") != 0) {
        if (fz_order_parse(schedule_text, &opt->order) < 0) {
            hv_error("--schedule expects wPC.fPC.pPAGE in hex (a crash file's sched: field, "
                     "PAGE a multiple of 0x1000) or none, got '%s'", schedule_text);
            return OPTIONS_ERROR;
        }
        opt->has_order = true;
    } else if (!schedule_text && replay_path) {
        int k = fz_order_from_name(replay_path, &opt->order);
        if (k < 0)
            hv_notice("replay: the file's sched: field is not wPC.fPC.pPAGE (hex): it runs "
                      "without a forced order (--schedule ORDER gives one)");
        opt->has_order = k > 0;
        if (opt->has_order)
            hv_notice("replay: the file's name carries an order of two accesses (sched:); it "
                      "is forced again (--schedule none runs without it)");
    }
    if (opt->has_order && opt->fuzzing) {
        hv_error("--schedule is for run and replay: fuzz and explore find their orders "
                 "themselves (--races)");
        return OPTIONS_ERROR;
    }
    if (opt->has_order && opt->vm.ncpus < 2) {
        hv_error("an order to force (--schedule, or a replayed file's sched:) needs two "
                 "vCPUs or more (--smp 2): it is of two vCPUs' accesses");
        return OPTIONS_ERROR;
    }
    if (opt->races.on && opt->vm.ncpus < 2) {
        hv_error("--races needs two vCPUs or more (--smp 2): a race is two vCPUs' accesses");
        return OPTIONS_ERROR;
    }
    if (opt->cmplog_program && check_cmplog_program(opt) < 0)
        return OPTIONS_ERROR;
    return finish_launch(opt);
}

void options_for_cmplog_peer(struct options *opt, int peer_fd)
{
    opt->boot.launch.program = opt->cmplog_program; /* argv[0] stays the target's */
    opt->boot.launch.afl_cmplog = true;
    opt->cmplog_program = NULL;
    opt->cmplog_peer_fd = peer_fd;
    opt->vm.mem_bytes += CMPLOG_PEER_EXTRA_RAM; /* the compare map besides the target */
    struct fuzz_config *fc = &opt->fuzz;
    fc->mode = FUZZ_CMPLOG_PEER;
    fc->in_dir = fc->out_dir = fc->sync_dir = fc->instance = NULL;
    fc->ndicts = 0;
    fc->max_execs = 0;
    fc->max_seconds = 0;
    fc->until_crash = false;
    fc->concolic_every = fc->plateau_execs = 0;
    fc->no_breakpoints = true;
    fc->races = false;
    opt->races.on = false;
    opt->has_order = false;
}
