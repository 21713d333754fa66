/* The program a launch image starts, its symbolic sources and the system files a Linux
 * program expects (launch_internal.h). */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "launch_program.h"
#include "log.h"
#include "util.h"

/* ---- the program ---------------------------------------------------------------------- */

/* A static x86-64 program symhv's kernel can start, or a one-line reason. The headers
 * are copied out (memcpy): the program may sit at any offset of an archive, and e_phoff
 * is the file's to choose, so neither is aligned for Elf64_Ehdr or Elf64_Phdr. */
static int check_program(struct builder *b, const char *name, const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == '#' && p[1] == '!')
        return lb_fail(b, "program %s is a script: symhv starts static x86-64 ELF programs "
                       "(name the interpreter and put the script in an archive)", name);
    Elf64_Ehdr eh;
    if (n < sizeof eh || memcmp(p, ELFMAG, SELFMAG) != 0)
        return lb_fail(b, "program %s is not an ELF file", name);
    memcpy(&eh, p, sizeof eh);
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
        return lb_fail(b, "program %s is not a 64-bit x86-64 program", name);
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
        return lb_fail(b, "program %s is not an executable (ELF type %u)", name, eh.e_type);
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > n ||
        (n - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
        return lb_fail(b, "program %s: program headers truncated", name);
    bool loads = false;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, p + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_INTERP)
            return lb_fail(b, "program %s is dynamically linked: symhv starts static programs "
                           "(build it with -static, e.g. musl-gcc -static or gcc -static)", name);
        if (ph.p_type == PT_LOAD) {
            loads = true;
            if (ph.p_filesz > ph.p_memsz || ph.p_offset > n || n - ph.p_offset < ph.p_filesz)
                return lb_fail(b, "program %s: segment %u lies outside the file", name, i);
        }
    }
    if (!loads)
        return lb_fail(b, "program %s has no loadable segment", name);
    return 0;
}

/* The guest path a host path names: the same path under "/" (the guest's working
 * directory), or "/" and its last component when it climbs with "..". */
static int guest_path_of(const char *host, char *out, size_t *len)
{
    if (lb_normalize(host, strlen(host), out, len) == 0)
        return 0;
    const char *base = strrchr(host, '/');
    base = base ? base + 1 : host;
    return lb_normalize(base, strlen(base), out, len);
}

uint32_t lb_add_program(struct builder *b, const struct launch_config *cfg)
{
    const char *prog = cfg->program ? cfg->program : "/init";
    char gpath[MAX_PATH_LEN];
    size_t glen;
    if (guest_path_of(prog, gpath, &glen) < 0 || glen <= 1) {
        lb_fail(b, "program '%s': not a usable path", prog);
        return SYMHV_NO_FILE;
    }
    struct stat st;
    uint32_t i;
    if (cfg->program && stat(cfg->program, &st) == 0 && S_ISREG(st.st_mode)) {
        char why[256];
        size_t size;
        uint8_t *bytes = lb_own(b, read_file(cfg->program, cfg->max_bytes, &size, why, sizeof why));
        if (!bytes) {
            lb_fail(b, "program %s: %s", cfg->program, why);
            return SYMHV_NO_FILE;
        }
        if (check_program(b, cfg->program, bytes, size) < 0)
            return SYMHV_NO_FILE;
        i = lb_put_file(b, gpath, 0100755, SYMHV_FILE_DATA, bytes, size);
        if (i != SYMHV_NO_FILE)
            b->f[i].mtime = (uint64_t)st.st_mtime;
        return i;
    }
    i = lb_find(b, gpath, glen);
    if (i == SYMHV_NO_FILE || b->f[i].kind != SYMHV_FILE_DATA || S_TYPE(b->f[i].mode) != 0100000) {
        lb_fail(b, cfg->program ? "program %s: no such file (neither on the host nor in the "
                               "--initrd archives)"
                             : "the --initrd archives hold no %s to start (or name the "
                               "program: symhv run ... -- PROGRAM [ARGS])", prog);
        return SYMHV_NO_FILE;
    }
    if (check_program(b, gpath, b->f[i].data, b->f[i].size) < 0)
        return SYMHV_NO_FILE;
    return i;
}

/* ---- symbolic sources ----------------------------------------------------------------- */

void launch_source_name(const struct launch_source *s, char *name, size_t size)
{
    if (s->kind == SYMHV_SYM_STDIN)
        snprintf(name, size, "stdin");
    else if (s->kind == SYMHV_SYM_NARGS)
        snprintf(name, size, "n_args"); /* KLEE's name for it */
    else if (s->kind == SYMHV_SYM_ARG)
        snprintf(name, size, "arg%u", s->arg);
    else if (strcmp(s->path, LAUNCH_INPUT_PATH) == 0)
        snprintf(name, size, "input"); /* @@, as the fuzzer calls its input */
    else
        snprintf(name, size, "%s", s->path[0] == '/' ? s->path + 1 : s->path);
}

/* A source's first contents: the initial file, else what `current` holds; its size
 * `want` (0: theirs) and the room it needs. */
static int source_bytes(struct builder *b, const struct launch_config *cfg,
                        const struct launch_source *s, const uint8_t *current, uint64_t cur_len,
                        const uint8_t **data, uint64_t *size, uint64_t *capacity)
{
    uint64_t limit = cfg->harness ? cfg->harness_capacity : SYMHV_SYMBOLIC_MAX_BYTES;
    if (s->initial) {
        char why[256];
        size_t n;
        uint8_t *bytes = lb_own(b, read_file(s->initial, limit, &n, why, sizeof why));
        if (!bytes)
            return lb_fail(b, "input %s: %s", s->initial, why);
        current = bytes;
        cur_len = n;
        if (s->initial_part) { /* this source's part of the file */
            current = n > s->initial_offset ? bytes + s->initial_offset : bytes;
            cur_len = n > s->initial_offset ? n - s->initial_offset : 0;
        }
    }
    uint64_t want = s->initial && !s->initial_part ? cur_len : s->size ? s->size : cur_len;
    if (want > limit)
        return lb_fail(b, "a symbolic input of %llu bytes is more than symhv takes (%llu)",
                    (unsigned long long)want, (unsigned long long)limit);
    if (!cfg->harness && want == 0)
        return lb_fail(b, "a symbolic input needs a size (PATH:SIZE) or contents to start from "
                       "(--seed FILE, --replay FILE, a file in the archive)");
    uint8_t *buf = lb_own(b, calloc(1, want ? want : 1));
    if (!buf)
        return lb_fail(b, "out of memory");
    if (cur_len)
        memcpy(buf, current, cur_len < want ? cur_len : want);
    *data = buf;
    *size = want;
    *capacity = cfg->harness ? limit : want;
    return 0;
}

int lb_add_sources(struct builder *b, const struct launch_config *cfg, struct symhv_launch *hdr,
                   const char **argv_text, uint64_t *arg_room)
{
    if (cfg->nsources > SYMHV_MAX_SYM_SOURCES)
        return lb_fail(b, "at most %d symbolic sources", SYMHV_MAX_SYM_SOURCES);
    if (cfg->harness && cfg->nsources != 1)
        return lb_fail(b, "symhv fuzz and explore take one input: one of --sym-file, --sym-stdin, "
                       "--sym-arg or @@ (got %u)", cfg->nsources);
    hdr->stdin_file = SYMHV_NO_FILE;
    for (unsigned k = 0; k < cfg->nsources; k++) {
        const struct launch_source *s = &cfg->sources[k];
        if (s->kind == SYMHV_SYM_NARGS) {
            if (s->size != 1 || cfg->nargs_min > cfg->nargs_max || cfg->nargs_max == 0 ||
                s->arg == 0 || s->arg + cfg->nargs_max > cfg->argc)
                return lb_fail(b, "--sym-args: the optional arguments are not in argv");
            hdr->nargs_first = s->arg;
            hdr->nargs_min = cfg->nargs_min;
            hdr->nargs_max = cfg->nargs_max;
        }
        struct symhv_sym_source *out = &hdr->sym[hdr->nsym];
        launch_source_name(s, out->name, sizeof out->name);
        for (unsigned j = 0; j < hdr->nsym; j++)
            if (strcmp(hdr->sym[j].name, out->name) == 0)
                return lb_fail(b, "the symbolic input '%s' is given twice", out->name);
        const uint8_t *data;
        uint64_t size, capacity;
        out->kind = s->kind;
        if (s->kind == SYMHV_SYM_ARG) {
            if (s->arg == 0 || s->arg >= cfg->argc)
                return lb_fail(b, "--sym-arg %u: the program has no argument %u (argv[0] is the "
                               "program)", s->arg, s->arg);
            const char *text = cfg->argv[s->arg];
            if (source_bytes(b, cfg, s, (const uint8_t *)text, strlen(text), &data, &size,
                             &capacity) < 0)
                return -1;
            /* the string: `capacity` bytes, NUL-padded, and its terminating NUL */
            char *slot = lb_own(b, calloc(1, capacity + 1));
            if (!slot)
                return lb_fail(b, "out of memory");
            memcpy(slot, data, size);
            argv_text[s->arg] = slot;
            arg_room[s->arg] = capacity + 1;
            out->index = s->arg;
            out->capacity = capacity;
        } else {
            uint32_t i = SYMHV_NO_FILE;
            const uint8_t *cur = NULL;
            uint64_t cur_len = 0;
            if (s->kind == SYMHV_SYM_FILE) {
                char norm[MAX_PATH_LEN];
                size_t len;
                if (lb_normalize(s->path, strlen(s->path), norm, &len) < 0)
                    return lb_fail(b, "--sym-file %s: not a usable guest path", s->path);
                i = lb_find(b, norm, len);
                if (i != SYMHV_NO_FILE && b->f[i].kind != SYMHV_FILE_DATA)
                    return lb_fail(b, "--sym-file %s is not a regular file in the guest", norm);
                if (i != SYMHV_NO_FILE) {
                    cur = b->f[i].data;
                    cur_len = b->f[i].size;
                }
            }
            if (source_bytes(b, cfg, s, cur, cur_len, &data, &size, &capacity) < 0)
                return -1;
            if (s->kind == SYMHV_SYM_FILE) {
                i = lb_put_file(b, s->path, 0100644, SYMHV_FILE_DATA, data, size);
            } else if ((i = lb_new_file(b)) != SYMHV_NO_FILE) {
                /* a hidden file: stdin's bytes, or --sym-args' count */
                static char stdin_name[] = "(stdin)", nargs_name[] = "(n_args)";
                char *hidden = s->kind == SYMHV_SYM_NARGS ? nargs_name : stdin_name;
                b->f[i].path = hidden;
                b->f[i].path_len = strlen(hidden);
                b->f[i].mode = 0100444;
                b->f[i].kind = SYMHV_FILE_DATA;
                b->f[i].data = data;
                b->f[i].size = size;
                b->f[i].hidden = true;
                if (s->kind == SYMHV_SYM_STDIN)
                    hdr->stdin_file = i;
            }
            if (i == SYMHV_NO_FILE)
                return -1;
            b->f[i].capacity = capacity;
            out->index = i;
            out->capacity = capacity;
        }
        hdr->nsym++;
    }
    return 0;
}

/* ---- system files --------------------------------------------------------------------- */

static int add_if_absent(struct builder *b, const char *path, uint32_t mode, uint32_t kind,
                         const void *data, uint64_t size)
{
    uint32_t i = lb_find(b, path, strlen(path));
    if (i != SYMHV_NO_FILE)
        return 0;
    return lb_put_file(b, path, mode, kind, data, size) == SYMHV_NO_FILE ? -1 : 0;
}

int lb_add_system_files(struct builder *b, const struct launch_config *cfg, uint32_t exe)
{
    static const struct { const char *path; uint32_t kind; } devices[] = {
        { "/dev/null", SYMHV_FILE_NULL },     { "/dev/zero", SYMHV_FILE_ZERO },
        { "/dev/random", SYMHV_FILE_RANDOM }, { "/dev/urandom", SYMHV_FILE_RANDOM },
        { "/dev/stdin", SYMHV_FILE_CONSOLE }, { "/dev/stdout", SYMHV_FILE_CONSOLE },
        { "/dev/stderr", SYMHV_FILE_CONSOLE }, { "/dev/tty", SYMHV_FILE_CONSOLE },
        { "/dev/console", SYMHV_FILE_CONSOLE },
    };
    for (size_t k = 0; k < sizeof devices / sizeof devices[0]; k++)
        if (add_if_absent(b, devices[k].path, 020666, devices[k].kind, NULL, 0) < 0)
            return -1;
    if (add_if_absent(b, "/tmp", 041777, SYMHV_FILE_DIR, NULL, 0) < 0)
        return -1;
    /* /proc/self/exe: the program (a symlink whose text is its path) */
    struct bfile *e = &b->f[exe];
    if (add_if_absent(b, "/proc/self/exe", 0120777, SYMHV_FILE_DATA, e->path, e->path_len) < 0)
        return -1;
    /* what glibc's get_nprocs() reads */
    char *online = lb_own(b, malloc(32));
    if (!online)
        return lb_fail(b, "out of memory");
    int n = cfg->ncpus > 1 ? snprintf(online, 32, "0-%u\n", cfg->ncpus - 1)
                           : snprintf(online, 32, "0\n");
    if (add_if_absent(b, "/sys/devices/system/cpu/online", 0100444, SYMHV_FILE_DATA, online,
                      (uint64_t)n) < 0 ||
        add_if_absent(b, "/sys/devices/system/cpu/possible", 0100444, SYMHV_FILE_DATA, online,
                      (uint64_t)n) < 0)
        return -1;
    return 0;
}

/* Host files named in the program's arguments (a seed, a config file): the program sees
 * only the launch image, so each one that exists on the host and is not in the image
 * already is put there, read-only, at its path (a relative one under "/", the program's
 * working directory). Said once per file; a file over the caps is said and left out. */
#define HOST_FILE_MAX (64ull << 20)
#define HOST_FILES_TOTAL_MAX (256ull << 20)
#define HOST_FILES_MAX 64
int lb_add_host_files(struct builder *b, const struct launch_config *cfg)
{
    uint64_t total = 0;
    unsigned added = 0;
    for (unsigned k = 1; k < cfg->argc; k++) {
        const char *arg = cfg->argv[k];
        struct stat st;
        if (!arg[0] || arg[0] == '-' || stat(arg, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        char norm[MAX_PATH_LEN + 2];
        size_t len;
        if (lb_normalize(arg, strlen(arg), norm, &len) < 0) {
            hv_notice("the host file %s is not in the guest: its path has \"..\" (give it as "
                      "a path without, or add it with --initrd ARCHIVE)", arg);
            continue;
        }
        if (lb_find(b, norm, len) != SYMHV_NO_FILE)
            continue; /* the guest has one there (a symbolic source, an archive's) */
        size_t clash = 0; /* a directory on the way that is something else in the guest */
        for (size_t p = 1; p < len && !clash; p++) {
            uint32_t f = norm[p] == '/' ? lb_find(b, norm, p) : SYMHV_NO_FILE;
            if (f != SYMHV_NO_FILE && S_TYPE(b->f[f].mode) != 0040000)
                clash = p;
        }
        if (clash) {
            hv_notice("the host file %s is not in the guest: %.*s is no directory there (a "
                      "symbolic link, say): add the file with --initrd ARCHIVE", arg, (int)clash,
                      norm);
            continue;
        }
        if (added == HOST_FILES_MAX || (uint64_t)st.st_size > HOST_FILE_MAX ||
            total + (uint64_t)st.st_size > HOST_FILES_TOTAL_MAX) {
            hv_notice("the host file %s is not in the guest (at most %d files of %llu MiB, "
                      "%llu MiB in all, come from the arguments): add it with --initrd ARCHIVE",
                      arg, HOST_FILES_MAX, HOST_FILE_MAX >> 20, HOST_FILES_TOTAL_MAX >> 20);
            continue;
        }
        char why[256];
        size_t n;
        uint8_t *bytes = lb_own(b, read_file(arg, HOST_FILE_MAX, &n, why, sizeof why));
        if (!bytes) {
            hv_notice("the host file %s is not in the guest: %s", arg, why);
            continue;
        }
        if (lb_put_file(b, norm, 0100444, SYMHV_FILE_DATA, bytes, n) == SYMHV_NO_FILE)
            return -1;
        total += n;
        added++;
        hv_notice("the host file %s is in the guest at %.*s (read-only)", arg, (int)len, norm);
    }
    return 0;
}
