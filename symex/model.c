#include "model.h"

#include <stdlib.h>
#include <string.h>

struct sx_model *sx_model_new(const struct sx_ctx *ctx, const struct sx_model *seed)
{
    struct sx_model *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->ninputs = sx_input_count(ctx);
    m->bytes = calloc(m->ninputs ? m->ninputs : 1, sizeof *m->bytes);
    m->lengths = calloc(m->ninputs ? m->ninputs : 1, sizeof *m->lengths);
    if (!m->bytes || !m->lengths)
        abort();
    for (uint32_t i = 0; i < m->ninputs; i++) {
        m->lengths[i] = sx_input_get(ctx, i)->size;
        m->bytes[i] = calloc(m->lengths[i] ? m->lengths[i] : 1, 1);
        if (!m->bytes[i])
            abort();
        if (seed && i < seed->ninputs)
            memcpy(m->bytes[i], seed->bytes[i],
                   seed->lengths[i] < m->lengths[i] ? seed->lengths[i] : m->lengths[i]);
    }
    return m;
}

void sx_model_free(struct sx_model *m)
{
    if (!m)
        return;
    for (uint32_t i = 0; i < m->ninputs; i++)
        free(m->bytes[i]);
    free(m->bytes);
    free(m->lengths);
    free(m);
}

void sx_model_set(struct sx_model *m, uint32_t input, uint32_t offset, uint8_t value)
{
    if (input < m->ninputs && offset < m->lengths[input])
        m->bytes[input][offset] = value;
}
