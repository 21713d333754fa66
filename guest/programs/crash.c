/* Test program: misbehaves on purpose, chosen by the command line:
 *   wild=1   write to guest-physical 0xd0000000, mapped but beyond RAM: the VMM stops
 *   null=1   read address 0 (kernel-only page): the kernel reports a page fault
 *   hang=1   spin forever in ring 3 (for --timeout)
 *   exit=N   just exit with status N */
#include "guest.h"

int main(void)
{
    printf("crash: starting\n");
    if (guest_arg("wild", 0))
        *(volatile uint64_t *)0xd0000000ull = 0x1234;
    if (guest_arg("null", 0))
        return (int)*(volatile uint64_t *)0;
    if (guest_arg("hang", 0))
        for (;;)
            __asm__ volatile("pause");
    return (int)guest_arg("exit", 0);
}
