#include "launch.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cpio.h"
#include "launch_index.h"
#include "launch_program.h"
#include "symhv/path.h"
#include "util.h"

/* glibc picks its string functions by CPUID, which the guest reads from the host here
 * (README: PVM). Its AVX, AVX2 and SSE4.2 variants use instructions the interpreter does
 * not model (their operands would be concretised); the SSE2 ones it follows. memmove
 * looks at the preferred bit AVX_Fast_Unaligned_Load, which switching AVX2 off leaves
 * set on some CPUs (AMD family 0x1a: memcpy of a symbolic buffer was VEX code). */
#define GLIBC_TUNABLES_DEFAULT                                                              \
    "GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX,-AVX2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,"  \
    "-EVEX,-SSE4_1,-SSE4_2,-SSSE3,-BMI1,-BMI2,-LZCNT,-ERMS,-FSRM,-RTM,"                   \
    "-AVX_Fast_Unaligned_Load"

const char *const launch_default_env[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/", "LANG=C", "TERM=dumb",
    GLIBC_TUNABLES_DEFAULT,
    "SYMHV_GUEST=1", /* the program runs under symhv (symhv-cc's libFuzzer driver asks) */
    NULL,
};

/* ---- archives ------------------------------------------------------------------------- */

struct archive_ctx {
    struct builder *b;
    const char *path;
};

static uint32_t device_kind(uint32_t major, uint32_t minor)
{
    if (major == 1 && minor == 3) return SYMHV_FILE_NULL;
    if (major == 1 && minor == 5) return SYMHV_FILE_ZERO;
    if (major == 1 && (minor == 8 || minor == 9)) return SYMHV_FILE_RANDOM;
    if (major == 5 || major == 4) return SYMHV_FILE_CONSOLE; /* tty, console, ttyN */
    return SYMHV_NO_FILE;
}

static int archive_entry(const struct cpio_entry *e, void *opaque)
{
    struct archive_ctx *a = opaque;
    struct builder *b = a->b;
    char norm[MAX_PATH_LEN];
    size_t len;
    if (lb_normalize(e->name, e->name_len, norm, &len) < 0)
        return lb_fail(b, "%s: entry '%.*s' has a bad path", a->path, (int)e->name_len, e->name);
    uint32_t type = S_TYPE(e->mode), i;
    switch (type) {
    case 040000:
        if ((i = lb_add_path(b, norm, len, e->mode)) == SYMHV_NO_FILE)
            return -1;
        b->f[i].mode = e->mode; /* "." sets the root's own bits */
        b->f[i].mtime = e->mtime;
        return 0;
    case 0100000: case 0120000:
        break;
    case 020000: { /* a character device: the ones symhv's kernel provides */
        uint32_t kind = device_kind(e->rdev_major, e->rdev_minor);
        if (kind == SYMHV_NO_FILE)
            return 0;
        if ((i = lb_add_path(b, norm, len, e->mode)) == SYMHV_NO_FILE)
            return -1;
        b->f[i].kind = kind;
        b->f[i].mode = e->mode;
        return 0;
    }
    default:
        return 0; /* block devices, fifos, sockets: not in the guest */
    }
    if ((i = lb_add_path(b, norm, len, e->mode)) == SYMHV_NO_FILE)
        return -1;
    struct bfile *f = &b->f[i];
    if (f->kind == SYMHV_FILE_DIR)
        return lb_fail(b, "%s: %s is a directory", a->path, norm);
    f->mode = e->mode;
    f->kind = SYMHV_FILE_DATA;
    f->data = e->data;
    f->size = f->capacity = e->size;
    f->mtime = e->mtime;
    f->cpio_ino = e->nlink > 1 ? e->ino + 1 : 0;
    return 0;
}

/* newc stores a hard link's bytes with its last name only: give them to the others. */
static void share_hard_links(struct builder *b, uint32_t from)
{
    for (uint32_t i = from; i < b->n; i++) {
        struct bfile *f = &b->f[i];
        if (!f->cpio_ino || f->size)
            continue;
        for (uint32_t j = from; j < b->n; j++) {
            if (b->f[j].cpio_ino == f->cpio_ino && b->f[j].size) {
                f->data = b->f[j].data;
                f->size = f->capacity = b->f[j].size;
                break;
            }
        }
    }
    for (uint32_t i = from; i < b->n; i++)
        b->f[i].cpio_ino = 0;
}

static int add_archive(struct builder *b, const char *path, uint64_t max_bytes)
{
    char why[256];
    size_t size;
    uint8_t *buf = lb_own(b, read_file(path, max_bytes, &size, why, sizeof why));
    if (!buf)
        return lb_fail(b, "archive %s: %s", path, why);
    if (size >= 2 && buf[0] == 0x1f && buf[1] == 0x8b)
        return lb_fail(b, "archive %s is gzip-compressed: give symhv the cpio itself "
                       "(gunzip < %s > archive.cpio)", path, path);
    if (!cpio_is_newc(buf, size))
        return lb_fail(b, "archive %s is not a cpio archive in the newc format (make one with "
                       "`find . | cpio -o -H newc`)", path);
    struct archive_ctx a = { b, path };
    uint32_t first = b->n;
    if (cpio_parse(buf, size, archive_entry, &a, why, sizeof why) < 0)
        return b->err[0] ? -1 : lb_fail(b, "archive %s: %s", path, why);
    share_hard_links(b, first);
    return 0;
}

/* Symlinks point at their targets (relative ones from the link's directory), chased
 * through further links, when the target is in the file system. */
static void resolve_links(struct builder *b)
{
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t at = i;
        for (int hop = 0; hop < MAX_SYMLINK_HOPS; hop++) {
            struct bfile *f = &b->f[at];
            if (S_TYPE(f->mode) != 0120000 || f->kind != SYMHV_FILE_DATA || f->hidden)
                break;
            char norm[MAX_PATH_LEN];
            size_t dir_len = f->path_len;
            while (dir_len > 0 && f->path[dir_len - 1] != '/')
                dir_len--;
            size_t tlen = f->size < MAX_PATH_LEN ? (size_t)f->size : MAX_PATH_LEN - 1;
            /* relative targets from the link's directory; ".." climbs here (the guest
             * cannot name one, links may) */
            size_t o = 1;
            norm[0] = '/';
            if (((tlen == 0 || f->data[0] != '/') &&
                 symhv_path_join(norm, &o, sizeof norm, f->path, dir_len, true) < 0) ||
                symhv_path_join(norm, &o, sizeof norm, (const char *)f->data, tlen, true) < 0)
                break; /* no path the file system can hold: left unresolved */
            uint32_t t = lb_find(b, norm, o);
            if (t == SYMHV_NO_FILE || t == i)
                break;
            b->f[i].link = t;
            at = t;
        }
        if (b->f[i].link != SYMHV_NO_FILE && S_TYPE(b->f[b->f[i].link].mode) == 0120000)
            b->f[i].link = SYMHV_NO_FILE; /* a loop, or too many hops */
    }
}

/* ---- the image ------------------------------------------------------------------------ */

static uint64_t align8(uint64_t n) { return (n + 7) & ~7ull; }
static uint64_t page_up(uint64_t n) { return (n + 4095) & ~4095ull; }

int launch_build(const struct launch_config *cfg, struct launch_image *img, char *err,
                 size_t err_size)
{
    struct builder b = { .err = err, .err_size = err_size, .now = (uint64_t)time(NULL) };
    struct symhv_launch hdr = { .magic = SYMHV_LAUNCH_MAGIC, .version = SYMHV_LAUNCH_VERSION,
                                .random_seed = cfg->random_seed };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    hdr.realtime_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    img->bytes = NULL;
    img->len = 0;
    err[0] = 0;
    const char **argv_text = NULL;
    uint64_t *arg_room = NULL;
    const char *const *env = launch_default_env;
    const char **env_text = NULL;
    unsigned nenv = 0;
    int rc = -1;

    uint32_t root = lb_new_file(&b);
    if (root == SYMHV_NO_FILE)
        goto out;
    b.f[root].path = "/";
    b.f[root].path_len = 1;
    b.f[root].mode = 040755;
    b.f[root].kind = SYMHV_FILE_DIR;
    b.f[root].parent = root;
    if (lb_index_insert(&b, root) < 0)
        goto out;
    for (unsigned k = 0; k < cfg->narchives; k++)
        if (add_archive(&b, cfg->archives[k], cfg->max_bytes) < 0)
            goto out;
    uint32_t exe = lb_add_program(&b, cfg);
    if (exe == SYMHV_NO_FILE)
        goto out;
    hdr.exe = exe;

    unsigned argc = cfg->argc ? cfg->argc : 1;
    if (argc > MAX_ARGS) {
        lb_fail(&b, "more than %d program arguments", MAX_ARGS);
        goto out;
    }
    argv_text = calloc(argc, sizeof *argv_text);
    arg_room = calloc(argc, sizeof *arg_room);
    if (!argv_text || !arg_room) {
        lb_fail(&b, "out of memory");
        goto out;
    }
    for (unsigned k = 0; k < argc; k++)
        argv_text[k] = cfg->argc ? cfg->argv[k] : (cfg->program ? cfg->program : "/init");
    if (lb_add_sources(&b, cfg, &hdr, argv_text, arg_room) < 0 ||
        lb_add_system_files(&b, cfg, exe) < 0 || lb_add_host_files(&b, cfg) < 0)
        goto out;
    resolve_links(&b);

    /* the environment: the defaults, each replaced by a --env of the same name */
    env_text = calloc(sizeof launch_default_env / sizeof launch_default_env[0] + cfg->nenv + 3,
                      sizeof *env_text);
    if (!env_text) {
        lb_fail(&b, "out of memory");
        goto out;
    }
    for (unsigned k = 0; env[k]; k++) {
        size_t name = strcspn(env[k], "=");
        bool replaced = false;
        for (unsigned j = 0; j < cfg->nenv; j++)
            replaced |= strncmp(cfg->env[j], env[k], name + 1) == 0;
        if (!replaced)
            env_text[nenv++] = env[k];
    }
    for (unsigned j = 0; j < cfg->nenv; j++)
        env_text[nenv++] = cfg->env[j];
    if (cfg->afl_map_size) { /* what afl-fuzz gives an AFL++ build: its map's id */
        env_text[nenv++] = "__AFL_SHM_ID=" SYMHV_AFL_SHM_ID_TEXT;
        hdr.afl_map_size = cfg->afl_map_size;
    }
    if (cfg->afl_cmplog) { /* what afl-fuzz gives a CMPLOG binary (-c) */
        env_text[nenv++] = "__AFL_CMPLOG_SHM_ID=" SYMHV_AFL_CMPLOG_SHM_ID_TEXT;
        hdr.flags |= SYMHV_LAUNCH_AFL_CMPLOG;
    }
    hdr.argc = argc;
    hdr.envc = nenv;
    if (cfg->harness)
        hdr.flags |= SYMHV_LAUNCH_HARNESS;

    /* layout */
    uint32_t nb = 16;
    while (nb < 2 * b.n)
        nb *= 2;
    uint64_t off = align8(sizeof hdr);
    hdr.nfiles = b.n;
    hdr.nbuckets = nb;
    hdr.files_off = off;
    off += (uint64_t)b.n * sizeof(struct symhv_file);
    hdr.buckets_off = off;
    off += (uint64_t)nb * 4;
    hdr.names_off = off;
    for (uint32_t i = 0; i < b.n; i++)
        hdr.names_len += b.f[i].path_len;
    off = align8(off + hdr.names_len);
    hdr.strings_off = off;
    for (unsigned k = 0; k < argc; k++)
        hdr.strings_len += arg_room[k] ? arg_room[k] : strlen(argv_text[k]) + 1;
    for (unsigned k = 0; k < nenv; k++)
        hdr.strings_len += strlen(env_text[k]) + 1;
    off = align8(off + hdr.strings_len);
    /* A symbolic source's bytes start on a page and fill their pages alone: the kernel's
     * reads of other files and of the tables never touch its trapped pages. */
    for (unsigned k = 0; k < hdr.nsym; k++)
        if (hdr.sym[k].kind != SYMHV_SYM_ARG)
            b.f[hdr.sym[k].index].page_aligned = true;
    for (uint32_t i = 0; i < b.n; i++) {
        if (b.f[i].page_aligned)
            b.f[i].capacity = (b.f[i].capacity + 4095) & ~4095ull;
        if (b.f[i].kind == SYMHV_FILE_DATA) {
            off = b.f[i].page_aligned ? page_up(off) : align8(off);
            if (b.f[i].capacity > cfg->max_bytes || off > cfg->max_bytes - b.f[i].capacity) {
                lb_fail(&b, "the program and its files do not fit in guest RAM (--mem): more "
                         "than %llu MiB", (unsigned long long)(cfg->max_bytes >> 20));
                goto out;
            }
            off += b.f[i].capacity;
        }
    }
    if (off > cfg->max_bytes) {
        lb_fail(&b, "the program and its files do not fit in guest RAM (--mem): more than %llu MiB",
             (unsigned long long)(cfg->max_bytes >> 20));
        goto out;
    }
    uint8_t *out = calloc(1, off);
    if (!out) {
        lb_fail(&b, "out of memory for a %llu-byte launch image", (unsigned long long)off);
        goto out;
    }
    struct symhv_file *files = (struct symhv_file *)(out + hdr.files_off);
    uint32_t *buckets = (uint32_t *)(out + hdr.buckets_off);
    memset(buckets, 0xff, (size_t)nb * 4);
    uint64_t name_at = 0, data_at = align8(hdr.strings_off + hdr.strings_len);
    for (uint32_t i = 0; i < b.n; i++) {
        struct bfile *f = &b.f[i];
        struct symhv_file *o = &files[i];
        *o = (struct symhv_file){
            .name_off = (uint32_t)name_at, .name_len = (uint32_t)f->path_len, .mode = f->mode,
            .kind = f->kind, .hash_next = SYMHV_NO_FILE, .parent = f->parent,
            .first_child = f->first_child, .next_sibling = f->next_sibling, .link = f->link,
            .size = f->size, .capacity = f->capacity, .mtime = f->mtime,
        };
        memcpy(out + hdr.names_off + name_at, f->path, f->path_len);
        name_at += f->path_len;
        if (f->kind == SYMHV_FILE_DATA) {
            data_at = f->page_aligned ? page_up(data_at) : align8(data_at);
            o->data_off = data_at;
            if (f->size)
                memcpy(out + data_at, f->data, f->size);
            data_at += f->capacity;
        }
        if (!f->hidden) {
            uint32_t h = symhv_path_hash(f->path, f->path_len) & (nb - 1);
            o->hash_next = buckets[h];
            buckets[h] = i;
        } else {
            o->parent = SYMHV_NO_FILE;
        }
    }
    char *strings = (char *)out + hdr.strings_off;
    for (unsigned k = 0; k < argc; k++) {
        size_t n = arg_room[k] ? arg_room[k] : strlen(argv_text[k]) + 1;
        memcpy(strings, argv_text[k], n); /* a sym arg: its NUL-padded room */
        strings += n;
    }
    for (unsigned k = 0; k < nenv; k++) {
        size_t n = strlen(env_text[k]) + 1;
        memcpy(strings, env_text[k], n);
        strings += n;
    }
    memcpy(out, &hdr, sizeof hdr);
    img->bytes = out;
    img->len = off;
    rc = 0;
out:
    for (unsigned k = 0; k < b.nowned; k++)
        free(b.owned[k]);
    free(b.owned);
    free(b.f);
    free(b.index);
    free(argv_text);
    free(arg_room);
    free(env_text);
    return rc;
}

void launch_image_free(struct launch_image *img)
{
    free(img->bytes);
    img->bytes = NULL;
    img->len = 0;
}
