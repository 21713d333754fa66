#!/bin/sh
# symhv-solve on small query corpora the sidecar wrote in explore runs (the per-bit CRC
# and the strcmp password of tests/linux; the first 72 queries of libpng's harness over
# a 4 KiB PNG): every backend gives the same verdicts, every model checks out (the
# portfolio's too, whose interrupts once left Z3 giving broken models), and a damaged
# file or an unknown backend is refused in one line; the sidecar's two passes and a
# budget, as --first-timeout and --budget replay them.
# Usage: solve_corpus.sh SYMHV_SOLVE CORPUS_DIR
set -u
solve=$1 corpus=$2
fail() { echo "FAIL: $*"; exit 1; }
want=""
for solver in z3 z3-fresh cvc5 bitwuzla z3+bitwuzla portfolio; do
    out=$("$solve" --solver "$solver" "$corpus/crc" "$corpus/password" 2>&1)
    rc=$?
    if [ "$solver" != portfolio ] && [ "$solver" != z3 ] && [ "$solver" != z3-fresh ] &&
        echo "$out" | grep -q "unknown or unable to start"; then
        echo "NOT RUN: symex-solve-corpus: $solver is not in this build"
        continue
    fi
    [ "$rc" = 0 ] || fail "$solver: exit $rc: $out"
    line=$(echo "$out" | grep "^solver $solver: [0-9]") || fail "$solver: no summary: $out"
    echo "$line"
    echo "$line" | grep -q "8 queries, sat 7, unsat 1, unknown 0, wrong models 0, unreadable 0" ||
        fail "$solver: other verdicts than expected"
    verdicts=$(echo "$line" | sed 's/ [0-9.]* s in all.*//; s/^solver [a-z0-9+-]*://')
    [ -z "$want" ] || [ "$verdicts" = "$want" ] || fail "$solver disagrees: $verdicts vs $want"
    want=$verdicts
done
echo "$out" | grep -q "first answers" || fail "the portfolio does not say who answered first"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xJf "$corpus/png72.tar.xz" -C "$tmp" || fail "cannot unpack png72.tar.xz"
for solver in z3 portfolio portfolio portfolio bitwuzla z3+bitwuzla; do
    if [ "$solver" != z3 ] && [ "$solver" != portfolio ] &&
        "$solve" --solver "$solver" "$tmp/png72" 2>&1 | grep -q "unknown or unable to start"; then
        continue # said above
    fi
    line=$("$solve" --solver "$solver" "$tmp/png72" | grep "^solver $solver: [0-9]")
    echo "png72: $line"
    echo "$line" | grep -q "72 queries, sat 46, unsat 26, unknown 0, wrong models 0, unreadable 0" ||
        fail "png72 with $solver: other verdicts, or wrong models"
done

# A query of bench/lx_records.c's search that Z3 answers at once and cvc5 not within its
# time limit: the portfolio answers, leaves cvc5 to finish alone, and the next directory
# (a new expression context, the old one freed) is solved right: under ASan, a cvc5
# that still read the freed expressions would end the run.
tar -xJf "$corpus/stuck.tar.xz" -C "$tmp" || fail "cannot unpack stuck.tar.xz"
line=$("$solve" --solver portfolio "$tmp/stuck" "$corpus/crc" "$corpus/password" | grep "^solver portfolio: [0-9]")
echo "stuck: $line"
echo "$line" | grep -q "9 queries, sat 8, unsat 1, unknown 0, wrong models 0, unreadable 0" ||
    fail "the portfolio after a stuck cvc5: $line"

# the sidecar's two passes: with a first timeout of 1 ms the first queries of libpng
# are cut short and asked again, and every verdict stays what one pass gives; with a
# budget of a millisecond, the queries after the first are counted unasked
out=$("$solve" --solver z3 --first-timeout 1 "$tmp/png72")
echo "png72, two passes: $(echo "$out" | tr '\n' ' ')"
echo "$out" | grep -q "72 queries, sat 46, unsat 26, unknown 0, wrong models 0, unreadable 0" ||
    fail "png72 in two passes: other verdicts"
echo "$out" | grep -q "first timeout 1 ms (doubled to [0-9]*), [1-9][0-9]* cut short and asked again" ||
    fail "png72 in two passes: nothing was cut short by 1 ms: $out"
out=$("$solve" --solver z3 --budget 0.001 "$tmp/png72")
echo "$out" | grep -q "budget 0.0 s, 7[01] queries unasked" || fail "--budget: $out"
out=$("$solve" --budget x "$tmp/png72" 2>&1)
[ $? = 2 ] && echo "$out" | grep -q "expects seconds" || fail "--budget x: $out"

# per query, in name order
tsv=$("$solve" --tsv "$corpus/password" | grep -c "	z3	\(sat\|unsat\)	")
[ "$tsv" = 3 ] || fail "--tsv gave $tsv lines for 3 queries"

sed 's/(bvand e4 e2)/(bvand e4 e9)/' "$corpus/crc/r00001-q000000.smt2" >"$tmp/r00001-q000000.smt2"
out=$("$solve" "$tmp" 2>&1)
[ $? = 1 ] || fail "a damaged file was not refused: $out"
echo "$out" | grep -q "r00001-q000000.smt2: line 10: node e5" || fail "no line named: $out"
out=$("$solve" --solver boolector "$corpus/crc" 2>&1)
[ $? = 2 ] || fail "an unknown backend was not refused"
echo "$out" | grep -q "solver 'boolector' unknown" || fail "unclear refusal: $out"
"$solve" --help | grep -q "usage: symhv-solve" || fail "no --help"
echo "ok"
