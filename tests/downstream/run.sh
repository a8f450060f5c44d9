#!/usr/bin/env bash
# Builds and runs tests/downstream (a user's project) against hopfield-cpp; registered with ctest by
# tests/CMakeLists.txt (label "downstream"):
#   run.sh install      BUILD_DIR PREFIX      cmake --install of the current build into a scratch prefix
#   run.sh package      PREFIX WORK           find_package(hopfield) from PREFIX
#   run.sh pkg-config   PREFIX WORK           one compiler line from `pkg-config --cflags --libs hopfield`
#   run.sh subdirectory SOURCE_DIR WORK       add_subdirectory(SOURCE_DIR) as a shared library (recompiles it)
#   run.sh umbrella     SOURCE_DIR            every header below hopfield/ is reached from hopfield/hopfield.h
#   run.sh tutorial     PREFIX DOC.md WORK    the files of DOC.md's "<!-- file: NAME -->" blocks, then its
#                                             "<!-- run -->" block run as written, with $HOME/.local = PREFIX
# CXX (the compiler of the main build) is used throughout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=$1
cxx=${CXX:-c++}
jobs=$(nproc)

consumer() {  # configure, build and run tests/downstream in $1 with extra cmake arguments
  local work=$1; shift
  rm -rf "$work"
  cmake -S "$here" -B "$work" -DCMAKE_CXX_COMPILER="$cxx" "$@"
  cmake --build "$work" -j"$jobs"
  (cd "$work" && ./downstream)
}

case "$mode" in
  install)
    rm -rf "$3"
    cmake --install "$2" --prefix "$3"
    # Headers only below include/hopfield/, never as a bare include/engine (a clash in users' include paths).
    for bare in engine layers optim datasets report theory; do
      if [ -e "$3/include/$bare" ]; then echo "run.sh: $3/include/$bare installed outside include/hopfield/" >&2; exit 1; fi
    done
    test -f "$3/include/hopfield/hopfield.h" && test -f "$3/include/hopfield/engine/tensor.h"
    ;;
  package)
    consumer "$3" -DHOPFIELD_DOWNSTREAM_MODE=package -DCMAKE_PREFIX_PATH="$2"
    ;;
  pkg-config)
    rm -rf "$3" && mkdir -p "$3"
    export PKG_CONFIG_PATH
    PKG_CONFIG_PATH="$(find "$2" -name hopfield.pc -printf '%h')"
    flags=$(pkg-config --cflags --libs hopfield)
    # A shared libhopfield outside the loader's paths (a plain -L link records no rpath).
    export LD_LIBRARY_PATH="$(pkg-config --variable=libdir hopfield)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "$cxx $here/main.cpp $flags"
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -Wall -Wextra -Wpedantic -Werror "$here/main.cpp" $flags -o "$3/downstream"
    (cd "$3" && ./downstream)
    ;;
  subdirectory)
    # No CMAKE_BUILD_TYPE: the consumer's CMakeLists checks that hopfield leaves it unset.
    consumer "$3" -DHOPFIELD_DOWNSTREAM_MODE=subdirectory -DHOPFIELD_SOURCE_DIR="$2" -DBUILD_SHARED_LIBS=ON
    ;;
  umbrella)
    # Headers reached from the umbrella header through "hopfield/..." includes; internal ones are exempt.
    internal="hopfield/engine/kernel.h hopfield/engine/tensor_xt.h hopfield/engine/association_detail.h"
    cd "$2"
    reached=" hopfield/hopfield.h " todo="hopfield/hopfield.h"
    while [ -n "$todo" ]; do
      next=""
      for h in $todo; do
        for inc in $(sed -n 's|^#include "\(hopfield/[^"]*\)".*|\1|p' "$h"); do
          case "$reached" in *" $inc "*) ;; *) reached="$reached$inc "; next="$next $inc" ;; esac
        done
      done
      todo=$next
    done
    missing=0
    for h in $(find hopfield -name '*.h' -not -path '*/fuzz/*' | sort); do
      case " $internal $reached" in *" $h "*) ;; *)
        echo "run.sh: <hopfield/hopfield.h> does not bring $h: include it there (or, if it is internal, list it in" \
             "'internal' in tests/downstream/run.sh)" >&2
        missing=1 ;;
      esac
    done
    exit $missing
    ;;
  tutorial)
    prefix=$(cd "$2" && pwd) doc=$3 work=$4
    rm -rf "$work" && mkdir -p "$work/home" "$work/project"
    ln -s "$prefix" "$work/home/.local"
    # A fenced block right after a marker goes to that file (appended, so a program can be told in pieces).
    awk -v dir="$work/project" '
      /^<!-- file: .* -->$/ { target = dir "/" $3; next }
      /^<!-- run -->$/      { target = dir "/tutorial_run.sh"; next }
      /^```/ { if (inside) { inside = 0; target = ""; next } if (target != "") { inside = 1; written[target] = 1; next } }
      inside { print > target }
      END { n = 0; for (f in written) n++; if (n == 0) { print "no <!-- file: --> blocks found" > "/dev/stderr"; exit 1 } }
    ' "$doc"
    test -f "$work/project/tutorial_run.sh" || { echo "run.sh: $doc has no <!-- run --> block" >&2; exit 1; }
    ls "$work/project"
    (cd "$work/project" && HOME="$work/home" CXX="$cxx" bash -euxo pipefail tutorial_run.sh)
    ;;
  *)
    echo "usage: run.sh install|package|pkg-config|subdirectory|tutorial ..." >&2; exit 2 ;;
esac
