#include "models/tempcomp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "models/robust_stats.h"

namespace chronotick {
namespace {

// Solve the 3x3 symmetric positive definite system A x = b in place by
// Cholesky; also returns A^-1 in inv. False if A is not positive definite.
bool solve3(double A[3][3], const double b[3], double x[3], double inv[3][3]) {
  double L[3][3] = {};
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j <= i; ++j) {
      double sum = A[i][j];
      for (int k = 0; k < j; ++k) sum -= L[i][k] * L[j][k];
      if (i == j) {
        if (!(sum > 1e-300)) return false;
        L[i][i] = std::sqrt(sum);
      } else {
        L[i][j] = sum / L[j][j];
      }
    }
  }
  auto solve = [&](const double rhs[3], double out[3]) {
    double z[3];
    for (int i = 0; i < 3; ++i) {
      double sum = rhs[i];
      for (int k = 0; k < i; ++k) sum -= L[i][k] * z[k];
      z[i] = sum / L[i][i];
    }
    for (int i = 2; i >= 0; --i) {
      double sum = z[i];
      for (int k = i + 1; k < 3; ++k) sum -= L[k][i] * out[k];
      out[i] = sum / L[i][i];
    }
  };
  solve(b, x);
  for (int c = 0; c < 3; ++c) {
    double e[3] = {0, 0, 0}, col[3];
    e[c] = 1;
    solve(e, col);
    for (int r = 0; r < 3; ++r) inv[r][c] = col[r];
  }
  return true;
}

}  // namespace

TempcompFit fit_tempcomp(const Series& s, const double* temp, const ModelParams& p) {
  TempcompFit fit;
  const std::size_t window = std::max<std::size_t>(p.regression_max, p.tempcomp_window);
  const std::size_t first = s.n > window ? s.n - window : 0, m = s.n - first;
  if (m < std::max<std::size_t>(6, p.regression_min)) {
    fit.why = "too few measurements";
    return fit;
  }
  for (std::size_t i = first; i < s.n; ++i)
    if (!std::isfinite(temp[i])) {
      fit.why = "a temperature in the window is not finite";
      return fit;
    }
  fit.t0 = s.t[s.n - 1];
  fit.T_last = temp[s.n - 1];
  double T0 = 0;
  for (std::size_t i = first; i < s.n; ++i) T0 += temp[i];
  fit.T0 = T0 /= static_cast<double>(m);
  // A constant temperature is no covariate: max T - min T within a few ulps of the largest |T|
  // (the summed mean of equal values need not be that value -- 400 readings of
  // 120.62030941363909 gave T - T0 = 35 ulps each -- and the fit went ahead on that rounding,
  // an 80% interval 570 ms wide; an audit, 2026-12-05).
  const auto [lo, hi] = std::minmax_element(temp + first, temp + s.n);
  if (!(*hi - *lo > 4.0 * std::numeric_limits<double>::epsilon() * std::max(std::fabs(*lo), std::fabs(*hi)))) {
    fit.why = "the temperature is constant over the window";
    return fit;
  }
  // Columns: 1, tau, C (C = 0 at t0, integrated backwards).
  std::vector<double> tau(m), C(m), y(m), base(m), w(m), r(m), work;
  C[m - 1] = 0;
  for (std::size_t j = m - 1; j-- > 0;) {
    std::size_t i = first + j;
    C[j] = C[j + 1] - 0.5 * ((temp[i] - T0) + (temp[i + 1] - T0)) * (s.t[i + 1] - s.t[i]);
  }
  for (std::size_t j = 0; j < m; ++j) {
    std::size_t i = first + j;
    tau[j] = s.t[i] - fit.t0;
    y[j] = s.y[i];
  }
  base = relative_weights(s.u ? s.u + first : nullptr, m);
  w = base;
  double beta[3] = {0, 0, 0}, inv[3][3];
  for (int iter = 0; iter < 3; ++iter) {
    double A[3][3] = {}, b[3] = {};
    for (std::size_t j = 0; j < m; ++j) {
      const double x[3] = {1.0, tau[j], C[j]};
      for (int a = 0; a < 3; ++a) {
        b[a] += w[j] * x[a] * y[j];
        for (int c = 0; c < 3; ++c) A[a][c] += w[j] * x[a] * x[c];
      }
    }
    bool finite = true;
    for (int a = 0; a < 3; ++a) {
      finite = finite && std::isfinite(b[a]);
      for (int c = 0; c < 3; ++c) finite = finite && std::isfinite(A[a][c]);
    }
    if (!finite) {   // (said as such: solve3 fails on it too, and had been called a degenerate fit)
      fit.why = "a fit that is not finite (values or temperatures too large)";
      return fit;
    }
    if (!solve3(A, b, beta, inv)) {
      fit.why = "a degenerate fit (the temperature's integral follows the time or the offset's line)";
      return fit;
    }
    for (std::size_t j = 0; j < m; ++j)
      r[j] = (y[j] - beta[0] - beta[1] * tau[j] - beta[2] * C[j]) * std::sqrt(base[j]);
    if (iter == 2) break;
    double sc = mad_sigma_into(r.data(), m, work);
    if (!(sc > 0)) break;
    for (std::size_t j = 0; j < m; ++j) {
      double z = std::fabs(r[j]) / sc;
      w[j] = base[j] * (z > p.huber_k ? p.huber_k / z : 1.0);
    }
  }
  double rss = 0;
  for (std::size_t j = 0; j < m; ++j) {
    double e = y[j] - beta[0] - beta[1] * tau[j] - beta[2] * C[j];
    rss += w[j] * e * e;
  }
  // Exactly fitting data leave rss = 0: floor s2 at the values' resolution.
  const double res = resolution_of(y.data(), m);
  fit.s2 = std::max(rss / static_cast<double>(m - 3), res * res);
  fit.offset = beta[0];
  fit.freq = beta[1];
  fit.k = beta[2];
  for (int a = 0; a < 3; ++a)
    for (int c = 0; c < 3; ++c) fit.cov[a][c] = fit.s2 * inv[a][c];
  fit.n_used = m;
  fit.ok = std::isfinite(fit.offset) && std::isfinite(fit.freq) && std::isfinite(fit.k) && std::isfinite(fit.s2);
  if (!fit.ok) fit.why = "a fit that is not finite (values or temperatures too large)";
  return fit;
}

Gaussian predict_tempcomp(const Series& s, const double* temp, const double* targets, std::size_t h,
                          const ModelParams& p) {
  TempcompFit fit = fit_tempcomp(s, temp, p);
  // (the reason said plainly: it had been "too few measurements or temperatures, or a degenerate
  // fit" for a constant temperature too, which the fit knows; an audit, 2026-12-06)
  if (!fit.ok) return failed(std::string("regression+temp: ") + fit.why);
  Gaussian g;
  g.mean.resize(h);
  g.sigma.resize(h);
  for (std::size_t k = 0; k < h; ++k) {
    double tau = targets[k] - fit.t0;
    const double x[3] = {1.0, tau, (fit.T_last - fit.T0) * tau};
    g.mean[k] = fit.offset + fit.freq * x[1] + fit.k * x[2];
    double v = fit.s2;
    for (int a = 0; a < 3; ++a)
      for (int c = 0; c < 3; ++c) v += x[a] * fit.cov[a][c] * x[c];
    g.sigma[k] = std::sqrt(std::max(v, 0.0));
  }
  return g;
}

}  // namespace chronotick
