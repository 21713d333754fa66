/* The sidecar's session without a VM or a VMM: guest RAM is a buffer holding page tables
 * and a few instructions, the shared slots are ordinary memory, and the test plays the
 * VMM's part (requests in a slot, session_handle, the reply). */
#include <check.h>
#include "../check_main.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "symhv/sidecar.h"

#define RAM_BYTES (1u << 20)
#define CODE 0x10000u
#define INPUT 0x20000u
#define NSLOTS 2u /* one vCPU + the control slot */

/* movzx eax, byte [INPUT]; cmp al, 0x42; je yes; xor eax, eax; jmp end;
 * yes: mov eax, 1; end: hlt */
static const uint8_t program[] = {
    0x0f, 0xb6, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, /* 0: movzx eax, byte [0x20000] */
    0x3c, 0x42,                                     /* 8: cmp al, 0x42 */
    0x74, 0x04,                                     /* 10: je 16 */
    0x31, 0xc0,                                     /* 12: xor eax, eax */
    0xeb, 0x05,                                     /* 14: jmp 21 */
    0xb8, 0x01, 0x00, 0x00, 0x00,                   /* 16: mov eax, 1 */
    0xf4,                                           /* 21: hlt */
};

/* mov eax, [INPUT]; imul eax, eax, 0x9e3779b1; cmp eax, 0x12345678; je +0;
 * movzx ecx, byte [INPUT + 4]; cmp cl, 0x42; je +0; hlt: a product to invert, then a
 * byte compare */
static const uint8_t two_flips[] = {
    0x8b, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00,       /* 0: mov eax, [0x20000] */
    0x69, 0xc0, 0xb1, 0x79, 0x37, 0x9e,             /* 7: imul eax, eax, 0x9e3779b1 */
    0x3d, 0x78, 0x56, 0x34, 0x12,                   /* 13: cmp eax, 0x12345678 */
    0x74, 0x00,                                     /* 18: je 20 */
    0x0f, 0xb6, 0x0c, 0x25, 0x04, 0x00, 0x02, 0x00, /* 20: movzx ecx, byte [0x20004] */
    0x80, 0xf9, 0x42,                               /* 28: cmp cl, 0x42 */
    0x74, 0x00,                                     /* 31: je 33 */
    0xf4,                                           /* 33: hlt */
};

struct fake_vm {
    uint8_t *ram;
    struct sc_shared *shared;
    struct session *session;
};

static void put_entry(uint8_t *ram, uint64_t table, unsigned i, uint64_t v)
{
    memcpy(ram + table + i * 8, &v, 8);
}

static struct fake_vm fake_vm_of(const uint8_t *code, size_t code_len, unsigned first_timeout_ms)
{
    struct fake_vm f;
    f.ram = aligned_alloc(4096, RAM_BYTES);
    ck_assert_ptr_nonnull(f.ram);
    memset(f.ram, 0, RAM_BYTES);
    /* identity map of the first 2 MiB, user and writable: PML4 0x1000, PDPT 0x2000, PD 0x3000 */
    put_entry(f.ram, 0x1000, 0, 0x2000 | 7);
    put_entry(f.ram, 0x2000, 0, 0x3000 | 7);
    put_entry(f.ram, 0x3000, 0, 0x0 | 7 | 0x80);
    memcpy(f.ram + CODE, code, code_len);
    f.ram[INPUT] = 0x07; /* the input's first value: not the magic */

    size_t size = sc_shared_size(NSLOTS, RAM_BYTES);
    f.shared = aligned_alloc(4096, size);
    ck_assert_ptr_nonnull(f.shared);
    memset(f.shared, 0, size);
    f.shared->magic = SC_MAGIC;
    f.shared->version = SC_VERSION;
    f.shared->nslots = NSLOTS;
    f.shared->mem_bytes = RAM_BYTES;
    f.shared->bitmap_offset = sc_bitmap_offset(NSLOTS);
    f.shared->written_offset = sc_written_offset(NSLOTS, RAM_BYTES);
    f.shared->data_offset = sc_data_offset(NSLOTS, RAM_BYTES);
    struct session_config cfg = {
        .ram = f.ram, .ram_bytes = RAM_BYTES, .shared = f.shared, .solver_timeout_ms = 10000,
        .first_timeout_ms = first_timeout_ms,
    };
    f.session = session_create(&cfg);
    ck_assert_ptr_nonnull(f.session);
    return f;
}

static struct fake_vm fake_vm(void)
{
    return fake_vm_of(program, sizeof program, 0);
}

static void free_fake_vm(struct fake_vm *f)
{
    session_free(f->session);
    free(f->shared);
    free(f->ram);
}

static struct sc_cpu long_mode_cpu(uint64_t rip)
{
    return (struct sc_cpu){ .rip = rip, .rflags = 2, .cr0 = 0x80010001, .cr3 = 0x1000,
                            .cr4 = 0x20, .efer = 0xd00, .cpl = 3 };
}

static bool symbolic_bit(struct fake_vm *f, uint64_t gpa)
{
    const uint64_t *bits = (const uint64_t *)((uint8_t *)f->shared + f->shared->bitmap_offset);
    return bits[gpa / 64] >> (gpa % 64) & 1;
}

/* MAKE_SYMBOLIC of `len` bytes at INPUT, as input "in". */
static void mark_input(struct fake_vm *f, struct sc_slot *vcpu, uint32_t len)
{
    vcpu->op = SC_OP_MAKE_SYMBOLIC;
    snprintf(vcpu->name, sizeof vcpu->name, "in");
    vcpu->input_len = len;
    vcpu->nextents = 1;
    vcpu->extents[0] = (struct sc_extent){ INPUT, len, 0 };
    vcpu->cpu = long_mode_cpu(CODE);
    session_handle(f->session, vcpu);
    ck_assert_int_eq(vcpu->status, SC_OK);
}

/* HANDOFF at CODE (it runs to a concrete stop), then FINISH; both must succeed. */
static void run_and_finish(struct fake_vm *f, struct sc_slot *vcpu, struct sc_slot *control)
{
    vcpu->op = SC_OP_HANDOFF;
    vcpu->cpu = long_mode_cpu(CODE);
    session_handle(f->session, vcpu);
    ck_assert_int_eq(vcpu->status, SC_OK);
    control->op = SC_OP_FINISH;
    session_handle(f->session, control);
    ck_assert_int_eq(control->status, SC_OK);
}

START_TEST(marked_byte_is_interpreted_and_solved_for_the_other_branch)
{
    struct fake_vm f = fake_vm();
    struct sc_slot *vcpu = &f.shared->slots[0], *control = &f.shared->slots[1];

    mark_input(&f, vcpu, 1);
    ck_assert_int_eq(vcpu->input_id, 0);
    ck_assert(symbolic_bit(&f, INPUT));
    ck_assert(!symbolic_bit(&f, INPUT + 1));

    /* a range that leaves RAM is refused, nothing changes */
    vcpu->extents[0] = (struct sc_extent){ RAM_BYTES - 1, 2, 0 };
    vcpu->input_len = 2;
    session_handle(f.session, vcpu);
    ck_assert_int_eq(vcpu->status, SC_FAILED);

    vcpu->op = SC_OP_HANDOFF;
    vcpu->cpu = long_mode_cpu(CODE);
    session_handle(f.session, vcpu);
    ck_assert_int_eq(vcpu->status, SC_OK);
    ck_assert_msg(vcpu->stop == SC_STOP_CONCRETE, "stopped %u at 0x%llx: %s", vcpu->stop,
                  (unsigned long long)vcpu->cpu.rip, vcpu->message);
    ck_assert_uint_eq(vcpu->cpu.rip, CODE + 14); /* after `xor eax, eax`: concrete again */
    ck_assert_uint_eq(vcpu->cpu.gpr[0], 0);
    ck_assert_uint_eq(vcpu->instructions, 4);

    control->op = SC_OP_FINISH;
    session_handle(f.session, control);
    ck_assert_int_eq(control->status, SC_OK);
    ck_assert_uint_eq(control->stats.branches, 1);
    ck_assert_uint_eq(control->stats.flipped_sat, 1);
    ck_assert_uint_eq(control->stats.results, 1);

    control->op = SC_OP_RESULT;
    control->index = 0;
    control->input = 0;
    session_handle(f.session, control);
    ck_assert_int_eq(control->status, SC_OK);
    ck_assert_uint_eq(control->result.input_len, 1);
    ck_assert_uint_eq(control->result.pc, CODE + 10);
    const uint8_t *data = (const uint8_t *)f.shared + f.shared->data_offset;
    ck_assert_uint_eq(data[0], 0x42); /* the input that takes `je` */

    control->op = SC_OP_TEXT;
    control->index = SC_TEXT_CONSTRAINTS;
    control->gpa = 0;
    session_handle(f.session, control);
    ck_assert_int_eq(control->status, SC_OK);
    ck_assert_uint_gt(control->data_len, 0);
    free_fake_vm(&f);
}
END_TEST

/* PIN: the bytes keep their values as constraints and leave the shadow; CONCRETISE:
 * they leave it without a constraint. */
START_TEST(pinned_bytes_become_constraints)
{
    struct fake_vm f = fake_vm();
    struct sc_slot *vcpu = &f.shared->slots[0], *control = &f.shared->slots[1];
    mark_input(&f, vcpu, 2);

    vcpu->op = SC_OP_PIN;
    vcpu->gpa = INPUT;
    vcpu->len = 1;
    session_handle(f.session, vcpu);
    ck_assert_int_eq(vcpu->status, SC_OK);
    ck_assert(!symbolic_bit(&f, INPUT));
    ck_assert(symbolic_bit(&f, INPUT + 1));
    vcpu->op = SC_OP_CONCRETISE;
    vcpu->gpa = INPUT + 1;
    session_handle(f.session, vcpu);
    ck_assert(!symbolic_bit(&f, INPUT + 1));

    /* now the handoff finds nothing symbolic: no branch */
    run_and_finish(&f, vcpu, control);
    ck_assert_uint_eq(control->stats.pinned_bytes, 1);
    ck_assert_uint_eq(control->stats.constraints, 1);
    ck_assert_uint_eq(control->stats.branches, 0);
    free_fake_vm(&f);
}
END_TEST

/* FINISH asks in two passes (a first timeout of 1 ms here, so the product is likely
 * cut short in the first): whichever pass answers, both flips give their inputs, and
 * the product's input really inverts it. */
START_TEST(two_passes_lose_no_flip)
{
    for (unsigned first = 0; first <= 1; first++) { /* one pass, then two */
        struct fake_vm f = fake_vm_of(two_flips, sizeof two_flips, first);
        struct sc_slot *vcpu = &f.shared->slots[0], *control = &f.shared->slots[1];
        mark_input(&f, vcpu, 5);
        run_and_finish(&f, vcpu, control);
        ck_assert_uint_eq(control->stats.branches, 2);
        ck_assert_msg(control->stats.flipped_sat == 2, "first %u ms: %llu sat, %llu unknown, "
                      "%llu deferred", first, (unsigned long long)control->stats.flipped_sat,
                      (unsigned long long)control->stats.flipped_unknown,
                      (unsigned long long)control->stats.flips_deferred);
        ck_assert_uint_eq(control->stats.flipped_unknown, 0);
        if (!first)
            ck_assert_uint_eq(control->stats.flips_deferred, 0);
        bool product = false, byte = false;
        for (uint32_t i = 0; i < control->stats.results; i++) {
            control->op = SC_OP_RESULT;
            control->index = i;
            control->input = 0;
            session_handle(f.session, control);
            ck_assert_int_eq(control->status, SC_OK);
            const uint8_t *data = (const uint8_t *)f.shared + f.shared->data_offset;
            uint32_t x;
            memcpy(&x, data, 4);
            product |= control->result.pc == CODE + 18 && x * 0x9e3779b1u == 0x12345678u;
            byte |= control->result.pc == CODE + 31 && data[4] == 0x42;
        }
        ck_assert_msg(product && byte, "first %u ms: product %d, byte %d", first, product, byte);
        free_fake_vm(&f);
    }
}
END_TEST

/* Twelve products to invert (two_flips' first, on twelve words) with a first timeout of
 * 1 ms: the first pass cuts most short, so its timeout is doubled (a new solver) on the
 * way; every flip still gives its input. */
START_TEST(a_doubled_first_timeout_loses_no_flip)
{
    enum { N = 12, BLOCK = 20 };
    uint8_t code[N * BLOCK + 1];
    for (unsigned i = 0; i < N; i++) { /* mov eax, [INPUT + 4i]; imul; cmp eax, i; je +0 */
        memcpy(code + BLOCK * i, two_flips, BLOCK);
        code[BLOCK * i + 3] = (uint8_t)(4 * i);
        code[BLOCK * i + 14] = (uint8_t)(0x78 + i);
    }
    code[N * BLOCK] = 0xf4; /* hlt */
    struct fake_vm f = fake_vm_of(code, sizeof code, 1);
    struct sc_slot *vcpu = &f.shared->slots[0], *control = &f.shared->slots[1];
    mark_input(&f, vcpu, 4 * N);
    run_and_finish(&f, vcpu, control);
    ck_assert_uint_eq(control->stats.branches, N);
    ck_assert_msg(control->stats.flipped_sat == N && control->stats.flipped_unknown == 0,
                  "%llu sat, %llu unknown, %llu cut short",
                  (unsigned long long)control->stats.flipped_sat,
                  (unsigned long long)control->stats.flipped_unknown,
                  (unsigned long long)control->stats.flips_deferred);
    free_fake_vm(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("unit");
    TCase *tc = tcase_create("session");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, marked_byte_is_interpreted_and_solved_for_the_other_branch);
    tcase_add_test(tc, pinned_bytes_become_constraints);
    tcase_add_test(tc, two_passes_lose_no_flip);
    tcase_add_test(tc, a_doubled_first_timeout_loses_no_flip);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
