/* The guest agent's calls, as hypercalls (numbers in include/symhv/abi.h). */
#include "symhv/agent.h"

#include "symhv/abi.h"

/* Programs for symhv's kernel (built with SYMHV_AGENT_MMIO) call through the hypercall
 * page straight from ring 3; elsewhere (the symhv-agent command in a Linux guest) the
 * port, which needs I/O permission. */
long symhv_hypercall(long nr, long arg0, long arg1, long arg2, long arg3)
{
#ifdef SYMHV_AGENT_MMIO
    return symhv_mmio_hypercall(nr, arg0, arg1, arg2, arg3);
#else
    return symhv_port_hypercall(nr, arg0, arg1, arg2, arg3);
#endif
}

int symhv_make_symbolic(void *buf, size_t len, const char *name)
{
    return (int)symhv_hypercall(SYMHV_HC_MAKE_SYMBOLIC, (long)buf, (long)len, (long)name, 0);
}

void symhv_kill(int status, const char *msg)
{
    for (;;) /* the VM stops; never returns */
        symhv_hypercall(SYMHV_HC_KILL, status, (long)msg, 0, 0);
}

int symhv_report_bug(const char *msg)
{
    return (int)symhv_hypercall(SYMHV_HC_REPORT_BUG, (long)msg, 0, 0, 0);
}

int symhv_get_example(void *dst, const void *src, size_t len)
{
    return (int)symhv_hypercall(SYMHV_HC_GET_EXAMPLE, (long)dst, (long)src, (long)len, 0);
}

void symhv_print_expr(const char *name, uint64_t value)
{
    symhv_hypercall(SYMHV_HC_PRINT_EXPR, (long)name, (long)value, 0, 0);
}

void symhv_assume(int cond)
{
    symhv_hypercall(SYMHV_HC_ASSUME, cond, 0, 0, 0);
}

long symhv_fuzz_start(void *buf, size_t maxlen, uint8_t *coverage, size_t map_size)
{
    return symhv_hypercall(SYMHV_HC_FUZZ_START, (long)buf, (long)maxlen, (long)coverage,
                           (long)map_size);
}

long symhv_fuzz_cmplog(void *log, size_t size)
{
    return symhv_hypercall(SYMHV_HC_FUZZ_CMPLOG, (long)log, (long)size, 0, 0);
}

long symhv_fuzz_length(volatile struct symhv_fuzz_length *l)
{
    return symhv_hypercall(SYMHV_HC_FUZZ_LENGTH, (long)l, 0, 0, 0);
}

void symhv_fuzz_end(int status)
{
    symhv_hypercall(SYMHV_HC_FUZZ_END, status, 0, 0, 0);
}

long symhv_fuzz_start_driver(void *buf, size_t maxlen, uint8_t *coverage, size_t map_size,
                             void *cmplog, size_t cmplog_size, volatile struct symhv_fuzz_length *l)
{
    symhv_fuzz_cmplog(cmplog, cmplog_size); /* refused outside symhv fuzz */
    int length_word = symhv_fuzz_length(l) == 0; /* idem */
    long n = symhv_fuzz_start(buf, maxlen, coverage, map_size);
    if (n < 0 || !length_word)
        return n;
    /* symbolic in a concolic run: the cap keeps the solver's choice in */
    return l->len > l->limit ? (long)l->limit : (long)l->len;
}
