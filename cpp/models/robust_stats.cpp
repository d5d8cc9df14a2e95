#include "models/robust_stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace chronotick {

std::vector<double> relative_weights(const double* u, std::size_t n) {
  std::vector<double> w(n, 1.0);
  if (!u) return w;
  double ref = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (std::isfinite(u[i]) && u[i] > 0) ref = std::max(ref, u[i]);
  if (!(ref > 0)) return w;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(u[i]) || !(u[i] > 0)) { w[i] = std::nan(""); continue; }
    double r = u[i] / ref;
    w[i] = 1.0 / (r * r);
  }
  std::vector<double> known;
  for (double x : w) if (std::isfinite(x)) known.push_back(x);
  double med = median_of(known);
  for (double& x : w) x = std::isfinite(x) ? x / med : 1.0;
  return w;
}

}  // namespace chronotick
