// The classical ensemble: each member forecasts and calibrates itself on its
// own one-step-ahead errors (models/calibration.h), the members are fused by
// inverse squared recent error (fusion/fusion.h), and the fused forecast is calibrated
// the same way: at each past origin j the members' calibrated predictions are
// fused with the same rule, and the fused errors' conformal quantiles set the
// fused intervals. Everything is learned from measurements before the
// forecast origin only.
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

// A forecaster from outside the core (an ONNX model, the temperature
// regression) joining the ensemble. forecast: its (calibrated) answer at the
// same targets and levels. past_mean / past_sigma (size s.n, or empty): its
// one-step-ahead predictions of the measurements themselves, each made from
// the measurements before it only (NaN where it made none). With them it
// joins the fusion of the past one-step forecasts, so its recent error sets
// its weight and the fused intervals are calibrated with it included; at
// longer leads (for which it has no past) the weights fall back to the
// members' sigmas and the fused calibration to the core members' history.
// Without them it is fused with its own recent_mae / sigma only.
struct ExternalMember {
  QuantileForecast forecast;
  std::vector<double> past_mean;
  std::vector<double> past_sigma;
};

FusedForecast forecast_fused(const std::vector<Model>& models, const Series& s, const double* targets,
                             std::size_t h, const double* levels, std::size_t nlev, const ModelParams& p,
                             const std::vector<ExternalMember>& extra = {});

}  // namespace chronotick
