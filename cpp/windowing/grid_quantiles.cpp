#include "windowing/grid_quantiles.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
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

void grid_quantiles(const float* q, std::size_t K, std::size_t H, const double* h, std::size_t T, double level,
                    double slope, std::size_t median_index, const LevelPlan& plan, double* median, double* out) {
  if (K == 0 || K > 64 || H == 0 || median_index >= K)
    throw std::invalid_argument("grid_quantiles: bad shape K=" + std::to_string(K) + " H=" + std::to_string(H));
  for (std::size_t l = 0; l < plan.size; ++l)
    if (plan.lo[l] < 0 || plan.hi[l] < 0 || static_cast<std::size_t>(plan.lo[l]) >= K ||
        static_cast<std::size_t>(plan.hi[l]) >= K)
      throw std::invalid_argument("grid_quantiles: level plan index out of range");
  const double Hd = static_cast<double>(H);
  const std::size_t top = std::max<std::size_t>(H - 1, 1);
  double qt[64];
  for (std::size_t i = 0; i < T; ++i) {
    const double hc = std::min(std::max(h[i], 1.0), Hd);
    const std::size_t s = std::min(static_cast<std::size_t>(hc), top);
    const double w = hc - static_cast<double>(s);
    const std::size_t a = s - 1, b = std::min(s, H - 1);
    const double shift = level + slope * hc;
    for (std::size_t k = 0; k < K; ++k)
      qt[k] = (static_cast<double>(q[k * H + a]) * (1.0 - w) + static_cast<double>(q[k * H + b]) * w) + shift;
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

}  // namespace chronotick
