// The classical forecasters by name, and their one-step-ahead history
// (each of the last measurements re-forecast from the ones before it),
// which calibration and fusion learn from.
#pragma once
#include <string>
#include <vector>

#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/params.h"

namespace chronotick {

enum class Model { hold, robust, regression, kalman };

const std::vector<std::string>& classical_names();
// Members of the default ("fused") ensemble. hold is left out: on the real
// NTP traces it only added noise to the fusion (docs/backtest.md); it stays
// available by name and as the fallback for short histories.
const std::vector<std::string>& default_ensemble();
bool model_from_name(const std::string& name, Model& out);
const char* model_name(Model m);

Gaussian predict_gaussian(Model m, const Series& s, const double* targets, std::size_t h,
                          const ModelParams& p);

// A model's forecast at `targets` together with its one-step-ahead history:
// predictions of measurements [from, n), each from measurements [0, i) only
// (NaN where the model cannot make one). Calibration and fusion learn from
// the history; doing both in one call lets the Kalman filter estimate its
// noise once and produce the whole history in a single pass.
struct ModelRun {
  Gaussian forecast;
  Gaussian history;
};
ModelRun run_model(Model m, const Series& s, const double* targets, std::size_t h, std::size_t from,
                   const ModelParams& p);

}  // namespace chronotick
