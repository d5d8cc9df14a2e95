// regression: chrony-style weighted least squares of offset on time.
//
// Fit y = a + b (t - t0) over the newest measurements with weights
// w_i = 1 / u_i^2 (equal when uncertainties are unknown), times Huber
// weights min(1, k s / |r_i|) from iteratively reweighted passes so that
// single spikes do not tilt the line. The first pass takes its residuals
// from a Theil-Sen line (median of pairwise slopes), which one spike cannot
// move, not from the least-squares line, which a spike at the newest sample
// (the largest leverage) pulls. Then a runs test on the signs of
// the residuals (as chrony's regress.c): fewer runs than the 5% critical
// value of the Wald-Wolfowitz distribution means the residuals are not
// random -- the oldest samples no longer follow the line -- so the oldest
// are dropped and the fit repeated, down to `regression_min` samples.
//
// Residual variance s^2 = sum w r^2 / (n - 2) (a measurement of weight w
// has variance s^2 / w). var(a) = s^2 / sum w, var(b) = s^2 / Sxx with
// Sxx = sum w (t - tbar)^2. A new measurement at lead tau has predictive
// variance s^2 / w_new + var(a) + (tau + t0 - tbar)^2 var(b)
// (a is the fit at tbar here). b is the frequency offset in value units
// per second (ppm when values are seconds: b * 1e6); sqrt(var b) is chrony's
// "skew".
#pragma once
#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/params.h"

namespace chronotick {

struct RegressionFit {
  bool ok = false;
  double t0 = 0.0;         // reference time (s): the newest measurement's time
  double offset = 0.0;     // fitted value at t0
  double freq = 0.0;       // slope, value units per second
  double var_offset = 0.0; // variance of `offset`
  double var_freq = 0.0;   // variance of `freq` (skew^2)
  double cov = 0.0;        // covariance of offset and freq
  double s2 = 0.0;         // residual variance of a unit-weight measurement
  double w_new = 1.0;      // weight assumed for a future measurement
  std::size_t n_used = 0;  // samples kept after the runs test
  std::size_t runs = 0;    // runs of residual signs in the final fit
};

// The fit, from this thread's cache of recent fits where it holds these inputs
// (models/fit_cache.h: the same bits as fit_regression_fresh's).
RegressionFit fit_regression(const Series& s, const ModelParams& p);
// The fit, always computed.
RegressionFit fit_regression_fresh(const Series& s, const ModelParams& p);
Gaussian predict_regression(const Series& s, const double* targets, std::size_t h, const ModelParams& p);

}  // namespace chronotick
