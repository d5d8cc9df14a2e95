// Everything the ONNX forecaster does before the model run, in one pass:
// check the measurements (t, y) and the target times, pick the grid step
// (given, or the median spacing of the newest 65 measurements), bin the
// measurements onto the grid ending at the newest one (nearest_window.h)
// and map the targets to fractional grid steps (grid_quantiles.h); mask its
// gross outliers (spike_mask.h); where a line explains the window, take it
// out (detrend.h).
#pragma once
#include <cmath>
#include <cstddef>
#include <string>

namespace chronotick {

struct ForecastInput {
  double level = 0;  // subtracted from the window (the newest y)
  double step = 0;   // grid step, seconds
  double t_end = 0;  // the newest measurement time (the last grid time)
  double slope = 0;  // the line taken out of the window (per grid step; 0: none)
};

// values: `context` floats (the model input row); h: n_targets doubles.
// step NaN = the median spacing. detrend_r2 NaN = no detrending, else
// detrend_window's r2_min. spike_c NaN = no outlier mask, else
// mask_spikes' threshold (in sigmas). Throws std::invalid_argument naming the bad
// value (messages as the Python API's).
ForecastInput prepare_forecast(const double* t, std::size_t nt, const double* y, std::size_t ny,
                               const double* targets, std::size_t n_targets, double step, std::size_t context,
                               std::size_t horizon, const std::string& model, float* values, double* h,
                               double detrend_r2 = std::nan(""), double spike_c = std::nan(""));

}  // namespace chronotick
