/* symhv cov: what a campaign's test cases reached, replayed natively on this host (cov.c). */
#ifndef HV_COV_H
#define HV_COV_H

/* argv[0] is "cov"; the exit status (0, or 125 with a one-line reason). */
int cov_main(int argc, char **argv);

#endif
