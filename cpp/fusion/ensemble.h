// The classical ensemble: each member forecasts and calibrates itself on its
// own one-step-ahead errors (models/calibration.h), the members are fused by
// inverse variance (fusion/fusion.h), and the fused forecast is calibrated
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

FusedForecast forecast_fused(const std::vector<Model>& models, const Series& s, const double* targets,
                             std::size_t h, const double* levels, std::size_t nlev, const ModelParams& p);

}  // namespace chronotick
