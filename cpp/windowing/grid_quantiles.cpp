#include "windowing/grid_quantiles.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "windowing/float_repr.h"

namespace chronotick {
namespace {

std::string g6(double v) {  // Python's format(v, ".6g")
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void steps_ahead(const double* targets, std::size_t n, double t_end, double step, std::size_t horizon,
                 const std::string& model, double* h) {
  const double limit = static_cast<double>(horizon) + 0.5;
  bool ok = true;
  for (std::size_t i = 0; i < n; ++i) {
    h[i] = (targets[i] - t_end) / step;
    ok = ok && h[i] >= 0 && h[i] <= limit;
  }
  if (ok) return;
  for (std::size_t i = 0; i < n; ++i)
    if (h[i] < 0)
      throw std::invalid_argument("target_times[" + std::to_string(i) + "] = " + float_repr(targets[i]) +
                                  " is before the newest measurement " + float_repr(t_end));
  for (std::size_t i = 0; i < n; ++i)
    if (h[i] > limit)
      throw std::invalid_argument("target_times[" + std::to_string(i) + "] = " + float_repr(targets[i]) + " is " +
                                  g6(targets[i] - t_end) + " s ahead; model " + model + " forecasts at most " +
                                  std::to_string(horizon) + " steps of " + g6(step) + " s = " +
                                  g6(static_cast<double>(horizon) * step) + " s ahead");
}

bool all_finite(const float* q, std::size_t count) {
  bool ok = true;
  for (std::size_t i = 0; i < count; ++i) ok = ok && q[i] - q[i] == 0.0f;
  return ok;
}

namespace {

// qt[k] = q[k, s - 1] (1 - w) + q[k, min(s, H - 1)] w + (level + slope h), hc = clamp(h, 1, H): the
// model's part read at the nearest step it has, the line the detrending took out at the target
// itself (it had been read at hc too: under a 25 ppm drift a target a millisecond after the newest
// measurement was forecast a whole step's drift ahead, and the Clock's 99% bound, published from
// that lead, held the truth in 49-83% of the first seconds after each poll; an audit, 2026-12-06)
void read_step(const float* q, std::size_t K, std::size_t H, double h, double level, double slope, double* qt) {
  const double hc = std::min(std::max(h, 1.0), static_cast<double>(H));
  const std::size_t s = std::min(static_cast<std::size_t>(hc), std::max<std::size_t>(H - 1, 1));
  const double w = hc - static_cast<double>(s);
  const std::size_t a = s - 1, b = std::min(s, H - 1);
  const double shift = level + slope * std::max(h, 0.0);
  for (std::size_t k = 0; k < K; ++k)
    qt[k] = (static_cast<double>(q[k * H + a]) * (1.0 - w) + static_cast<double>(q[k * H + b]) * w) + shift;
}

void check_shape(const char* what, std::size_t K, std::size_t H) {
  if (K == 0 || K > 64 || H == 0)
    throw std::invalid_argument(std::string(what) + ": bad shape K=" + std::to_string(K) + " H=" + std::to_string(H));
}

}  // namespace

void grid_quantiles(const float* q, std::size_t K, std::size_t H, const double* h, std::size_t T, double level,
                    double slope, std::size_t median_index, const LevelPlan& plan, double* median, double* out) {
  check_shape("grid_quantiles", K, H);
  if (median_index >= K)
    throw std::invalid_argument("grid_quantiles: median_index " + std::to_string(median_index) + " >= K=" +
                                std::to_string(K));
  for (std::size_t l = 0; l < plan.size; ++l)
    if (plan.lo[l] < 0 || plan.hi[l] < 0 || static_cast<std::size_t>(plan.lo[l]) >= K ||
        static_cast<std::size_t>(plan.hi[l]) >= K)
      throw std::invalid_argument("grid_quantiles: level plan index out of range");
  for (std::size_t i = 0; i < T; ++i)   // a NaN step had been cast to size_t: undefined (an audit, 2026-12-05)
    if (!std::isfinite(h[i])) throw std::invalid_argument("grid_quantiles: h[" + std::to_string(i) + "] is not finite");
  double qt[64];
  for (std::size_t i = 0; i < T; ++i) {
    read_step(q, K, H, h[i], level, slope, qt);
    std::sort(qt, qt + K);
    const double m = qt[median_index];
    median[i] = m;
    double* o = out + i * plan.size;
    for (std::size_t l = 0; l < plan.size; ++l) {
      const double base = qt[plan.lo[l]] * plan.w1[l] + qt[plan.hi[l]] * plan.w[l];
      o[l] = m + plan.f[l] * (base - m);
      if (l > 0 && o[l] < o[l - 1]) o[l] = o[l - 1];
    }
  }
}

void read_ahead(const float* const* rows, const double* const* meta, const double* dt, std::size_t P,
                std::size_t K, std::size_t H, double* out) {
  check_shape("read_ahead", K, H);
  const double limit = static_cast<double>(H) + 0.5;
  for (std::size_t p = 0; p < P; ++p) {
    double* o = out + p * K;
    const double h = rows[p] ? dt[p] / meta[p][0] : 0.0;
    if (!rows[p] || !(h <= limit)) {   // NaN too (0/0): no step to read (casting it was undefined)
      std::fill(o, o + K, std::nan(""));
      continue;
    }
    read_step(rows[p], K, H, h, meta[p][1], meta[p][2], o);
    std::sort(o, o + K);
  }
}

void past_mean_sigma(const double* q, std::size_t P, std::size_t K, std::size_t median_index, const bool* todo,
                     const int64_t* lo, const int64_t* hi, const double* w, const double* w1, const double* f,
                     double* mean, double* sigma) {
  check_shape("past_mean_sigma", K, 1);
  if (median_index >= K) throw std::invalid_argument("median_index must be < K");
  for (int l = 0; l < 2; ++l)
    if (lo[l] < 0 || hi[l] < 0 || static_cast<std::size_t>(lo[l]) >= K || static_cast<std::size_t>(hi[l]) >= K)
      throw std::invalid_argument("past_mean_sigma: a plan level lies outside the K model levels");
  double row[64];
  const double tiny = std::sqrt(std::numeric_limits<double>::min());
  for (std::size_t p = 0; p < P; ++p) {
    if (todo[p]) {
      std::copy(q + p * K, q + (p + 1) * K, row);
      std::sort(row, row + K);
      const double m = row[median_index];
      double out[2];
      for (int l = 0; l < 2; ++l) {
        const double base = row[lo[l]] * w1[l] + row[hi[l]] * w[l];
        out[l] = m + f[2 * p + l] * (base - m);
      }
      out[1] = std::isnan(out[1]) ? out[1] : std::max(out[0], out[1]);  // numpy's maximum: NaN spreads
      mean[p] = m;
      sigma[p] = (out[1] - out[0]) / 2.563;
    }
    if (std::isfinite(mean[p])) {
      const double a = std::fabs(mean[p]);
      const double res = std::max(4.0 * (std::nextafter(a, std::numeric_limits<double>::infinity()) - a), tiny);
      sigma[p] = std::max(sigma[p], res);
    }
  }
}

}  // namespace chronotick
