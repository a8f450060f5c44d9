#!/usr/bin/env bash
# Installs the Debian packages hopfield-cpp needs, only those that are missing. Sourced by scripts/run
# and scripts/test. Without root it prints the apt-get line to run and fails.
HF_PACKAGES="g++ cmake make pkg-config xtensor-dev libxtensor-blas-dev libopenblas-dev doctest-dev libcli11-dev nlohmann-json3-dev libopenmpi-dev openmpi-bin"
hf_install_deps() {
  local missing=()
  for p in $HF_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "hopfield-cpp needs these Debian packages: ${missing[*]}" >&2
    echo "run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
