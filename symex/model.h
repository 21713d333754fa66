/* A model: values for every declared symbolic input, bytes[i][0 .. lengths[i]). What the
 * solver answers, what a generated input is made of. Below the solvers (KLEE keeps its
 * Assignment in lib/Expr for the same reason). */
#ifndef SYMEX_MODEL_H
#define SYMEX_MODEL_H

#include <stdint.h>

#include "expr.h"

struct sx_model {
    uint32_t ninputs;
    uint8_t **bytes;
    uint32_t *lengths;
};

/* A model sized for every input declared in `ctx`, each byte copied from `seed`
 * (NULL: zeros). Bytes the solver leaves free keep the seed's values. */
struct sx_model *sx_model_new(const struct sx_ctx *ctx, const struct sx_model *seed);
void sx_model_free(struct sx_model *m);
void sx_model_set(struct sx_model *m, uint32_t input, uint32_t offset, uint8_t value);

#endif
