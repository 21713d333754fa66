#include "native.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE_BYTES 8192
#define SNIPPET_OFFSET 1024 /* code before it: prologue; after it: epilogue */

struct native_runner {
    uint8_t *page;
    uint64_t *slots;  /* host rsp, state pointer, scratch for rax */
    size_t snippet_len;
};

struct emitter {
    uint8_t *p;
};

static void b(struct emitter *e, uint8_t v) { *e->p++ = v; }
static void d32(struct emitter *e, uint32_t v) { memcpy(e->p, &v, 4); e->p += 4; }
static void q64(struct emitter *e, uint64_t v) { memcpy(e->p, &v, 8); e->p += 8; }

/* mov reg, [base + disp32] / mov [base + disp32], reg  (64-bit; base is rax=0 or rdi=7) */
static void mov_mem(struct emitter *e, int store, int reg, int base, uint32_t disp)
{
    b(e, (uint8_t)(0x48 | (reg >= 8 ? 4 : 0)));
    b(e, store ? 0x89 : 0x8b);
    b(e, (uint8_t)(0x80 | ((reg & 7) << 3) | base));
    d32(e, disp);
}

/* movdqu xmm, [base + disp32] / movdqu [base + disp32], xmm */
static void movdqu_mem(struct emitter *e, int store, int xmm, int base, uint32_t disp)
{
    b(e, 0xf3);
    if (xmm >= 8)
        b(e, 0x44);
    b(e, 0x0f);
    b(e, store ? 0x7f : 0x6f);
    b(e, (uint8_t)(0x80 | ((xmm & 7) << 3) | base));
    d32(e, disp);
}

static void mov_rax_imm(struct emitter *e, uint64_t v) { b(e, 0x48); b(e, 0xb8); q64(e, v); }

struct native_runner *native_new(void)
{
    struct native_runner *r = calloc(1, sizeof *r);
    r->page = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r->page == MAP_FAILED)
        abort();
    r->slots = (uint64_t *)(r->page + PAGE_BYTES - 64);
    /* Prologue at 0: save callee-saved registers and the host stack, load the state. */
    struct emitter e = { r->page };
    b(&e, 0x53); b(&e, 0x55);
    b(&e, 0x41); b(&e, 0x54); b(&e, 0x41); b(&e, 0x55);
    b(&e, 0x41); b(&e, 0x56); b(&e, 0x41); b(&e, 0x57);
    mov_rax_imm(&e, (uint64_t)&r->slots[0]);
    b(&e, 0x48); b(&e, 0x89); b(&e, 0x20);           /* mov [rax], rsp */
    mov_rax_imm(&e, (uint64_t)&r->slots[1]);
    b(&e, 0x48); b(&e, 0x89); b(&e, 0x38);           /* mov [rax], rdi */
    for (int i = 0; i < 16; i++)
        movdqu_mem(&e, 0, i, 7, (uint32_t)offsetof(struct cpu_state, xmm[i]));
    b(&e, 0xff); b(&e, 0xb7); d32(&e, offsetof(struct cpu_state, rflags)); /* push [rdi+f] */
    b(&e, 0x9d);                                       /* popfq */
    for (int i = 0; i < 16; i++)
        if (i != 7)
            mov_mem(&e, 0, i, 7, (uint32_t)(8 * i));
    mov_mem(&e, 0, 7, 7, 8 * 7);
    /* jmp to the snippet */
    int32_t rel = (int32_t)(SNIPPET_OFFSET - (e.p - r->page) - 5);
    b(&e, 0xe9);
    d32(&e, (uint32_t)rel);
    return r;
}

void native_free(struct native_runner *r)
{
    munmap(r->page, PAGE_BYTES);
    free(r);
}

uint64_t native_load(struct native_runner *r, const uint8_t *code, size_t len)
{
    memcpy(r->page + SNIPPET_OFFSET, code, len);
    r->snippet_len = len;
    /* Epilogue right after the snippet: store the state back, return to the host. */
    struct emitter e = { r->page + SNIPPET_OFFSET + len };
    b(&e, 0x48); b(&e, 0xa3); q64(&e, (uint64_t)&r->slots[2]);   /* movabs [scratch], rax */
    mov_rax_imm(&e, (uint64_t)&r->slots[1]);
    b(&e, 0x48); b(&e, 0x8b); b(&e, 0x00);                        /* mov rax, [rax] */
    for (int i = 1; i < 16; i++)
        mov_mem(&e, 1, i, 0, (uint32_t)(8 * i));
    for (int i = 0; i < 16; i++)
        movdqu_mem(&e, 1, i, 0, (uint32_t)offsetof(struct cpu_state, xmm[i]));
    b(&e, 0x9c);                                                   /* pushfq */
    b(&e, 0x8f); b(&e, 0x80); d32(&e, offsetof(struct cpu_state, rflags)); /* pop [rax+f] */
    b(&e, 0xfc);                                                   /* cld: the C ABI wants DF=0 */
    b(&e, 0x48); b(&e, 0xb9); q64(&e, (uint64_t)&r->slots[2]);   /* mov rcx, &scratch */
    b(&e, 0x48); b(&e, 0x8b); b(&e, 0x09);                        /* mov rcx, [rcx] */
    mov_mem(&e, 1, 1, 0, 0);                                       /* mov [rax], rcx */
    mov_rax_imm(&e, (uint64_t)&r->slots[0]);
    b(&e, 0x48); b(&e, 0x8b); b(&e, 0x20);                        /* mov rsp, [rax] */
    b(&e, 0x41); b(&e, 0x5f); b(&e, 0x41); b(&e, 0x5e);
    b(&e, 0x41); b(&e, 0x5d); b(&e, 0x41); b(&e, 0x5c);
    b(&e, 0x5d); b(&e, 0x5b); b(&e, 0xc3);
    __builtin___clear_cache((char *)r->page, (char *)r->page + PAGE_BYTES);
    return (uint64_t)(r->page + SNIPPET_OFFSET);
}

void native_run(struct native_runner *r, struct cpu_state *st)
{
    ((void (*)(struct cpu_state *))r->page)(st);
}

int native_owns(const struct native_runner *r, uint64_t addr, size_t len)
{
    uint64_t lo = (uint64_t)r->page;
    return addr >= lo && addr + len <= lo + PAGE_BYTES - 64 && addr + len >= addr;
}
