#!/usr/bin/env bash
# scripts/symhv-cov without KVM: a campaign's directory (as symhv writes it) replayed
# natively through a gcov build; the report marks the line the queue reaches as covered
# and the one it does not as not; a campaign of two symbolic sources (an argument and a
# file) is split as symhv ran it. Arguments: SOURCE_ROOT. SYMHV: the symhv binary.
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
# several sources (KLEE's habit): each test case splits into argv[1] and the file
gcc -g -O0 --coverage -o two.cov "$root/tests/realworld/cov_two.c" || exit 1
mkdir -p k/queue
printf 'symhv_target      : --sym-arg=1:3 --sym-file=/input:8 -- /nonexistent/cov_two AAA /input \nsymhv_inputs      : arg1:3,input:8\n' >k/fuzzer_stats
printf -- '-x\0KLEX\0\0\0\0' >k/queue/id:000000,orig:blank
"$root/scripts/symhv-cov" k -- ./two.cov AAA /input >r2.txt 2>&1 || { cat r2.txt; failed=1; }
two_line() { grep -n "$1" "$root/tests/realworld/cov_two.c" | head -1 | cut -d: -f1; }
arg_line=$(two_line '/\* the argument \*/') both_line=$(two_line '/\* the argument and the file \*/')
grep -q "^DA:$arg_line,[1-9]" k/coverage.info || { echo "FAIL: the split argument did not reach line $arg_line"; cat r2.txt; failed=1; }
grep -q "^DA:$both_line,0$" k/coverage.info || { echo "FAIL: line $both_line is covered by KLEX"; failed=1; }
printf -- '-x\0KLEE\0\0\0\0' >k/queue/id:000001,src:000000,op:solver
"$root/scripts/symhv-cov" k -- ./two.cov AAA /input >r3.txt 2>&1 || { cat r3.txt; failed=1; }
grep -q "^DA:$both_line,[1-9]" k/coverage.info || { echo "FAIL: the argument and the file did not reach line $both_line"; cat r3.txt; failed=1; }
grep -q "2 inputs replayed" r3.txt || { echo "FAIL: r3.txt:"; cat r3.txt; failed=1; }
[ "$failed" = 0 ] && echo "ok: the report marks line $reached covered and line $not not; two sources split"
exit $failed
