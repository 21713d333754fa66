/* The guest agent's calls, as hypercalls (numbers in include/symhv/abi.h). */
#include "symhv/agent.h"

#include <stdint.h>

#include "symhv/abi.h"

int symhv_make_symbolic(void *buf, size_t len, const char *name)
{
    return (int)symhv_hypercall(SYMHV_HC_MAKE_SYMBOLIC, (long)buf, (long)len, (long)name);
}

void symhv_kill(int status, const char *msg)
{
    symhv_hypercall(SYMHV_HC_KILL, status, (long)msg, 0);
    for (;;)
        symhv_hypercall(SYMHV_HC_KILL, status, (long)msg, 0); /* the VM stops; never returns */
}

int symhv_report_bug(const char *msg)
{
    return (int)symhv_hypercall(SYMHV_HC_REPORT_BUG, (long)msg, 0, 0);
}

int symhv_get_example(void *dst, const void *src, size_t len)
{
    return (int)symhv_hypercall(SYMHV_HC_GET_EXAMPLE, (long)dst, (long)src, (long)len);
}
