# Sourced by the benchmarks: an unsanitised, optimised build in build-release/
# (sanitizers would distort every timing). Usage: build_release TARGET...
build_release() {
    # the Bitwuzla backend where scripts/bitwuzla has built it (never built from here)
    local pc
    pc=$(scripts/bitwuzla --cached 2>/dev/null || true)
    if [ ! -f build-release/build.ninja ]; then
        meson setup build-release --buildtype=release -Db_sanitize=none \
            ${pc:+-Dpkg_config_path="$pc"} >/dev/null
    elif [ -n "$pc" ] && ! grep -q "$pc" build-release/meson-info/intro-buildoptions.json 2>/dev/null; then
        meson setup --reconfigure build-release -Dpkg_config_path="$pc" >/dev/null
    fi
    ninja -C build-release "$@" >build-release/bench-build.log 2>&1 ||
        { cat build-release/bench-build.log >&2; echo "bench: build failed" >&2; exit 1; }
}

# The plain trapped exit of this hour, in ns, measured with scripts/bench-handoff's guest
# (README figures carry it: it moves 24-137 us with the hour on PVM hosts). Needs
# build_release guest/handoff_bench. Usage: plain_exit_ns WORK_DIR
plain_exit_ns() {
    rm -rf "$1/handoff-out" # a run directory reused (--run): the last measure's files
    SYMHV_HANDOFF_RENT=0 build-release/hv/symhv --smp 2 --timeout 600 -o "$1/handoff-out" \
        --kernel build-release/guest/symhv-kernel --initrd build-release/guest/handoff_bench \
        --cmdline "iters=500" | sed -n 's/.* exit_ns=\([0-9]*\).*/\1/p'
}
