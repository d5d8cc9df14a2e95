#include "fusion/ensemble.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "models/calibration.h"
#include "models/tempcomp.h"

namespace chronotick {
namespace {

std::size_t calibration_start(const Series& s, const ModelParams& p) {
  std::size_t from = s.n > p.calib_origins ? s.n - p.calib_origins : 0;
  return std::max(from, std::min(s.n, p.min_history));
}

FusedForecast fallback_hold(const Series& s, const double* targets, std::size_t h, const double* levels,
                            std::size_t nlev, const ModelParams& p, const std::string& why) {
  Gaussian g = predict_gaussian(Model::hold, s, targets, h, p);
  // A few points say little about the spread: widen to at least the range
  // of the values seen (and 3x a stated uncertainty).
  if (g.ok && s.n > 0) {
    double lo = *std::min_element(s.y, s.y + s.n), hi = *std::max_element(s.y, s.y + s.n);
    double wide = hi - lo;
    if (s.u && std::isfinite(s.u[s.n - 1])) wide = std::max(wide, 3.0 * s.u[s.n - 1]);
    for (double& sd : g.sigma) sd = std::max(sd, wide);
  }
  QuantileForecast f = to_quantiles("hold", targets, h, levels, nlev, g, Calibration{}, p);
  FusedForecast out = fuse({f});
  out.forecast.model = "hold (fallback: " + why + ")";
  if (!f.note.empty()) out.forecast.note = f.note;
  return out;
}

}  // namespace

QuantileForecast forecast_model(Model m, const Series& s, const double* targets, std::size_t h,
                                const double* levels, std::size_t nlev, const ModelParams& p) {
  std::size_t from = calibration_start(s, p);
  ModelRun run = run_model(m, s, targets, h, from, p);
  Calibration c;
  if (run.forecast.ok) c = calibrate(s, from, run.history);
  return to_quantiles(model_name(m), targets, h, levels, nlev, run.forecast, c, p);
}

QuantileForecast forecast_tempcomp(const Series& s, const double* temp, const double* targets, std::size_t h,
                                   const double* levels, std::size_t nlev, const ModelParams& p) {
  const char* name = "regression+temp";
  Gaussian g = predict_tempcomp(s, temp, targets, h, p);
  if (!g.ok) return to_quantiles(name, targets, h, levels, nlev, g, Calibration{}, p);
  std::size_t from = calibration_start(s, p);
  Gaussian history;
  for (std::size_t i = from; i < s.n; ++i) {
    Series prefix{s.t, s.y, s.u, i};
    Gaussian one = predict_tempcomp(prefix, temp, s.t + i, 1, p);
    history.mean.push_back(one.ok ? one.mean[0] : std::nan(""));
    history.sigma.push_back(one.ok ? one.sigma[0] : std::nan(""));
  }
  return to_quantiles(name, targets, h, levels, nlev, g, calibrate(s, from, history), p);
}

FusedForecast forecast_fused(const std::vector<Model>& models, const Series& s, const double* targets,
                             std::size_t h, const double* levels, std::size_t nlev, const ModelParams& p) {
  if (s.n < p.min_history)
    return fallback_hold(s, targets, h, levels, nlev, p,
                         std::to_string(s.n) + " measurements < min_history " + std::to_string(p.min_history));
  const std::size_t m = models.size(), from = calibration_start(s, p), nsteps = s.n - from;
  std::vector<QuantileForecast> members;
  std::vector<Gaussian> steps(m);
  std::vector<double> scale(m);
  for (std::size_t i = 0; i < m; ++i) {
    ModelRun run = run_model(models[i], s, targets, h, from, p);
    Calibration c;
    if (run.forecast.ok) {
      steps[i] = std::move(run.history);
      c = calibrate(s, from, steps[i]);
    }
    scale[i] = c.scale(p);
    members.push_back(to_quantiles(model_name(models[i]), targets, h, levels, nlev, run.forecast, c, p));
  }
  FusedForecast out = fuse(members);
  if (!out.forecast.ok) return fallback_hold(s, targets, h, levels, nlev, p, "every model failed");

  // Past fused errors: fuse the members' calibrated one-step predictions.
  Gaussian fused_steps;
  for (std::size_t j = 0; j < nsteps; ++j) {
    double total = 0, mean = 0, sig = 0;
    for (std::size_t i = 0; i < m; ++i) {
      if (!members[i].ok || steps[i].mean.size() != nsteps) continue;
      double mu = steps[i].mean[j], sd = steps[i].sigma[j] * scale[i];
      if (!std::isfinite(mu) || !(sd > 0) || !std::isfinite(sd)) continue;
      double w = 1.0 / (sd * sd);
      total += w; mean += w * mu; sig += w * sd;
    }
    fused_steps.mean.push_back(total > 0 ? mean / total : std::nan(""));
    fused_steps.sigma.push_back(total > 0 ? sig / total : std::nan(""));
  }
  Calibration c = calibrate(s, from, fused_steps);
  if (!c.calibrated(p)) {
    out.forecast.note += std::string(out.forecast.note.empty() ? "" : "; ") +
                         "fused intervals not re-calibrated (too few past errors)";
    return out;
  }
  QuantileForecast& f = out.forecast;
  const std::size_t L = f.levels.size();
  const double sc = c.scale(p);
  for (std::size_t k = 0; k < h; ++k) {
    double sigma = f.std[k];  // weighted mean of the members' calibrated sigmas
    for (std::size_t l = 0; l < L; ++l) f.quantiles[k * L + l] = f.mean[k] + c.offset(f.levels[l], p) * sigma;
    f.std[k] = sigma * sc;
  }
  return out;
}

}  // namespace chronotick
