#!/usr/bin/env bash
# scripts/install-deps.sh - make sure what `make test` needs is installed.
#
# Needs: a C compiler (gcc), pkg-config, Criterion (libcriterion-dev),
# valgrind, and gcc's sanitizer runtimes (ASan, UBSan, TSan). When all are
# there it prints nothing and exits 0, so `make test` can call it every time.
# Otherwise it says what is missing and installs the Debian/Ubuntu packages
# with apt-get (through sudo when not root). Without root or sudo it prints
# the command to run and exits 1.
#
#   scripts/install-deps.sh chromium   also headless Chromium (Debian's
#                                      `chromium` package), which only
#                                      `make check-html` and `make pictures` need
set -euo pipefail

missing=()   # what is missing, for the message
packages=()  # the Debian packages that bring it

for extra in "$@"; do
    case "$extra" in
    chromium)
        if ! command -v chromium >/dev/null; then
            missing+=("headless Chromium")
            packages+=(chromium)
        fi
        ;;
    *)
        echo "install-deps: unknown extra '$extra' (known: chromium)" >&2
        echo "usage: scripts/install-deps.sh [chromium]" >&2
        exit 2
        ;;
    esac
done

if ! command -v cc >/dev/null && ! command -v gcc >/dev/null; then
    missing+=("a C compiler")
    packages+=(build-essential)
fi
if ! command -v pkg-config >/dev/null; then
    missing+=(pkg-config)
    packages+=(pkg-config)
fi
if ! command -v pkg-config >/dev/null || ! pkg-config --exists criterion; then
    missing+=("Criterion")
    packages+=(libcriterion-dev)
fi
if ! command -v valgrind >/dev/null; then
    missing+=(valgrind)
    packages+=(valgrind)
fi
# gcc prints the bare name back when it cannot find a library file. The
# runtimes come with libgcc-N-dev, N being gcc's major version.
if command -v gcc >/dev/null; then
    for lib in libasan.so libubsan.so libtsan.so; do
        if [ "$(gcc -print-file-name=$lib)" = "$lib" ]; then
            missing+=("gcc's ${lib%.so} runtime")
            packages+=("libgcc-$(gcc -dumpversion | cut -d. -f1)-dev")
            break
        fi
    done
fi

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
