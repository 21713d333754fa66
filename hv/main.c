/* symhv: boot an SMP guest on raw KVM; run it symbolically, replay an input, or fuzz. */
#include "cmplog_peer.h"
#include "cov.h"
#include "log.h"
#include "options.h"
#include "run.h"
#include "show.h"

#include <string.h>
#include <unistd.h>

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
    /* -c: the CMPLOG build runs in a second process, forked while there is one thread */
    struct cmplog_peer peer;
    bool have_peer = false;
    if (opt.cmplog_program) {
        int peer_fd = -1;
        int r = cmplog_peer_fork(&peer, opt.cmplog_program, &peer_fd);
        if (r < 0) {
            options_free(&opt);
            return HV_EXIT_SETUP_ERROR;
        }
        if (r == 0) { /* the peer */
            options_for_cmplog_peer(&opt, peer_fd);
            _exit(run(&opt, NULL));
        }
        have_peer = true;
    }
    int status = run(&opt, have_peer ? &peer : NULL);
    if (have_peer)
        cmplog_peer_end(&peer);
    options_free(&opt);
    return status;
}
