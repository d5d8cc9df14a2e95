#include "windowing/nearest_window.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "windowing/centred_value.h"
#include "windowing/float_repr.h"

namespace chronotick {

void check_measurements(const double* t, std::size_t nt, const double* y, std::size_t ny, std::size_t min_count) {
  // Fast pass: strictly increasing from a finite t[0] to a finite t[n-1]
  // means every t is finite; y - y == 0 fails for NaN and infinities.
  const std::size_t n = std::min(nt, ny);
  bool ok = nt == ny && n >= min_count && n >= 1 && std::isfinite(t[0]) && std::isfinite(t[n - 1]) &&
            y[0] - y[0] == 0.0;
  for (std::size_t i = 1; ok && i < n; ++i) ok = t[i] > t[i - 1] && y[i] - y[i] == 0.0;
  if (ok) return;
  // Slow pass, only to name the first problem (in the Python API's order).
  for (std::size_t i = 0; i < nt; ++i)
    if (!std::isfinite(t[i]))
      throw std::invalid_argument("t[" + std::to_string(i) + "] = " + float_repr(t[i]) + " is not finite");
  for (std::size_t i = 0; i < ny; ++i)
    if (!std::isfinite(y[i]))
      throw std::invalid_argument("y[" + std::to_string(i) + "] = " + float_repr(y[i]) + " is not finite");
  if (nt != ny)
    throw std::invalid_argument("t and y differ in length: " + std::to_string(nt) + " vs " + std::to_string(ny));
  if (n < min_count || n == 0)
    throw std::invalid_argument("at least " + std::to_string(std::max<std::size_t>(min_count, 1)) +
                                " measurement" + (min_count > 1 ? "s are" : " is") + " needed, got " +
                                std::to_string(n));
  for (std::size_t i = 1; i < n; ++i)
    if (!(t[i] > t[i - 1]))
      throw std::invalid_argument("t must be strictly increasing: t[" + std::to_string(i) + "] = " +
                                  float_repr(t[i]) + " after t[" + std::to_string(i - 1) + "] = " +
                                  float_repr(t[i - 1]));
}

double median_spacing(const double* t, std::size_t n, std::size_t diffs) {
  if (n < 2) throw std::invalid_argument("median_spacing needs at least 2 times, got " + std::to_string(n));
  if (diffs == 0) throw std::invalid_argument("median_spacing needs diffs >= 1");
  const std::size_t m = std::min(diffs, n - 1);
  double small[128];
  std::vector<double> big;
  double* d = small;
  if (m > 128) {
    big.resize(m);
    d = big.data();
  }
  for (std::size_t i = 0; i < m; ++i) d[i] = t[n - m + i] - t[n - m + i - 1];
  const std::size_t k = m / 2;
  std::nth_element(d, d + k, d + m);
  if (m % 2) return d[k];
  const double below = *std::max_element(d, d + k);  // the k-th smallest (1-based)
  return 0.5 * (below + d[k]);
}

double nearest_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                      std::size_t context, double level, float* values) {
  if (!(step > 0) || !std::isfinite(step))
    throw std::invalid_argument("step_s must be finite and > 0, got " + float_repr(step));
  if (!std::isfinite(end_time)) throw std::invalid_argument("end_time must be finite, got " + float_repr(end_time));
  if (context == 0) throw std::invalid_argument("context must be > 0");
  if (std::isinf(level)) throw std::invalid_argument("level must be finite, got " + float_repr(level));
  if (std::isnan(level)) {  // NaN: the default, the newest y
    if (n == 0) throw std::invalid_argument("no measurements: no level to centre on");
    level = y[n - 1];
  }
  std::fill(values, values + context, std::numeric_limits<float>::quiet_NaN());
  const double last = static_cast<double>(context - 1);
  // The cell of measurement i, as a double (exact for any sane grid; a
  // nonsense step cannot overflow an integer conversion).
  auto cell = [&](std::size_t i) { return std::floor((t[i] - end_time) / step + 0.5) + last; };
  if (n > 0 && cell(n - 1) > last)
    throw std::invalid_argument("measurement at t=" + float_repr(t[n - 1]) + " lies after the window's end_time " +
                                float_repr(end_time));
  // The first measurement inside the window (cell >= 0; cells do not decrease).
  std::size_t lo = 0, hi = n;
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (cell(mid) < 0) lo = mid + 1; else hi = mid;
  }
  double widest = 0.0;
  for (std::size_t i = lo; i < n;) {
    const double k = cell(i);
    double sum = 0.0;  // bincount: 0 + w_a + w_b + ... in time order
    std::size_t count = 0;
    for (; i < n && cell(i) == k; ++i, ++count) sum += y[i] - level;
    const auto cell_k = static_cast<std::size_t>(k);
    const double v = sum / static_cast<double>(count);
    values[cell_k] = centred_float32(v, cell_k, level);
    widest = std::max(widest, std::fabs(v));
  }
  // Variations all below float32's normal range come out as zeros or a few subnormal steps:
  // a flat window (intervals pinned to zero width) or noise (1e209-wide ones), either way not
  // the data's (found by an audit, 2026-12-05, at 1e-46 s)
  if (widest > 0.0 && widest < static_cast<double>(std::numeric_limits<float>::min()))
    throw std::invalid_argument("the window's values vary by at most " + float_repr(widest) +
                                " about their level, below float32's normal range (1.2e-38): the model "
                                "cannot see them; give the values in a smaller unit");
  return level;
}

std::size_t count_cells(const double* t, std::size_t n, double step, std::size_t context) {
  if (!(step > 0) || !std::isfinite(step))
    throw std::invalid_argument("step_s must be finite and > 0, got " + float_repr(step));
  if (n < 2) return n;
  const double end = t[n - 1];
  const double first = end - (static_cast<double>(context) - 0.5) * step;  // the oldest cell's lower edge
  std::size_t lo = 0, hi = n;  // the first t >= first (numpy searchsorted, side "left")
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (t[mid] < first) lo = mid + 1; else hi = mid;
  }
  if (n - lo <= 1) return n - lo;
  std::size_t cells = 1;
  double prev = std::floor((t[lo] - end) / step + 0.5);
  for (std::size_t i = lo + 1; i < n; ++i) {
    const double c = std::floor((t[i] - end) / step + 0.5);
    if (c != prev) ++cells;
    prev = c;
  }
  return cells;
}

std::size_t after_last_gap(const double* t, std::size_t n, std::size_t look, double gap) {
  const std::size_t start = n > look ? n - look : 0;
  for (std::size_t i = n; i-- > start + 1;)
    if (t[i] - t[i - 1] > gap) return i;
  return 0;
}

namespace {

// The largest spacing t[j] - t[j-1] among those the steps of prefixes ending in [first_end,
// last_end] are the median of (the newest 64 of each).
double widest_spacing(const double* t, std::size_t first_end, std::size_t last_end) {
  double w = 0;
  for (std::size_t j = (first_end > 65 ? first_end - 65 : 0) + 1; j < last_end; ++j) w = std::max(w, t[j] - t[j - 1]);
  return w;
}

// window_spans of one prefix [0, i); widest >= the largest of its newest 64 spacings.
std::size_t window_span(const double* t, std::size_t i, double cells, double step_factor, std::size_t min_span,
                        double widest) {
  if (i < 2 || i <= min_span) return min_span;   // no step, or the span holds them all
  // step_i <= step_factor x the largest of the spacings it is the median of (<= widest): the
  // edge is no older than this one (same operations, so the bound holds in floating point)
  if (t[i - min_span - 1] < t[i - 1] - cells * (step_factor * widest)) return min_span;
  const double edge = t[i - 1] - cells * (step_factor * median_spacing(t, i, 64));
  const auto lo = static_cast<std::size_t>(std::lower_bound(t, t + i, edge) - t);
  return std::max(min_span, i - lo);
}

}  // namespace

void window_spans(const double* t, std::size_t n, const std::int64_t* ends, std::size_t m, std::size_t context,
                  double step_factor, std::size_t min_span, std::int64_t* out) {
  std::size_t first = n, last = 0;
  for (std::size_t k = 0; k < m; ++k) {
    if (ends[k] < 1 || static_cast<std::size_t>(ends[k]) > n)
      throw std::invalid_argument("ends[" + std::to_string(k) + "] = " + std::to_string(ends[k]) +
                                  " is not in [1, " + std::to_string(n) + "]");
    first = std::min(first, static_cast<std::size_t>(ends[k]));
    last = std::max(last, static_cast<std::size_t>(ends[k]));
  }
  const double widest = m ? widest_spacing(t, first, last) : 0.0;   // one bound for all ends first
  for (std::size_t k = 0; k < m; ++k)
    out[k] = static_cast<std::int64_t>(
        window_span(t, static_cast<std::size_t>(ends[k]), static_cast<double>(context) + 0.5, step_factor, min_span, widest));
}

std::int64_t window_oldest(const double* t, std::size_t n, std::size_t first_end, std::size_t last_end,
                           std::size_t context, double step_factor, std::size_t min_span) {
  if (first_end < 1 || last_end > n || first_end >= last_end)
    throw std::invalid_argument("window_oldest: the ends [" + std::to_string(first_end) + ", " +
                                std::to_string(last_end) + ") are not a range inside [1, " + std::to_string(n) + "]");
  const double widest = widest_spacing(t, first_end, last_end - 1);
  std::int64_t oldest = static_cast<std::int64_t>(n);
  for (std::size_t i = first_end; i < last_end; ++i)
    oldest = std::min(oldest, static_cast<std::int64_t>(i) -
                                  static_cast<std::int64_t>(window_span(t, i, static_cast<double>(context) + 0.5, step_factor, min_span, widest)));
  return oldest;
}

}  // namespace chronotick
