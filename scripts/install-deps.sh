#!/usr/bin/env bash
# scripts/install-deps.sh [test] [clang] [aarch64] [musl] - make sure what a
# make target needs is installed.
#
#   test     (the default) what `make test` needs: a C compiler (gcc),
#            pkg-config, Criterion (libcriterion-dev), valgrind, and gcc's
#            sanitizer runtimes (ASan, UBSan, TSan)
#   clang    clang, and Criterion (make check-clang)
#   aarch64  the aarch64 cross compiler and C library, and qemu-user to run
#            what it builds (make check-aarch64)
#   musl     musl-gcc (make check-musl)
#   chromium headless Chromium (Debian's `chromium`), for make check-html and
#            make pictures
# `make check-portable` needs what `test` needs.
#
# When everything is there it prints nothing and exits 0, so targets can call
# it every time. Otherwise it says what is missing and installs the
# Debian/Ubuntu packages with apt-get (through sudo when not root). Without
# root or sudo it prints the command to run and exits 1.
set -euo pipefail

missing=()   # what is missing, for the message
packages=()  # the Debian packages that bring it

need() { # need WHAT PACKAGE: WHAT is missing, PACKAGE brings it
    missing+=("$1")
    packages+=("$2")
}

have_criterion() {
    command -v pkg-config >/dev/null && pkg-config --exists criterion
}

check_test() {
    if ! command -v cc >/dev/null && ! command -v gcc >/dev/null; then
        need "a C compiler" build-essential
    fi
    command -v pkg-config >/dev/null || need pkg-config pkg-config
    have_criterion || need Criterion libcriterion-dev
    command -v valgrind >/dev/null || need valgrind valgrind
    # gcc prints the bare name back when it cannot find a library file. The
    # runtimes come with libgcc-N-dev, N being gcc's major version.
    if command -v gcc >/dev/null; then
        for lib in libasan.so libubsan.so libtsan.so; do
            if [ "$(gcc -print-file-name=$lib)" = "$lib" ]; then
                need "gcc's ${lib%.so} runtime" "libgcc-$(gcc -dumpversion | cut -d. -f1)-dev"
                break
            fi
        done
    fi
}

check_clang() {
    command -v clang >/dev/null || need clang clang
    command -v pkg-config >/dev/null || need pkg-config pkg-config
    have_criterion || need Criterion libcriterion-dev
}

check_aarch64() {
    command -v aarch64-linux-gnu-gcc >/dev/null ||
        need "the aarch64 cross compiler" gcc-aarch64-linux-gnu
    [ -e /usr/aarch64-linux-gnu/include/stdio.h ] ||
        need "the aarch64 C library" libc6-dev-arm64-cross
    command -v qemu-aarch64 >/dev/null || need "qemu-aarch64 (qemu-user)" qemu-user
}

check_musl() {
    command -v musl-gcc >/dev/null || need musl-gcc musl-tools
}

check_chromium() {
    command -v chromium >/dev/null || need "headless Chromium" chromium
}

[ $# -gt 0 ] || set -- test
for what in "$@"; do
    case $what in
    test | clang | aarch64 | musl | chromium) "check_$what" ;;
    *)
        echo "usage: $0 [test] [clang] [aarch64] [musl] [chromium]" >&2
        exit 2
        ;;
    esac
done

[ ${#missing[@]} -eq 0 ] && exit 0

# Same package twice is harmless to apt, but keep the message tidy.
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
list=$(printf '%s, ' "${missing[@]}")
echo "install-deps: missing: ${list%, }"

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null; then
    sudo=(sudo)
else
    echo "install-deps: not root and no sudo; as root, run:" >&2
    echo "    apt-get update && apt-get install -y ${packages[*]}" >&2
    exit 1
fi

echo "install-deps: installing ${packages[*]} with apt-get"
# env, not export: sudo would drop an exported variable.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
