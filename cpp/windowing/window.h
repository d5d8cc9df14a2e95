// Irregular measurements -> a model's input window.
//
// The grid: `context` times of spacing `step` ending at `end_time`,
//   g_k = end_time - (context - 1 - k) * step,   k = 0 .. context-1.
// The value at g_k is the linear interpolation between the measurements
// that bracket it, t_j-1 < g_k < t_j:
//   v_k = y_j-1 + (y_j - y_j-1) * (g_k - t_j-1) / (t_j - t_j-1),
// and a measurement exactly at g_k gives its own value. It is missing (NaN,
// mask 0) before the first measurement (left padding when history is
// short), after the last one (no extrapolation), and where the bracketing
// measurements are more than `max_gap` apart. Only measurements at or
// before end_time are used.
//
// Centring in float64: the returned values are float32 of v_k - level, with
// `level` by default the last measurement at or before end_time, so
// microsecond offsets on a 1.7e9 s epoch keep their precision. `scale` is
// the standard deviation (ddof 0, like numpy.nanstd) of the centred observed
// values, or 1 with fewer than 2 of them or no spread (std <= kNoSpread x
// the largest |centred value|: rounding, not signal); the values are NOT
// divided by it.
//
// Cost: O(n) to validate, then two binary searches and one merge pass over
// the measurements inside the grid: O(log n + context + measurements used).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chronotick {

// Relative spread below which a window's values count as constant (scale 1).
inline constexpr double kNoSpread = 1e-12;

struct Window {
  std::vector<float> values;   // centred: v_k - level, NaN where missing
  std::vector<uint8_t> mask;   // 1 = observed
  std::vector<double> times;   // g_k
  double level = 0.0;
  double scale = 1.0;
};

// Throws std::invalid_argument naming the argument (and index) unless:
// t strictly increasing and finite, y finite, end_time finite, step finite
// and > 0, context > 0, max_gap > 0 (may be +inf), level finite or NaN
// (NaN = default, which needs a measurement at or before end_time).
Window make_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                   std::size_t context, double max_gap, double level);

// Many series, one grid shape: series b is t[b][0..n[b]), y[b], ending at
// end_time[b], centred on level[b] (level == nullptr or NaN entries =
// default). Row b of values/mask/times is that series' window. Errors name
// the series: "series 3: t[5] is not finite".
struct Windows {
  std::size_t batch = 0, context = 0;
  std::vector<float> values;   // [batch, context], row-major
  std::vector<uint8_t> mask;   // [batch, context]
  std::vector<double> times;   // [batch, context]
  std::vector<double> level;   // [batch]
  std::vector<double> scale;   // [batch]
};
Windows make_windows(const double* const* t, const double* const* y, const std::size_t* n, std::size_t batch,
                     const double* end_time, double step, std::size_t context, double max_gap, const double* level);

}  // namespace chronotick
