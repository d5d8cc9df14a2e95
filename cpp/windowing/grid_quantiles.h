// A grid model's output -> quantiles at the caller's target times and levels
// (the post-processing of the ONNX forecaster, python/chronotick/models/onnx.py).
//
// Target time t maps to h = (t - t_end) / step grid steps after the newest
// measurement t_end. A model output q[K, H] (float32, level k, column j =
// step j + 1, centred) is read at fractional step h by linear
// interpolation between whole steps,
//   hc = clamp(h, 1, H),  s = min(floor(hc), max(H - 1, 1)),  w = hc - s,
//   qt_k = q[k, s - 1] (1 - w) + q[k, min(s, H - 1)] w + (level + slope h),
// in float64 (the model's part: h < 1 uses step 1, up to half a step past H
// uses step H; the line at h itself, since 2026-12-06);
// slope: the line the window's detrending took out (windowing/detrend.h,
// per grid step; 0 for none), put back here in float64 so that float32 does
// not round the model's spread away under a large trend.
// Then the requested levels: sort qt (crossed quantiles are reordered),
// m = qt[median], base_l = qt[lo_l] w1_l + qt[hi_l] w_l (a precomputed
// interpolation plan between the model's levels),
//   out_l = m + f_l (base_l - m),  made non-decreasing by a running max,
// where f_l is the interval factor (calibration, or the Gaussian extension
// beyond the model's outermost levels; 1 inside). The mean is m.
//
// read_ahead: the calibration's past predictions. Each of P past prefixes has
// its own model output rows[p] [K, H] and meta[p] = (step, level, slope); read
// dt[p] seconds after that prefix's newest measurement (h = dt / step), qt
// as above, sorted: out[p, 0..K). All K are NaN where h > H + 1/2 (beyond the
// model's reach) or rows[p] is null (no prediction: too few measurements).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace chronotick {

// h[i] = (targets[i] - t_end) / step. Throws std::invalid_argument naming
// the target when h < 0 ("... is before the newest measurement ...") or
// h > horizon + 1/2 ("... model <name> forecasts at most ...").
void steps_ahead(const double* targets, std::size_t n, double t_end, double step, std::size_t horizon,
                 const std::string& model, double* h);

// True when all K*H values of q are finite.
bool all_finite(const float* q, std::size_t count);

// The levels plan: for each requested level l, the model levels lo[l],
// hi[l] it lies between, weights w1[l] (of lo) and w[l] (of hi), factor f[l].
struct LevelPlan {
  const int64_t* lo;
  const int64_t* hi;
  const double* w;
  const double* w1;
  const double* f;
  std::size_t size;
};

// For each of the T steps h: median[i] and out[i * plan.size + l] as above.
// q is [K, H] row-major; K <= 64.
void grid_quantiles(const float* q, std::size_t K, std::size_t H, const double* h, std::size_t T, double level,
                    double slope, std::size_t median_index, const LevelPlan& plan, double* median, double* out);

// out is [P, K] row-major; K <= 64.
void read_ahead(const float* const* rows, const double* const* meta, const double* dt, std::size_t P,
                std::size_t K, std::size_t H, double* out);

// The fusion's view of past predictions (OnnxForecaster._past): for each row
// p of q [P, K] marked in todo, sorted (a copy), m = q[median_index],
// out_l = m + f[p, l] (q[lo_l] w1_l + q[hi_l] w_l - m) for the plan's two
// levels (the central 80% interval), made non-decreasing; mean[p] = m and
// sigma[p] = (out_1 - out_0) / 2.563. Rows not marked keep their mean and
// sigma. Then every row with a finite mean has sigma floored at the mean's
// resolution, 4 ulp(|mean|), at least sqrt(DBL_MIN) (models/robust_stats.h).
void past_mean_sigma(const double* q, std::size_t P, std::size_t K, std::size_t median_index, const bool* todo,
                     const int64_t* lo, const int64_t* hi, const double* w, const double* w1, const double* f,
                     double* mean, double* sigma);

}  // namespace chronotick
