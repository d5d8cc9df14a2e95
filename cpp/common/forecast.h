// The shapes shared by every forecaster: the measurements it reads and the
// quantile forecast it returns.
//
// Units: seconds for times; offsets in whatever unit the caller uses (the
// output is in the same unit). Sign: offset = reference - local clock.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace chronotick {

// A read-only view of measurements, oldest first, times strictly increasing.
// `u` (per-measurement standard uncertainty) may be null: unknown.
struct Series {
  const double* t = nullptr;
  const double* y = nullptr;
  const double* u = nullptr;
  std::size_t n = 0;
};

// One forecaster's answer at `times` (absolute seconds).
// quantiles is row-major [times.size() x levels.size()].
struct QuantileForecast {
  std::string model;
  std::vector<double> times;
  std::vector<double> levels;
  std::vector<double> mean;
  std::vector<double> std;
  std::vector<double> quantiles;
  // Per step: mean absolute error of this forecaster's recent past forecasts
  // at about the same lead (its calibration errors, models/calibration.h);
  // empty or NaN where unknown. Fusion weights members by it when all have it.
  std::vector<double> recent_mae;
  bool ok = true;     // false: the member failed (non-finite output, too little data, ...)
  std::string note;   // why it failed or fell back; empty when all is well

  double q(std::size_t step, std::size_t level) const { return quantiles[step * levels.size() + level]; }
};

}  // namespace chronotick
