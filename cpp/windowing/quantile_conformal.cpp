#include "windowing/quantile_conformal.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/normal.h"

namespace chronotick {
namespace {

// Row q[K] at `level` clamped into [levels[0], levels[K-1]], linear between levels.
double at_level(const double* q, const double* levels, std::size_t K, double level) {
  const double lc = std::clamp(level, levels[0], levels[K - 1]);
  std::size_t hi = static_cast<std::size_t>(std::lower_bound(levels, levels + K, lc) - levels);
  hi = std::clamp<std::size_t>(hi, 1, K - 1);
  const std::size_t lo = hi - 1;
  const double w = (lc - levels[lo]) / (levels[hi] - levels[lo]);
  return q[lo] * (1.0 - w) + q[hi] * w;
}

}  // namespace

void conformal_factors(const double* y, const double* q, std::size_t n, const double* levels, std::size_t K,
                       std::size_t median_index, const double* cov, std::size_t nc, double* out) {
  const double widest = std::min(2.0 * levels[K - 1] - 1.0, 1.0 - 2.0 * levels[0]);
  std::vector<double> scores(n);
  for (std::size_t c = 0; c < nc; ++c) {
    if (cov[c] == 0.0) {
      out[c] = 1.0;
      continue;
    }
    const double cc = std::min(cov[c], widest);
    for (std::size_t j = 0; j < n; ++j) {
      const double* row = q + j * K;
      const double m = row[median_index], e = y[j] - m;
      const double d = e >= 0 ? at_level(row, levels, K, (1.0 + cc) / 2.0) - m
                              : m - at_level(row, levels, K, (1.0 - cc) / 2.0);
      scores[j] = e == 0 ? 0.0 : std::fabs(e) / std::max(d, 1e-300);
    }
    const double nd = static_cast<double>(n), k = std::ceil((nd + 1.0) * cov[c]);
    const std::size_t idx = std::min(n, static_cast<std::size_t>(std::max(1.0, k))) - 1;
    std::nth_element(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(idx), scores.end());
    out[c] = scores[idx];
    // beyond c_n = n / (n + 1), the widest coverage n scores give: the largest grown by the normal
    // tail's ratio (as the classical calibration, models/calibration.cpp); it had been the largest
    // itself, so 80% ... 99.9% from 8 scores were one interval, covering 89%
    const double cn = nd / (nd + 1.0);
    if (k > nd && cov[c] > cn && out[c] > 0)
      out[c] *= normal_quantile(0.5 + 0.5 * cov[c]) / normal_quantile(0.5 + 0.5 * cn);
  }
}

}  // namespace chronotick
