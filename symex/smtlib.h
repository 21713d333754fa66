/* Solver queries as SMT-LIB 2 files, written and read back: the query corpus that
 * compares solver backends (symhv-solve, scripts/bench-solvers) on what symhv really
 * asks, and that any SMT solver binary (z3, cvc5, bitwuzla) reads as it is.
 *
 * The text is one node per line, operands before their users:
 *   ; symhv query: C constraints, N nodes
 *   ; input ID SIZE NAME            (every declared input, ids in order)
 *   (declare-fun i0.5 () (_ BitVec 8))             byte 5 of input 0
 *   (define-fun e3 () (_ BitVec 8) (bvadd e1 e2))  one node
 *   (assert (= e7 #b1))                            one constraint
 * Comparisons are (ite (bvult eA eB) #b1 #b0), as the engine's are bit-vectors of
 * width 1. The reader takes exactly this shape and nothing else, with every name,
 * width and number checked: a corpus may come from another machine. */
#ifndef SYMEX_SMTLIB_H
#define SYMEX_SMTLIB_H

#include <stddef.h>
#include <stdio.h>

#include "expr.h"

/* Write constraints[0..n) to f; false when a write failed (errno set). */
bool sx_smtlib_write(FILE *f, struct sx_ctx *ctx, const struct sx_expr *const *constraints,
                     size_t n);

/* Read a query written by sx_smtlib_write into ctx (its inputs are declared there on
 * first use; a ctx that read an earlier query of the same run must have the same
 * inputs). On success *constraints (malloc'd) and *n are set and 0 returned; else -1
 * with a one-line reason, naming the line, in err. */
#define SX_SMTLIB_MAX_NODES (1u << 24) /* more nodes than this in one file: refused */
int sx_smtlib_read(FILE *f, struct sx_ctx *ctx, const struct sx_expr ***constraints, size_t *n,
                   char *err, size_t err_size);

#endif
