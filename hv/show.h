/* symhv show: test cases as KLEE's ktest-tool shows them (show.c). */
#ifndef HV_SHOW_H
#define HV_SHOW_H

/* argv[0] is "show"; the exit status (0, or 125 if a file could not be read). */
int show_main(int argc, char **argv);

#endif
