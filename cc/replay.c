/* The agent's calls for a native run (KLEE's libkleeRuntest): link this instead of the
 * agent (build/cc/libsymhv-replay-LIBC.a, or symhv-cc --symhv-replay) and run the annotated
 * program on the host with SYMHV_REPLAY=FILE, a test case symhv wrote. Each
 * symhv_make_symbolic takes the file's next bytes, in call order, as the campaign gave
 * them out (a buffer past the file's end keeps its contents); symhv_fuzz_start reads
 * the file into its buffer. The rest behaves as a native run would: a reported bug is
 * said and the run goes on, a false assumption ends it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "read_all.h"
#include "symhv/agent.h"

static uint8_t *replay_bytes;
static size_t replay_len, replay_off;
static int replay_loaded; /* 0: not yet, 1: loaded, -1: none (said once) */
static int calls;

static void load(void)
{
    if (replay_loaded)
        return;
    replay_loaded = -1;
    const char *path = getenv("SYMHV_REPLAY");
    if (!path || !*path) {
        fputs("symhv replay library: SYMHV_REPLAY is not set: the symbolic buffers keep "
              "their contents\n", stderr);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "symhv replay library: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    replay_bytes = symhv_read_all(f, &replay_len);
    if (!replay_bytes) {
        fprintf(stderr, "symhv replay library: %s: cannot read it\n", path);
        exit(2);
    }
    fclose(f);
    replay_loaded = 1;
}

/* The next n bytes of the test case into dst (fewer past its end); how many. */
static size_t take(void *dst, size_t n)
{
    load();
    if (replay_loaded != 1 || replay_off >= replay_len)
        return 0;
    size_t k = replay_len - replay_off < n ? replay_len - replay_off : n;
    memcpy(dst, replay_bytes + replay_off, k);
    replay_off += k;
    return k;
}

long symhv_hypercall(long nr, long arg0, long arg1, long arg2, long arg3)
{
    (void)nr, (void)arg0, (void)arg1, (void)arg2, (void)arg3;
    return -ENOSYS;
}

int symhv_make_symbolic(void *buf, size_t len, const char *name)
{
    (void)name;
    if (!buf || len == 0 || len > (1u << 20))
        return -EINVAL;
    take(buf, len);
    return calls++;
}

void symhv_kill(int status, const char *msg)
{
    fprintf(stderr, "symhv_kill(%d): %s\n", status, msg ? msg : "");
    exit(status);
}

int symhv_report_bug(const char *msg)
{
    fprintf(stderr, "symhv_report_bug: %s\n", msg ? msg : "");
    return 0;
}

int symhv_get_example(void *dst, const void *src, size_t len)
{
    memmove(dst, src, len);
    return 0;
}

void symhv_print_expr(const char *name, uint64_t value)
{
    fprintf(stderr, "symhv_print_expr: %s = %" PRIu64 " (0x%" PRIx64 ")\n", name ? name : "",
            value, value);
}

void symhv_assume(int cond)
{
    if (cond)
        return;
    fputs("symhv_assume: false on this input: the run ends\n", stderr);
    exit(1);
}

long symhv_fuzz_start(void *buf, size_t maxlen, uint8_t *coverage, size_t map_size)
{
    (void)coverage, (void)map_size;
    return (long)take(buf, maxlen);
}

long symhv_fuzz_cmplog(void *log, size_t size)
{
    (void)log, (void)size;
    return -EINVAL;
}

long symhv_fuzz_length(volatile struct symhv_fuzz_length *l)
{
    (void)l;
    return -EINVAL;
}

void symhv_fuzz_end(int status)
{
    exit(status);
}

long symhv_fuzz_start_driver(void *buf, size_t maxlen, uint8_t *coverage, size_t map_size,
                             void *cmplog, size_t cmplog_size, volatile struct symhv_fuzz_length *l)
{
    (void)cmplog, (void)cmplog_size, (void)l;
    return symhv_fuzz_start(buf, maxlen, coverage, map_size);
}
