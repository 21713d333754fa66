/* The symbolic shadow of memory: which bytes (by address) hold a symbolic value, and
 * that value as a width-8 expression. Concrete bytes are simply absent. Kept per page
 * so the VMM can tell when a page holds no symbolic byte any more. Thread-safe: the
 * sidecar's interpreter threads share one shadow. */
#ifndef SYMEX_SHADOW_H
#define SYMEX_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"

struct sx_shadow;

struct sx_shadow *sx_shadow_new(void);
void sx_shadow_free(struct sx_shadow *sh);
const struct sx_expr *sx_shadow_get(struct sx_shadow *sh, uint64_t addr);
/* e == NULL or a constant expression makes the byte concrete again. */
void sx_shadow_set(struct sx_shadow *sh, uint64_t addr, const struct sx_expr *e);
bool sx_shadow_any(struct sx_shadow *sh, uint64_t addr, uint64_t len);
size_t sx_shadow_page_count(struct sx_shadow *sh, uint64_t page_addr);
size_t sx_shadow_total(struct sx_shadow *sh);
/* Every byte concrete again. */
void sx_shadow_clear(struct sx_shadow *sh);
/* Keep bits[addr / 64] bit (addr % 64) equal to "byte addr is symbolic" for addresses
 * below `limit` (atomic updates: another process may read it, see sidecar.h). */
void sx_shadow_set_mirror(struct sx_shadow *sh, uint64_t *bits, uint64_t limit);

#endif
