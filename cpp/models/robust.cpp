#include "models/robust.h"

#include <algorithm>
#include <cmath>

#include "models/robust_stats.h"

namespace chronotick {

Gaussian predict_robust(const Series& s, const double* /*targets*/, std::size_t h, const ModelParams& p) {
  if (s.n < 3) return failed("robust needs at least 3 measurements");
  std::size_t w = std::min(s.n, p.robust_window);
  std::vector<double> v(s.y + (s.n - w), s.y + s.n);
  double med = median_of(v);
  double spread = mad_sigma(v);
  if (spread == 0.0) {
    // More than half the window ties (quantised or constant data): the mean
    // absolute deviation from the median, x sqrt(pi/2) (a normal sigma),
    // floored at the values' resolution.
    double sad = 0;
    for (double x : v) sad += std::fabs(x - med);
    spread = std::max(1.2533 * sad / static_cast<double>(w), resolution_of(v.data(), w));
  }
  if (!(spread > 0.0) || !std::isfinite(spread)) return failed("robust: no finite spread in the window (values too large?)");
  Gaussian g;
  g.mean.assign(h, med);
  g.sigma.assign(h, spread * std::sqrt(1.0 + M_PI / (2.0 * static_cast<double>(w))));
  return g;
}

}  // namespace chronotick
