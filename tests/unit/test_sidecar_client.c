/* The VMM's side of the sidecar boundary without KVM and without a child process: the
 * client's typed requests (sidecar_client.h) served by the sidecar's session linked into
 * this test (an in-process connection), over guest RAM that is a buffer holding page
 * tables and a few instructions: make_symbolic -> handoff -> finish -> results, text,
 * concretise, reset. */
#include <check.h>
#include "../check_main.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "sidecar_client.h"
#include "util.h"
#include "vm.h"

#define RAM_BYTES (1u << 20)
#define CODE 0x10000u
#define INPUT 0x20000u

/* movzx eax, byte [INPUT]; cmp al, 0x42; je yes; xor eax, eax; jmp end;
 * yes: mov eax, 1; end: hlt */
static const uint8_t program[] = {
    0x0f, 0xb6, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, 0x3c, 0x42, 0x74, 0x04, 0x31, 0xc0,
    0xeb, 0x05, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4,
};

static void *open_session(struct sc_shared *shared, uint8_t *ram, uint64_t ram_bytes)
{
    struct session_config cfg = { .ram = ram, .ram_bytes = ram_bytes, .shared = shared,
                                  .solver_timeout_ms = 10000 };
    return session_create(&cfg);
}

static void serve(void *ctx, struct sc_slot *slot) { session_handle(ctx, slot); }
static void close_session(void *ctx) { session_free(ctx); }

static const struct sidecar_in_process in_process = { open_session, serve, close_session };

static int deaths;
static void on_death(void *ctx, const char *why)
{
    (void)ctx, (void)why;
    deaths++;
}

static void put_entry(uint8_t *ram, uint64_t table, unsigned i, uint64_t v)
{
    memcpy(ram + table + i * 8, &v, 8);
}

/* One vCPU's machine as far as the client looks: RAM with an identity map of 2 MiB. */
static struct vm *fake_vm(void)
{
    struct vm *vm = calloc(1, sizeof *vm);
    ck_assert_ptr_nonnull(vm);
    vm->ncpus = 1;
    vm->mem.bytes = RAM_BYTES;
    vm->mem.ram = aligned_alloc(4096, RAM_BYTES);
    ck_assert_ptr_nonnull(vm->mem.ram);
    memset(vm->mem.ram, 0, RAM_BYTES);
    pthread_mutex_init(&vm->mem.lock, NULL);
    put_entry(vm->mem.ram, 0x1000, 0, 0x2000 | 7);
    put_entry(vm->mem.ram, 0x2000, 0, 0x3000 | 7);
    put_entry(vm->mem.ram, 0x3000, 0, 0x0 | 7 | 0x80);
    memcpy(vm->mem.ram + CODE, program, sizeof program);
    vm->mem.ram[INPUT] = 0x07; /* the input's first value: not the magic */
    return vm;
}

struct got {
    int results;
    uint8_t first;
    uint64_t pc;
};

static bool take(void *ctx, const struct sc_result *r, uint32_t input, uint32_t n,
                 const uint8_t *bytes)
{
    struct got *g = ctx;
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(input, 0);
    ck_assert_uint_eq(r->input_len, 1);
    g->first = bytes[0];
    g->pc = r->pc;
    g->results++;
    return true;
}

START_TEST(requests_reach_the_session_and_the_other_branch_is_solved)
{
    struct vm *vm = fake_vm();
    struct sidecar_config cfg = { .in_process = &in_process, .solver_timeout_ms = 10000 };
    struct sidecar *sc = sidecar_new(vm, &cfg, on_death, NULL);
    ck_assert_ptr_nonnull(sc);
    ck_assert_int_eq(sidecar_start(sc), 0);
    ck_assert(sidecar_alive(sc));
    unsigned control = sidecar_control(sc);
    ck_assert_uint_eq(control, 1);

    char why[SC_MESSAGE_MAX];
    const struct sc_paging pg = { 0x80010001, 0x1000, 0x20, 0xd00, 3 };
    struct sc_extent bad = { RAM_BYTES - 1, 2, 0 };
    ck_assert_int_eq(sidecar_make_symbolic(sc, 0, &pg, "in", 2, &bad, 1, why, sizeof why), 1);
    ck_assert_ptr_nonnull(strstr(why, "leaves guest RAM"));
    struct sc_extent x = { INPUT, 1, 0 };
    ck_assert_int_eq(sidecar_make_symbolic(sc, 0, &pg, "in", 1, &x, 1, why, sizeof why), 0);
    uint64_t pages[SC_MAX_PAGES];
    size_t n = 0;
    ck_assert(sidecar_reply_pages(sc, 0, pages, &n));
    bool listed = false;
    for (size_t i = 0; i < n; i++)
        listed |= pages[i] == INPUT;
    ck_assert_msg(listed, "the input's page is not among the %zu pages the reply names", n);
    ck_assert(sidecar_bitmap(sc)[INPUT / 64] >> (INPUT % 64) & 1);

    struct sc_cpu cpu = { .rip = CODE, .rflags = 2, .cr0 = 0x80010001, .cr3 = 0x1000,
                          .cr4 = 0x20, .efer = 0xd00, .cpl = 3 };
    struct sc_handoff_reply reply;
    ck_assert_int_eq(sidecar_handoff(sc, 0, &cpu, 0, &reply), 0);
    ck_assert_int_eq(reply.stop, SC_STOP_CONCRETE);
    ck_assert_uint_eq(cpu.rip, CODE + 14); /* after `xor eax, eax`: concrete again */
    ck_assert_uint_eq(cpu.gpr[0], 0);

    struct sc_stats st;
    ck_assert_int_eq(sidecar_finish(sc, control, 0, 0, &st, why, sizeof why), 0);
    ck_assert_uint_eq(st.branches, 1);
    ck_assert_uint_eq(st.results, 1);
    struct got got = { 0 };
    ck_assert_int_eq(sidecar_results(sc, control, st.results, 1, take, &got), 0);
    ck_assert_int_eq(got.results, 1);
    ck_assert_uint_eq(got.first, 0x42); /* the input that takes `je` */
    ck_assert_uint_eq(got.pc, CODE + 10);
    struct text t = { 0 };
    ck_assert_int_eq(sidecar_text(sc, control, SC_TEXT_CONSTRAINTS, &t), 0);
    ck_assert_uint_gt(t.len, 0);
    text_free(&t);

    /* a concrete write over the input: its byte leaves the shadow */
    ck_assert_int_eq(sidecar_concretise(sc, 0, INPUT, 1, false, why, sizeof why), 0);
    ck_assert(!(sidecar_bitmap(sc)[INPUT / 64] >> (INPUT % 64) & 1));
    ck_assert_int_eq(sidecar_reset(sc, control), 0);
    ck_assert_int_eq(deaths, 0);
    sidecar_free(sc);
    free(vm->mem.ram);
    free(vm);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sidecar-client");
    TCase *tc = tcase_create("client");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, requests_reach_the_session_and_the_other_branch_is_solved);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
