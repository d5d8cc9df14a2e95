// Exactly flat windows forecast as their constant (the ONNX forecaster's
// post-processing for Chronos-Bolt exports; python/chronotick/models/onnx.py).
//
// Chronos-Bolt divides its window by the window's spread (the standard
// deviation about its mean) and floors a zero spread at 1e-5, so a flat
// window comes out with noise on the 1e-5 scale whatever the data's. A row is flat when all its
// observed cells (not NaN) are equal, at least one observed:
//   c = the newest observed cell = every other observed cell;
// its model output (K levels x H steps) is then set to c everywhere: a
// constant forecast with zero-width quantiles. Any non-zero spread, however
// small, is the model's own scale and is left to it.
#pragma once
#include <cstddef>

namespace chronotick {

// Row r of x [rows, context] flat -> out[r * per_row .. + per_row) := its value.
// Returns how many rows were pinned.
std::size_t pin_flat_rows(const float* x, std::size_t rows, std::size_t context, float* out,
                          std::size_t per_row);

}  // namespace chronotick
