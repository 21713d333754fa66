/* symhv: boot an SMP guest on raw KVM. */
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "options.h"
#include "vm.h"

int main(int argc, char **argv)
{
    struct options opt;
    switch (options_parse(&opt, argc, argv, stdout)) {
    case OPTIONS_EXIT_OK: return 0;
    case OPTIONS_ERROR: return HV_EXIT_SETUP_ERROR;
    case OPTIONS_RUN: break;
    }
    hv_log_set_verbose(opt.verbose);

    /* struct vm holds every vCPU inline: keep it off the stack. */
    struct vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        hv_error("out of memory");
        return HV_EXIT_SETUP_ERROR;
    }
    int status = HV_EXIT_SETUP_ERROR;
    if (vm_create(vm, &opt.vm) == 0) {
        hv_info("booting %s on %u vCPU(s), %llu MiB", opt.vm.kernel_path, vm->ncpus,
                (unsigned long long)(vm->mem_bytes >> 20));
        status = vm_run(vm, opt.vm.timeout_s);
    }
    vm_destroy(vm);
    free(vm);
    return status;
}
