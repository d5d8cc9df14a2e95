#!/usr/bin/env bash
# Developer build: compile the extension with CMake into build/dev and drop it
# next to the sources, so `PYTHONPATH=python pytest` tests the working tree.
# (Users and CI use `pip install .`.)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build/dev}
# What `pip install .` fetches into its own isolated build environment, which a developer build
# needs here: pybind11 importable by this python3, cmake and ninja on PATH.
missing=()
pybind11_dir=$(python3 -c 'import pybind11; print(pybind11.get_cmake_dir())' 2>/dev/null) || missing+=(pybind11)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v ninja >/dev/null 2>&1 || missing+=(ninja)
if [ ${#missing[@]} -gt 0 ]; then
  echo "dev_build.sh: missing ${missing[*]} (for $(command -v python3)); install with: python3 -m pip install ${missing[*]}" >&2
  exit 1
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHRONOTICK_BUILD_TESTS=ON \
  -Dpybind11_DIR="$pybind11_dir" >/dev/null
cmake --build "$dir"
# Replace atomically: other processes may have the old module mapped.
for so in "$dir"/_core*.so; do
  tmp=$(mktemp python/chronotick/.core.XXXXXX)
  cp "$so" "$tmp" && mv -f "$tmp" "python/chronotick/$(basename "$so")"
done
