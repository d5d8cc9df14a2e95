// Irregular measurements -> the input window of the shipped ONNX model
// (clock-bolt was trained on exactly this binning; see
// python/chronotick/models/onnx.py `window`, the numpy reference, and
// tests/test_onnx_window_parity.py, which proves the two equal).
//
// The grid: `context` cells ending at end_time,
//   g_k = end_time - (context - 1 - k) * step,   k = 0 .. context-1.
// Measurement i goes to its nearest grid time, cell
//   k_i = context - 1 + floor((t_i - end_time) / step + 1/2)
// (cell k covers [g_k - step/2, g_k + step/2)). Cells k < 0 are older than
// the window and dropped; k_i > context - 1 (a measurement after
// end_time + step/2) is an error. A cell holds the mean of (y_i - level)
// over its measurements, summed in float64 in time order and divided by
// their count (numpy's bincount order), then cast to float32; a cell with
// none is NaN. level: default the newest measurement y[n-1], subtracted in
// float64 so float32 keeps the resolution of the differences.
//
// The grid step used at run time: the median spacing of the newest 65
// measurements (64 differences; the mean of the middle two when even).
//
// Cost: a binary search for the first measurement inside the window, then
// one pass over the measurements inside it (t increasing: the cells of
// consecutive measurements do not decrease, so a cell's measurements are
// adjacent and no scratch array is needed).
#pragma once
#include <cstddef>
#include <cstdint>

namespace chronotick {

// Throws std::invalid_argument, naming the value the way the Python API
// does, unless t and y are finite, of equal length >= min_count, and t
// strictly increasing. One pass when all is well.
void check_measurements(const double* t, std::size_t nt, const double* y, std::size_t ny,
                        std::size_t min_count = 2);

// Median of t[i] - t[i-1] over the newest `diffs` differences (fewer when
// n - 1 < diffs). Needs n >= 2.
double median_spacing(const double* t, std::size_t n, std::size_t diffs = 64);

// Fills values[0 .. context) (float32, NaN = empty cell) and returns the
// level subtracted (NaN level = y[n-1]). t non-decreasing and finite, y
// finite (check_measurements), step finite > 0, context > 0, n >= 1 when
// level is NaN. Throws std::invalid_argument for a measurement after
// end_time + step/2 or a bad step/end_time.
double nearest_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                      std::size_t context, double level, float* values);

// How many cells of the window ending at the newest measurement t[n-1]
// (step wide, `context` of them) hold a measurement: the measurements from
// t[n-1] - (context - 1/2) step on, several in one cell counted once, cells
// as nearest_window's. t non-decreasing and finite, step finite > 0.
std::size_t count_cells(const double* t, std::size_t n, double step, std::size_t context);

// Index of the first measurement after the newest spacing t[i] - t[i-1] >
// gap among the newest `look` measurements; 0 if there is none.
std::size_t after_last_gap(const double* t, std::size_t n, std::size_t look, double gap);

// How many of the newest measurements the window of each prefix [0, i), i in
// ends, is made of (the ONNX forecaster's memo key spans them): those from
//   t[i-1] - (context + 1/2) step_i   on   (a half step more than the window),
//   step_i = step_factor * median_spacing(t, i),
// and at least min_span, which must cover the newest 65 the step is the
// median of. Older measurements denser than the newest ones (1 s polls, then
// 100 s) put many more than min_span inside the window. Where even the
// widest step any of the ends' newest spacings allow (step_factor x the
// largest of them) leaves t[i - min_span - 1] outside, the answer is min_span
// without the median. t increasing and finite; ends[k] in [1, n]; i < 2: min_span.
void window_spans(const double* t, std::size_t n, const std::int64_t* ends, std::size_t m, std::size_t context,
                  double step_factor, std::size_t min_span, std::int64_t* out);

// min over i in [first_end, last_end) of i - window_spans(i): the oldest measurement any of
// those prefixes' keys reaches (negative where a span exceeds its prefix). Needs
// 1 <= first_end < last_end <= n.
std::int64_t window_oldest(const double* t, std::size_t n, std::size_t first_end, std::size_t last_end,
                           std::size_t context, double step_factor, std::size_t min_span);

}  // namespace chronotick
