// Tunables of the classical forecasters. Defaults are the values the
// backtest on the real NTP traces was run with (docs/backtest.md).
#pragma once
#include <cstddef>

namespace chronotick {

struct ModelParams {
  // hold: spread of the last `hold_window` step-to-step changes.
  std::size_t hold_window = 32;
  // robust: median of the last `robust_window` measurements.
  std::size_t robust_window = 9;
  // regression: at most this many newest measurements enter the fit, at
  // least `regression_min` survive the runs test. chrony keeps up to 64; on
  // the real NTP traces (disciplined clocks whose offset wanders and steps
  // when the host's daemon corrects) 16 tracked steps best (docs/backtest.md;
  // chosen on those 4 traces, so an in-sample choice: chosen on three and
  // scored on the fourth, `auto` is 3.0% below median-of-5 instead of 4.6% (mean of ratios),
  // `chronotick backtest --window-selection`). For free-running
  // oscillators use more (the holdover evaluation uses 64).
  std::size_t regression_max = 16;
  std::size_t regression_min = 6;
  // regression+temp: newest measurements in the fit (a thermal cycle must fit in).
  std::size_t tempcomp_window = 128;
  // Residuals beyond this many robust sigmas get Huber weights.
  double huber_k = 2.5;
  // kalman: newest measurements the filter runs over.
  std::size_t kalman_window = 64;
  // Below this many measurements a model reports failure and the ensemble
  // falls back to hold with a wide interval.
  std::size_t min_history = 8;
  // Calibration: the model re-forecasts each of its last `calib_origins`
  // measurements from the ones before it (one step ahead) and scales its
  // intervals by the quantiles of the standardised errors.
  std::size_t calib_origins = 24;
  std::size_t calib_min = 8;
  // The pairs of lead S (S measurements ahead) are spaced ceil(S /
  // calib_spread) prefixes apart (0: consecutive at every lead; leads 1 to
  // calib_spread stay consecutive). S-step errors from consecutive origins
  // share most of their noise: 24 of them at S = 64 are about one
  // independent error. Chosen on synthetic clock noise (six kinds, 7 cases
  // of 100-512 measurements and 8-64 steps ahead, 300 trials each; mean
  // |coverage - 80%| over five models) plus the simulated disciplined
  // clocks of export/evaluate_clock_bolt.py (fused and Kalman, 8 and 32
  // ahead), never on the real traces:
  //   consecutive: synthetic 0.085 (fused 54-94%; 64 ahead of 300,
  //     random-walk FM: 57%; measured before the Kalman change below);
  //     simulated clocks 0.009 (fused 78.1% 32 ahead)
  //   S/4: synthetic 0.046 (fused 69-88%); simulated 0.046 (fused 86.1%)
  //   S/8: synthetic 0.044 (fused 70-82%); simulated 0.018 (fused 82.9%)
  // (with the Kalman filter's sigma from its pairs' noise levels,
  // models/classical.cpp). On the lab oscillators the long-lead intervals
  // over-cover (docs/holdover.md).
  std::size_t calib_spread = 8;
  // A lead beyond the longest calibrated one D grows D's errors as
  // (lead / D)^a, a = the growth seen from D/2 to D kept in
  // [growth_min, 2] (models/calibration.h). 1.5: random-walk FM, the
  // long-term noise of crystal oscillators, is assumed to take over beyond
  // what the history shows.
  double growth_min = 1.5;
  // Opt-in: the Kalman filter's past forecasts made the way its live one is
  // (a fresh filter over each prefix's newest kalman_window measurements with
  // noise levels estimated there: refit_history, as the other models), not
  // one pass from before the earliest prefix. On simulated clocks the fused
  // 80% intervals 64 / 144 steps ahead of 512 measurements then cover 79.8 /
  // 82.3% instead of 75.4 / 76.6% (79.6 / 80.9% vs 74.6 / 75.5% before the
  // mixture scale of fusion/ensemble.h), the long-lead MAE 2-5% lower, but a
  // forecast costs about 2-3x (a noise-level search per past forecast) and the
  // long-lead intervals are wider (80% interval score 8-25% worse 64-144 ahead,
  // up to 2x on disciplined clocks that already covered), so it is off by
  // default (docs/models.md, "K3", "K7").
  bool kalman_live_pairs = false;
};

}  // namespace chronotick
