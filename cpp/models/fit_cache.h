// fit_cache: recent fits of the classical models, kept per thread.
//
// The fusion refits the models on each of its calibration prefixes at every
// forecast (models/classical.cpp, refit_history: 24 regression fits at lead
// 1), so a caller forecasting once per new measurement asks again for the
// fits it made a measurement ago (23 of those 24); the Kalman filter's noise
// levels for its past forecasts are those of its live forecast 24
// measurements ago. Kept here:
//   - regression fits (fit_regression): a fit depends only on the newest
//     m = min(n, regression_max) measurements (t, y and u), on regression_max,
//     regression_min and huber_k, and on whether n reaches the fit's minimum;
//   - Kalman noise levels (estimate_kalman_noise): on the newest
//     min(n, kalman_window) measurements (t, y and u).
// Each is kept under exactly those values: a slot is found by a hash and
// matched by comparing every value's bits, so a kept fit is the same bits as
// a fresh one. Per kind and thread 64 sets of 4 slots, the least recently used
// slot of a set replaced (no locks; threads do not share fits); inputs of at
// most 256 measurements only (a key's memory is bounded: ~0.4 kB a slot at the
// default regression_max of 16, ~1.5 kB at kalman_window 64; at the defaults
// ~0.4 MB per forecasting thread when full, ~3.2 MB at most for any parameters).
#pragma once
#include <cstddef>

#include "common/forecast.h"
#include "models/kalman.h"
#include "models/params.h"
#include "models/regression.h"

namespace chronotick {

// fit(s, p) from this thread's cache, made and kept there on a miss.
RegressionFit cached_regression_fit(const Series& s, const ModelParams& p,
                                    RegressionFit (*fit)(const Series&, const ModelParams&));
KalmanNoise cached_kalman_noise(const Series& s, const ModelParams& p,
                                KalmanNoise (*estimate)(const Series&, const ModelParams&));

// This thread's caches emptied, and their (hits, misses) counts since the last reset (tests).
void reset_fit_cache();
std::size_t fit_cache_hits();
std::size_t fit_cache_misses();

}  // namespace chronotick
