// regression with a temperature term (chrony's tempcomp, fitted from data).
//
// Frequency follows temperature: f(t) = f0 + k (T(t) - T0), so the offset is
//   y(t) = a + f0 (t - t0) + k C(t),   C(t) = integral_{t0}^{t} (T - T0) dt,
// linear in (a, f0, k): weighted least squares on the columns
// [1, t - t0, C(t)] with C by the trapezoid rule between measurements, T0
// the mean temperature of the window, t0 the newest measurement (so a is the
// offset now). Huber weights as in regression.h. Ahead of t0 the temperature
// is held at its last value: C(t0 + tau) = (T_last - T0) tau.
// Predictive variance: s^2 / w_new + x' Cov x with x = [1, tau, C], Cov the
// fit's covariance s^2 (X' W X)^-1.
#pragma once
#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/params.h"

namespace chronotick {

struct TempcompFit {
  bool ok = false;
  double t0 = 0, offset = 0, freq = 0, k = 0, T0 = 0, T_last = 0, s2 = 0;
  double cov[3][3] = {};
  std::size_t n_used = 0;
  const char* why = "";   // where !ok: the reason, for the forecast's note
};

// temp[i]: temperature (any unit; k is per that unit) at s.t[i].
TempcompFit fit_tempcomp(const Series& s, const double* temp, const ModelParams& p);
Gaussian predict_tempcomp(const Series& s, const double* temp, const double* targets, std::size_t h,
                          const ModelParams& p);

}  // namespace chronotick
