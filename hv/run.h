/* The composition root: builds a run from the options (the machine, its devices, the
 * symbolic engine, the fuzzer), runs it and tears it down in the reverse order. */
#ifndef HV_RUN_H
#define HV_RUN_H

#include "options.h"

struct cmplog_peer;

/* Returns symhv's exit status (README). peer: symhv fuzz -c's CMPLOG peer (NULL: none). */
int run(const struct options *opt, struct cmplog_peer *peer);

#endif
