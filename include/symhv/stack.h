/* A crashed program's call stack without frame pointers or unwind tables, read the same
 * way by the VMM (programs on symhv's kernel) and by symhv-agent (Linux processes, through
 * ptrace): the words from rsp up that are return addresses of the frames below them.
 * Freestanding (fixed-width types only), as abi.h. */
#ifndef SYMHV_STACK_H
#define SYMHV_STACK_H

#include <stdint.h>

/* Reads len bytes at guest address va into buf: 0, or -1 where there is no memory. */
typedef int (*symhv_read_fn)(void *ctx, uint64_t va, void *buf, unsigned len);

/* A function's code past its entry, at most: how far a frame's pc may be from the
 * entry its caller's direct call names. */
#define SYMHV_FRAME_REACH (256u << 10)

/* Does a call end just before va? 0: no; 1: a direct call (e8 rel32), its target in
 * *target; 2: an indirect one (call *reg, *[rip+d32], *[reg+d8/d32], with SIB). */
static inline int symhv_call_before(symhv_read_fn read, void *ctx, uint64_t va, uint64_t *target)
{
    uint8_t b[7]; /* b[k] is the byte at va - 7 + k */
    if (va < 0x1000 || va >= (1ull << 47) || read(ctx, va - 7, b, sizeof b) < 0)
        return 0;
    if (b[2] == 0xe8) {
        int32_t rel = (int32_t)((uint32_t)b[3] | (uint32_t)b[4] << 8 | (uint32_t)b[5] << 16 |
                                (uint32_t)b[6] << 24);
        *target = va + (uint64_t)(int64_t)rel;
        return 1;
    }
    return (b[5] == 0xff && (b[6] & 0xf8) == 0xd0) ||                       /* ff d0+r */
           (b[1] == 0xff && b[2] == 0x15) ||                                 /* ff 15 d32 */
           (b[4] == 0xff && (b[5] & 0xf8) == 0x50 && (b[5] & 7) != 4) ||     /* ff 50+r d8 */
           (b[3] == 0xff && b[4] == 0x54) ||                                 /* ff 54 sib d8 */
           (b[1] == 0xff && (b[2] & 0xf8) == 0x90 && (b[2] & 7) != 4) ||     /* ff 90+r d32 */
           (b[0] == 0xff && b[1] == 0x94)                                    /* ff 94 sib d32 */
               ? 2 : 0;
}

static inline int symhv_leads_to(uint64_t target, uint64_t pc)
{
    return target <= pc && pc - target < SYMHV_FRAME_REACH;
}

/* The return addresses nearest the top of the stack, into frames[max]: of the scan_words
 * words from rsp up, those after a call that leads to the frame below (rip, then the last
 * one taken). A direct call must name a function that may hold the frame below; the
 * return address of an earlier call left on the stack names another. An indirect call
 * cannot be checked: it is taken unless the next direct call found further up may lead to
 * the frame below (then it is taken as stale: a real frame may be lost, the ones above it
 * are still found). Returns how many. slots (NULL: not wanted) gets the stack address
 * each frame's return address was read from. */
static inline unsigned symhv_stack_frame_slots(symhv_read_fn read, void *ctx, uint64_t rip,
                                               uint64_t rsp, unsigned scan_words,
                                               uint64_t *frames, uint64_t *slots, unsigned max)
{
    unsigned found = 0;
    uint64_t inner = rip;
    for (unsigned i = 0; i < scan_words && found < max; i++) {
        uint64_t word, target = 0;
        if (read(ctx, rsp + 8 * i, &word, sizeof word) < 0)
            break;
        int kind = symhv_call_before(read, ctx, word, &target);
        if (kind == 1 && !symhv_leads_to(target, inner))
            continue;
        if (kind == 2) {
            int stale = 0;
            for (unsigned j = i + 1; j < scan_words; j++) {
                uint64_t next, t = 0;
                if (read(ctx, rsp + 8 * j, &next, sizeof next) < 0)
                    break;
                if (symhv_call_before(read, ctx, next, &t) != 1)
                    continue;
                if (symhv_leads_to(t, inner)) { /* first: functions lie close together */
                    stale = 1;
                    break;
                }
                if (symhv_leads_to(t, word))
                    break; /* it calls toward this one: a real frame */
            }
            if (stale)
                continue;
        }
        if (kind == 0)
            continue;
        if (slots)
            slots[found] = rsp + 8 * i;
        frames[found++] = word;
        inner = word;
    }
    return found;
}

static inline unsigned symhv_stack_frames(symhv_read_fn read, void *ctx, uint64_t rip,
                                          uint64_t rsp, unsigned scan_words, uint64_t *frames,
                                          unsigned max)
{
    return symhv_stack_frame_slots(read, ctx, rip, rsp, scan_words, frames, 0, max);
}

#endif
