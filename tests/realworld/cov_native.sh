#!/usr/bin/env bash
# scripts/symhv-cov without KVM: a campaign's directory (as symhv writes it) replayed
# natively through a gcov build; the report marks the line the queue reaches as covered
# and the one it does not as not. Arguments: SOURCE_ROOT.
set -uo pipefail
root=$(cd "$1" && pwd)
command -v lcov >/dev/null || { echo "SKIP: lcov is not installed (scripts/setup installs it)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
gcc -g -O0 --coverage -o prog.cov "$root/tests/realworld/cov_target.c" || exit 1
mkdir -p out/queue out/crashes
printf 'A' >out/queue/id:000000,orig:seed
printf 'K?' >out/queue/id:000001,src:solver,time:5,execs:2,op:solver,+cov
printf 'symhv_inputs      : input:*\n' >out/fuzzer_stats
"$root/scripts/symhv-cov" out -- ./prog.cov @@ >report.txt 2>&1 || { cat report.txt; exit 1; }
line_of() { grep -n "$1" "$root/tests/realworld/cov_target.c" | head -1 | cut -d: -f1; }
reached=$(line_of '/\* reached \*/') not=$(line_of '/\* not reached \*/')
failed=0
grep -q "^DA:$reached,[1-9]" out/coverage.info || { echo "FAIL: line $reached is not covered"; failed=1; }
grep -q "^DA:$not,0$" out/coverage.info || { echo "FAIL: line $not is covered or missing"; failed=1; }
[ -f out/coverage-html/index.html ] || { echo "FAIL: no HTML report"; failed=1; }
grep -q "2 inputs replayed" report.txt || { echo "FAIL: report.txt:"; cat report.txt; failed=1; }
# several sources are refused, not mis-split
printf 'symhv_inputs      : arg1:3,input:8\n' >out/fuzzer_stats
if "$root/scripts/symhv-cov" out -- ./prog.cov @@ >r2.txt 2>&1; then echo "FAIL: several sources accepted"; failed=1; fi
grep -q "several symbolic sources" r2.txt || { echo "FAIL: no reason given"; cat r2.txt; failed=1; }
[ "$failed" = 0 ] && echo "ok: the report marks line $reached covered and line $not not"
exit $failed
