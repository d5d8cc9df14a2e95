// Interval calibration from a model's own past errors (split conformal).
//
// Given one-step-ahead predictions (m_j, s_j) of past measurements y_j,
// the standardised errors a_j = |y_j - m_j| / s_j are exchangeable with the
// next one if the model's sigma has the right shape, so the central interval
// m +- Q(a, c) s, Q the conformal quantile (ceil((n+1)c)-th smallest), covers
// a new measurement with probability >= c. Quantile level l maps to
// m + sign(l - 1/2) Q(a, |2l - 1|) s. With fewer than `calib_min` errors the
// Gaussian quantile z_l is used and the forecast says so in its note.
#pragma once
#include <vector>

#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/params.h"

namespace chronotick {

struct Calibration {
  std::vector<double> abs_z;  // standardised absolute errors
  bool calibrated(const ModelParams& p) const { return abs_z.size() >= p.calib_min; }
  // Multiplier of sigma for quantile level `level`.
  double offset(double level, const ModelParams& p) const;
  // (offset(0.9) - offset(0.1)) / 2.563: calibrated sigma / raw sigma.
  double scale(const ModelParams& p) const;
};

// Errors of `steps` (predictions of s.y[from..n)) standardised by their sigma;
// non-finite predictions are skipped.
Calibration calibrate(const Series& s, std::size_t from, const Gaussian& steps);

// Quantiles (and std = (q90 - q10) / 2.563) of a calibrated Gaussian forecast.
QuantileForecast to_quantiles(const std::string& model, const double* targets, std::size_t h,
                              const double* levels, std::size_t nlev, const Gaussian& g,
                              const Calibration& c, const ModelParams& p);

}  // namespace chronotick
