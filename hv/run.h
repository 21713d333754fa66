/* The composition root: builds a run from the options (the machine, its devices, the
 * symbolic engine, the fuzzer), runs it and tears it down in the reverse order. */
#ifndef HV_RUN_H
#define HV_RUN_H

#include "options.h"

/* Returns symhv's exit status (README). */
int run(const struct options *opt);

#endif
