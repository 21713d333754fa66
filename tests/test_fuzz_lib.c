/* The fuzzer's brain without a VM: mutations stay in bounds, coverage buckets and
 * novelty, atomic writes, corpus loading, dictionaries. */
#include <check.h>
#include "check_main.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "campaign.h"
#include "fuzz.h"
#include "util.h"
#include "symhv_run.h"

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert(n > 0 && (size_t)n < sizeof path);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Thousands of mutation stacks over entries of every size, empty ones included (a
 * solver input of 0 bytes joined libtiff's queue, and splicing its tail divided by
 * zero: symhv died of SIGFPE): lengths stay within [1, max_len] (ASan checks every byte
 * touched), and mutants differ from the parent. */
START_TEST(mutations_stay_in_bounds_and_change_the_input)
{
    struct fz_queue q = { 0 };
    uint8_t seed[64];
    for (unsigned i = 0; i < sizeof seed; i++)
        seed[i] = (uint8_t)i;
    fz_queue_add(&q, seed, 0, FZ_FROM_SOLVER);
    for (uint32_t len = 1; len <= sizeof seed; len += 7)
        fz_queue_add(&q, seed, len, FZ_FROM_SEED);
    struct fz_dict dict = { 0 };
    uint8_t token[] = "MAGIC";
    uint8_t *tokens[] = { token };
    uint32_t lens[] = { 5 };
    dict.tokens = tokens;
    dict.lens = lens;
    dict.n = 1;
    struct fz_rng r;
    fz_rng_seed(&r, 42);
    unsigned changed = 0, grew = 0;
    for (int round = 0; round < 20000; round++) {
        size_t k = fz_rng_below(&r, q.n);
        uint32_t max_len = 1 + (uint32_t)fz_rng_below(&r, 96);
        uint8_t *out = malloc(max_len); /* exact size: any overflow is an ASan report */
        uint32_t n = fz_mutate(&r, &q, k, &dict, out, max_len);
        ck_assert_uint_ge(n, 1);
        ck_assert_uint_le(n, max_len);
        changed += n != q.entries[k].len || memcmp(out, q.entries[k].data, n) != 0;
        grew += n > q.entries[k].len;
        free(out);
    }
    ck_assert_uint_gt(changed, 19000);
    ck_assert_uint_gt(grew, 100);
    fz_queue_free(&q);
}
END_TEST

START_TEST(coverage_buckets_and_novelty)
{
    uint8_t trace[8] = { 0, 1, 2, 3, 5, 9, 40, 200 };
    fz_classify(trace, sizeof trace);
    const uint8_t want[8] = { 0, 1, 2, 4, 8, 16, 64, 128 };
    ck_assert_mem_eq(trace, want, sizeof want);

    uint8_t seen[8] = { 0 };
    uint8_t t1[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(fz_merge_coverage(seen, t1, 8), 2); /* a new edge */
    ck_assert_int_eq(fz_merge_coverage(seen, t1, 8), 0); /* nothing new */
    uint8_t t2[8] = { 0, 4, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(fz_merge_coverage(seen, t2, 8), 1); /* same edge, new hit count */
    ck_assert_uint_eq(fz_count_edges(seen, 8), 1);
}
END_TEST

START_TEST(atomic_writes_and_corpus_loading)
{
    const char *dir = test_temp_dir();
    char err[256];
    ck_assert_int_eq(fz_out_dir_init(dir, err, sizeof err), 0);
    char queue[600];
    snprintf(queue, sizeof queue, "%s/queue", dir);
    ck_assert_int_eq(write_file_atomic(queue, "b-second", "22", 2), 0);
    ck_assert_int_eq(write_file_atomic(queue, "a-first", "1", 1), 0);
    write_text(queue, "c-empty", "");
    write_text(queue, ".hidden", "x");
    ck_assert_uint_eq(fz_count_files(queue), 3); /* the temp files were renamed away */
    struct fz_queue q = { 0 };
    ck_assert_int_eq(fz_load_dir(&q, queue, 1024, FZ_FROM_SEED, err, sizeof err), 2);
    ck_assert_uint_eq(q.entries[0].len, 1); /* sorted by name; empty and dot files skipped */
    ck_assert_mem_eq(q.entries[1].data, "22", 2);
    ck_assert_str_eq(q.entries[0].file, "a-first"); /* seeds are named after their files */
    fz_queue_free(&q);
    ck_assert_int_eq(fz_load_dir(&q, "/nonexistent", 1024, FZ_FROM_SEED, err, sizeof err), -1);
    ck_assert_contains(err, "cannot read directory /nonexistent");
    /* a file over the limit is refused by name, not cut short */
    char big[1025];
    memset(big, 'b', sizeof big);
    ck_assert_int_eq(write_file_atomic(queue, "d-big", big, sizeof big), 0);
    ck_assert_int_eq(fz_load_dir(&q, queue, 1024, FZ_FROM_SEED, err, sizeof err), -1);
    ck_assert_contains(err, "d-big is 1025 bytes, over the limit of 1024");
    fz_queue_free(&q);
    char crashes[600];
    snprintf(crashes, sizeof crashes, "%s/crashes", dir);
    ck_assert_uint_eq(fz_count_files(crashes), 0);
}
END_TEST

/* Another instance's queue is that instance's to fill: a FIFO (open and read would
 * block for ever), a symlink (to a file of this user's), a file larger than the
 * campaign's inputs and a name with a newline are passed over; the one plain file is
 * imported, promptly, and once. */
START_TEST(sync_imports_only_plain_regular_files)
{
    const char *dir = test_temp_dir();
    char path[1024], queue[600];
    snprintf(path, sizeof path, "%s/main", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/other", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(queue, sizeof queue, "%s/other/queue", dir);
    ck_assert_int_eq(mkdir(queue, 0755), 0);
    snprintf(path, sizeof path, "%s/id:000000,fifo", queue);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    write_text(dir, "secret", "SECRET");
    char target[1024];
    snprintf(target, sizeof target, "%s/secret", dir);
    snprintf(path, sizeof path, "%s/id:000001,link", queue);
    ck_assert_int_eq(symlink(target, path), 0);
    char big[101];
    memset(big, 'B', 100);
    big[100] = 0;
    write_text(queue, "id:000002,big", big);
    write_text(queue, "id:000003,new\nline", "NL");
    write_text(queue, "id:000004,ok", "valid");

    struct fz_queue q = { 0 };
    char err[256];
    alarm(10); /* a blocking open or read ends the test here */
    ck_assert_int_eq(fz_sync_import(dir, "main", &q, 64, 100, NULL, err, sizeof err), 1);
    alarm(0);
    ck_assert_uint_eq(q.n, 1);
    ck_assert_uint_eq(q.entries[0].len, 5);
    ck_assert_mem_eq(q.entries[0].data, "valid", 5);
    ck_assert_str_eq(q.entries[0].from, "other");
    ck_assert_int_eq(q.entries[0].origin, FZ_FROM_SYNC);
    /* the next import starts after them all */
    ck_assert_int_eq(fz_sync_import(dir, "main", &q, 64, 100, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(q.n, 1);
    fz_queue_free(&q);
}
END_TEST

/* Symlinks anywhere in another instance's part of the sync directory are not followed:
 * a queue entry linking to a file of this user's, a queue/ linking to a directory of
 * them, an instance directory that is a link; what was passed over is counted (for one
 * line), and an instance name AFL++ would not take is not an instance. */
START_TEST(sync_follows_no_symlinks_and_counts_what_it_skips)
{
    const char *dir = test_temp_dir(), *elsewhere = test_temp_dir();
    char path[1024], target[1024];
    write_text(elsewhere, "id:000000,private", "PRIVATE");
    snprintf(target, sizeof target, "%s/id:000000,private", elsewhere);
    const char *subdirs[] = { "main", "a", "a/queue", "b", "bad\nname", "bad\nname/queue" };
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, subdirs[i]);
        ck_assert_int_eq(mkdir(path, 0755), 0);
    }
    snprintf(path, sizeof path, "%s/a/queue/id:000000,link", dir);
    ck_assert_int_eq(symlink(target, path), 0);
    snprintf(path, sizeof path, "%s/a/queue/id:000001,fifo", dir);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    snprintf(path, sizeof path, "%s/a/queue/id:000002,dir", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/a/queue", dir);
    write_text(path, "id:000003,big", "0123456789");
    write_text(path, "id:000004,tab\tname", "x");
    write_text(path, "id:000005,ok", "mine");
    snprintf(path, sizeof path, "%s/b/queue", dir);
    ck_assert_int_eq(symlink(elsewhere, path), 0); /* a queue/ elsewhere */
    snprintf(path, sizeof path, "%s/c", dir);
    snprintf(target, sizeof target, "%s/a", dir);
    ck_assert_int_eq(symlink(target, path), 0);    /* "c": a link to a's directory */
    snprintf(path, sizeof path, "%s/bad\nname/queue", dir);
    write_text(path, "id:000000,x", "badname");

    struct fz_queue q = { 0 };
    struct fz_sync_skipped sk;
    char err[256];
    alarm(10);
    ck_assert_int_eq(fz_sync_import(dir, "main", &q, 8, 100, &sk, err, sizeof err), 1);
    alarm(0);
    ck_assert_uint_eq(q.n, 1);
    ck_assert_mem_eq(q.entries[0].data, "mine", 4);
    ck_assert_str_eq(q.entries[0].from, "a");
    ck_assert_uint_eq(sk.not_regular, 3); /* the link, the FIFO, the directory */
    ck_assert_uint_eq(sk.too_big, 1);
    ck_assert_uint_eq(sk.bad_name, 1);
    ck_assert_uint_eq(sk.unreadable, 0);
    /* passed over once: the next import neither imports nor counts them */
    ck_assert_int_eq(fz_sync_import(dir, "main", &q, 8, 100, &sk, err, sizeof err), 0);
    ck_assert_uint_eq(sk.not_regular + sk.too_big + sk.bad_name + sk.unreadable, 0);
    fz_queue_free(&q);
}
END_TEST

/* A resumed campaign's fuzzer_stats, corrupted: times in the future are taken as now
 * (the status line said "last find 18446744071506122661s ago"), negative, fractional,
 * huge and garbage values as 0, absent keys as 0, and each refusal is named in the one
 * line of note. */
START_TEST(resumed_stats_refuse_future_times_and_garbage)
{
    const uint64_t now = 1764000000;
    struct fz_resume r;
    char note[512];
    static const char good[] =
        "start_time        : 1763990000\nexecs_done        : 123456\n"
        "solver_inputs     : 7\nsolver_inputs_kept: 3\ntotal_crashes     : 2\n"
        "last_find         : 1763999000\nlast_crash        : 0\n"
        "corpus_imported   : 5\nlast_hang         : 1763999999"; /* no trailing newline */
    ck_assert_uint_eq(fz_stats_resume(good, strlen(good), now, &r, note, sizeof note), 0);
    ck_assert_str_eq(note, "");
    ck_assert_uint_eq(r.execs_done, 123456);
    ck_assert_uint_eq(r.solver_inputs, 7);
    ck_assert_uint_eq(r.solver_inputs_kept, 3);
    ck_assert_uint_eq(r.total_crashes, 2);
    ck_assert_uint_eq(r.last_find, 1763999000);
    ck_assert_uint_eq(r.last_crash, 0);
    ck_assert_uint_eq(r.corpus_imported, 5);
    ck_assert_uint_eq(r.last_hang, 1763999999);
    ck_assert_uint_eq(r.total_hangs + r.concolic_runs, 0); /* absent */

    /* the repro's: last_find 2203428955 s ahead */
    static const char future[] = "last_find : 3967428955\nlast_crash : 1764000001\n"
                                 "last_hang : 1764000000\n";
    ck_assert_uint_eq(fz_stats_resume(future, strlen(future), now, &r, note, sizeof note), 2);
    ck_assert_uint_eq(r.last_find, now);
    ck_assert_uint_eq(r.last_crash, now);
    ck_assert_uint_eq(r.last_hang, now);
    ck_assert_str_eq(note, "last_find is 2203428955s in the future (taken as now), "
                           "last_crash is 1s in the future (taken as now)");

    static const char bad[] =
        "execs_done : -5\ntotal_crashes : 99999999999999999999999\n"
        "total_hangs : 18446744073709551615\nconcolic_runs : 1e5\nsolver_inputs : 0x10\n"
        "solver_inputs_kept :\ncorpus_imported : 12abc\nlast_find : nan\n"
        "last_crash : 1.5\nlast_hang : \x01\x02";
    ck_assert_uint_eq(fz_stats_resume(bad, strlen(bad), now, &r, note, sizeof note), 10);
    const uint64_t *v = (const uint64_t *)&r;
    for (size_t i = 0; i < sizeof r / sizeof *v; i++)
        ck_assert_uint_eq(v[i], 0);
    ck_assert_str_eq(note, "execs_done is not a count (taken as 0), total_crashes is too "
                           "large (taken as 0), total_hangs is too large (taken as 0), "
                           "concolic_runs is not a count (taken as 0), solver_inputs is not a "
                           "count (taken as 0), solver_inputs_kept is not a count (taken as "
                           "0), corpus_imported is not a count (taken as 0), last_find is not "
                           "a time (taken as 0), last_crash is not a time (taken as 0), "
                           "last_hang is not a time (taken as 0)");

    /* garbage lines, NUL bytes, a key twice (the first counts), a longer key with the
     * same start, 10^18 - 1 (the largest taken), CRLF */
    static const char odd[] = "\xff\xfe garbage\n: 5\nexecs_done\nexecs_done 7\n"
                              "execs_done_x : 9\nexecs_done : 42\r\nexecs_done : 43\n"
                              "total_crashes : 4\0 2\ntotal_hangs : 999999999999999999\n"
                              "\0\0\0\nconcolic_runs:8";
    ck_assert_uint_eq(fz_stats_resume(odd, sizeof odd - 1, now, &r, note, sizeof note), 1);
    ck_assert_uint_eq(r.execs_done, 42);
    ck_assert_uint_eq(r.total_crashes, 0);
    ck_assert_uint_eq(r.total_hangs, 999999999999999999ull);
    ck_assert_uint_eq(r.concolic_runs, 8);
    ck_assert_str_eq(note, "total_crashes is not a count (taken as 0)");

    /* nothing at all; a note too small for its line is cut, not overrun */
    ck_assert_uint_eq(fz_stats_resume("", 0, now, &r, note, sizeof note), 0);
    ck_assert_str_eq(note, "");
    char small[12];
    ck_assert_uint_eq(fz_stats_resume(bad, strlen(bad), now, &r, small, sizeof small), 10);
    ck_assert_str_eq(small, "execs_done ");
}
END_TEST

START_TEST(dictionary_tokens)
{
    const char *dir = test_temp_dir();
    write_text(dir, "dict", "# comment\nkw1=\"GET \"\n\"\\x00\\xffA\"\nplain\n");
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/dict", dir);
    struct fz_dict d = { 0 };
    ck_assert_int_eq(fz_dict_load(&d, path, err, sizeof err), 0);
    ck_assert_uint_eq(d.n, 3);
    ck_assert_uint_eq(d.lens[0], 4);
    ck_assert_mem_eq(d.tokens[0], "GET ", 4);
    ck_assert_uint_eq(d.lens[1], 3);
    ck_assert_mem_eq(d.tokens[1], "\x00\xff" "A", 3);
    ck_assert_mem_eq(d.tokens[2], "plain", 5);
    fz_dict_free(&d);
    write_text(dir, "bad", "x=\"\"\n");
    snprintf(path, sizeof path, "%s/bad", dir);
    memset(&d, 0, sizeof d);
    ck_assert_int_eq(fz_dict_load(&d, path, err, sizeof err), -1);
    ck_assert_contains(err, "bad:1: not a token");
    fz_dict_free(&d);
    /* a directory: one token per file; loads add up */
    char tokdir[1024];
    snprintf(tokdir, sizeof tokdir, "%s/tokens", dir);
    ck_assert_int_eq(mkdir(tokdir, 0755), 0);
    write_text(tokdir, "a", "MAGIC");
    write_text(tokdir, "b", "\x7f" "ELF");
    memset(&d, 0, sizeof d);
    snprintf(path, sizeof path, "%s/dict", dir);
    ck_assert_int_eq(fz_dict_load(&d, path, err, sizeof err), 0);
    ck_assert_int_eq(fz_dict_load(&d, tokdir, err, sizeof err), 0);
    ck_assert_uint_eq(d.n, 5);
    fz_dict_free(&d);
}
END_TEST


struct collected {
    int n;
    uint8_t data[8][64];
    uint32_t len[8];
};

static void collect(void *ctx, const uint8_t *data, uint32_t len)
{
    struct collected *c = ctx;
    if (c->n < 8 && len <= 64) {
        memcpy(c->data[c->n], data, len);
        c->len[c->n++] = len;
    }
}

/* Input-to-state: the compared operand's bytes replace the input's where they occur
 * (as they are and byte-swapped); a string may extend the input. */
START_TEST(compared_values_go_into_the_input)
{
    uint8_t scratch[64];
    struct collected got = { 0 };
    const uint8_t input[] = { 'x', 0x11, 0x22, 0x33, 0x44, 'y' };
    struct fz_compare c = { .size = 4, .a_len = 4 };
    uint32_t a = 0x44332211, b = 0x5a46484d; /* the input held a (little-endian) */
    memcpy(c.a, &a, 4);
    memcpy(c.b, &b, 4);
    ck_assert_uint_eq(fz_i2s_candidates(input, sizeof input, &c, 1, 64, scratch, collect, &got, 16), 1);
    ck_assert_mem_eq(got.data[0], "xMHFZy", 6);

    /* big-endian in the input: found byte-swapped */
    got.n = 0;
    const uint8_t be[] = { 0x44, 0x33, 0x22, 0x11 };
    ck_assert_uint_eq(fz_i2s_candidates(be, 4, &c, 1, 64, scratch, collect, &got, 16), 1);
    ck_assert_mem_eq(got.data[0], "ZFHM", 4);

    /* a string compare: "pa" in the input becomes "password", longer than the input */
    got.n = 0;
    struct fz_compare s = { .size = 8, .a_len = 2 };
    memcpy(s.a, "pa", 2);
    memcpy(s.b, "password", 8);
    const uint8_t text[] = { 'i', 'd', 'p', 'a' };
    ck_assert_uint_eq(fz_i2s_candidates(text, 4, &s, 1, 64, scratch, collect, &got, 16), 1);
    ck_assert_uint_eq(got.len[0], 10);
    ck_assert_mem_eq(got.data[0], "idpassword", 10);
    /* never past max_len, and within the budget */
    got.n = 0;
    ck_assert_uint_eq(fz_i2s_candidates(text, 4, &s, 1, 6, scratch, collect, &got, 16), 1);
    ck_assert_uint_eq(got.len[0], 6);
    ck_assert_uint_eq(fz_i2s_candidates(text, 4, &s, 1, 64, scratch, collect, &got, 0), 0);
    /* a compare of equal operands (the hooks log every compare) gives nothing */
    got.n = 0;
    struct fz_compare eq = { .size = 4, .a_len = 4 };
    memcpy(eq.a, &a, 4);
    memcpy(eq.b, &a, 4);
    ck_assert_uint_eq(fz_i2s_candidates(input, sizeof input, &eq, 1, 64, scratch, collect, &got, 16), 0);
}
END_TEST

/* An AFL++ CMPLOG map's key as the 4.x runtime writes it (header: hits:24 id:24 shape:5
 * type:2 from bit 0): instruction operands of shape+1 bytes, one slot a hit, repeats
 * dropped; a routine's strings in two slots a hit, lengths masked and bounded; a
 * guest's header saying more hits than slots reads only the slots there are. */
static uint64_t afl_header(unsigned hits, unsigned shape, unsigned type)
{
    return (uint64_t)hits | (uint64_t)shape << 48 | (uint64_t)type << 53;
}

START_TEST(afl_cmplog_map_keys_become_compares)
{
    uint8_t slots[FZ_AFL_CMP_KEY_BYTES] = { 0 };
    struct fz_compare out[64];
    uint64_t v0 = 0x6867666564636261ull, v1 = 0x31764b4c42504d53ull;
    for (int i = 0; i < 3; i++) { /* three hits, the third another pair */
        memcpy(slots + i * 32, &v0, 8);
        memcpy(slots + i * 32 + 8, &v1, 8);
    }
    slots[2 * 32] = 'X';
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(3, 7, 1), slots, out, 64), 2);
    ck_assert_uint_eq(out[0].size, 8);
    ck_assert_uint_eq(out[0].a_len, 8);
    ck_assert_mem_eq(out[0].a, "abcdefgh", 8);
    ck_assert_mem_eq(out[0].b, "SMPBLKv1", 8);
    ck_assert_mem_eq(out[1].a, "Xbcdefgh", 8);
    /* a 4-byte compare: 4 bytes of each */
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(1, 3, 1), slots, out, 64), 1);
    ck_assert_uint_eq(out[0].size, 4);
    ck_assert_mem_eq(out[0].b, "SMPB", 4);
    /* 16 bytes: the high halves from the third and fourth words */
    memcpy(slots + 16, "ijklmnop", 8);
    memcpy(slots + 24, "KLMNOPQR", 8);
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(1, 15, 1), slots, out, 64), 1);
    ck_assert_mem_eq(out[0].a, "abcdefghijklmnop", 16);
    ck_assert_mem_eq(out[0].b, "SMPBLKv1KLMNOPQR", 16);
    /* hits past the slots: 32 read, no more; cap respected */
    ck_assert_uint_eq(fz_afl_cmp_key_slots(afl_header(0xffffff, 7, 1)), 32);
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(0xffffff, 7, 1), slots, out, 1), 1);
    /* a routine: v0[31] v0_len v1[31] v1_len, the length's 0x80 bit masked */
    memset(slots, 0, sizeof slots);
    memcpy(slots, "unlo", 4);
    slots[31] = 0x80 | 4;
    memcpy(slots + 32, "unlock-me!", 10);
    slots[63] = 10;
    ck_assert_uint_eq(fz_afl_cmp_key_slots(afl_header(1, 9, 2)), 2);
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(1, 9, 2), slots, out, 64), 1);
    ck_assert_uint_eq(out[0].a_len, 4);
    ck_assert_uint_eq(out[0].size, 10);
    ck_assert_mem_eq(out[0].b, "unlock-me!", 10);
    /* lengths a hostile guest wrote are bounded; a routine's hits past 8 read 16 slots */
    slots[31] = 0x7f;
    slots[63] = 0xff;
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(1, 9, 2), slots, out, 64), 1);
    ck_assert_uint_le(out[0].a_len, 31);
    ck_assert_uint_le(out[0].size, 31);
    ck_assert_uint_eq(fz_afl_cmp_key_slots(afl_header(100, 9, 2)), 16);
    /* no hits or an unknown type: nothing */
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(0, 7, 1), slots, out, 64), 0);
    ck_assert_uint_eq(fz_afl_cmp_key(afl_header(5, 7, 3), slots, out, 64), 0);
}
END_TEST

static void longest(void *ctx, const uint8_t *data, uint32_t len)
{
    (void)data;
    uint32_t *most = ctx;
    if (len > *most)
        *most = len;
}

/* A cap larger than one input (two buffers of 1 MiB made symbolic before the snapshot
 * once summed to 2 MiB) never makes a candidate longer than FZ_MAX_INPUT: the scratch
 * and the campaign's input buffer hold that much (this build has ASan). */
START_TEST(compared_values_never_grow_an_input_past_the_limit)
{
    uint8_t *input = calloc(1, FZ_MAX_INPUT), *scratch = malloc(FZ_MAX_INPUT);
    ck_assert_ptr_nonnull(input);
    ck_assert_ptr_nonnull(scratch);
    memcpy(input + FZ_MAX_INPUT - 2, "pa", 2);
    struct fz_compare s = { .size = 32, .a_len = 2 };
    memcpy(s.a, "pa", 2);
    memset(s.b, 'p', 32);
    uint32_t most = 0;
    ck_assert_uint_eq(fz_i2s_candidates(input, FZ_MAX_INPUT, &s, 1, 2 * FZ_MAX_INPUT, scratch,
                                        longest, &most, 4), 1);
    ck_assert_uint_eq(most, FZ_MAX_INPUT);
    free(input);
    free(scratch);
}
END_TEST


/* The schedule mutates the entry that reaches a rare edge more than its share. */
START_TEST(rare_edges_are_favoured)
{
    struct fz_queue q = { 0 };
    uint8_t trace[64] = { 0 };
    uint32_t hits[64] = { 0 };
    for (int i = 0; i < 10; i++) {
        struct fz_entry *e = fz_queue_add(&q, (const uint8_t *)"x", 1, FZ_FROM_SEED);
        memset(trace, 0, sizeof trace);
        trace[1] = 1;                /* every entry: a common edge */
        if (i == 7)
            trace[40] = 1;           /* one entry: a rare one too */
        fz_entry_set_edges(e, trace, sizeof trace);
        fz_count_hits(hits, trace, sizeof trace);
    }
    for (int i = 0; i < 1000; i++)
        hits[1]++;
    ck_assert_uint_eq(hits[40], 1);
    struct fz_rng r;
    fz_rng_seed(&r, 1);
    int rare = 0;
    for (int i = 0; i < 1000; i++)
        rare += fz_pick(&q, hits, &r) == 7;
    ck_assert_int_gt(rare, 200); /* uniform would be about 100 */
    fz_queue_free(&q);
}
END_TEST


/* tmin's search alone, with an oracle: the failure needs "BUG" somewhere. */
START_TEST(tmin_keeps_what_the_failure_needs)
{
    const char *input = "aaaaaaaaBUGbbbbbbbbbbbbbbbbbbbbb";
    struct fz_tmin t;
    ck_assert_int_eq(fz_tmin_init(&t, (const uint8_t *)input, (uint32_t)strlen(input)), 0);
    int rounds = 0;
    while (fz_tmin_next(&t) && rounds++ < 10000) {
        ck_assert_uint_ge(t.cand_len, 1);
        bool fails = memmem(t.cand, t.cand_len, "BUG", 3) != NULL;
        fz_tmin_outcome(&t, fails);
    }
    ck_assert_uint_eq(t.len, 3);
    ck_assert_mem_eq(t.best, "BUG", 3);
    fz_tmin_free(&t);
}
END_TEST

/* The order in which a campaign takes its next input: a resumed campaign's known
 * crashes, the seeds, trimming, the solver's urgent then other inputs, a due concolic
 * run, input-to-state candidates and the other instances' finds (taking turns with
 * mutation), then mutation; explore ends where a campaign would mutate. */
START_TEST(next_input_priority_order)
{
    struct fz_campaign c;
    memset(&c, 0, sizeof c);
    c.lock_fd = -1;
    c.cfg.mode = FUZZ_CAMPAIGN;
    c.cfg.concolic_every = 1;
    c.n.execs = 10;
    c.input_cap = 64;
    c.cur.data = malloc(FZ_MAX_INPUT);
    ck_assert_ptr_nonnull(c.cur.data);
    ck_assert_int_eq(fz_campaign_set_map(&c, 16), 0); /* a map: solver inputs run natively */
    const uint8_t b[4] = "abcd";
    fz_queue_add(&c.queue, b, 4, FZ_FROM_SEED);
    fz_queue_add(&c.known, b, 4, FZ_FROM_KNOWN_CRASH);
    fz_queue_add(&c.urgent, b, 4, FZ_FROM_SOLVER);
    fz_queue_add(&c.pending, b, 4, FZ_FROM_SOLVER);
    fz_queue_add(&c.cmp_pending, b, 4, FZ_FROM_CMPLOG);
    fz_queue_add(&c.synced, b, 4, FZ_FROM_SYNC);
    fz_queue_add(&c.recheck, b, 4, FZ_FROM_RECHECK);
    fz_queue_add(&c.orders, b, 4, FZ_FROM_ORDER);
    c.seeds_left = 1;
    ck_assert_int_eq(fz_tmin_init(&c.trim, b, 4), 0);
    c.trimming = true;
    static const struct {
        enum fz_source src;
        enum fz_origin origin;
        bool concolic;
    } order[] = {
        { FZ_NEXT_KNOWN, FZ_FROM_KNOWN_CRASH, false }, { FZ_NEXT_SEED, FZ_FROM_SEED, false },
        { FZ_NEXT_TRIM, FZ_FROM_TRIM, false },         { FZ_NEXT_RECHECK, FZ_FROM_RECHECK, false },
        { FZ_NEXT_URGENT, FZ_FROM_SOLVER, false },
        { FZ_NEXT_PENDING, FZ_FROM_SOLVER, false },    { FZ_NEXT_CONCOLIC, FZ_FROM_SEED, true },
        { FZ_NEXT_ORDER, FZ_FROM_ORDER, false }, /* an even execution: after the solver's */
        { FZ_NEXT_CMPLOG, FZ_FROM_CMPLOG, false },     { FZ_NEXT_SYNC, FZ_FROM_SYNC, false },
        { FZ_NEXT_MUTATION, FZ_FROM_MUTATION, false },
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        /* right after trimming, choose still names it: next finds it through and goes on */
        bool after_trim = i > 0 && order[i - 1].src == FZ_NEXT_TRIM;
        ck_assert_msg(after_trim || fz_campaign_choose(&c) == order[i].src,
                      "step %zu: source %d, not %d", i, fz_campaign_choose(&c), order[i].src);
        ck_assert(fz_campaign_next(&c));
        ck_assert_int_eq(c.cur.origin, order[i].origin);
        ck_assert_int_eq(c.cur.concolic, order[i].concolic);
        if (order[i].src == FZ_NEXT_TRIM) { /* its candidates all tried */
            while (fz_tmin_next(&c.trim))
                fz_tmin_outcome(&c.trim, false);
        }
    }
    ck_assert(!c.trimming);
    ck_assert(c.queue.entries[0].concolic_done);
    /* while a concolic run's solving goes on in the background, no other is due */
    fz_queue_add(&c.queue, b, 4, FZ_FROM_SEED);
    c.n.execs = 100;
    ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_CONCOLIC);
    c.solving = true;
    ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_MUTATION);
    c.solving = false;
    c.queue.entries[c.queue.n - 1].concolic_done = true;
    /* the compare log's candidates take turns with mutation (every other execution) */
    fz_queue_add(&c.cmp_pending, b, 4, FZ_FROM_CMPLOG);
    c.n.execs = 11;
    ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_MUTATION);
    c.n.execs = 12;
    ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_CMPLOG);
    ck_assert(fz_campaign_next(&c));
    /* explore: nothing left to run concolically and no input waiting: done */
    c.cfg.mode = FUZZ_EXPLORE;
    ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_NONE);
    fz_campaign_close(&c);
}
END_TEST

/* The judgment of executions, VM-free: a new edge joins the queue with AFL++'s file
 * name, a crash is saved once per new crashing path with its note, a reported bug is a
 * crash file of its own kind, symhv's own failure is counted and never saved. */
/* A campaign on a fresh out_dir (written into out, 512 bytes) with one seed and a map of
 * map_len bytes (0: none). */
static void open_campaign(struct fz_campaign *c, char *out, size_t map_len)
{
    const char *dir = test_temp_dir(), *seeds = test_temp_dir();
    snprintf(out, 512, "%s/out", dir);
    ck_assert_int_eq(write_file_atomic(seeds, "a", "seed", 4), 0);
    struct fuzz_config cfg = { .mode = FUZZ_CAMPAIGN, .in_dir = seeds, .out_dir = out, .seed = 1 };
    ck_assert_int_eq(fz_campaign_open(c, &cfg), 0);
    ck_assert_int_eq(fz_campaign_set_map(c, map_len), 0);
}

/* open_campaign with a map of 64 bytes, and its seed run: it covers edge 3. */
static void open_campaign_run_seed(struct fz_campaign *c, char *out)
{
    open_campaign(c, out, 64);
    c->input_cap = 64;
    c->seeds_left = c->queue.n;
    ck_assert(fz_campaign_next(c)); /* the seed */
    memset(c->trace, 0, 64);
    c->trace[3] = 1;
    fz_campaign_judge(c, FZ_OK, 0, NULL, 0);
    ck_assert_uint_eq(c->edges, 1);
}

START_TEST(executions_are_judged_into_the_out_dir)
{
    char out[512];
    struct fz_campaign c;
    open_campaign_run_seed(&c, out);
    ck_assert(fz_campaign_next(&c)); /* a mutation that reaches a new edge */
    memset(c.trace, 0, 64);
    c.trace[3] = c.trace[9] = 1;
    fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
    ck_assert_uint_eq(c.queue.n, 2);
    ck_assert_uint_eq(c.edges, 2);
    ck_assert_ptr_nonnull(strstr(c.queue.entries[1].file, ",+cov"));
    /* a crash, twice on the same path: one file, two counted (not trimming meanwhile) */
    c.trimming = false;
    for (int k = 0; k < 2; k++) {
        ck_assert(fz_campaign_next(&c));
        ck_assert_int_eq(c.cur.origin, FZ_FROM_MUTATION);
        memset(c.trace, 0, 64);
        c.trace[5] = 1;
        c.cur.signal = 11;
        fz_campaign_judge(&c, FZ_CRASH, 0, "page fault at rip 0x401000", 0);
    }
    ck_assert_uint_eq(c.n.crashes, 1);
    ck_assert_uint_eq(c.n.total_crashes, 2);
    /* a reported bug on another path, and symhv's own failure */
    ck_assert(fz_campaign_next(&c));
    memset(c.trace, 0, 64);
    c.trace[7] = 1;
    c.cur.signal = 0;
    fz_campaign_judge(&c, FZ_BUG, 0, "the input starts with BUG!", 0);
    ck_assert(fz_campaign_next(&c));
    fz_campaign_judge(&c, FZ_FAILED, 0, "an access to trapped guest RAM could not be served", 0);
    ck_assert_uint_eq(c.n.crashes, 2);
    ck_assert_uint_eq(c.n.bugs_reported, 1);
    ck_assert_uint_eq(c.n.symhv_failures, 1);
    char crashes[600], notes[600];
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    snprintf(notes, sizeof notes, "%s/crash-notes", out);
    ck_assert_uint_eq(fz_count_files(crashes), 2);
    ck_assert_uint_eq(fz_count_files(notes), 2);
    struct dirent **names;
    int n = scandir(crashes, &names, NULL, alphasort);
    bool sig11 = false, bug = false;
    for (int i = 0; i < n; i++) {
        sig11 |= strstr(names[i]->d_name, "id:000000,sig:11,") != NULL;
        bug |= strstr(names[i]->d_name, "id:000001,bug,") != NULL;
        free(names[i]);
    }
    free(names);
    ck_assert_msg(sig11 && bug, "crash files are not named as AFL++ names them");
    fz_campaign_close(&c);
}
END_TEST

/* fuzzer_stats as afl-whatsup reads it: a seed keeps its file's name (orig:), an entry not
 * yet mutated is pending, and a queue cycle is done once every entry was mutated in it
 * (symhv's schedule picks entries at random, so the cycle is counted, not walked). */
START_TEST(queue_cycles_and_pending_entries_are_counted)
{
    char out[512], value[64];
    struct fz_campaign c;
    open_campaign_run_seed(&c, out);
    ck_assert_str_eq(c.queue.entries[0].file, "id:000000,orig:a");
    c.trimming = false;
    struct fz_vm_figures vm = { 0 };
    fz_campaign_write_stats(&c, &vm);
    ck_assert_int_eq(fz_stats_value(out, "pending_total", value, sizeof value), 0);
    ck_assert_str_eq(value, "1");
    ck_assert_int_eq(fz_stats_value(out, "cycles_done", value, sizeof value), 0);
    ck_assert_str_eq(value, "0");
    for (int k = 0; k < 3; k++) { /* one entry: each mutation of it ends a cycle */
        ck_assert(fz_campaign_next(&c));
        ck_assert_int_eq(c.cur.origin, FZ_FROM_MUTATION);
        fz_campaign_judge(&c, FZ_OK, 0, NULL, 0); /* the same edge: nothing new */
    }
    ck_assert_uint_eq(c.queue.n, 1);
    fz_campaign_write_stats(&c, &vm);
    ck_assert_int_eq(fz_stats_value(out, "pending_total", value, sizeof value), 0);
    ck_assert_str_eq(value, "0");
    ck_assert_int_eq(fz_stats_value(out, "cycles_done", value, sizeof value), 0);
    ck_assert_str_eq(value, "3");
    /* the solver is named; a name afl-whatsup's shell could misread is not written */
    ck_assert_int_eq(fz_stats_value(out, "solver_backend", value, sizeof value), 0);
    ck_assert_str_eq(value, "none");
    vm.solver = "z3-fresh";
    fz_campaign_write_stats(&c, &vm);
    ck_assert_int_eq(fz_stats_value(out, "solver_backend", value, sizeof value), 0);
    ck_assert_str_eq(value, "z3-fresh");
    vm.solver = "z3\"$(id)";
    fz_campaign_write_stats(&c, &vm);
    ck_assert_int_eq(fz_stats_value(out, "solver_backend", value, sizeof value), 0);
    ck_assert_str_eq(value, "unknown");
    fz_campaign_close(&c);
}
END_TEST

/* The start of a text file ("" if it cannot be read). */
static void read_note(const char *path, char *text, size_t size)
{
    text[0] = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        text[fread(text, 1, size - 1, f)] = 0;
        fclose(f);
    }
}

/* Without a map, crashes are told apart by their kind, rip and first return addresses:
 * one abort() reached from two callers is two crashes; the same place with another fault
 * address or deeper frames is one; the output's end goes into the crash's note. */
START_TEST(crashes_without_a_map_are_told_apart_by_place)
{
    char out[512];
    struct fz_campaign c;
    open_campaign(&c, out, 0);
    c.input_cap = 64;
    c.seeds_left = 0;
    static const char *const whys[] = {
        "guest program killed by SIGABRT at rip 0x401737, stack 0x401793 0x4014ee 0x40198f 0x401015",
        "guest program killed by SIGABRT at rip 0x401737, stack 0x401793 0x4014ee 0x40198f 0x999999",
        "guest program killed by SIGABRT at rip 0x401737, stack 0x401793 0x4015aa 0x40198f 0x401015",
        "guest program crashed: page fault (#PF) at rip 0x402000, address 0x10, error code 0x4 (SIGSEGV), stack 0x401000",
        "guest program crashed: page fault (#PF) at rip 0x402000, address 0x20, error code 0x4 (SIGSEGV), stack 0x401000",
    };
    static const char tail[] = "Assertion failed: x (t.c: f: 12)\n";
    for (size_t k = 0; k < sizeof whys / sizeof whys[0]; k++) {
        ck_assert(fz_campaign_next(&c));
        c.cur.signal = k < 3 ? 6 : 11;
        c.cur.output = tail;
        c.cur.output_len = sizeof tail - 1;
        fz_campaign_judge(&c, FZ_CRASH, 0, whys[k], 0);
    }
    ck_assert_uint_eq(c.n.total_crashes, 5);
    ck_assert_uint_eq(c.n.crashes, 3); /* two callers of abort, one page fault */
    char notes[600];
    snprintf(notes, sizeof notes, "%s/crash-notes", out);
    struct dirent **names;
    int n = scandir(notes, &names, NULL, alphasort);
    ck_assert_int_ge(n, 3);
    bool said = false;
    for (int i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", notes, names[i]->d_name);
        char text[2048];
        read_note(path, text, sizeof text);
        said |= strstr(text, "the end of its output:\nAssertion failed") != NULL;
        free(names[i]);
    }
    free(names);
    ck_assert_msg(said, "no crash note holds the output's end");
    fz_campaign_close(&c);
}
END_TEST

/* An order of two accesses as text (a crash file's sched: field, --schedule): it reads
 * back as written, malformed ones are refused, and a crash found under one carries it in
 * its name and its note. */
START_TEST(an_order_is_named_in_its_crash_file)
{
    struct fz_order o = { 0x4017be, 0xffffffff810017d7ull, 0x7bb000 }, back;
    char text[FZ_ORDER_TEXT];
    fz_order_format(&o, text, sizeof text);
    ck_assert_str_eq(text, "w4017be.fffffffff810017d7.p7bb000");
    ck_assert_int_eq(fz_order_parse(text, &back), 0);
    ck_assert(back.wait_pc == o.wait_pc && back.for_pc == o.for_pc && back.page == o.page);
    static const char *const bad[] = { "", "w1.f2", "w1.f2.p3", "w1.f2.p1000x", "x1.f2.p1000",
                                       "w.f2.p1000", "w11111111111111111.f2.p1000",
                                       "w1.f2.p1000.", "w1,f2,p1000" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(fz_order_parse(bad[i], &back) < 0, "'%s' taken", bad[i]);
    ck_assert_int_eq(fz_order_from_name("out/crashes/id:000000,sig:11,src:mutation", &back), 0);
    ck_assert_int_eq(fz_order_from_name("id:000001,sig:11,op:mutation,sched:w1.f2.p3000", &back), 1);
    ck_assert(back.wait_pc == 1 && back.for_pc == 2 && back.page == 0x3000);
    ck_assert_int_eq(fz_order_from_name("d,op:x,sched:w1.f2.p3000/id:0,op:y,sched:w1.f2", &back), -1);
    ck_assert_int_eq(fz_order_from_name("id:0,op:x,presched:w1.f2.p3000", &back), 0);
    /* another tool's field of that name is no order */
    ck_assert_int_eq(fz_order_from_name("id:000000,time:0,orig:x,sched:w1.f2.p3000", &back), 0);
    ck_assert_int_eq(fz_order_from_name("queue/sched:todo", &back), 0);

    char out[512];
    struct fz_campaign c;
    open_campaign(&c, out, 0);
    c.input_cap = 64;
    c.seeds_left = 0;
    ck_assert(fz_campaign_next(&c));
    c.cur.signal = 11;
    c.cur.has_order = true;
    c.cur.order = o;
    fz_campaign_judge(&c, FZ_CRASH, 0, "guest program crashed: page fault (#PF) at rip 0x4017c5", 0);
    ck_assert(fz_campaign_next(&c));
    ck_assert(!c.cur.has_order); /* each execution says its own */
    char crashes[600];
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    struct dirent **names;
    int n = scandir(crashes, &names, NULL, alphasort);
    bool named = false;
    for (int i = 0; i < n; i++) {
        if (fz_order_from_name(names[i]->d_name, &back) == 1) {
            named = back.wait_pc == o.wait_pc && back.for_pc == o.for_pc && back.page == o.page;
            char note[1400];
            snprintf(note, sizeof note, "%s/crash-notes/%s.txt", out, names[i]->d_name);
            char buf[2048];
            read_note(note, buf, sizeof buf);
            ck_assert_msg(strstr(buf, "schedule: the access at pc 0x4017be") != NULL,
                          "the note does not say the order:\n%s", buf);
        }
        free(names[i]);
    }
    free(names);
    ck_assert_msg(named, "no crash file named with its order");
    fz_campaign_close(&c);
}
END_TEST

/* A race's pair of accesses is tried both ways: on the input that showed it, once, and
 * on every input that joins the queue later; nothing of a trial that runs fine joins. */
START_TEST(a_race_is_tried_both_ways_on_its_input_and_on_new_paths)
{
    char out[512];
    struct fz_campaign c;
    open_campaign(&c, out, 64);
    c.input_cap = 64;
    c.seeds_left = c.queue.n;
    ck_assert(fz_campaign_next(&c)); /* the seed */
    ck_assert(!c.cur.force_order);
    fz_campaign_add_race(&c, 0x401000, 0x402000, 0x5000);
    memset(c.trace, 0, 64);
    c.trace[1] = 1;
    fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
    const struct fz_order want[2] = { { 0x401000, 0x402000, 0x5000 }, { 0x402000, 0x401000, 0x5000 } };
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_ORDER);
        ck_assert(fz_campaign_next(&c));
        ck_assert_int_eq(c.cur.origin, FZ_FROM_ORDER);
        ck_assert(c.cur.force_order);
        ck_assert(!memcmp(&c.cur.forced, &want[k], sizeof want[k]));
        ck_assert(c.cur.len == 4 && !memcmp(c.cur.data, "seed", 4));
        c.trace[7] = 1; /* even new coverage: a trial is no queue entry */
        fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
        c.trace[7] = 0;
    }
    ck_assert_uint_eq(c.queue.n, 1);
    ck_assert_uint_eq(c.n.order_trials, 2);
    fz_campaign_add_race(&c, 0x402000, 0x401000, 0x5000); /* known, either way round */
    ck_assert_uint_eq(c.orders.n, 0);
    ck_assert(fz_campaign_next(&c)); /* a mutation that finds a new edge */
    ck_assert(!c.cur.force_order);
    memset(c.trace, 0, 64);
    c.trace[1] = c.trace[9] = 1;
    fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
    ck_assert_uint_eq(c.queue.n, 2);
    ck_assert_uint_eq(c.orders.n, 2); /* the new entry, both ways */
    for (int k = 0; k < 2; k++) {
        const struct fz_entry *e = &c.orders.entries[k];
        ck_assert(e->len == c.queue.entries[1].len &&
                  !memcmp(e->data, c.queue.entries[1].data, e->len));
        ck_assert(!memcmp(&e->order, &want[k], sizeof want[k]));
    }
    /* waiting trials' inputs past their byte cap: a new race's are counted, not kept */
    c.orders_bytes = FZ_ORDERS_PENDING_BYTES - 1;
    fz_campaign_add_race(&c, 0x403000, 0x404000, 0x6000);
    ck_assert_uint_eq(c.orders.n, 2);
    ck_assert_uint_eq(c.n.orders_dropped, 2);
    fz_campaign_close(&c);
}
END_TEST

/* A crash with a race's order forced is saved only once forcing the order again brings
 * it FZ_ORDER_CONFIRM more times in a row (its file must replay); an order whose crash
 * does not come again is counted, not saved, and the search goes on. */
START_TEST(a_crash_under_a_forced_order_is_confirmed_before_it_is_saved)
{
    char out[512], crashes[600];
    struct fz_campaign c;
    open_campaign(&c, out, 0);
    c.input_cap = 64;
    c.seeds_left = 0;
    snprintf(crashes, sizeof crashes, "%s/crashes", out);
    const struct fz_order flaky = { 0x4012c7, 0x4012a0, 0x40a000 },
                          sure = { 0x4012ae, 0x4012c7, 0x40a000 };
    ck_assert(fz_campaign_next(&c));
    fz_campaign_add_race(&c, flaky.wait_pc, flaky.for_pc, flaky.page); /* both ways */
    fz_campaign_add_race(&c, sure.wait_pc, sure.for_pc, sure.page);
    fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
    ck_assert_uint_eq(c.orders.n, 4);
    /* the flaky order crashes, then crashes again, then does not */
    for (int run = 0; run < 3; run++) {
        ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_ORDER);
        ck_assert(fz_campaign_next(&c));
        ck_assert(c.cur.force_order && !memcmp(&c.cur.forced, &flaky, sizeof flaky));
        ck_assert_uint_eq(c.cur.order_crashes, run);
        c.cur.has_order = true;
        c.cur.order = flaky;
        c.cur.signal = 11;
        fz_campaign_judge(&c, run < 2 ? FZ_CRASH : FZ_OK, 0, "page fault", 0);
        ck_assert_uint_eq(c.n.crashes, 0);
    }
    ck_assert_uint_eq(c.n.orders_flaky, 1);
    ck_assert_uint_eq(fz_count_files(crashes), 0);
    /* the other way round of the flaky pair runs fine; the sure order crashes 1 + 3 times */
    ck_assert(fz_campaign_next(&c));
    fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
    for (int run = 0; run <= FZ_ORDER_CONFIRM; run++) {
        ck_assert(fz_campaign_next(&c));
        ck_assert(c.cur.force_order && !memcmp(&c.cur.forced, &sure, sizeof sure));
        c.cur.has_order = true;
        c.cur.order = sure;
        c.cur.signal = 11;
        fz_campaign_judge(&c, FZ_CRASH, 0, "page fault", 0);
        ck_assert_uint_eq(c.n.crashes, run == FZ_ORDER_CONFIRM);
    }
    ck_assert_uint_eq(fz_count_files(crashes), 1);
    ck_assert_uint_eq(c.n.orders_flaky, 1);
    fz_campaign_close(&c);
}
END_TEST

/* An explore campaign (no map) whose next input is its seed, run concolically. */
static void open_explore_at_its_seed(struct fz_campaign *c, char *out)
{
    open_campaign(c, out, 0);
    c->cfg.mode = FUZZ_EXPLORE;
    c->input_cap = 64;
    c->seeds_left = c->queue.n;
    ck_assert(fz_campaign_next(c));
}

/* explore --races: a search done is not a race search done. The queue runs again,
 * natively, pass after pass, until FZ_RACE_QUIET_PASSES passes in a row find no new race;
 * a pass that finds one starts the count again. Without --races the search ends. */
START_TEST(explore_with_races_runs_the_queue_again_until_passes_find_no_race)
{
    char out[512];
    struct fz_campaign c;
    open_explore_at_its_seed(&c, out);
    fz_campaign_judge(&c, FZ_OK, 0, NULL, 1);
    ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_NONE);
    c.cfg.races = true;
    unsigned runs = 0;
    while (fz_campaign_choose(&c) != FZ_NEXT_NONE) {
        ck_assert(fz_campaign_next(&c));
        ck_assert_int_eq(c.cur.origin, FZ_FROM_RACE_PASS);
        ck_assert(!c.cur.concolic);
        ck_assert(c.cur.len == 4 && !memcmp(c.cur.data, "seed", 4));
        if (++runs == 2) /* the second pass finds a race: its orders run, then passes go on */
            fz_campaign_add_race(&c, 0x401000, 0x402000, 0x5000);
        fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
        while (fz_campaign_choose(&c) == FZ_NEXT_ORDER) {
            ck_assert(fz_campaign_next(&c));
            fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
        }
        ck_assert_uint_le(runs, 10);
    }
    ck_assert_uint_eq(runs, 2 + FZ_RACE_QUIET_PASSES);
    ck_assert_uint_eq(c.queue.n, 1); /* a pass adds nothing */
    fz_campaign_close(&c);
}
END_TEST

/* A concolic run past its limit is no hang: its branch sides count, its input runs again
 * natively, and only a hang there is saved in hangs/. */
START_TEST(a_concolic_run_past_its_limit_is_rechecked_natively)
{
    char out[512];
    struct fz_campaign c;
    open_explore_at_its_seed(&c, out);
    ck_assert(c.cur.concolic);
    fz_campaign_judge(&c, FZ_HANG, 0, NULL, 2);
    ck_assert_uint_eq(c.n.hangs, 0);
    ck_assert_uint_eq(c.n.concolic_timeouts, 1);
    ck_assert_uint_eq(c.edges, 2);
    ck_assert_int_eq(fz_campaign_choose(&c), FZ_NEXT_RECHECK);
    ck_assert(fz_campaign_next(&c));
    ck_assert_int_eq(c.cur.origin, FZ_FROM_RECHECK);
    ck_assert(!c.cur.concolic);
    ck_assert_uint_eq(c.cur.len, 4);
    ck_assert_int_eq(memcmp(c.cur.data, "seed", 4), 0);
    fz_campaign_judge(&c, FZ_HANG, 0, NULL, 0); /* natively too: a hang */
    ck_assert_uint_eq(c.n.hangs, 1);
    char hangs[600];
    snprintf(hangs, sizeof hangs, "%s/hangs", out);
    ck_assert_uint_eq(fz_count_files(hangs), 1);
    /* another one that runs fine natively: nothing saved, nothing added */
    fz_queue_add(&c.recheck, (const uint8_t *)"next", 4, FZ_FROM_RECHECK);
    ck_assert(fz_campaign_next(&c));
    size_t queued = c.queue.n;
    fz_campaign_judge(&c, FZ_OK, 0, NULL, 0);
    ck_assert_uint_eq(c.n.hangs, 1);
    ck_assert_uint_eq(c.queue.n, queued);
    fz_campaign_close(&c);
}
END_TEST

/* explore starts without -i as KLEE does, from the declared size of zeros; fuzz, as
 * afl-fuzz, needs seeds and says so under its own name. */
START_TEST(explore_needs_no_seed_and_fuzz_does)
{
    const char *dir = test_temp_dir();
    char out[512];
    snprintf(out, sizeof out, "%s/explore", dir);
    struct fuzz_config cfg = { .mode = FUZZ_EXPLORE, .out_dir = out, .blank_seed_len = 8 };
    struct fz_campaign c;
    ck_assert_int_eq(fz_campaign_open(&c, &cfg), 0);
    ck_assert_uint_eq(c.queue.n, 1);
    ck_assert_uint_eq(c.queue.entries[0].len, 8);
    ck_assert_mem_eq(c.queue.entries[0].data, "\0\0\0\0\0\0\0\0", 8);
    fz_campaign_close(&c);
    /* --sym-args 1 3 N: a seed per number of arguments, its count byte 0, 1, 2 */
    snprintf(out, sizeof out, "%s/sym-args", dir);
    cfg.out_dir = out;
    cfg.blank_seed_counts = 3;
    cfg.blank_seed_count_at = 7;
    cfg.blank_seed_count_min = 1;
    ck_assert_int_eq(fz_campaign_open(&c, &cfg), 0);
    ck_assert_uint_eq(c.queue.n, 3);
    for (unsigned k = 0; k < 3; k++) {
        ck_assert_uint_eq(c.queue.entries[k].len, 8);
        ck_assert_uint_eq(c.queue.entries[k].data[7], k);
        ck_assert_mem_eq(c.queue.entries[k].data, "\0\0\0\0\0\0\0", 7);
    }
    ck_assert_str_eq(c.queue.entries[2].file, "id:000002,orig:zeros,nargs:3"); /* 1 + 2 */
    fz_campaign_close(&c);
    snprintf(out, sizeof out, "%s/fuzz", dir);
    cfg.out_dir = out;
    cfg.blank_seed_counts = 0;
    cfg.mode = FUZZ_CAMPAIGN;
    ck_assert_int_eq(fz_campaign_open(&c, &cfg), -1);
    fz_campaign_close(&c);
}
END_TEST

/* --sym-args' count is a concrete part of the input: a solver's input (the symbolic parts
 * one after another) gets it back where it was, from the run's input. */
START_TEST(concrete_parts_are_put_back_into_solver_inputs)
{
    struct fz_concrete_parts c = { 0 };
    fz_note_concrete(&c, 6, 1); /* arg1 arg2 arg3 (2 bytes each), then n_args */
    const uint8_t run[7] = { 0, 0, 0, 0, 0, 0, 2 };
    ck_assert(fz_keep_concrete(&c, run, sizeof run));
    uint8_t out[16];
    size_t n = fz_put_back_concrete(&c, (const uint8_t *)"-a-b\0\0", 6, out, sizeof out);
    ck_assert_uint_eq(n, 7);
    ck_assert_mem_eq(out, "-a-b\0\0\2", 7);
    /* one in the middle, and one past the run's input (zeros, as it ran) */
    struct fz_concrete_parts m = { 0 };
    fz_note_concrete(&m, 2, 2);
    fz_note_concrete(&m, 6, 1);
    ck_assert(fz_keep_concrete(&m, (const uint8_t *)"..XY", 4));
    n = fz_put_back_concrete(&m, (const uint8_t *)"abcd", 4, out, sizeof out);
    ck_assert_uint_eq(n, 7);
    ck_assert_mem_eq(out, "abXYcd\0", 7);
    /* the output's room holds */
    ck_assert_uint_eq(fz_put_back_concrete(&m, (const uint8_t *)"abcd", 4, out, 3), 3);
    ck_assert_mem_eq(out, "abX", 3);
    /* too many parts: said, the first kept */
    struct fz_concrete_parts o = { 0 };
    for (unsigned k = 0; k < FZ_MAX_CONCRETE_PARTS + 1; k++)
        fz_note_concrete(&o, k, 1);
    ck_assert(o.overflow);
    ck_assert_uint_eq(o.n, FZ_MAX_CONCRETE_PARTS);
    ck_assert(!fz_keep_concrete(&o, run, sizeof run));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fuzz-lib");
    TCase *tc = tcase_create("fuzz-lib");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mutations_stay_in_bounds_and_change_the_input);
    tcase_add_test(tc, concrete_parts_are_put_back_into_solver_inputs);
    tcase_add_test(tc, coverage_buckets_and_novelty);
    tcase_add_test(tc, atomic_writes_and_corpus_loading);
    tcase_add_test(tc, sync_imports_only_plain_regular_files);
    tcase_add_test(tc, sync_follows_no_symlinks_and_counts_what_it_skips);
    tcase_add_test(tc, resumed_stats_refuse_future_times_and_garbage);
    tcase_add_test(tc, dictionary_tokens);
    tcase_add_test(tc, compared_values_go_into_the_input);
    tcase_add_test(tc, compared_values_never_grow_an_input_past_the_limit);
    tcase_add_test(tc, afl_cmplog_map_keys_become_compares);
    tcase_add_test(tc, rare_edges_are_favoured);
    tcase_add_test(tc, tmin_keeps_what_the_failure_needs);
    tcase_add_test(tc, next_input_priority_order);
    tcase_add_test(tc, executions_are_judged_into_the_out_dir);
    tcase_add_test(tc, queue_cycles_and_pending_entries_are_counted);
    tcase_add_test(tc, crashes_without_a_map_are_told_apart_by_place);
    tcase_add_test(tc, a_concolic_run_past_its_limit_is_rechecked_natively);
    tcase_add_test(tc, an_order_is_named_in_its_crash_file);
    tcase_add_test(tc, a_race_is_tried_both_ways_on_its_input_and_on_new_paths);
    tcase_add_test(tc, a_crash_under_a_forced_order_is_confirmed_before_it_is_saved);
    tcase_add_test(tc, explore_with_races_runs_the_queue_again_until_passes_find_no_race);
    tcase_add_test(tc, explore_needs_no_seed_and_fuzz_does);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
