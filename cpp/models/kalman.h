// kalman: two-state clock model (phase x, frequency f).
//
//   x_k = x_{k-1} + f_{k-1} dt + w_x,   f_k = f_{k-1} + w_f
//   z_k = x_k + v,                      v ~ N(0, R / w_k)
// with random-walk frequency noise of intensity qf (value^2 / s^3) and a
// random-walk phase term qx (value^2 / s):
//   Q(dt) = qf [dt^3/3, dt^2/2; dt^2/2, dt] + qx [dt, 0; 0, 0].
// Noise levels come from the data: R from the second differences
// (white phase noise gives var(d2) = 6R on a regular grid), then (qf, qx)
// by maximising the innovations' Gaussian likelihood over a small grid.
// Innovations beyond 5 sigma are treated as outliers (not applied) unless
// three arrive in a row, which is taken as a real step.
#pragma once
#include <vector>

#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/params.h"

namespace chronotick {

struct KalmanNoise {
  double r = 0.0, qf = 0.0, qx = 0.0;
  // r is the values' resolution floor: the second differences were all within
  // rounding (flat values, an exact line), so r says nothing of the noise.
  bool at_resolution = false;
};

// Estimate the noise levels from the measurements in s (from this thread's
// cache of recent estimates where it holds these inputs: models/fit_cache.h,
// the same bits as estimate_kalman_noise_fresh's).
KalmanNoise estimate_kalman_noise(const Series& s, const ModelParams& p);
// The estimate, always computed.
KalmanNoise estimate_kalman_noise_fresh(const Series& s, const ModelParams& p);

// Run the filter over s with the given noise and forecast the measurements
// at `targets`.
Gaussian predict_kalman_with(const Series& s, const KalmanNoise& noise, const double* targets, std::size_t h);

// For each pair (i, j): the prediction of measurement j from the filter state
// after measurements [0, i) of s (i >= 1, j >= i), in one pass of the filter.
void predict_kalman_pairs(const Series& s, const KalmanNoise& noise, const std::vector<std::size_t>& prefix,
                          const std::vector<std::size_t>& target, Gaussian& out);

Gaussian predict_kalman(const Series& s, const double* targets, std::size_t h, const ModelParams& p);

}  // namespace chronotick
