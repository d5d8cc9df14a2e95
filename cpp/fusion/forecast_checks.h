// A member's forecast as fusion receives it: checked, with its sigma.
//
//   levels: probabilities, strictly increasing in (0, 1);
//   quantiles: non-decreasing in the level at every target (crossed
//     quantiles would imply a negative sigma; NaN entries are left to the
//     finiteness test below);
//   std_k = implied_sigma(f, k) (fusion.h: (q90 - q10) / 2.563);
//   ok: every target has a finite mean and finite quantiles -- or, for a
//     partial forecast, a target with none of them finite is one the model
//     does not reach (fused there with weight 0); a forecast that reaches no
//     target is not ok either. The note says which target failed, or how
//     many were reached, then the caller's note.
// Used by QuantileForecast's constructor in Python and by the ONNX
// forecaster's post-processing (grid_forecast), so both check alike.
#pragma once
#include <cstddef>
#include <string>

#include "common/forecast.h"

namespace chronotick {

// Throws std::invalid_argument naming the first level out of order or out of (0, 1).
void check_levels(const double* levels, std::size_t n);

// f's times, levels, mean [T] and quantiles [T x L] filled in; sets f.std,
// f.ok and f.note as above. Throws std::invalid_argument on sizes that
// disagree, levels that are not probabilities in order, or crossed quantiles.
void finish_forecast(QuantileForecast& f, bool partial, const std::string& note);

}  // namespace chronotick
