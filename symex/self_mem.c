#include "self_mem.h"

#include <sys/uio.h>
#include <unistd.h>

int sx_self_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    (void)opaque;
    struct iovec local = { buf, len }, remote = { (void *)addr, len };
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

int sx_self_write(void *opaque, uint64_t addr, const void *buf, size_t len)
{
    (void)opaque;
    struct iovec local = { (void *)buf, len }, remote = { (void *)addr, len };
    return process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

int sx_host_cmpxchg(void *p, size_t len, uint64_t expected, uint64_t desired, uint64_t *old)
{
    int ok;
    switch (len) {
    case 1: { uint8_t e = (uint8_t)expected; ok = __atomic_compare_exchange_n((uint8_t *)p, &e, (uint8_t)desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = e; break; }
    case 2: { uint16_t e = (uint16_t)expected; ok = __atomic_compare_exchange_n((uint16_t *)p, &e, (uint16_t)desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = e; break; }
    case 4: { uint32_t e = (uint32_t)expected; ok = __atomic_compare_exchange_n((uint32_t *)p, &e, (uint32_t)desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = e; break; }
    default: { uint64_t e = expected; ok = __atomic_compare_exchange_n((uint64_t *)p, &e, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = e; break; }
    }
    return ok;
}

int sx_self_cmpxchg(void *opaque, uint64_t addr, size_t len, uint64_t expected,
                    uint64_t desired, uint64_t *old)
{
    if (len != 1 && len != 2 && len != 4 && len != 8)
        return -1;
    uint64_t probe;
    if (sx_self_read(opaque, addr, &probe, len) < 0)
        return -1;
    /* The address is mapped: a real atomic compare-exchange of the right width. */
    sx_host_cmpxchg((void *)addr, len, expected, desired, old);
    return 0;
}

const struct sx_mem_ops sx_self_mem = { sx_self_read, sx_self_write, sx_self_cmpxchg, NULL };
