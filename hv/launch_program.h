/* The program a launch image starts, its symbolic sources and the system files a Linux
 * program expects (hv/ only; launch_build.c builds the image with them). */
#ifndef HV_LAUNCH_PROGRAM_H
#define HV_LAUNCH_PROGRAM_H

#include "launch.h"
#include "launch_index.h"

/* launch_program.c: the program (its index), the symbolic sources, /dev, /proc, /sys. */
uint32_t lb_add_program(struct builder *b, const struct launch_config *cfg);
int lb_add_sources(struct builder *b, const struct launch_config *cfg, struct symhv_launch *hdr,
                   const char **argv_text, uint64_t *arg_room);
int lb_add_system_files(struct builder *b, const struct launch_config *cfg, uint32_t exe);
/* Host files named in the program's arguments, read-only at their paths. */
int lb_add_host_files(struct builder *b, const struct launch_config *cfg);

#endif
