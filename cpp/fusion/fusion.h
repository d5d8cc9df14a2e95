// Fusion of quantile forecasts made at the same times, weighted by inverse
// (robust) variance: recent error where known, else the quantiles' spread.
//
// Per step k, each member i usable there gets a scale: its recent mean absolute
// error e_ik (QuantileForecast::recent_mae: the errors its calibration saw at
// about this lead) when every such member has one, else the sigma implied by its
// quantiles, sigma_ik = (q90 - q10) / 2.563 (the 80% central width of a
// normal is 2.563 sigma; q10/q90 interpolated from the member's levels).
// Weight w_ik = (1/e_ik^2) / sum_j 1/e_jk^2 (or the same with sigma): a
// Bates-Granger combination by recent accuracy, with a robust scale (mean
// absolute, not squared, error: NTP errors have spikes). Fused mean:
// sum_i w_ik mean_ik. Fused quantile at level l:
// mean_k + sum_i w_ik (q_ikl - mean_ik) -- the members' offsets averaged, the
// spread one gets when members' errors are fully correlated (they read the
// same measurements), so the fused interval is never narrower than its
// members' (weighted) widths; it can still lie between members that disagree
// far beyond their spreads and hold none of them (only where the fused
// forecast or all its members state no spread does contain_certain_members
// widen it to their medians). (The ensemble re-calibrates this from past errors when it has a
// history.) A member is fused at the steps where its mean, quantiles and
// sigma are finite (one that reaches only some targets -- an ONNX model's
// horizon -- gives NaN at the others and weight 0 there); one that failed or
// is finite nowhere is dropped, with its note, never propagated. A step no
// member can forecast makes the fused forecast not ok.
#pragma once
#include <string>
#include <vector>

#include "common/forecast.h"

namespace chronotick {

struct FusedForecast {
  QuantileForecast forecast;
  std::vector<QuantileForecast> members;
  std::vector<std::string> member_names;
  std::vector<double> weights;  // row-major [members x steps]
};

// recent_mae[k] if finite and > 0, else NaN.
double recent_mae_at(const QuantileForecast& f, std::size_t k);
// sigma implied by a member's quantiles at step k: (q90 - q10) / 2.563.
double implied_sigma(const QuantileForecast& f, std::size_t k);

// Throws std::invalid_argument if members disagree on times or levels.
// The result obeys contain_certain_members.
FusedForecast fuse(const std::vector<QuantileForecast>& members);

// Members that each state no spread (q90 - q10 within the float resolution
// of the values: an exactly flat or exactly linear record) but disagree
// cannot all be right: at a step where every member usable there (weighted or
// not: one stating no spread takes all the 1/sigma^2 weight) is so, the
// fused quantiles below the median are lowered to at most the smallest
// member median and those above raised to at least the largest (std from
// the new q10/q90), and the note says so. The same where the fused forecast
// itself states no spread while the members' medians differ (Rule Z5: its
// calibration saw only exact hits, past errors of exactly 0, so it scaled a
// member's spread to nothing). Elsewhere nothing changes.
// forecast_fused applies it again after its calibration of the fused
// intervals.
void contain_certain_members(FusedForecast& out);

}  // namespace chronotick
