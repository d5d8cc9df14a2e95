#include "windowing/window.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace chronotick {
namespace {

// t strictly increasing and finite, y finite: a quick pass, then a second
// one only to name the offending index. (Strictly increasing from a finite
// t[0] to a finite t[n-1] means every t is finite; y - y == 0 fails for
// NaN and infinities.)
void validate(const double* t, const double* y, std::size_t n) {
  if (n == 0) return;
  bool ok = std::isfinite(t[0]) && std::isfinite(t[n - 1]) && std::isfinite(y[0]);
  for (std::size_t i = 1; ok && i < n; ++i) ok = t[i] > t[i - 1] && y[i] - y[i] == 0.0;
  if (ok) return;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(t[i])) throw std::invalid_argument("t[" + std::to_string(i) + "] is not finite");
    if (!std::isfinite(y[i])) throw std::invalid_argument("y[" + std::to_string(i) + "] is not finite");
    if (i > 0 && !(t[i] > t[i - 1]))
      throw std::invalid_argument("t must be strictly increasing: t[" + std::to_string(i) + "] <= t[" +
                                  std::to_string(i - 1) + "]");
  }
}

}  // namespace

Window make_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                   std::size_t context, double max_gap, double level) {
  if (!(step > 0) || !std::isfinite(step))
    throw std::invalid_argument("step_s must be finite and > 0, got " + std::to_string(step));
  if (context == 0) throw std::invalid_argument("context must be > 0");
  if (!(max_gap > 0)) throw std::invalid_argument("max_gap must be > 0, got " + std::to_string(max_gap));
  if (!std::isfinite(end_time)) throw std::invalid_argument("end_time must be finite");
  if (std::isinf(level)) throw std::invalid_argument("level must be finite");
  validate(t, y, n);
  // Measurements at or before end_time: [0, m).
  const std::size_t m = static_cast<std::size_t>(std::upper_bound(t, t + n, end_time) - t);
  if (std::isnan(level)) {
    if (m == 0) throw std::invalid_argument("end_time is before the first measurement: no level to centre on");
    level = y[m - 1];
  }
  Window w;
  w.level = level;
  w.values.assign(context, std::numeric_limits<float>::quiet_NaN());
  w.mask.assign(context, 0);
  w.times.resize(context);
  const double g0 = end_time - static_cast<double>(context - 1) * step;
  // j: the first measurement with t[j] >= g (the right bracket).
  std::size_t j = static_cast<std::size_t>(std::lower_bound(t, t + m, g0) - t);
  // Welford's running mean and sum of squared deviations of the centred values.
  double mean = 0, m2 = 0;
  std::size_t count = 0;
  for (std::size_t k = 0; k < context; ++k)
    w.times[k] = end_time - static_cast<double>(context - 1 - k) * step;
  for (std::size_t k = 0; k < context; ++k) {
    const double g = w.times[k];
    while (j < m && t[j] < g) ++j;
    if (j == m) break;  // after the last measurement: the rest of the grid too
    double c;  // v - level, formed in float64 from the differences
    if (t[j] == g) {
      c = y[j] - level;
    } else if (j == 0) {
      continue;  // before the first measurement
    } else {
      const double t0 = t[j - 1], t1 = t[j];
      if (t1 - t0 > max_gap) continue;
      c = (y[j - 1] - level) + (y[j] - y[j - 1]) * ((g - t0) / (t1 - t0));
    }
    w.values[k] = static_cast<float>(c);
    w.mask[k] = 1;
    ++count;
    const double d = c - mean;
    mean += d / static_cast<double>(count);
    m2 += d * (c - mean);
  }
  if (count >= 2 && m2 > 0) w.scale = std::sqrt(m2 / static_cast<double>(count));
  return w;
}

}  // namespace chronotick
