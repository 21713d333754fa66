/* symhv: boot an SMP guest on raw KVM; run it symbolically, replay an input, or fuzz. */
#include "log.h"
#include "options.h"
#include "run.h"

int main(int argc, char **argv)
{
    struct options opt;
    switch (options_parse(&opt, argc, argv, stdout)) {
    case OPTIONS_EXIT_OK: return 0;
    case OPTIONS_ERROR: return HV_EXIT_SETUP_ERROR;
    case OPTIONS_RUN: break;
    }
    hv_log_set_verbose(opt.verbose);
    return run(&opt);
}
