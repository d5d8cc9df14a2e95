#include "models/regression.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "models/fit_cache.h"
#include "models/robust_stats.h"
#include "models/weighted_line.h"

namespace chronotick {
namespace {

struct Line {
  double tbar, a, b, sw, sxx, s2;
};

// Weighted least squares on x (time relative to t0), y, weights w over
// [lo, n) (models/weighted_line.h), with the residual variance s2.
bool wls(const std::vector<double>& x, const std::vector<double>& y, const std::vector<double>& w,
         std::size_t lo, Line& out) {
  WeightedLine l;
  if (!weighted_line(x.data() + lo, y.data() + lo, w.data() + lo, x.size() - lo, l)) return false;
  out.tbar = l.xbar; out.a = l.ybar; out.b = l.b; out.sw = l.sw; out.sxx = l.sxx;
  double rss = 0;
  for (std::size_t i = lo; i < x.size(); ++i) {
    double r = y[i] - (out.a + out.b * (x[i] - l.xbar));
    rss += w[i] * r * r;
  }
  std::size_t m = x.size() - lo;
  out.s2 = m > 2 ? rss / static_cast<double>(m - 2) : 0.0;
  return true;
}

std::size_t count_runs(const double* r, std::size_t n) {
  std::size_t runs = 0;
  int prev = 0;
  for (std::size_t i = 0; i < n; ++i) {
    int sgn = r[i] >= 0 ? 1 : -1;
    if (sgn != prev) { ++runs; prev = sgn; }
  }
  return runs;
}

// Wald-Wolfowitz: is the number of sign runs below the one-sided 5% critical
// value (normal approximation)?
bool too_few_runs(const double* r, std::size_t n, std::size_t runs) {
  std::size_t np = 0;
  for (std::size_t i = 0; i < n; ++i) np += r[i] >= 0;
  std::size_t nm = n - np;
  if (np == 0 || nm == 0) return n >= 6;
  double a = static_cast<double>(np), b = static_cast<double>(nm), total = a + b;
  double mu = 2.0 * a * b / total + 1.0;
  double var = (mu - 1.0) * (mu - 2.0) / (total - 1.0);
  if (!(var > 0)) return false;
  return static_cast<double>(runs) < mu - 1.645 * std::sqrt(var);
}

// Theil-Sen line through (x, y)[0..n): slope b = median of the pairwise
// slopes (y_j - y_i) / (x_j - x_i), intercept a = median of y_i - b x_i.
// A start for the Huber iterations that one gross outlier cannot move
// (breakdown 29%), where least squares is pulled towards it, the more so at
// the newest sample, whose leverage is the largest.
void theil_sen(const double* x, const double* y, std::size_t n, std::vector<double>& work,
               double& a, double& b) {
  // at least n: the intercepts below reuse it (n = 2 has one pair; it had been written past
  // its end, reachable through ModelParams.regression_max = 2; an audit, 2026-12-06)
  work.resize(std::max(n, n * (n - 1) / 2));
  std::size_t k = 0;
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) work[k++] = (y[j] - y[i]) / (x[j] - x[i]);
  b = median_in_place(work.data(), k);
  for (std::size_t i = 0; i < n; ++i) work[i] = y[i] - b * x[i];
  a = median_in_place(work.data(), n);
}

}  // namespace

RegressionFit fit_regression(const Series& s, const ModelParams& p) {
  return cached_regression_fit(s, p, fit_regression_fresh);
}

RegressionFit fit_regression_fresh(const Series& s, const ModelParams& p) {
  RegressionFit fit;
  const std::size_t need = std::max<std::size_t>(3, p.regression_min);
  if (s.n < need) return fit;
  const std::size_t first = s.n > p.regression_max ? s.n - p.regression_max : 0;
  const std::size_t m = s.n - first;
  // No line through fewer than 2 points (regression_max 0 or 1: the Theil-Sen start had taken
  // the median of no slopes, a crash; found by a review, 2026-12-05).
  if (m < 2) return fit;
  fit.t0 = s.t[s.n - 1];
  std::vector<double> x(m), y(m), w(m);
  for (std::size_t i = 0; i < m; ++i) {
    x[i] = s.t[first + i] - fit.t0;
    y[i] = s.y[first + i];
  }
  // Weights 1/u^2 relative to a typical sample's, so that s2 is the variance
  // of a typical sample.
  const std::vector<double> base = relative_weights(s.u ? s.u + first : nullptr, m);
  fit.w_new = 1.0;

  std::size_t lo = 0;
  const std::size_t step = std::max<std::size_t>(1, m / 8);
  Line line{};
  std::vector<double> r(m), work;
  for (;;) {
    // Iteratively reweighted (Huber) WLS on samples [lo, m); r holds the
    // weighted residuals r_i sqrt(base_i).
    const std::size_t k = m - lo;
    std::copy(base.begin(), base.end(), w.begin());
    bool good = wls(x, y, w, lo, line);
    // Residuals r_i sqrt(base_i) of line l into r, their robust scale returned.
    auto scaled_residuals = [&](const Line& l) {
      for (std::size_t i = lo; i < m; ++i)
        r[i] = (y[i] - (l.a + l.b * (x[i] - l.tbar))) * std::sqrt(base[i]);
      return mad_sigma_into(r.data() + lo, k, work);
    };
    // A robust scale of rounding errors is no scale: 16 spacings of doubles at the median |y|
    // (exactly linear values but for a few outliers leave more than half the residuals at
    // rounding level, which made the Huber weights -- and the fit's sigma -- depend on the
    // values' unit: 95% intervals 1e6 times too wide at one scale; audit 2026-12-05). The
    // median, not the largest: spikes far off must not raise it over genuine small residuals
    // (a Clock's step-corrected measurements differ from the level by ~1e-15 s beside 20 s
    // spikes, and are rightly a scale that rejects the spikes).
    work.assign(y.begin() + static_cast<std::ptrdiff_t>(lo), y.end());
    for (double& v : work) v = std::fabs(v);
    const double no_scale = 16.0 * std::numeric_limits<double>::epsilon() * median_in_place(work.data(), k);
    for (int iter = 0; good && iter < 2; ++iter) {
      double sc = 0;
      if (iter == 0) {
        // The first weights come from the residuals of a Theil-Sen line,
        // not of the least-squares one -- unless more than half of them are
        // zero to rounding (exactly linear or coarsely quantized values).
        Line start{};
        theil_sen(x.data() + lo, y.data() + lo, k, work, start.a, start.b);
        sc = scaled_residuals(start);
      }
      if (!(sc > no_scale)) sc = scaled_residuals(line);
      if (!(sc > no_scale)) break;
      for (std::size_t i = lo; i < m; ++i) {
        double z = std::fabs(r[i]) / sc;
        w[i] = base[i] * (z > p.huber_k ? p.huber_k / z : 1.0);
      }
      good = wls(x, y, w, lo, line);
    }
    if (!good) return fit;
    for (std::size_t i = lo; i < m; ++i) r[i] = y[i] - (line.a + line.b * (x[i] - line.tbar));
    std::size_t runs = count_runs(r.data() + lo, k);
    if (k <= need || !too_few_runs(r.data() + lo, k, runs)) {
      fit.runs = runs;
      break;
    }
    lo = std::min(lo + step, m - need);
  }
  fit.n_used = m - lo;
  // Exactly linear data leave s2 = 0: floor it at the values' resolution.
  const double res = resolution_of(y.data() + lo, m - lo);
  fit.s2 = std::max(line.s2, res * res);
  fit.freq = line.b;
  // Move the intercept from tbar to t0 (x = 0).
  fit.offset = line.a - line.b * line.tbar;
  double va = line.s2 / line.sw, vb = line.s2 / line.sxx;
  fit.var_freq = vb;
  fit.var_offset = va + line.tbar * line.tbar * vb;
  fit.cov = -line.tbar * vb;
  fit.ok = std::isfinite(fit.offset) && std::isfinite(fit.freq) && std::isfinite(fit.s2);
  return fit;
}

Gaussian predict_regression(const Series& s, const double* targets, std::size_t h, const ModelParams& p) {
  RegressionFit fit = fit_regression(s, p);
  if (!fit.ok) return failed("regression: too few measurements or a degenerate fit (equal times, or values too large)");
  Gaussian g;
  g.mean.resize(h);
  g.sigma.resize(h);
  for (std::size_t k = 0; k < h; ++k) {
    double tau = targets[k] - fit.t0;
    g.mean[k] = fit.offset + fit.freq * tau;
    double v = fit.s2 / fit.w_new + fit.var_offset + 2.0 * tau * fit.cov + tau * tau * fit.var_freq;
    g.sigma[k] = std::sqrt(std::max(v, 0.0));
  }
  return g;
}

}  // namespace chronotick
