/* Files and descriptors: the read-only file system of the launch image (symhv/launch.h),
 * stdin/stdout/stderr on symhv's console, and the devices /dev/null, /dev/zero and
 * /dev/urandom. The VMM indexed the files, so opening one is a path normalisation, a
 * hash and a short chain. Writes to regular files and changes to the tree fail with
 * EROFS. A symbolic file (--sym-file, --sym-stdin) is copied to the program by the
 * kernel itself, so the interpreter sees its bytes move; other bytes are copied by the
 * VMM (kcopy). Descriptors do not share offsets (dup copies one). All under the big
 * kernel lock. */
#include "kernel.h"
#include "linux_fs.h"
#include "linux_abi.h"
#include "symhv/path.h"

static void (*input_hook)(uint32_t file); /* set once at boot */

void fs_on_input_touched(void (*fn)(uint32_t file)) { input_hook = fn; }

static void input_touched(uint32_t file)
{
    if (input_hook)
        input_hook(file);
}

#define MAX_FDS 1024
#define PATH_MAX_LEN 1024
#define MAX_IOV 1024
#define LX_ENODEV 19

enum fd_kind { FD_FREE = 0, FD_FILE, FD_DIR, FD_CONSOLE_IN, FD_CONSOLE_OUT, FD_NULL, FD_ZERO,
               FD_RANDOM };

struct fdesc {
    uint8_t kind;
    uint8_t cloexec;
    uint8_t stream;       /* FD_CONSOLE_OUT: 1 stdout, 2 stderr */
    uint32_t flags;       /* the open flags (F_GETFL) */
    uint32_t file;
    uint64_t pos;         /* FD_DIR: the next entry (file index + 1; 0: "." first) */
};

static struct fdesc fds[MAX_FDS];
static uint32_t cwd = 0; /* a directory of the file system */
static uint32_t umask_bits = 022;

/* The file system: empty (just "/") without a launch image. */
const struct symhv_file *fs_file(uint32_t i)
{
    if (!kernel.launch || i >= kernel.launch->nfiles)
        return NULL;
    return (const struct symhv_file *)((uint64_t)kernel.launch + kernel.launch->files_off) + i;
}

uint64_t fs_file_data(const struct symhv_file *f) { return (uint64_t)kernel.launch + f->data_off; }

static const char *file_name(const struct symhv_file *f)
{
    return (const char *)kernel.launch + kernel.launch->names_off + f->name_off;
}

bool fs_file_is_symbolic(uint32_t i)
{
    for (unsigned k = 0; kernel.launch && k < kernel.launch->nsym; k++)
        if (kernel.launch->sym[k].kind != SYMHV_SYM_ARG && kernel.launch->sym[k].index == i)
            return true;
    return false;
}

void fs_set_size(uint32_t i, uint64_t size)
{
    struct symhv_file *f = (struct symhv_file *)fs_file(i);
    if (f && size <= f->capacity)
        f->size = size;
}

void fs_init(void)
{
    uint32_t in = kernel.launch ? kernel.launch->stdin_file : SYMHV_NO_FILE;
    fds[0] = in != SYMHV_NO_FILE ? (struct fdesc){ .kind = FD_FILE, .file = in }
                                 : (struct fdesc){ .kind = FD_CONSOLE_IN };
    fds[1] = (struct fdesc){ .kind = FD_CONSOLE_OUT, .stream = 1, .flags = LX_O_WRONLY };
    fds[2] = (struct fdesc){ .kind = FD_CONSOLE_OUT, .stream = 2, .flags = LX_O_WRONLY };
}

/* ---- user memory ---------------------------------------------------------------------- */

/* A NUL-terminated string of the program: its length, or -EFAULT / -ENAMETOOLONG. */
static int64_t user_string(uint64_t addr, char *buf, size_t max)
{
    for (size_t i = 0; i < max; i++) {
        if (!user_range_ok(addr + i, 1))
            return -LX_EFAULT;
        buf[i] = *(const char *)(addr + i);
        if (!buf[i])
            return (int64_t)i;
    }
    return -LX_ENAMETOOLONG;
}

/* ---- paths ---------------------------------------------------------------------------- */

static uint32_t lookup_exact(const char *path, size_t len)
{
    if (!kernel.launch)
        return len == 1 && path[0] == '/' ? 0 : SYMHV_NO_FILE;
    const uint32_t *buckets = (const uint32_t *)((uint64_t)kernel.launch + kernel.launch->buckets_off);
    uint32_t i = buckets[symhv_path_hash(path, len) & (kernel.launch->nbuckets - 1)];
    for (unsigned hops = 0; i != SYMHV_NO_FILE && hops < kernel.launch->nfiles; hops++) {
        const struct symhv_file *f = fs_file(i);
        if (!f)
            return SYMHV_NO_FILE;
        if (f->name_len == len && memcmp(file_name(f), path, len) == 0)
            return i;
        i = f->hash_next;
    }
    return SYMHV_NO_FILE;
}

/* Append the components of `p` to the absolute path in out[0..*n), resolving "." and
 * "..". -ENAMETOOLONG if it does not fit. */
static int join(char *out, size_t *n, const char *p, size_t plen)
{
    int rc = symhv_path_join(out, n, PATH_MAX_LEN, p, plen, true);
    return rc == 0 ? 0 : rc == -2 ? -LX_ENAMETOOLONG : -LX_ENOENT; /* -1: a NUL inside */
}

static bool is_link(const struct symhv_file *f) { return (f->mode & LX_S_IFMT) == LX_S_IFLNK; }
static bool is_dir(const struct symhv_file *f) { return f->kind == SYMHV_FILE_DIR; }

/* The file `path` names, seen from directory `dir`; symlinks in the middle (and at the
 * end, with follow) are followed. A file index, or -errno. */
static int64_t resolve(uint32_t dir, const char *path, size_t plen, bool follow)
{
    if (plen == 0)
        return -LX_ENOENT;
    char abs[PATH_MAX_LEN];
    size_t n = 1;
    abs[0] = '/';
    if (path[0] != '/') {
        const struct symhv_file *d = fs_file(dir);
        if (d && join(abs, &n, file_name(d), d->name_len) < 0)
            return -LX_ENAMETOOLONG;
    }
    if (join(abs, &n, path, plen) < 0)
        return -LX_ENAMETOOLONG;
    for (int hops = 0; hops < 8; hops++) {
        uint32_t i = lookup_exact(abs, n);
        if (i != SYMHV_NO_FILE) {
            const struct symhv_file *f = fs_file(i);
            if (f && follow && is_link(f))
                return f->link == SYMHV_NO_FILE ? -LX_ENOENT : (int64_t)f->link;
            return i;
        }
        /* a symlink among the directories on the way? (the VMM resolved its target) */
        size_t cut = n;
        uint32_t via = SYMHV_NO_FILE;
        while (cut > 1) {
            while (cut > 1 && abs[cut - 1] != '/')
                cut--;
            if (cut > 1)
                cut--;
            uint32_t p = lookup_exact(abs, cut > 0 ? cut : 1);
            if (p != SYMHV_NO_FILE) {
                via = p;
                break;
            }
        }
        const struct symhv_file *v = via != SYMHV_NO_FILE ? fs_file(via) : NULL;
        if (!v || !is_link(v) || v->link == SYMHV_NO_FILE)
            return -LX_ENOENT;
        const struct symhv_file *t = fs_file(v->link);
        char rest[PATH_MAX_LEN];
        size_t rlen = n - cut;
        memcpy(rest, abs + cut, rlen);
        n = 1;
        if (join(abs, &n, file_name(t), t->name_len) < 0 || join(abs, &n, rest, rlen) < 0)
            return -LX_ENAMETOOLONG;
    }
    return -LX_ELOOP;
}

static struct fdesc *fd_get(int64_t fd)
{
    return fd >= 0 && fd < MAX_FDS && fds[fd].kind != FD_FREE ? &fds[fd] : NULL;
}

/* The directory a relative path starts from: the cwd or dirfd's. */
static int64_t base_dir(int64_t dirfd)
{
    if ((int32_t)dirfd == LX_AT_FDCWD)
        return cwd;
    struct fdesc *d = fd_get(dirfd);
    if (!d)
        return -LX_EBADF;
    return d->kind == FD_DIR ? (int64_t)d->file : -LX_ENOTDIR;
}

static int64_t lookup_user(int64_t dirfd, uint64_t upath, bool follow, char *buf)
{
    int64_t n = user_string(upath, buf, PATH_MAX_LEN);
    if (n < 0)
        return n;
    int64_t dir = buf[0] == '/' ? 0 : base_dir(dirfd);
    if (dir < 0)
        return dir;
    return resolve((uint32_t)dir, buf, (size_t)n, follow);
}

static int fd_alloc(int from)
{
    for (int i = from < 0 ? 0 : from; i < MAX_FDS; i++)
        if (fds[i].kind == FD_FREE)
            return i;
    return -LX_EMFILE;
}

/* ---- open, read, write ---------------------------------------------------------------- */

static int64_t do_open(int64_t dirfd, uint64_t upath, uint64_t flags)
{
    char buf[PATH_MAX_LEN];
    int64_t i = lookup_user(dirfd, upath, !(flags & LX_O_NOFOLLOW), buf);
    if (i == -LX_ENOENT && (flags & LX_O_CREAT))
        return -LX_EROFS;
    if (i < 0)
        return i;
    input_touched((uint32_t)i);
    const struct symhv_file *f = fs_file((uint32_t)i);
    struct fdesc d = { .file = (uint32_t)i, .flags = (uint32_t)flags,
                       .cloexec = (flags & LX_O_CLOEXEC) != 0 };
    bool writing = (flags & LX_O_ACCMODE) != 0 || (flags & LX_O_TRUNC);
    if ((flags & LX_O_CREAT) && (flags & LX_O_EXCL))
        return -LX_EEXIST;
    switch (f ? f->kind : SYMHV_FILE_DIR) {
    case SYMHV_FILE_DIR:
        if (writing)
            return -LX_EISDIR;
        d.kind = FD_DIR;
        break;
    case SYMHV_FILE_DATA:
        if (flags & LX_O_DIRECTORY)
            return -LX_ENOTDIR;
        if (is_link(f) && (flags & LX_O_NOFOLLOW))
            return -LX_ELOOP;
        if (writing)
            return -LX_EROFS;
        d.kind = FD_FILE;
        break;
    case SYMHV_FILE_NULL: d.kind = FD_NULL; break;
    case SYMHV_FILE_ZERO: d.kind = FD_ZERO; break;
    case SYMHV_FILE_RANDOM: d.kind = FD_RANDOM; break;
    case SYMHV_FILE_CONSOLE: {
        const char *name = file_name(f);
        bool err = f->name_len >= 6 && memcmp(name + f->name_len - 6, "stderr", 6) == 0;
        bool in = f->name_len >= 5 && memcmp(name + f->name_len - 5, "stdin", 5) == 0;
        if (in || (!err && (flags & LX_O_ACCMODE) == 0))
            d = fds[0].kind != FD_FREE ? fds[0] : (struct fdesc){ .kind = FD_CONSOLE_IN };
        else
            d.kind = FD_CONSOLE_OUT, d.stream = err ? 2 : 1;
        d.flags = (uint32_t)flags;
        d.cloexec = (flags & LX_O_CLOEXEC) != 0;
        break;
    }
    default:
        return -LX_ENODEV;
    }
    int fd = fd_alloc(0);
    if (fd < 0)
        return fd;
    fds[fd] = d;
    return fd;
}

/* Copy n bytes of file f from offset pos into the program's buffer. */
static void file_copy_out(uint32_t file, const struct symhv_file *f, uint64_t pos, uint64_t dst,
                          uint64_t n)
{
    uint64_t src = fs_file_data(f) + pos;
    if (fs_file_is_symbolic(file))
        memcpy((void *)dst, (const void *)src, n); /* in the guest: the bytes stay symbolic */
    else
        kcopy(dst, src, n);
}

static int64_t do_read(struct fdesc *d, uint64_t buf, uint64_t n, uint64_t *pos)
{
    if (n && !user_range_ok(buf, n))
        return -LX_EFAULT;
    if ((d->flags & LX_O_ACCMODE) == LX_O_WRONLY && d->kind != FD_CONSOLE_IN)
        return -LX_EBADF;
    switch (d->kind) {
    case FD_FILE: {
        input_touched(d->file); /* stdin's, when it is the input */
        const struct symhv_file *f = fs_file(d->file);
        if (!f || *pos >= f->size)
            return 0;
        if (n > f->size - *pos)
            n = f->size - *pos;
        file_copy_out(d->file, f, *pos, buf, n);
        *pos += n;
        return (int64_t)n;
    }
    case FD_CONSOLE_IN:
        return n ? hypercall(SYMHV_HC_READ_CONSOLE, buf, n, 0, 0) : 0;
    case FD_NULL:
        return 0;
    case FD_ZERO:
        kzero(buf, n);
        return (int64_t)n;
    case FD_RANDOM: { /* short reads are allowed: at most 256 bytes a call (ring 0) */
        if (n > 256)
            n = 256;
        random_fill((void *)buf, n);
        return (int64_t)n;
    }
    case FD_DIR:
        return -LX_EISDIR;
    default:
        return -LX_EBADF;
    }
}

static int64_t do_write(struct fdesc *d, uint64_t buf, uint64_t n)
{
    if (n && !user_range_ok(buf, n))
        return -LX_EFAULT;
    switch (d->kind) {
    case FD_CONSOLE_OUT:
        return n ? hypercall(SYMHV_HC_WRITE, buf, n > (64u << 10) ? 64u << 10 : n, d->stream, 0)
                 : 0;
    case FD_NULL: case FD_ZERO: case FD_RANDOM:
        return (int64_t)n;
    case FD_DIR:
        return -LX_EISDIR;
    default:
        return -LX_EBADF; /* read-only */
    }
}

/* readv/writev/preadv: the iovecs one by one (a short transfer ends the call). */
static int64_t do_vector(struct fdesc *d, uint64_t iov, uint64_t cnt, bool reading)
{
    if (cnt > MAX_IOV || !user_range_ok(iov, cnt * sizeof(struct lx_iovec)))
        return -LX_EINVAL;
    int64_t total = 0;
    for (uint64_t k = 0; k < cnt; k++) {
        const struct lx_iovec *v = (const struct lx_iovec *)iov + k;
        if (!v->len)
            continue;
        int64_t r = reading ? do_read(d, v->base, v->len, &d->pos) : do_write(d, v->base, v->len);
        if (r < 0)
            return total ? total : r;
        total += r;
        if ((uint64_t)r < v->len)
            break;
    }
    return total;
}

/* ---- metadata ------------------------------------------------------------------------- */

static uint64_t file_rdev(const struct symhv_file *f)
{
    switch (f->kind) {
    case SYMHV_FILE_NULL: return (1 << 8) | 3;
    case SYMHV_FILE_ZERO: return (1 << 8) | 5;
    case SYMHV_FILE_RANDOM: return (1 << 8) | 9;
    case SYMHV_FILE_CONSOLE: return (5 << 8) | 1;
    default: return 0;
    }
}

/* What stat says of file i, or of a console descriptor (i = NO_FILE). */
static void fill_stat(struct lx_stat *st, uint32_t i)
{
    memset(st, 0, sizeof *st);
    input_touched(i); /* its size is the input's */
    const struct symhv_file *f = fs_file(i);
    st->st_dev = 1;
    st->st_blksize = 4096;
    if (!f) { /* the console: a character device, not a terminal (ioctl says ENOTTY) */
        st->st_ino = 0x10000000;
        st->st_nlink = 1;
        st->st_mode = LX_S_IFCHR | 0620;
        st->st_rdev = (136 << 8);
        return;
    }
    st->st_ino = i + 1;
    st->st_nlink = is_dir(f) ? 2 : 1;
    st->st_mode = f->mode;
    st->st_rdev = file_rdev(f);
    st->st_size = (int64_t)f->size;
    st->st_blocks = (int64_t)((f->size + 511) / 512);
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (int64_t)f->mtime;
}

static int64_t stat_of(int64_t dirfd, uint64_t upath, uint64_t flags, struct lx_stat *st)
{
    char buf[PATH_MAX_LEN];
    if (flags & LX_AT_EMPTY_PATH) {
        int64_t n = user_string(upath, buf, PATH_MAX_LEN);
        if (n == 0) { /* the descriptor itself */
            if ((int32_t)dirfd == LX_AT_FDCWD) {
                fill_stat(st, cwd);
                return 0;
            }
            struct fdesc *d = fd_get(dirfd);
            if (!d)
                return -LX_EBADF;
            bool has_file = d->kind == FD_FILE || d->kind == FD_DIR;
            fill_stat(st, has_file ? d->file : SYMHV_NO_FILE);
            return 0;
        }
    }
    int64_t i = lookup_user(dirfd, upath, !(flags & LX_AT_SYMLINK_NOFOLLOW), buf);
    if (i < 0)
        return i;
    fill_stat(st, (uint32_t)i);
    return 0;
}

static int64_t fstat_fd(int64_t fd, struct lx_stat *st)
{
    struct fdesc *d = fd_get(fd);
    if (!d)
        return -LX_EBADF;
    bool has_file = d->kind == FD_FILE || d->kind == FD_DIR;
    fill_stat(st, has_file ? d->file : SYMHV_NO_FILE);
    if (d->kind == FD_NULL || d->kind == FD_ZERO || d->kind == FD_RANDOM) {
        st->st_mode = LX_S_IFCHR | 0666;
        st->st_rdev = d->kind == FD_NULL ? (1 << 8) | 3 : d->kind == FD_ZERO ? (1 << 8) | 5 : (1 << 8) | 9;
    }
    return 0;
}

static int64_t copy_stat(uint64_t dst, const struct lx_stat *st)
{
    if (!user_range_ok(dst, sizeof *st))
        return -LX_EFAULT;
    memcpy((void *)dst, st, sizeof *st);
    return 0;
}

static int64_t do_statx(int64_t dirfd, uint64_t upath, uint64_t flags, uint64_t dst)
{
    struct lx_stat st;
    int64_t r = stat_of(dirfd, upath, flags, &st);
    if (r < 0)
        return r;
    if (!user_range_ok(dst, sizeof(struct lx_statx)))
        return -LX_EFAULT;
    struct lx_statx *x = (struct lx_statx *)dst;
    memset(x, 0, sizeof *x);
    x->stx_mask = LX_STATX_BASIC_STATS;
    x->stx_blksize = (uint32_t)st.st_blksize;
    x->stx_nlink = (uint32_t)st.st_nlink;
    x->stx_mode = (uint16_t)st.st_mode;
    x->stx_ino = st.st_ino;
    x->stx_size = (uint64_t)st.st_size;
    x->stx_blocks = (uint64_t)st.st_blocks;
    x->stx_atime.tv_sec = x->stx_ctime.tv_sec = x->stx_mtime.tv_sec = st.st_mtim.tv_sec;
    x->stx_rdev_major = (uint32_t)(st.st_rdev >> 8);
    x->stx_rdev_minor = (uint32_t)(st.st_rdev & 0xff);
    x->stx_dev_minor = 1;
    return 0;
}

static int64_t do_getdents(struct fdesc *d, uint64_t buf, uint64_t count)
{
    if (d->kind != FD_DIR)
        return -LX_ENOTDIR;
    if (!user_range_ok(buf, count))
        return -LX_EFAULT;
    const struct symhv_file *dir = fs_file(d->file);
    uint64_t done = 0;
    for (;;) {
        /* pos: 0 ".", 1 "..", then 2 + the child's index (its next sibling follows) */
        const char *name;
        size_t len;
        uint32_t ino, next_pos_file = SYMHV_NO_FILE;
        uint8_t type = 4; /* DT_DIR */
        if (d->pos == 0) {
            name = ".", len = 1, ino = d->file + 1;
        } else if (d->pos == 1) {
            name = "..", len = 2, ino = (dir ? dir->parent : 0) + 1;
        } else {
            uint32_t i = d->pos == 2 ? (dir ? dir->first_child : SYMHV_NO_FILE)
                                     : (uint32_t)(d->pos - 3);
            const struct symhv_file *f = fs_file(i);
            if (!f)
                return (int64_t)done;
            const char *full = file_name(f);
            size_t cut = f->name_len;
            while (cut > 0 && full[cut - 1] != '/')
                cut--;
            name = full + cut, len = f->name_len - cut, ino = i + 1;
            type = is_dir(f) ? 4 : is_link(f) ? 10 : f->kind == SYMHV_FILE_DATA ? 8 : 2;
            next_pos_file = f->next_sibling;
        }
        uint64_t reclen = (sizeof(struct lx_dirent64) + len + 1 + 7) & ~7ull;
        if (count - done < reclen)
            return done ? (int64_t)done : -LX_EINVAL;
        struct lx_dirent64 *e = (struct lx_dirent64 *)(buf + done);
        e->d_ino = ino;
        e->d_reclen = (uint16_t)reclen;
        e->d_type = type;
        memcpy(e->d_name, name, len);
        e->d_name[len] = 0;
        if (d->pos < 2)
            d->pos++;
        else if (next_pos_file == SYMHV_NO_FILE)
            d->pos = 3 + (uint64_t)SYMHV_NO_FILE; /* past the last entry */
        else
            d->pos = 3 + (uint64_t)next_pos_file;
        e->d_off = (int64_t)d->pos;
        done += reclen;
    }
}

static int64_t do_readlink(int64_t dirfd, uint64_t upath, uint64_t buf, uint64_t size)
{
    char path[PATH_MAX_LEN];
    int64_t i = lookup_user(dirfd, upath, false, path);
    if (i < 0)
        return i;
    const struct symhv_file *f = fs_file((uint32_t)i);
    if (!f || !is_link(f))
        return -LX_EINVAL;
    uint64_t n = f->size < size ? f->size : size;
    if (!user_range_ok(buf, n))
        return -LX_EFAULT;
    memcpy((void *)buf, (const void *)fs_file_data(f), n);
    return (int64_t)n;
}

static int64_t do_access(int64_t dirfd, uint64_t upath, uint64_t mode)
{
    char path[PATH_MAX_LEN];
    int64_t i = lookup_user(dirfd, upath, true, path);
    if (i < 0)
        return i;
    const struct symhv_file *f = fs_file((uint32_t)i);
    if ((mode & 2) && f && f->kind == SYMHV_FILE_DATA)
        return -LX_EROFS; /* W_OK */
    if ((mode & 1) && f && !(f->mode & 0111))
        return -LX_EACCES; /* X_OK */
    return 0;
}

int fs_mmap_source(int fd, uint64_t off, uint64_t *src, uint64_t *avail, bool *symbolic)
{
    struct fdesc *d = fd_get(fd);
    if (!d)
        return -LX_EBADF;
    *avail = 0;
    if (d->kind == FD_ZERO)
        return 0; /* anonymous memory */
    if (d->kind != FD_FILE)
        return -LX_ENODEV;
    const struct symhv_file *f = fs_file(d->file);
    if (f && off < f->size) {
        *src = fs_file_data(f) + off;
        *avail = f->size - off;
        *symbolic = fs_file_is_symbolic(d->file);
    }
    return 0;
}

/* ---- the system calls ----------------------------------------------------------------- */

int64_t fs_syscall(struct cpu *c, struct trapframe *f, uint64_t nr, bool *handled)
{
    (void)c;
    uint64_t a0 = f->rdi, a1 = f->rsi, a2 = f->rdx, a3 = f->r10;
    struct fdesc *d;
    struct lx_stat st;
    int64_t r;
    *handled = true;
    switch (nr) {
    case LX_read:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        return do_read(d, a1, a2, &d->pos);
    case LX_pread64: {
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        if (d->kind != FD_FILE)
            return -LX_ESPIPE;
        uint64_t pos = a3;
        return do_read(d, a1, a2, &pos);
    }
    case LX_write:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        return do_write(d, a1, a2);
    case LX_pwrite64: /* nothing here is both writable and seekable */
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        return d->kind == FD_FILE ? -LX_EBADF : -LX_ESPIPE;
    case LX_readv: case LX_writev:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        return do_vector(d, a1, a2, nr == LX_readv);
    case LX_open:
        return do_open(LX_AT_FDCWD, a0, a1);
    case LX_creat:
        return -LX_EROFS;
    case LX_openat:
        return do_open((int64_t)a0, a1, a2);
    case LX_close:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        d->kind = FD_FREE;
        return 0;
    case LX_close_range:
        for (uint64_t k = a0; k <= a1 && k < MAX_FDS; k++)
            if (a2 & 4) /* CLOSE_RANGE_CLOEXEC */
                fds[k].cloexec = 1;
            else
                fds[k].kind = FD_FREE;
        return 0;
    case LX_lseek: {
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        if (d->kind != FD_FILE && d->kind != FD_DIR)
            return d->kind == FD_NULL || d->kind == FD_ZERO ? 0 : -LX_ESPIPE;
        input_touched(d->file);
        const struct symhv_file *fl = fs_file(d->file);
        int64_t base = a2 == 0 ? 0 : a2 == 1 ? (int64_t)d->pos : a2 == 2 && fl ? (int64_t)fl->size : -1;
        if (base < 0 || (d->kind == FD_DIR && (a2 != 0 || a1 != 0)))
            return -LX_EINVAL;
        int64_t to = base + (int64_t)a1;
        if (to < 0)
            return -LX_EINVAL;
        d->pos = (uint64_t)to;
        return to;
    }
    case LX_dup:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        if ((r = fd_alloc(0)) < 0)
            return r;
        fds[r] = *d;
        fds[r].cloexec = 0;
        return r;
    case LX_dup2: case LX_dup3:
        if (!(d = fd_get((int64_t)a0)) || a1 >= MAX_FDS)
            return -LX_EBADF;
        if (a0 == a1)
            return nr == LX_dup3 ? -LX_EINVAL : (int64_t)a1;
        fds[a1] = *d;
        fds[a1].cloexec = nr == LX_dup3 && (a2 & LX_O_CLOEXEC);
        return (int64_t)a1;
    case LX_fcntl:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        switch (a1) {
        case 0: case 1030: /* F_DUPFD, F_DUPFD_CLOEXEC */
            if ((r = fd_alloc((int)a2)) < 0)
                return r;
            fds[r] = *d;
            fds[r].cloexec = a1 == 1030;
            return r;
        case 1: return d->cloexec;                  /* F_GETFD */
        case 2: d->cloexec = a2 & 1; return 0;      /* F_SETFD */
        case 3: return d->flags;                    /* F_GETFL */
        case 4: d->flags = (d->flags & LX_O_ACCMODE) | ((uint32_t)a2 & ~LX_O_ACCMODE); return 0;
        default: return 0;                          /* locks and the rest: granted */
        }
    case LX_fstat:
        return (r = fstat_fd((int64_t)a0, &st)) < 0 ? r : copy_stat(a1, &st);
    case LX_stat: case LX_lstat:
        r = stat_of(LX_AT_FDCWD, a0, nr == LX_lstat ? LX_AT_SYMLINK_NOFOLLOW : 0, &st);
        return r < 0 ? r : copy_stat(a1, &st);
    case LX_newfstatat:
        return (r = stat_of((int64_t)a0, a1, a3, &st)) < 0 ? r : copy_stat(a2, &st);
    case LX_statx:
        return do_statx((int64_t)a0, a1, a2, f->r8);
    case LX_getdents64:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        return do_getdents(d, a1, a2);
    case LX_readlink:
        return do_readlink(LX_AT_FDCWD, a0, a1, a2);
    case LX_readlinkat:
        return do_readlink((int64_t)a0, a1, a2, a3);
    case LX_access:
        return do_access(LX_AT_FDCWD, a0, a1);
    case LX_faccessat: case LX_faccessat2:
        return do_access((int64_t)a0, a1, a2);
    case LX_getcwd: {
        const struct symhv_file *dir = fs_file(cwd);
        uint64_t len = dir ? dir->name_len : 1;
        if (a1 < len + 1)
            return -LX_ERANGE;
        if (!user_range_ok(a0, len + 1))
            return -LX_EFAULT;
        memcpy((void *)a0, dir ? file_name(dir) : "/", len);
        ((char *)a0)[len] = 0;
        return (int64_t)len + 1;
    }
    case LX_chdir: {
        char path[PATH_MAX_LEN];
        if ((r = lookup_user(LX_AT_FDCWD, a0, true, path)) < 0)
            return r;
        const struct symhv_file *dir = fs_file((uint32_t)r);
        if (kernel.launch && (!dir || !is_dir(dir)))
            return -LX_ENOTDIR;
        cwd = (uint32_t)r;
        return 0;
    }
    case LX_fchdir:
        if (!(d = fd_get((int64_t)a0)))
            return -LX_EBADF;
        if (d->kind != FD_DIR)
            return -LX_ENOTDIR;
        cwd = d->file;
        return 0;
    case LX_ioctl:
        if (!fd_get((int64_t)a0))
            return -LX_EBADF;
        return a1 == 0x5421 ? 0 : -LX_ENOTTY; /* FIONBIO; no descriptor is a terminal */
    case LX_poll: case LX_ppoll: { /* every descriptor is always ready */
        if (a1 > MAX_FDS || !user_range_ok(a0, a1 * 8))
            return -LX_EINVAL;
        int64_t ready = 0;
        for (uint64_t k = 0; k < a1; k++) {
            int32_t pfd = *(int32_t *)(a0 + 8 * k);
            int16_t events = *(int16_t *)(a0 + 8 * k + 4);
            int16_t revents = pfd < 0 ? 0 : fd_get(pfd) ? (int16_t)(events & 5) : 0x20;
            *(int16_t *)(a0 + 8 * k + 6) = revents;
            ready += revents != 0;
        }
        return ready;
    }
    case LX_umask:
        r = umask_bits;
        umask_bits = (uint32_t)a0 & 0777;
        return r;
    case LX_fsync: case LX_fdatasync: case LX_flock: case LX_fadvise64:
        return fd_get((int64_t)a0) ? 0 : -LX_EBADF;
    case LX_ftruncate: case LX_unlink: case LX_unlinkat: case LX_mkdir: case LX_mkdirat:
    case LX_rmdir: case LX_rename: case LX_chmod: case LX_fchmod:
        return -LX_EROFS;
    default:
        *handled = false;
        return -LX_ENOSYS;
    }
}
