/* symhv: boot an SMP guest on raw KVM; run it symbolically, replay an input, or fuzz. */
#include "log.h"
#include "options.h"
#include "run.h"
#include "show.h"

#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "show") == 0) /* no guest: test cases only */
        return show_main(argc - 1, argv + 1);
    struct options opt;
    switch (options_parse(&opt, argc, argv, stdout)) {
    case OPTIONS_EXIT_OK: return 0;
    case OPTIONS_ERROR: return HV_EXIT_SETUP_ERROR;
    case OPTIONS_RUN: break;
    }
    hv_log_set_verbose(opt.verbose);
    return run(&opt);
}
