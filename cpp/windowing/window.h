// Irregular measurements -> a model's input window.
//
// The grid: `context` times of spacing `step` ending at `end_time`,
// g_k = end_time - (context - 1 - k) step. The value at g_k interpolates
// linearly between the measurements that bracket it (a measurement exactly
// at g_k gives its own value); it is missing (NaN, mask 0) before the first
// measurement (left padding), after the last (no extrapolation), and where
// the bracketing measurements are more than `max_gap` apart. Only
// measurements at or before end_time are used.
//
// Centring in float64: values are returned as float32 after subtracting
// `level` (by default the last measurement at or before end_time), so
// microsecond offsets on a 1.7e9 s epoch keep their precision; `scale` is
// the NaN-aware standard deviation of the centred values (1 with fewer than
// 2 or a zero spread). One merge pass: O(n + context).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chronotick {

struct Window {
  std::vector<float> values;
  std::vector<uint8_t> mask;
  std::vector<double> times;
  double level = 0.0;
  double scale = 1.0;
};

// t strictly increasing; level NaN = default. Throws std::invalid_argument
// for step <= 0, context == 0, max_gap <= 0 or no measurement <= end_time
// when the level is defaulted.
Window make_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                   std::size_t context, double max_gap, double level);

}  // namespace chronotick
