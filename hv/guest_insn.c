#include "guest_insn.h"

#include <Zydis/Zydis.h>
#include <stdio.h>
#include <string.h>

int guest_insn_decode(const struct guest_as *as, const struct kvm_regs *r,
                      const struct kvm_sregs *s, uint64_t rip, struct guest_insn *out)
{
    memset(out, 0, sizeof *out);
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    size_t n = guest_fetch_insn(as, rip, bytes);
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    ZydisDecodedInstruction d;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    if (n == 0 || !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes, n, &d, ops)))
        return -1;
    out->rip = rip;
    out->len = d.length;
    snprintf(out->mnemonic, sizeof out->mnemonic, "%s", ZydisMnemonicGetString(d.mnemonic));
    ZydisFormatter fmt;
    if (!ZYAN_SUCCESS(ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL)) ||
        !ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&fmt, &d, ops, d.operand_count_visible,
                                                      out->text, sizeof out->text, rip, NULL)))
        snprintf(out->text, sizeof out->text, "%s", out->mnemonic);
    ZydisRegisterContext ctx;
    memset(&ctx, 0, sizeof ctx);
    const uint64_t gpr[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
                               r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    for (int i = 0; i < 16; i++)
        ctx.values[ZYDIS_REGISTER_RAX + i] = gpr[i];
    ctx.values[ZYDIS_REGISTER_RIP] = rip;
    bool mem_operand = false;
    for (unsigned i = 0; i < d.operand_count; i++) {
        const ZydisDecodedOperand *op = &ops[i];
        if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->mem.type == ZYDIS_MEMOP_TYPE_AGEN)
            continue;
        mem_operand |= i < d.operand_count_visible;
        ZyanU64 ea;
        if (out->nmem == GUEST_INSN_MAX_MEM ||
            !ZYAN_SUCCESS(ZydisCalcAbsoluteAddressEx(&d, op, rip, &ctx, &ea)))
            continue;
        if (op->mem.segment == ZYDIS_REGISTER_FS)
            ea += s->fs.base;
        else if (op->mem.segment == ZYDIS_REGISTER_GS)
            ea += s->gs.base;
        out->mem[out->nmem++] = (struct guest_mem_operand){
            .gva = ea,
            .size = op->size ? (op->size + 7) / 8 : 1,
            .read = (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ) != 0,
            .write = (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0,
            .stack = op->mem.base == ZYDIS_REGISTER_RSP,
        };
    }
    out->locked_rmw = (d.attributes & ZYDIS_ATTRIB_HAS_LOCK) ||
                      (d.mnemonic == ZYDIS_MNEMONIC_XCHG && mem_operand);
    return 0;
}

size_t guest_insn_pages(const struct guest_as *as, const struct guest_insn *in, uint64_t *pages,
                        size_t max)
{
    size_t n = 0;
    for (unsigned i = 0; i < in->nmem; i++) {
        uint64_t ea = in->mem[i].gva, size = in->mem[i].size;
        for (uint64_t a = page_floor(ea); a < ea + size && n < max; a += SYMHV_PAGE_SIZE) {
            uint64_t pa;
            if (guest_translate(as, a < ea ? ea : a, false, &pa) == 0)
                pages[n++] = page_floor(pa);
        }
    }
    return n;
}

int guest_insn_before(const struct guest_as *as, const struct kvm_regs *r,
                      const struct kvm_sregs *s, uint64_t end, uint64_t page,
                      struct guest_insn *out)
{
    /* The longest fitting candidate first: a short suffix of a longer instruction often
     * decodes too (a ModRM byte read as an opcode), the instruction itself ends here. */
    for (unsigned len = ZYDIS_MAX_INSTRUCTION_LENGTH; len >= 1; len--) {
        struct guest_insn c;
        if (end < len || guest_insn_decode(as, r, s, end - len, &c) < 0 || c.len != len)
            continue;
        uint64_t pages[8];
        size_t n = guest_insn_pages(as, &c, pages, 8);
        for (unsigned i = 0; i < c.nmem; i++) {
            if (!c.mem[i].write)
                continue;
            for (size_t k = 0; k < n; k++)
                if (pages[k] == page) {
                    *out = c;
                    return 0;
                }
        }
    }
    return -1;
}
