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
bool model_from_name(const std::string& name, Model& out);
const char* model_name(Model m);

Gaussian predict_gaussian(Model m, const Series& s, const double* targets, std::size_t h,
                          const ModelParams& p);

// Predictions of measurements [from, n), each from measurements [0, i) only.
// Entries a model cannot make are NaN.
Gaussian one_step_history(Model m, const Series& s, std::size_t from, const ModelParams& p);

}  // namespace chronotick
