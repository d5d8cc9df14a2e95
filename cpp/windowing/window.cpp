#include "windowing/window.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace chronotick {

Window make_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                   std::size_t context, double max_gap, double level) {
  if (!(step > 0) || !std::isfinite(step)) throw std::invalid_argument("step_s must be finite and > 0");
  if (context == 0) throw std::invalid_argument("context must be > 0");
  if (!(max_gap > 0)) throw std::invalid_argument("max_gap must be > 0");
  if (!std::isfinite(end_time)) throw std::invalid_argument("end_time must be finite");
  // Measurements at or before end_time: [0, m).
  std::size_t m = n;
  while (m > 0 && t[m - 1] > end_time) --m;
  if (std::isnan(level)) {
    if (m == 0) throw std::invalid_argument("no measurement at or before end_time to take the level from");
    level = y[m - 1];
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Window w;
  w.level = level;
  w.values.assign(context, static_cast<float>(nan));
  w.mask.assign(context, 0);
  w.times.resize(context);
  double sum = 0, sum2 = 0;
  std::size_t count = 0, j = 0;  // j: first measurement with t[j] >= g
  for (std::size_t k = 0; k < context; ++k) {
    const double g = end_time - static_cast<double>(context - 1 - k) * step;
    w.times[k] = g;
    while (j < m && t[j] < g) ++j;
    if (j == m) continue;  // after the last measurement
    double v;
    if (t[j] == g) {
      v = y[j];
    } else if (j == 0) {
      continue;  // before the first measurement
    } else {
      const double t0 = t[j - 1], t1 = t[j];
      if (t1 - t0 > max_gap) continue;
      v = y[j - 1] + (y[j] - y[j - 1]) * (g - t0) / (t1 - t0);
    }
    const double c = v - level;
    w.values[k] = static_cast<float>(c);
    w.mask[k] = 1;
    sum += c;
    sum2 += c * c;
    ++count;
  }
  if (count >= 2) {
    const double mean = sum / static_cast<double>(count);
    const double var = (sum2 - static_cast<double>(count) * mean * mean) / static_cast<double>(count - 1);
    w.scale = var > 0 ? std::sqrt(var) : 1.0;
  }
  return w;
}

}  // namespace chronotick
