#!/usr/bin/env bash
# Developer build: compile the extension with CMake into build/dev and drop it
# next to the sources, so `PYTHONPATH=python pytest` tests the working tree.
# (Users and CI use `pip install .`.)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build/dev}
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCHRONOTICK_BUILD_TESTS=ON \
  -Dpybind11_DIR="$(python3 -c 'import pybind11; print(pybind11.get_cmake_dir())')" >/dev/null
cmake --build "$dir"
# Replace atomically: other processes may have the old module mapped.
for so in "$dir"/_core*.so; do
  tmp=$(mktemp python/chronotick/.core.XXXXXX)
  cp "$so" "$tmp" && mv -f "$tmp" "python/chronotick/$(basename "$so")"
done
