/* symhv: boot an SMP guest on raw KVM; run it symbolically, replay an input, or fuzz. */
#include "cov.h"
#include "log.h"
#include "options.h"
#include "run.h"
#include "show.h"

#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "show") == 0) /* no guest: test cases only */
        return show_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "cov") == 0) /* no guest: test cases run natively */
        return cov_main(argc - 1, argv + 1);
    struct options opt;
    enum options_result r = options_parse(&opt, argc, argv, stdout);
    if (r != OPTIONS_RUN) {
        options_free(&opt);
        return r == OPTIONS_EXIT_OK ? 0 : HV_EXIT_SETUP_ERROR;
    }
    hv_log_set_verbose(opt.verbose);
    int status = run(&opt);
    options_free(&opt);
    return status;
}
