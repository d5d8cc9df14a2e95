#include "models/kalman.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "models/fit_cache.h"
#include "models/robust_stats.h"

namespace chronotick {
namespace {

struct Filter {
  double x = 0, f = 0, pxx = 0, pxf = 0, pff = 0;
  std::size_t outliers_in_row = 0;

  void predict(double dt, const KalmanNoise& q) {
    x += f * dt;
    double nxx = pxx + 2 * dt * pxf + dt * dt * pff, nxf = pxf + dt * pff;
    pxx = nxx + q.qf * dt * dt * dt / 3.0 + q.qx * dt;
    pxf = nxf + q.qf * dt * dt / 2.0;
    pff = pff + q.qf * dt;
  }
  // Returns the innovation's squared z-score (for the likelihood).
  // Returns the innovation's squared z-score; *var gets its variance.
  double update(double z, double r, double* var) {
    double s = pxx + r, nu = z - x;
    *var = s;
    double z2 = nu * nu / s;
    if (z2 > 25.0 && outliers_in_row < 2) {
      ++outliers_in_row;
      return z2;
    }
    outliers_in_row = 0;
    double kx = pxx / s, kf = pxf / s;
    x += kx * nu;
    f += kf * nu;
    double nxx = (1 - kx) * pxx, nxf = (1 - kx) * pxf, nff = pff - kf * pxf;
    pxx = nxx; pxf = nxf; pff = nff;
    return z2;
  }
};

double weight_of(const Series& s, std::size_t i, double umed) {
  if (!s.u || !std::isfinite(s.u[i]) || !(s.u[i] > 0) || !(umed > 0)) return 1.0;
  double r = s.u[i] / umed;
  return 1.0 / (r * r);
}

double median_uncertainty(const Series& s, std::size_t first) {
  if (!s.u) return std::nan("");
  std::vector<double> u;
  for (std::size_t i = first; i < s.n; ++i) if (std::isfinite(s.u[i]) && s.u[i] > 0) u.push_back(s.u[i]);
  return median_of(u);
}

// The negative log-likelihood (up to constants) of a run's innovations:
// sum log S_i + sum min(z_i^2, 9) (squared z-scores capped for robustness),
// the log of the product of the S_i taken once at the end, the product
// renormalised with frexp every 8 terms -- and before a term that would take
// it out of the normal range (offsets near 1e25 s, or below 1e-19 s: eight
// variances overflowed to inf, every candidate's likelihood with them, and the
// member failed). frexp scales by a power of two, exactly, so a product that
// stays normal is the same bits either way.
struct Likelihood {
  double z2sum = 0, prod = 1.0;
  int exp_sum = 0;
  std::size_t terms = 0;

  void renormalise() {
    int e;
    prod = std::frexp(prod, &e);
    exp_sum += e;
  }
  void add(double z2, double var) {
    z2sum += std::min(z2, 9.0);
    if (!std::isnormal(prod * var) && std::isnormal(var)) renormalise();
    prod *= var;
    if (++terms % 8 == 0) renormalise();
  }
  double value() const { return std::log(prod) + exp_sum * std::log(2.0) + z2sum; }
};

// The filter before measurement first + 1: at y[first], with a vague prior on
// frequency (a phase change of 10 sigma over the first gap). Built from
// measurement times and the noise level only, so no prediction depends on a
// later measurement.
Filter start(const Series& s, std::size_t first, const KalmanNoise& q) {
  Filter flt;
  flt.x = s.y[first];
  double gap0 = s.n > first + 1 ? s.t[first + 1] - s.t[first] : 1.0;
  flt.pxx = q.r;
  flt.pff = 100.0 * q.r / (gap0 * gap0);
  return flt;
}

// Run the filter; returns the negative log-likelihood of the innovations after
// a short burn-in (Likelihood). states, if non-null, gets the filter state
// after each measurement.
double run(const Series& s, std::size_t first, const KalmanNoise& q, Filter& flt,
           std::vector<Filter>* states = nullptr) {
  double umed = median_uncertainty(s, first);
  flt = start(s, first, q);
  Likelihood nll;
  if (states) states->assign(1, flt);
  for (std::size_t i = first + 1; i < s.n; ++i) {
    flt.predict(s.t[i] - s.t[i - 1], q);
    double r = q.r / weight_of(s, i, umed);
    double var;
    double z2 = flt.update(s.y[i], r, &var);
    if (states) states->push_back(flt);
    if (i >= first + 3) nll.add(z2, var);
  }
  return nll.value();
}

// run's likelihood for each of k noise settings q[0..k), the k filters
// stepped side by side (independent chains the CPU overlaps: the noise
// search's eight runs took a third of a fused forecast one after another);
// each filter's arithmetic is run's, so nll[c] == run(s, first, q[c], .).
template <std::size_t K>
void run_side_by_side(const Series& s, std::size_t first, const KalmanNoise (&q)[K], double (&nll)[K]) {
  const double umed = median_uncertainty(s, first);
  Filter flt[K];
  Likelihood like[K];
  for (std::size_t c = 0; c < K; ++c) flt[c] = start(s, first, q[c]);
  for (std::size_t i = first + 1; i < s.n; ++i) {
    const double dt = s.t[i] - s.t[i - 1], w = weight_of(s, i, umed);
    for (std::size_t c = 0; c < K; ++c) {
      flt[c].predict(dt, q[c]);
      double var;
      double z2 = flt[c].update(s.y[i], q[c].r / w, &var);
      if (i >= first + 3) like[c].add(z2, var);
    }
  }
  for (std::size_t c = 0; c < K; ++c) nll[c] = like[c].value();
}

std::size_t first_index(const Series& s, const ModelParams& p) {
  return s.n > p.kalman_window ? s.n - p.kalman_window : 0;
}

}  // namespace

KalmanNoise estimate_kalman_noise(const Series& s, const ModelParams& p) {
  return cached_kalman_noise(s, p, estimate_kalman_noise_fresh);
}

// (Depends on p through kalman_window only: models/fit_cache.h keys it so.)
KalmanNoise estimate_kalman_noise_fresh(const Series& s, const ModelParams& p) {
  KalmanNoise best;
  std::size_t first = first_index(s, p);
  if (s.n - first < 4) return best;
  std::vector<double> d2, gaps;
  for (std::size_t i = first + 2; i < s.n; ++i) {
    double h1 = s.t[i - 1] - s.t[i - 2], h2 = s.t[i] - s.t[i - 1];
    // Second divided difference scaled back to a regular-grid equivalent.
    double slope2 = (s.y[i] - s.y[i - 1]) / h2, slope1 = (s.y[i - 1] - s.y[i - 2]) / h1;
    double hm = 0.5 * (h1 + h2);
    d2.push_back((slope2 - slope1) * hm);
    gaps.push_back(h2);
  }
  // Floored at the values' resolution: exactly linear data have d2 = 0.
  std::vector<double> work;
  const double mad = mad_sigma_into(d2.data(), d2.size(), work), floor = resolution_of(s.y + first, s.n - first);
  double sd = std::max(mad, floor);
  double dt = median_in_place(gaps.data(), gaps.size());   // gaps has >= 2 (s.n - first >= 4)
  if (!(sd > 0) || !(dt > 0)) return best;
  double r = sd * sd / 6.0;
  static const double qf_rel[] = {1e-6, 1e-4, 1e-2, 1.0};
  static const double qx_rel[] = {0.0, 0.1};
  KalmanNoise grid[std::size(qf_rel) * std::size(qx_rel)];
  std::size_t c = 0;
  for (double a : qf_rel)
    for (double b : qx_rel) grid[c++] = KalmanNoise{r, a * r / (dt * dt * dt), b * r / dt, false};
  double nll[std::size(grid)];
  run_side_by_side(s, first, grid, nll);
  double best_nll = std::numeric_limits<double>::infinity();
  for (c = 0; c < std::size(grid); ++c)
    if (nll[c] < best_nll) { best_nll = nll[c]; best = grid[c]; }
  best.at_resolution = !(mad > floor);
  return best;
}

Gaussian predict_kalman_with(const Series& s, const KalmanNoise& noise, const double* targets, std::size_t h) {
  if (!(noise.r > 0)) return failed("kalman: could not estimate the measurement noise");
  Filter flt;
  run(s, 0, noise, flt);
  Gaussian g;
  g.mean.resize(h);
  g.sigma.resize(h);
  const double t_last = s.t[s.n - 1];
  for (std::size_t k = 0; k < h; ++k) {
    Filter ahead = flt;
    ahead.predict(targets[k] - t_last, noise);
    g.mean[k] = ahead.x;
    g.sigma[k] = std::sqrt(ahead.pxx + noise.r);
  }
  return g;
}

void predict_kalman_pairs(const Series& s, const KalmanNoise& noise, const std::vector<std::size_t>& prefix,
                          const std::vector<std::size_t>& target, Gaussian& out) {
  out.mean.assign(prefix.size(), std::nan(""));
  out.sigma.assign(prefix.size(), std::nan(""));
  if (!(noise.r > 0) || s.n < 2) return;
  Filter flt;
  std::vector<Filter> states;
  run(s, 0, noise, flt, &states);
  for (std::size_t k = 0; k < prefix.size(); ++k) {
    std::size_t i = prefix[k], j = target[k];
    if (i < 1 || i > s.n || j >= s.n || j < i) continue;
    Filter ahead = states[i - 1];
    ahead.predict(s.t[j] - s.t[i - 1], noise);
    out.mean[k] = ahead.x;
    // The same sigma a live forecast states (predict_kalman_with): the median
    // measurement noise r, not target j's own. A live forecast cannot know its
    // target's noise (its round trip), so its calibration scores must not be
    // scaled by it either: scaled, a noisy target's large error scored small
    // and the intervals came out too narrow (77% of 80% on simulated clocks
    // with delay weights; the Kalman member alone 66-76%).
    out.sigma[k] = std::sqrt(ahead.pxx + noise.r);
  }
}

Gaussian predict_kalman(const Series& s, const double* targets, std::size_t h, const ModelParams& p) {
  if (s.n < std::max<std::size_t>(4, p.min_history)) return failed("kalman needs more measurements");
  std::size_t first = first_index(s, p);
  Series tail{s.t + first, s.y + first, s.u ? s.u + first : nullptr, s.n - first};
  KalmanNoise q = estimate_kalman_noise(tail, p);
  return predict_kalman_with(tail, q, targets, h);
}

}  // namespace chronotick
