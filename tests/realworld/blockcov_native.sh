#!/usr/bin/env bash
# symhv cov without KVM: a campaign's test cases of an uninstrumented static program
# (lx_klee: a symbolic argument and a symbolic file, split as the campaign ran them) run
# natively under ptrace; the report marks the blocks of abort() as reached only once the
# crash is among the test cases, and main's blocks as reached. Both libcs; threads too.
# Arguments: LINUX_DIR (the built lx_* programs). SYMHV: the symhv binary;
# SYMHV_SOURCE_DIR: tests/.
set -uo pipefail
linux=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failed=0
fail() { echo "FAIL: $*"; failed=1; }
# "function NAME ADDR GOT/ALL": GOT
reached() { sed -n "s/^function $2 0x[0-9a-f]* \([0-9]*\)\/[0-9]*$/\1/p" "$1/coverage-blocks.txt" | head -1; }
for libc in musl glibc; do
    prog=$linux/lx_klee_$libc
    out=k-$libc
    mkdir -p "$out/queue" "$out/crashes"
    printf 'symhv_target      : --sym-arg=1:3 --sym-file=/input:8 -- %s AAA /input \nsymhv_inputs      : arg1:3,input:8\n' "$prog" >"$out/fuzzer_stats"
    printf '\0\0\0\0\0\0\0\0\0\0\0' >"$out/queue/id:000000,orig:blank"
    printf -- '-x\0KLEX\0\0\0\0' >"$out/queue/id:000001,src:000000,op:solver"
    "$SYMHV" cov "$out" >r1.txt 2>&1 || { cat r1.txt; fail "$libc: symhv cov failed"; continue; }
    [ "$(reached "$out" main)" -gt 0 ] 2>/dev/null || fail "$libc: no block of main reached"
    [ "$(reached "$out" abort)" = 0 ] || fail "$libc: abort reached without the crash"
    grep -q '^# id:000001,.*: exit status 0, [1-9][0-9]* new blocks' "$out/coverage-blocks.txt" ||
        fail "$libc: the solver's test case (argv[1] -x) reached no new block"
    printf -- '-x\0KLEE\0\0\0\0' >"$out/crashes/id:000000,sig:06,src:000001"
    "$SYMHV" cov "$out" >r2.txt 2>&1 || { cat r2.txt; fail "$libc: symhv cov failed"; continue; }
    [ "$(reached "$out" abort)" -gt 0 ] 2>/dev/null || { fail "$libc: the crash did not reach abort"; cat "$out/coverage-blocks.txt" | head -8; }
    grep -q '^# id:000000,sig:06.*: killed by signal 6' "$out/coverage-blocks.txt" ||
        fail "$libc: the crash's end is not told"
    grep -q "3 test cases run" r2.txt || { fail "$libc: r2.txt"; cat r2.txt; }
done
# threads: a block only a second thread runs (work) is reached, and the program ends well
mkdir -p t/queue
printf 'x' >t/queue/id:000000
"$SYMHV" cov t -- "$linux/lx_threads_glibc" 8 100 >r3.txt 2>&1 || { cat r3.txt; fail "threads: symhv cov failed"; }
[ "$(reached t work)" -gt 0 ] 2>/dev/null || fail "threads: the threads' function was not reached"
grep -q '^# id:000000: exit status 0' t/coverage-blocks.txt || fail "threads: the program did not end well under tracing"
# position-independent programs, as most binaries users have: a static PIE, and a
# dynamic PIE (its own code; abort is in libc.so, so main's blocks tell the crash)
"$SYMHV" cov t -- "$linux/lx_hello_pie" >r4.txt 2>&1 || { cat r4.txt; fail "static PIE: symhv cov failed"; }
[ "$(reached t main)" -gt 0 ] 2>/dev/null || fail "static PIE: main not reached"
if command -v gcc >/dev/null; then
    gcc -O2 -o klee_dyn "$SYMHV_SOURCE_DIR/linux/lx_klee.c" || fail "gcc"
    mkdir -p dyn/queue dyn/crashes
    cp k-glibc/fuzzer_stats dyn/
    cp k-glibc/queue/* dyn/queue/
    "$SYMHV" cov dyn -- ./klee_dyn AAA /input >r5.txt 2>&1 || { cat r5.txt; fail "dynamic PIE: symhv cov failed"; }
    before=$(reached dyn main)
    cp k-glibc/crashes/* dyn/crashes/
    "$SYMHV" cov dyn -- ./klee_dyn AAA /input >r6.txt 2>&1 || { cat r6.txt; fail "dynamic PIE: symhv cov failed"; }
    after=$(reached dyn main)
    [ "${before:-0}" -gt 0 ] && [ "${after:-0}" -gt "${before:-0}" ] ||
        fail "dynamic PIE: main's blocks reached $before without the crash, $after with it"
fi
# KLEE's --sym-args 0 3 2: the count's byte (n_args) cuts argv as symhv's kernel does
mkdir -p sa/queue
printf 'symhv_target      : --sym-args=0 3 2 -- %s \nsymhv_inputs      : arg1:2,arg2:2,arg3:2,n_args:1\n' "$linux/lx_symargs_musl" >sa/fuzzer_stats
printf -- '-a-b\0\0\002' >sa/queue/id:000000
printf -- '-a-b\0\0\003' >sa/queue/id:000001
"$SYMHV" cov sa >r8.txt 2>&1 || { cat r8.txt; fail "sym-args: symhv cov failed"; }
grep -q '^# id:000000: killed by signal 6' sa/coverage-blocks.txt || fail "sym-args: two arguments -a -b did not crash"
grep -q '^# id:000001: exit status 0' sa/coverage-blocks.txt || fail "sym-args: three arguments crashed"
# what is no program is refused with its reason
printf '#!/bin/sh\n' >script.sh && chmod +x script.sh
if "$SYMHV" cov t -- ./script.sh >r7.txt 2>&1; then fail "a shell script accepted"; fi
grep -q "no ELF64" r7.txt || { fail "no reason for the script"; cat r7.txt; }
[ "$failed" = 0 ] && echo "ok: blocks of abort reached only with the crash, on both libcs; threads; static and dynamic PIE"
exit $failed
