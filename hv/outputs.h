/* The output directory of a symbolic run (-o DIR), and its only writer: every result
 * file is written whole or not at all (util.h's atomic writer), every failure is said
 * once with its reason and remembered, so the run ends with a non-zero status instead
 * of leaving empty files that look valid (a full disk, a read-only directory). Names a
 * guest chose (input names) are made safe for file names here. */
#ifndef HV_OUTPUTS_H
#define HV_OUTPUTS_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct outputs {
    pthread_mutex_t lock;
    char dir[PATH_MAX];
    bool numbered;            /* dir is a base: the first write makes dir-N (N the next
                                 free) and points symhv-last at it, as KLEE's klee-out-N */
    bool created;
    bool failed;              /* some file could not be written */
};

void outputs_init(struct outputs *o, const char *dir, bool numbered);
/* The directory written to (after the first write, for a numbered one). */
const char *outputs_dir(struct outputs *o);
/* Write dir/name (created on first use; a name "SUB/NAME" goes into the subdirectory
 * SUB, one level, made when first used). 0, or -1 (said, and `failed` set). */
int outputs_write(struct outputs *o, const char *name, const void *data, size_t len);
/* A file name "<prefix><safe input name><suffix>". */
void outputs_name(char *out, size_t size, const char *prefix, const char *input_name,
                  const char *suffix);
bool outputs_failed(struct outputs *o);

#endif
