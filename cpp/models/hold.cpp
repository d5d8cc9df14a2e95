#include "models/hold.h"

#include <algorithm>
#include <cmath>

#include "models/robust_stats.h"

namespace chronotick {

Gaussian predict_hold(const Series& s, const double* targets, std::size_t h, const ModelParams& p) {
  if (s.n == 0) return failed("no measurements");
  const std::size_t n = s.n;
  const double last = s.y[n - 1];
  double spread = std::nan(""), dt = std::nan("");
  if (n >= 3) {
    std::size_t first = n - 1 > p.hold_window ? n - 1 - p.hold_window : 0;
    std::vector<double> d, gaps;
    for (std::size_t i = first + 1; i < n; ++i) {
      d.push_back(s.y[i] - s.y[i - 1]);
      gaps.push_back(s.t[i] - s.t[i - 1]);
    }
    spread = mad_sigma(d);
    dt = median_of(gaps);
  }
  Gaussian g;
  g.mean.assign(h, last);
  g.sigma.resize(h);
  if (!(spread > 0.0) || !std::isfinite(spread)) {
    // Too little (or degenerate) history: a wide interval from what is
    // known: the range of the values and any stated uncertainty.
    double lo = *std::min_element(s.y, s.y + n), hi = *std::max_element(s.y, s.y + n);
    double width = hi - lo;
    if (s.u && std::isfinite(s.u[n - 1])) width = std::max(width, 3.0 * s.u[n - 1]);
    // Nothing else known: with under 3 values only the offset's own size is a
    // scale (a zero-width interval from one measurement would claim certainty);
    // with more, all equal, the data say the spread is below their resolution.
    if (!(width > 0.0)) width = n < 3 ? std::max(std::fabs(last), resolution_of(s.y, n)) : resolution_of(s.y, n);
    for (std::size_t k = 0; k < h; ++k) g.sigma[k] = width;
    g.note = !std::isfinite(spread)  // n < 3: no steps to take a spread of
                 ? "too little history for a spread estimate; interval from the range of the values"
                 : "at least half the steps between measurements exactly equal (no spread estimate); interval from the range of the values";
    return g;
  }
  const double t_last = s.t[n - 1];
  for (std::size_t k = 0; k < h; ++k) {
    double lead = targets[k] - t_last;
    g.sigma[k] = spread * std::sqrt(std::max(1.0, lead / dt));
  }
  return g;
}

}  // namespace chronotick
