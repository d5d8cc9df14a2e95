// The classical ensemble: each member forecasts and calibrates itself on its
// own past errors at each lead (models/leads.h, models/calibration.h), the
// members are fused by inverse squared recent error at that lead
// (fusion/fusion.h), and the fused forecast is calibrated
// the same way: at each past origin j the members' calibrated predictions are
// fused with the same rule, and the fused errors' conformal quantiles set the
// fused intervals. Everything is learned from measurements before the
// forecast origin only.
//
// The scale the fused errors are standardised by (and the new interval scaled
// with): the weighted mean of the members' sigmas, sum_i w_i sigma_i; from a
// lead of 32 measurements on, the spread of the members' mixture,
// sqrt(sum_i w_i (sigma_i^2 + (mu_i - mu)^2)), which grows where the members
// disagree (their drift extrapolations part with the lead). Chosen on
// simulated clocks by a rule fixed beforehand (docs/models.md, "Rule P2"):
// 64 / 144 steps ahead the 80% intervals' score fell 4-8% and their coverage
// rose 0.6-2.3 points towards 80%; below lead 32 the mixture scale made the
// short-lead intervals slightly worse, so it is not used there.
//
// Fewer than `min_history` measurements: the answer is `hold` with sigma at
// least the range of the values seen (uncalibrated), and the model name says
// it is a fallback.
#pragma once
#include <vector>

#include "common/forecast.h"
#include "fusion/fusion.h"
#include "models/classical.h"
#include "models/params.h"

namespace chronotick {

// One model, calibrated.
QuantileForecast forecast_model(Model m, const Series& s, const double* targets, std::size_t h,
                                const double* levels, std::size_t nlev, const ModelParams& p);

// regression with a temperature term (models/tempcomp.h), calibrated the same
// way; temp aligned with s.
QuantileForecast forecast_tempcomp(const Series& s, const double* temp, const double* targets, std::size_t h,
                                   const double* levels, std::size_t nlev, const ModelParams& p);

// A member's past prediction of measurement y[target] made from the
// measurements [0, prefix) only (target >= prefix): one of the pairs that
// calibrate a forecast (models/leads.h; calibration_pairs lists them).
struct PastPrediction {
  std::size_t prefix = 0, target = 0;
  double mean = 0, sigma = 0;
};

// A forecaster from outside the core (an ONNX model, the temperature
// regression) joining the ensemble. forecast: its (calibrated) answer at the
// same targets and levels. past: its predictions at (some of) the pairs
// calibration_pairs lists; pairs it lacks count as "no prediction".
//
// At each lead bucket, every member's recent error is its mean |y_j - m_j|
// over the same pairs (those predicted by every external member that reaches
// the bucket: one with at least calib_min past predictions there), so
// weights 1/mae^2 compare like with like, and the external member joins the
// fusion of the past forecasts there, so the fused intervals are calibrated
// with it included. A bucket without such errors borrows those of the
// longest shorter one that has them. An external member whose forecast is
// NaN at a target (beyond an ONNX model's horizon) is not fused there
// (fusion/fusion.h). Where it is fused without a known error at that lead
// (or has no past at all) the weights at that target fall back to the
// members' sigmas and the fused calibration to the core members' history.
struct ExternalMember {
  QuantileForecast forecast;
  std::vector<PastPrediction> past;
};

// The (prefix, target) pairs whose errors calibrate a forecast at `targets`
// from `s` (the pairs an ExternalMember's past should cover).
std::vector<PastPrediction> calibration_pairs(const Series& s, const double* targets, std::size_t h,
                                              const ModelParams& p);

FusedForecast forecast_fused(const std::vector<Model>& models, const Series& s, const double* targets,
                             std::size_t h, const double* levels, std::size_t nlev, const ModelParams& p,
                             const std::vector<ExternalMember>& extra = {});

}  // namespace chronotick
