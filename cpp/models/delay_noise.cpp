#include "models/delay_noise.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "models/robust_stats.h"

namespace chronotick {

namespace {

constexpr std::size_t kMinPoints = 8;
constexpr int kGrid = 16;          // k = 0.01 .. 1000, geometric, plus k = 0
constexpr double kLo = 1e-2, kHi = 1e3;

double median5(const double* v) {
  double a[5] = {v[0], v[1], v[2], v[3], v[4]};
  std::nth_element(a, a + 2, a + 5);
  return a[2];
}

}  // namespace

bool delay_noise(const double* y, const double* d, std::size_t n, double* sigma, DelayNoise* fit) {
  if (n < kMinPoints) return false;
  const double dmin = *std::min_element(d, d + n);
  std::vector<double> x(n), pos;
  pos.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = 0.5 * (d[i] - dmin);
    if (x[i] > 0) pos.push_back(x[i]);
  }
  if (pos.empty()) return false;
  const double x_typ = median_of(std::move(pos));
  const std::size_t m = n - 4;  // interior points i = 2 .. n-3
  std::vector<double> r(m), u(m);
  double rsum = 0.0;
  for (std::size_t j = 0; j < m; ++j) {
    r[j] = std::fabs(y[j + 2] - median5(y + j));
    u[j] = x[j + 2] / x_typ;
    rsum += r[j];
  }
  if (!(rsum > 0.0) || !std::isfinite(rsum)) return false;
  const double penalty = 0.5 * std::log(static_cast<double>(m));
  double best_k = 0.0, best_s = rsum / static_cast<double>(m);
  double best_score = -static_cast<double>(m) * std::log(best_s);
  for (int g = 0; g < kGrid; ++g) {
    const double k = kLo * std::pow(kHi / kLo, static_cast<double>(g) / (kGrid - 1));
    double sum = 0.0, logf = 0.0;
    for (std::size_t j = 0; j < m; ++j) {
      const double f = 1.0 + k * u[j];
      sum += r[j] / f;
      logf += std::log(f);
    }
    const double s = sum / static_cast<double>(m);
    if (!(s > 0.0)) continue;
    const double score = -static_cast<double>(m) * std::log(s) - logf - penalty;
    if (score > best_score) { best_score = score; best_k = k; best_s = s; }
  }
  if (fit) *fit = DelayNoise{best_k, best_s, x_typ};
  const double scale = std::sqrt(0.5 * M_PI) * best_s;
  for (std::size_t i = 0; i < n; ++i) sigma[i] = scale * (1.0 + best_k * x[i] / x_typ);
  return true;
}

}  // namespace chronotick
