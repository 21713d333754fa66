/* Data races between vCPUs (suite races): `--races` on lx_race, two threads adding to
 * one counter on two vCPUs, built with both libcs. Unlocked adds are reported with both
 * pcs in the adding function; a mutex or atomic adds report none (the atomics counted as
 * synchronisation); a statistics counter bumped without a lock is reported and is no
 * crash; explore finds the mode that races and saves it with its input. */
#include <check.h>
#include "check_main.h"
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "symhv_run.h"

static const char *const libcs[] = { "musl", "glibc" };

static const char *prog(int i)
{
    static char buf[2][64];
    snprintf(buf[i], 64, "%%lx_race_%s", libcs[i]);
    return buf[i];
}

/* [start, end) of a function of the program, from nm. */
struct range {
    unsigned long long start, end;
};

static struct range symbol(int libc, const char *name)
{
    struct range r;
    symbol_range(linux_path(libc ? "lx_race_glibc" : "lx_race_musl"), name, &r.start, &r.end);
    return r;
}

static const char *input_file(char mode)
{
    const char *dir = test_temp_dir();
    static char path[2][512];
    static int next;
    char *p = path[next++ % 2];
    snprintf(p, 512, "%s/mode", dir);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fputc(mode, f);
    fclose(f);
    return p;
}

/* One race report: its two accesses' pcs (0 when the writing instruction was not found). */
struct report {
    unsigned long long pc[2];
};

static struct report parse_report(const char *text)
{
    struct report rep = { { 0, 0 } };
    int k = 0;
    for (const char *l = text; l && *l && k < 2; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, "  vCPU ", 7) != 0)
            continue;
        const char *at = strstr(l, " at pc 0x");
        const char *eol = strchr(l, '\n');
        if (at && (!eol || at < eol))
            rep.pc[k] = strtoull(at + 9, NULL, 16);
        k++;
    }
    return rep;
}

static bool in(struct range r, unsigned long long pc) { return pc >= r.start && pc < r.end; }

/* The reports in dir/races/ (files ending in .txt). */
static size_t reports(const char *dir, struct report *out, size_t max)
{
    char races[1024];
    snprintf(races, sizeof races, "%s/races", dir);
    DIR *d = opendir(races);
    size_t n = 0;
    for (struct dirent *e; d && n < max && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 4, ".txt") != 0)
            continue;
        char *text = read_output_file(races, e->d_name, NULL);
        out[n++] = parse_report(text);
        free(text);
    }
    if (d)
        closedir(d);
    return n;
}

/* The figure after `label` in symhv's "races: N found (...)" line. */
static long long figure(const char *err, const char *label)
{
    const char *line = strstr(err, "races: ");
    ck_assert_msg(line != NULL, "no races line in:\n%s", err);
    const char *at = strstr(line, label);
    ck_assert_msg(at != NULL, "no '%s' in:\n%s", label, line);
    while (at > line && at[-1] == ' ')
        at--;
    while (at > line && at[-1] >= '0' && at[-1] <= '9')
        at--;
    return atoll(at);
}

static void run_mode(struct run_result *r, int libc, char mode, const char *out)
{
    run_symhv(r, (const char *const[]){ "run", "--smp", "2", "--races", "--timeout", "300",
                                        "-o", out, "--",
                                        prog(libc), input_file(mode), "1500", NULL });
    ck_assert_msg(r->status == 0, "status %d; stdout:\n%s\nstderr:\n%s", r->status, r->out,
                  r->err);
}

START_TEST(unlocked_adds_are_a_race_with_both_pcs)
{
    const char *out = test_temp_dir();
    struct run_result r;
    run_mode(&r, _i, 'p', out);
    ck_assert_contains(r.out, "race: plain adds");
    ck_assert_contains(r.err, "data race: vCPUs");
    struct report rep[64];
    size_t n = reports(out, rep, 64);
    ck_assert_msg(n >= 1 && figure(r.err, "found") == (long long)n,
                  "%zu race files; stderr:\n%s", n, r.err);
    struct range add = symbol(_i, "add_plain");
    bool both = false;
    for (size_t k = 0; k < n; k++)
        both |= in(add, rep[k].pc[0]) && in(add, rep[k].pc[1]);
    ck_assert_msg(both, "no race with both pcs in add_plain [%llx, %llx); stderr:\n%s",
                  add.start, add.end, r.err);
    run_result_free(&r);
}
END_TEST

/* A mode that must report no race though accesses were seen: `seen` names the figure
 * of symhv's races line that shows they were. */
static void expect_no_race(int libc, char mode, const char *banner, const char *seen)
{
    struct run_result r;
    run_mode(&r, libc, mode, test_temp_dir());
    ck_assert_contains(r.out, banner);
    ck_assert_msg(figure(r.err, seen) > 0, "none of '%s':\n%s", seen, r.err);
    ck_assert_msg(figure(r.err, "found") == 0, "a race reported:\n%s", r.err);
    run_result_free(&r);
}

START_TEST(a_mutex_orders_the_adds_no_race)
{
    expect_no_race(_i, 'l', "race: locked adds", "accesses held");
}
END_TEST

START_TEST(atomic_adds_are_synchronisation_no_race)
{
    expect_no_race(_i, 'a', "race: atomic adds", "pairs with a locked instruction");
}
END_TEST

START_TEST(a_statistics_counter_race_is_reported_and_no_crash)
{
    const char *out = test_temp_dir();
    struct run_result r;
    run_mode(&r, _i, 's', out);
    ck_assert_contains(r.out, "race: counter");
    struct report rep[64];
    size_t n = reports(out, rep, 64);
    struct range stat = symbol(_i, "note_stat"), locked = symbol(_i, "add_locked");
    bool both = false;
    for (size_t k = 0; k < n; k++) {
        both |= in(stat, rep[k].pc[0]) && in(stat, rep[k].pc[1]);
        ck_assert_msg(!in(locked, rep[k].pc[0]) && !in(locked, rep[k].pc[1]),
                      "a race inside the mutex:\n%s", r.err);
    }
    ck_assert_msg(both, "no race with both pcs in note_stat; stderr:\n%s", r.err);
    run_result_free(&r);
}
END_TEST

START_TEST(explore_finds_the_mode_that_races_and_keeps_its_input)
{
    const char *seeds = test_temp_dir(), *out = test_temp_dir();
    char seed[512];
    snprintf(seed, sizeof seed, "%s/seed", seeds);
    FILE *f = fopen(seed, "wb");
    ck_assert_ptr_nonnull(f);
    fputc('l', f);
    fclose(f);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "--smp", "2", "--races", "-i", seeds, "-o",
                                         out, "-t", "30000", "-V", "600", "--", prog(_i), "@@",
                                         "800", NULL });
    ck_assert_msg(r.status == 0, "status %d; stderr:\n%s", r.status, r.err);
    ck_assert_msg(output_value(out, "fuzzer_stats", "races_found") >= 1, "no race counted:\n%s",
                  r.err);
    char races[1024];
    snprintf(races, sizeof races, "%s/races", out);
    DIR *d = opendir(races);
    ck_assert_msg(d != NULL, "no races/ in %s:\n%s", out, r.err);
    bool racing_input = false;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (strncmp(e->d_name, "id:", 3) != 0 || (len > 4 && !strcmp(e->d_name + len - 4, ".txt")))
            continue;
        size_t n;
        char *bytes = read_output_file(races, e->d_name, &n);
        racing_input |= n >= 1 && (bytes[0] == 'p' || bytes[0] == 's');
        free(bytes);
    }
    closedir(d);
    ck_assert_msg(racing_input, "no race saved with an input of a racing mode:\n%s", r.err);
    run_result_free(&r);
}
END_TEST

/* lx_atomicity: a check-then-use of a shared pointer that another thread takes away (for
 * the input 'X') and puts back at once. Plain runs almost never crash it; the order of the
 * two accesses that does (the use right after the take-away, before the put-back) is what
 * schedule control makes. */
static const char *atomicity(int i)
{
    static char buf[2][64];
    snprintf(buf[i], 64, "%%lx_atomicity_%s", libcs[i]);
    return buf[i];
}

static struct range atomicity_symbol(int libc, const char *name)
{
    struct range r;
    symbol_range(linux_path(libc ? "lx_atomicity_glibc" : "lx_atomicity_musl"), name, &r.start,
                 &r.end);
    return r;
}

/* The crash file in dir/crashes whose name carries an order (sched:), or "". */
static void scheduled_crash(const char *dir, char *path, size_t size)
{
    char crashes[1024];
    snprintf(crashes, sizeof crashes, "%s/crashes", dir);
    path[0] = 0;
    DIR *d = opendir(crashes);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strncmp(e->d_name, "id:", 3) == 0 && strstr(e->d_name, ",sched:"))
            snprintf(path, size, "%s/%s", crashes, e->d_name);
    if (d)
        closedir(d);
}

/* One search from a seed that only swaps the pointer: explore must find the input that
 * takes it away and an order between check_then_use and the store in
 * replace_and_put_back that crashes every time it is forced. The crash file's path into
 * crash. */
static void search_for_the_order(int libc, const char *seeds, int search, char *crash,
                                 size_t size)
{
    const char *out = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "explore", "--smp", "2", "--races", "--race-rate",
                                         "1000", "--race-window", "20000", "--until-crash",
                                         "-i", seeds, "-o", out, "-t", "60000", "-V", "600",
                                         "--", atomicity(libc), "@@", "1500", NULL });
    ck_assert_msg(r.status == 0, "search %d: status %d; stderr:\n%s", search, r.status, r.err);
    scheduled_crash(out, crash, size);
    ck_assert_msg(crash[0], "search %d: no crash file with an order (sched:) in %s:\n%s",
                  search, out, r.err);
    size_t n;
    char *bytes = read_output_file(out, crash + strlen(out) + 1, &n);
    ck_assert_msg(n >= 1 && bytes[0] == 'X', "the crash's input does not take the pointer away");
    free(bytes);
    struct fz_order o;
    ck_assert_int_eq(fz_order_from_name(crash, &o), 1);
    /* either way round: the use held until the take-away, or the take-away held until
     * the check (then it goes before the checker's next access, the use) */
    struct range use = atomicity_symbol(libc, "check_then_use"),
                 take = atomicity_symbol(libc, "replace_and_put_back");
    ck_assert_msg((in(use, o.wait_pc) && in(take, o.for_pc)) ||
                      (in(take, o.wait_pc) && in(use, o.for_pc)),
                  "search %d: the order in %s is not between the check-then-use and the "
                  "take-away", search, crash);
    run_result_free(&r);
}

/* Three searches of three find it; the crash replays 10 of 10 times with its order
 * forced; the same order with the input that swaps the pointer is forced and no crash. */
START_TEST(explore_finds_the_order_of_a_check_then_use_and_replay_forces_it)
{
    /* On PVM (no single steps) the orders found replay most times, not every time (the
     * store held until the check: the put-back can come before the use): not asserted
     * there (README, Races). */
    if (access("/sys/module/kvm_pvm", F_OK) == 0) {
        printf("NOT RUN: races: the check-then-use order (%s) on a PVM host: it replays most "
               "times, not 10 of 10\n", _i ? "glibc" : "musl");
        return;
    }
    const char *seeds = test_temp_dir();
    char seed[512], crash[1400];
    snprintf(seed, sizeof seed, "%s/seed", seeds);
    FILE *f = fopen(seed, "wb");
    ck_assert_ptr_nonnull(f);
    fputc('a', f);
    fclose(f);
    for (int search = 0; search < 3; search++)
        search_for_the_order(_i, seeds, search, crash, sizeof crash);
    struct run_result r;
    for (int k = 0; k < 10; k++) {
        run_symhv(&r, (const char *const[]){ "replay", crash, "--smp", "2", "--timeout", "120",
                                             "--", atomicity(_i), "@@", "1500", NULL });
        ck_assert_msg(r.status == 126, "replay %d: status %d\n%s", k, r.status, r.err);
        ck_assert_contains(r.err, "schedule: forced");
        ck_assert_contains(r.err, "SIGSEGV");
        run_result_free(&r);
    }
    const char *field = strstr(crash, ",sched:") + 7;
    char order[128];
    snprintf(order, sizeof order, "%.*s", (int)strcspn(field, ","), field);
    run_symhv(&r, (const char *const[]){ "run", "--smp", "2", "--schedule", order, "--timeout",
                                         "120", "--", atomicity(_i), input_file('a'), "300",
                                         NULL });
    ck_assert_msg(r.status == 0, "status %d with the swapping input\n%s", r.status, r.err);
    ck_assert_contains(r.err, "schedule: forced");
    run_result_free(&r);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("races");
    Suite *s = suite_create("races");
    TCase *run = tcase_create("run");
    tcase_set_timeout(run, 600);
    tcase_add_loop_test(run, unlocked_adds_are_a_race_with_both_pcs, 0, 2);
    tcase_add_loop_test(run, a_mutex_orders_the_adds_no_race, 0, 2);
    tcase_add_loop_test(run, atomic_adds_are_synchronisation_no_race, 0, 2);
    tcase_add_loop_test(run, a_statistics_counter_race_is_reported_and_no_crash, 0, 2);
    suite_add_tcase(s, run);
    TCase *search = tcase_create("explore");
    tcase_set_timeout(search, 900);
    tcase_add_loop_test(search, explore_finds_the_mode_that_races_and_keeps_its_input, 0, 2);
    TCase *order = tcase_create("order");
    tcase_set_timeout(order, 1800);
    tcase_add_loop_test(order, explore_finds_the_order_of_a_check_then_use_and_replay_forces_it,
                        0, 2);
    suite_add_tcase(s, order);
    suite_add_tcase(s, search);
    return run_suite(s);
}
