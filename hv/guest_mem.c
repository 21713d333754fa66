#include "guest_mem.h"

#include <string.h>

#include "vcpu.h"

void guest_as_from_sregs(struct guest_as *as, struct vm *vm, const struct kvm_sregs *s, bool user)
{
    *as = (struct guest_as){
        .vm = vm,
        .paging = { .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer },
        .rights = user ? X86_USER : 0,
    };
}

int guest_as_of_vcpu(struct guest_as *as, struct vcpu *v, bool user)
{
    struct kvm_sregs s;
    if (vcpu_get_sregs(v, &s) < 0)
        return -1;
    guest_as_from_sregs(as, v->vm, &s, user);
    as->caller = v;
    return 0;
}

int guest_translate(const struct guest_as *as, uint64_t va, bool write, uint64_t *pa)
{
    return x86_translate(&as->paging, as->vm->mem.ram, as->vm->mem.bytes, va,
                         as->rights | (write ? X86_WRITE : X86_READ), pa);
}

int guest_for_each_chunk(const struct guest_as *as, uint64_t va, uint64_t len, bool write,
                         guest_chunk_fn fn, void *ctx)
{
    if (len == 0 || va + len < va)
        return -1;
    for (uint64_t off = 0; off < len;) {
        uint64_t gpa, n = page_left(va + off);
        if (n > len - off)
            n = len - off;
        if (guest_translate(as, va + off, write, &gpa) < 0 || !vm_gpa_to_host(as->vm, gpa, n))
            return -1;
        if (fn && fn(gpa, n, off, ctx) < 0)
            return -1;
        off += n;
    }
    return 0;
}

struct copy {
    const struct guest_as *as;
    uint8_t *host;
};

static int read_chunk(uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    struct copy *c = ctx;
    memcpy(c->host + off, vm_gpa_to_host(c->as->vm, gpa, n), n);
    return 0;
}

static int write_chunk(uint64_t gpa, uint64_t n, uint64_t off, void *ctx)
{
    struct copy *c = ctx;
    guest_write_phys(c->as->vm, c->as->caller, gpa, c->host + off, n);
    return 0;
}

int guest_read(const struct guest_as *as, uint64_t va, void *dst, size_t len)
{
    struct copy c = { as, dst };
    return len ? guest_for_each_chunk(as, va, len, false, read_chunk, &c) : 0;
}

int guest_write(const struct guest_as *as, uint64_t va, const void *src, size_t len)
{
    /* check the whole range first: a bad range writes nothing */
    if (len && guest_for_each_chunk(as, va, len, true, NULL, NULL) < 0)
        return -1;
    struct copy c = { as, (uint8_t *)src };
    return len ? guest_for_each_chunk(as, va, len, true, write_chunk, &c) : 0;
}

size_t guest_fetch_insn(const struct guest_as *as, uint64_t va, uint8_t bytes[15])
{
    size_t n = 0;
    while (n < 15 && guest_read(as, va + n, &bytes[n], 1) == 0)
        n++;
    return n;
}

int guest_read_string(const struct guest_as *as, uint64_t va, char *buf, size_t max)
{
    size_t n = 0;
    while (n + 1 < max) {
        /* up to the end of the page at once, then look for the NUL */
        size_t chunk = page_left(va + n);
        if (chunk > max - 1 - n)
            chunk = max - 1 - n;
        if (guest_read(as, va + n, buf + n, chunk) < 0)
            return -1;
        void *nul = memchr(buf + n, 0, chunk);
        if (nul)
            return 0;
        n += chunk;
    }
    buf[n] = 0;
    return 0;
}

/* The VMM wrote [gpa, gpa+len): noted for snapshot restores, and told to the trap's
 * owner if it covers trapped RAM (those bytes are concrete now). */
static void wrote_phys(struct vm *vm, struct vcpu *caller, uint64_t gpa, uint64_t len)
{
    memory_note_write(&vm->mem, gpa, len);
    if (!vm->ram_trap || !vm->ram_trap->overwritten || !memory_trapped_count(&vm->mem))
        return;
    for (uint64_t p = page_floor(gpa); p < gpa + len; p += SYMHV_PAGE_SIZE)
        if (memory_is_trapped(&vm->mem, p)) {
            vm->ram_trap->overwritten(caller, gpa, len, vm->ram_trap_opaque);
            break;
        }
}

void guest_write_phys(struct vm *vm, struct vcpu *caller, uint64_t gpa, const void *src,
                      uint64_t len)
{
    uint8_t *h = vm_gpa_to_host(vm, gpa, len);
    if (!h)
        return;
    memcpy(h, src, len);
    wrote_phys(vm, caller, gpa, len);
}

int guest_move_phys(struct vm *vm, struct vcpu *caller, uint64_t dst, uint64_t src, uint64_t len)
{
    uint8_t *d = vm_gpa_to_host(vm, dst, len), *s = vm_gpa_to_host(vm, src, len);
    if (!d || !s)
        return -1;
    memmove(d, s, len);
    wrote_phys(vm, caller, dst, len);
    return 0;
}

int guest_zero_phys(struct vm *vm, struct vcpu *caller, uint64_t gpa, uint64_t len)
{
    uint8_t *h = vm_gpa_to_host(vm, gpa, len);
    if (!h)
        return -1;
    memset(h, 0, len);
    wrote_phys(vm, caller, gpa, len);
    return 0;
}
