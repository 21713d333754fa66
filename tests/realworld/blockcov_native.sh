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
    "$SYMHV" cov "$out" -- "$prog" AAA /input >r1.txt 2>&1 || { cat r1.txt; fail "$libc: symhv cov failed"; continue; }
    [ "$(reached "$out" main)" -gt 0 ] 2>/dev/null || fail "$libc: no block of main reached"
    [ "$(reached "$out" abort)" = 0 ] || fail "$libc: abort reached without the crash"
    grep -q '^# id:000001,.*: exit status 0, [1-9][0-9]* new blocks' "$out/coverage-blocks.txt" ||
        fail "$libc: the solver's test case (argv[1] -x) reached no new block"
    printf -- '-x\0KLEE\0\0\0\0' >"$out/crashes/id:000000,sig:06,src:000001"
    "$SYMHV" cov "$out" -- "$prog" AAA /input >r2.txt 2>&1 || { cat r2.txt; fail "$libc: symhv cov failed"; continue; }
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
"$SYMHV" cov sa -- "$linux/lx_symargs_musl" >r8.txt 2>&1 || { cat r8.txt; fail "sym-args: symhv cov failed"; }
grep -q '^# id:000000: killed by signal 6' sa/coverage-blocks.txt || fail "sym-args: two arguments -a -b did not crash"
grep -q '^# id:000001: exit status 0' sa/coverage-blocks.txt || fail "sym-args: three arguments crashed"
# A campaign directory is another's file. Its record never chooses what runs natively:
# without -- PROGRAM symhv cov refuses (and says what the campaign ran); with it, the
# record's words other than its --sym-* sources are not taken (neither a program
# without --, nor --env). A symlink planted as the report's temporary name is not
# followed.
mkdir -p hostile/queue
printf 'x' >hostile/queue/id:000000
printf 'symhv_target      : /bin/sh -c touch%%20%s/pwned1 --env=LD_PRELOAD=/nonexistent.so -- /bin/sh -c touch%%20%s/pwned2 \n' "$PWD" "$PWD" >hostile/fuzzer_stats
if "$SYMHV" cov hostile >r9.txt 2>&1; then fail "cov ran without a program named"; fi
grep -q "name the program after --" r9.txt || { fail "no reason given"; cat r9.txt; }
ln -s "$PWD/victim" hostile/.coverage-blocks.txt.tmp
printf 'precious' >victim
"$SYMHV" cov hostile -- "$linux/lx_hello_musl" >r10.txt 2>&1 || { cat r10.txt; fail "cov of a plain program failed"; }
[ ! -e pwned1 ] && [ ! -e pwned2 ] || fail "a program from the record ran"
[ "$(cat victim)" = precious ] || fail "the planted symlink was followed"
grep -q '^# id:000000: exit status 0' hostile/coverage-blocks.txt || fail "the named program did not run"
# A short test case's file is padded to its source's size, as the campaign gave it;
# a daemon that leaves the program's group ends with the test case, within its time.
cat >probe.c <<'EOF2'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "daemon") == 0) {
        if (fork() == 0) {
            setsid();
            FILE *f = fopen(argv[2], "w");
            fprintf(f, "%d\n", (int)getpid());
            fclose(f);
            for (;;)
                pause();
        }
        for (int i = 0; i < 200 && access(argv[2], F_OK) != 0; i++)
            usleep(10000); /* until the daemon is out of the group and said so */
        usleep(50000);
        return 0;
    }
    FILE *f = argc > 2 ? fopen(argv[2], "rb") : NULL;
    if (!f)
        return 100;
    fseek(f, 0, SEEK_END);
    return (int)ftell(f); /* the file's size */
}
EOF2
if command -v gcc >/dev/null && gcc -O1 -static -o probe probe.c; then
    mkdir -p short/queue
    printf 'symhv_target      : --sym-arg=1:2 --sym-file=/input:8 -- /x \nsymhv_inputs      : arg1:2,input:8\n' >short/fuzzer_stats
    printf 'ab\0\0' >short/queue/id:000000
    "$SYMHV" cov short -- ./probe AA /input >r11.txt 2>&1 || { cat r11.txt; fail "short: cov failed"; }
    grep -q '^# id:000000: exit status 8,' short/coverage-blocks.txt || { fail "a short test case's file is not padded to 8"; cat short/coverage-blocks.txt | head -4; }
    mkdir -p daemon/queue
    printf 'x' >daemon/queue/id:000000
    start=$(date +%s)
    timeout 60 "$SYMHV" cov --timeout 3 daemon -- ./probe daemon "$PWD/daemon.pid" >r12.txt 2>&1 || { cat r12.txt; fail "daemon: cov failed or hung"; }
    [ $(( $(date +%s) - start )) -lt 30 ] || fail "daemon: cov waited for the daemon"
    pid=$(cat daemon.pid 2>/dev/null || true)
    sleep 0.2
    [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null || { fail "daemon: $pid outlived its test case"; kill -9 "$pid" 2>/dev/null; }
fi
# what is no program is refused with its reason
printf '#!/bin/sh\n' >script.sh && chmod +x script.sh
if "$SYMHV" cov t -- ./script.sh >r7.txt 2>&1; then fail "a shell script accepted"; fi
grep -q "no ELF64" r7.txt || { fail "no reason for the script"; cat r7.txt; }
[ "$failed" = 0 ] && echo "ok: blocks of abort reached only with the crash, on both libcs; threads; static and dynamic PIE"
exit $failed
