#include "windowing/detrend.h"

#include <algorithm>
#include <cmath>

#include "models/robust_stats.h"
#include "models/weighted_line.h"

namespace chronotick {

namespace {

constexpr std::size_t kMinCells = 8;
constexpr int kHuberPasses = 4;
constexpr double kHuberC = 1.345;
constexpr double kScreenR2 = 0.5;   // the least-squares line must explain this much first
constexpr double kMinT = 4.0;       // the slope's t statistic needed (Rule D)

// The slope's t statistic |b| sqrt(Sxx) / s, s^2 = sum r^2 / (n - 2) over the final line's
// residuals r (unweighted, so a window that only a few cells happen to fit closely -- which
// makes the MAD of the residuals small -- does not pass), Sxx = sum (x - xbar)^2.
double slope_t(const std::vector<double>& x, const std::vector<double>& r, double b) {
  const std::size_t n = x.size();
  double xbar = 0;
  for (double v : x) xbar += v;
  xbar /= static_cast<double>(n);
  double sxx = 0, rss = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sxx += (x[i] - xbar) * (x[i] - xbar);
    rss += r[i] * r[i];
  }
  const double s = std::sqrt(rss / static_cast<double>(n - 2));
  return s > 0 ? std::fabs(b) * std::sqrt(sxx) / s : INFINITY;
}

// The weighted least-squares line y = a + b x (models/weighted_line.h); false when x has no spread.
bool line_through(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
                  double& a, double& b) {
  WeightedLine l;
  if (!weighted_line(x.data(), y.data(), w.data(), x.size(), l)) return false;
  b = l.b;
  a = l.ybar - l.b * l.xbar;
  return true;
}

}  // namespace

double detrend_window(float* values, std::size_t L, double r2_min, DetrendWork& ws) {
  std::vector<double>&x = ws.x, &y = ws.y, &w = ws.w, &r = ws.r;
  x.clear();
  y.clear();
  for (std::size_t k = 0; k < L; ++k) {
    if (std::isnan(values[k])) continue;
    x.push_back(static_cast<double>(k) - static_cast<double>(L - 1));
    y.push_back(values[k]);
  }
  const std::size_t n = y.size();
  if (n < kMinCells) return 0.0;
  const double spread = mad_sigma_into(y.data(), n, ws.sel);
  if (!(spread > 0) || !std::isfinite(spread)) return 0.0;
  auto explained = [spread](double sigma) { return 1.0 - (sigma / spread) * (sigma / spread); };  // R^2
  w.assign(n, 1.0);
  r.resize(n);
  double a = 0, b = 0, sigma = 0;
  if (!line_through(x, y, w, a, b)) return 0.0;
  for (int pass = 0; pass <= kHuberPasses; ++pass) {
    for (std::size_t i = 0; i < n; ++i) r[i] = y[i] - a - b * x[i];
    sigma = mad_sigma_into(r.data(), n, ws.sel);
    // screen: most windows of a disciplined clock are no line at all; skip the passes
    if (pass == 0 && explained(sigma) < std::min(kScreenR2, r2_min)) return 0.0;
    if (pass == kHuberPasses || !(sigma > 0)) break;
    for (std::size_t i = 0; i < n; ++i) {
      const double u = std::fabs(r[i]) / (kHuberC * sigma);
      w[i] = u <= 1.0 ? 1.0 : 1.0 / u;
    }
    if (!line_through(x, y, w, a, b)) return 0.0;
  }
  if (!(explained(sigma) > r2_min) || !std::isfinite(b) || b == 0.0) return 0.0;
  for (std::size_t i = 0; i < n; ++i) r[i] = y[i] - a - b * x[i];   // the final line's residuals
  if (!(slope_t(x, r, b) >= kMinT)) return 0.0;
  for (std::size_t k = 0; k < L; ++k) {
    if (std::isnan(values[k])) continue;
    const double dx = static_cast<double>(k) - static_cast<double>(L - 1);
    values[k] = static_cast<float>(static_cast<double>(values[k]) - b * dx);
  }
  return b;
}

}  // namespace chronotick
