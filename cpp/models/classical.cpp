#include "models/classical.h"

#include <algorithm>
#include <cmath>

#include "models/hold.h"
#include "models/kalman.h"
#include "models/regression.h"
#include "models/robust.h"

namespace chronotick {

const std::vector<std::string>& classical_names() {
  static const std::vector<std::string> names = {"hold", "robust", "regression", "kalman"};
  return names;
}

const std::vector<std::string>& default_ensemble() {
  static const std::vector<std::string> names = {"robust", "regression", "kalman"};
  return names;
}

bool model_from_name(const std::string& name, Model& out) {
  static const Model all[] = {Model::hold, Model::robust, Model::regression, Model::kalman};
  for (Model m : all) {
    if (name == model_name(m)) { out = m; return true; }
  }
  return false;
}

const char* model_name(Model m) {
  switch (m) {
    case Model::hold: return "hold";
    case Model::robust: return "robust";
    case Model::regression: return "regression";
    case Model::kalman: return "kalman";
  }
  return "?";
}

Gaussian predict_gaussian(Model m, const Series& s, const double* targets, std::size_t h,
                          const ModelParams& p) {
  switch (m) {
    case Model::hold: return predict_hold(s, targets, h, p);
    case Model::robust: return predict_robust(s, targets, h, p);
    case Model::regression: return predict_regression(s, targets, h, p);
    case Model::kalman: return predict_kalman(s, targets, h, p);
  }
  return failed("unknown model");
}

ModelRun run_model(Model m, const Series& s, const double* targets, std::size_t h, std::size_t from,
                   const ModelParams& p) {
  ModelRun run;
  if (m == Model::kalman) {
    std::size_t first = s.n > p.kalman_window ? s.n - p.kalman_window : 0;
    if (s.n < std::max<std::size_t>(4, p.min_history)) {
      run.forecast = failed("kalman needs more measurements");
      return run;
    }
    std::size_t start = std::max(from, first + 1);
    for (std::size_t i = from; i < start && i < s.n; ++i) {  // before the filter's window
      run.history.mean.push_back(std::nan(""));
      run.history.sigma.push_back(std::nan(""));
    }
    Series tail{s.t + first, s.y + first, s.u ? s.u + first : nullptr, s.n - first};
    KalmanNoise q = estimate_kalman_noise(tail, p);
    run.forecast = predict_kalman_with(tail, q, targets, h);
    if (!run.forecast.ok) return run;
    // The history must not learn from the measurements it predicts: its
    // noise levels come from the measurements before the first origin.
    Series early{tail.t, tail.y, tail.u, start - first};
    KalmanNoise q_early = early.n >= 4 ? estimate_kalman_noise(early, p) : q;
    predict_kalman_with(tail, q_early, targets, 0, start - first, &run.history);
    run.history.mean.resize(s.n > from ? s.n - from : 0, std::nan(""));
    run.history.sigma.resize(run.history.mean.size(), std::nan(""));
    return run;
  }
  run.forecast = predict_gaussian(m, s, targets, h, p);
  if (!run.forecast.ok) return run;
  for (std::size_t i = from; i < s.n; ++i) {
    Series prefix{s.t, s.y, s.u, i};
    Gaussian g = predict_gaussian(m, prefix, s.t + i, 1, p);
    run.history.mean.push_back(g.ok ? g.mean[0] : std::nan(""));
    run.history.sigma.push_back(g.ok ? g.sigma[0] : std::nan(""));
  }
  return run;
}

}  // namespace chronotick
