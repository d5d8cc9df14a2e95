// The classical forecasters by name, and their one-step-ahead history
// (each of the last measurements re-forecast from the ones before it),
// which calibration and fusion learn from.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/leads.h"
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

// A model's forecast at `targets` together with its past forecasts at the
// same leads (models/leads.h): history[b][k] predicts measurement
// plan.target_index(b, k) from measurements [0, plan.prefix[b][k]) only (NaN
// where the model cannot). Calibration and fusion learn from the history.
struct ModelRun {
  Gaussian forecast;
  std::vector<Gaussian> history;
};
ModelRun run_model(Model m, const Series& s, const double* targets, std::size_t h, const LeadPlan& plan,
                   const ModelParams& p);

// The history of any predictor, refitting it once per distinct prefix.
using Predictor = std::function<Gaussian(const Series& prefix, const double* targets, std::size_t h)>;
std::vector<Gaussian> refit_history(const Series& s, const LeadPlan& plan, const Predictor& predict);

}  // namespace chronotick
