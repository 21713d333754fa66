#!/usr/bin/env bash
# symhv-cc and symhv-c++ without KVM: what ./configure && make and an OSS-Fuzz build ask
# of them, and the targets they build run natively as libFuzzer binaries do.
# Arguments: BUILD_CC_DIR (build/cc) SOURCE_DIR (tests/realworld).
set -uo pipefail
cc_dir=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failed=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
    local what=$1
    shift
    if "$@" >check.txt 2>&1; then echo "ok: $what"; else
        echo "FAIL: $what"; sed 's/^/    /' check.txt; failed=1; fi
}
status_is() { # status_is WANT COMMAND...: the command's exit status must be WANT
    local want=$1
    shift
    "$@" >out.txt 2>&1
    local rc=$?
    [ "$rc" -eq "$want" ] || { echo "(exit status $rc, expected $want)"; cat out.txt; return 1; }
}
says() { grep -q -- "$1" out.txt || { echo "(output lacks '$1')"; cat out.txt; return 1; }; }

# configure's questions and its test programs
check "--version answers" "$cc_dir/symhv-cc" --version
printf 'int main(void) { return 0; }\n' >conftest.c
check "a configure test program links and runs natively" \
    sh -c "'$cc_dir/symhv-cc' -O2 conftest.c -o conftest && ./conftest"
check "the program is static" sh -c "readelf -l conftest >/dev/null && ! readelf -l conftest | grep -q INTERP"

# a C++ libFuzzer target with std::string and strtol, static glibc and libstdc++
check "symhv-c++ -fsanitize=fuzzer builds a C++ target" \
    "$cc_dir/symhv-c++" -O2 -g -fsanitize=fuzzer "$src/cxx_target.cc" -o cxx_target
check "its code calls the coverage hook" sh -c "nm cxx_target | grep -q ' T __sanitizer_cov_trace_pc$'"
printf 'width:700 ' >benign
printf 'depth:7000' >crash
check "natively it runs a benign input" status_is 0 ./cxx_target benign
check "... and says so as libFuzzer does" says "Executed benign"
check "natively the crashing input aborts" status_is 134 ./cxx_target crash
mkdir corpus && cp benign corpus/a && cp benign corpus/b
check "a directory runs file by file, libFuzzer's flags are said to be ignored" \
    sh -c "./cxx_target -runs=10 corpus >out2.txt 2>&1; grep -q 'Running: corpus/a' out2.txt && grep -q 'Running: corpus/b' out2.txt && grep -q -- '-runs=10 ignored' out2.txt"
check "no file: stdin" sh -c "./cxx_target <benign 2>&1 | grep -q 'Running: -'"

# a library built the make way: objects (-c), an archive, then the fuzzer link, musl
check "SYMHV_LIBC=musl symhv-cc -c" env SYMHV_LIBC=musl "$cc_dir/symhv-cc" -O2 -c "$src/c_target.c" -o t.o
check "the object carries the coverage and compare hooks" \
    sh -c "nm t.o | grep -q __sanitizer_cov_trace_pc && nm t.o | grep -q __sanitizer_cov_trace_const_cmp"
check "ar and the fuzzer link" sh -c "ar rcs libt.a t.o && SYMHV_LIBC=musl '$cc_dir/symhv-cc' -fsanitize=fuzzer t.o libt.a -o c_target"
printf '<!-- open' >open_comment
check "the musl target finds its bug natively" status_is 134 ./c_target open_comment

# an annotated program (symhv_make_symbolic) run natively on a test case, as KLEE's
# libkleeRuntest does: each call takes the file's next bytes
check "symhv-cc --symhv-replay builds an annotated program" \
    "$cc_dir/symhv-cc" --symhv-replay -O2 "$src/../linux/lx_inputs.c" -o inputs
printf 'HDR1A...ZB......' >inputs_crash
printf 'HDR1A...XX......' >inputs_fine
check "the test case that crashes it crashes it natively" status_is 134 env SYMHV_REPLAY=inputs_crash ./inputs
check "another takes the other path" status_is 0 env SYMHV_REPLAY=inputs_fine ./inputs
check "... the body's bytes came from the file" says "body ignored"
check "without SYMHV_REPLAY the buffers keep their contents, and that is said" \
    sh -c "./inputs 2>&1 | grep -q 'SYMHV_REPLAY is not set' && ./inputs | grep -q 'bad header'"

# refused, with a reason, rather than reinterpreted
check "-fsanitize=address is refused" status_is 2 "$cc_dir/symhv-cc" -fsanitize=address,fuzzer "$src/c_target.c"
check "... saying why" says "not supported"
check "-shared is refused" status_is 2 "$cc_dir/symhv-cc" -shared "$src/c_target.c"
check "C++ with musl is refused" status_is 2 env SYMHV_LIBC=musl "$cc_dir/symhv-c++" "$src/cxx_target.cc"
check "--help" sh -c "'$cc_dir/symhv-cc' --help | grep -q fsanitize=fuzzer"
exit $failed
