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

Gaussian one_step_history(Model m, const Series& s, std::size_t from, const ModelParams& p) {
  Gaussian out;
  if (from >= s.n) return out;
  if (m == Model::kalman) {
    // One pass of the filter yields every one-step prediction.
    std::size_t first = s.n > p.kalman_window ? s.n - p.kalman_window : 0;
    std::size_t start = std::max(from, first + 1);
    for (std::size_t i = from; i < start; ++i) {  // before the filter's window
      out.mean.push_back(std::nan(""));
      out.sigma.push_back(std::nan(""));
    }
    Series tail{s.t + first, s.y + first, s.u ? s.u + first : nullptr, s.n - first};
    KalmanNoise q = estimate_kalman_noise(tail, p);
    double last = s.t[s.n - 1];
    Gaussian g = predict_kalman_with(tail, q, &last, 1, start - first, &out);
    if (!g.ok) {
      out.mean.assign(s.n - from, std::nan(""));
      out.sigma.assign(s.n - from, std::nan(""));
    }
    return out;
  }
  for (std::size_t i = from; i < s.n; ++i) {
    Series prefix{s.t, s.y, s.u, i};
    Gaussian g = predict_gaussian(m, prefix, s.t + i, 1, p);
    out.mean.push_back(g.ok ? g.mean[0] : std::nan(""));
    out.sigma.push_back(g.ok ? g.sigma[0] : std::nan(""));
  }
  return out;
}

}  // namespace chronotick
