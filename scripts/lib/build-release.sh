# Sourced by the benchmarks: an unsanitised, optimised build in build-release/
# (sanitizers would distort every timing). Usage: build_release TARGET...
build_release() {
    if [ ! -f build-release/build.ninja ]; then
        meson setup build-release --buildtype=release -Db_sanitize=none >/dev/null
    fi
    ninja -C build-release "$@" >build-release/bench-build.log 2>&1 ||
        { cat build-release/bench-build.log >&2; echo "bench: build failed" >&2; exit 1; }
}
