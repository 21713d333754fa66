/* cc/read_all.c: a whole stream into memory, for the runtime's drivers. */
#ifndef CC_READ_ALL_H
#define CC_READ_ALL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Every byte of f, in a malloc'ed buffer (*len of them); NULL on a read error or out of
 * memory. */
uint8_t *symhv_read_all(FILE *f, size_t *len);

#endif
