#include "models/calibration.h"

#include <cmath>

#include "common/normal.h"
#include "models/robust_stats.h"

namespace chronotick {

double Calibration::offset(double level, const ModelParams& p) const {
  if (!calibrated(p)) return normal_quantile(level);
  if (level == 0.5) return 0.0;
  double q = conformal_quantile(abs_z, std::fabs(2.0 * level - 1.0));
  return level > 0.5 ? q : -q;
}

double Calibration::scale(const ModelParams& p) const {
  return (offset(0.9, p) - offset(0.1, p)) / 2.563;
}

Calibration calibrate(const Series& s, std::size_t from, const Gaussian& steps) {
  Calibration c;
  for (std::size_t j = 0; j < steps.mean.size() && from + j < s.n; ++j) {
    double m = steps.mean[j], sd = steps.sigma[j];
    if (!std::isfinite(m) || !std::isfinite(sd) || !(sd > 0)) continue;
    c.abs_z.push_back(std::fabs(s.y[from + j] - m) / sd);
  }
  return c;
}

QuantileForecast to_quantiles(const std::string& model, const double* targets, std::size_t h,
                              const double* levels, std::size_t nlev, const Gaussian& g,
                              const Calibration& c, const ModelParams& p) {
  QuantileForecast f;
  f.model = model;
  f.times.assign(targets, targets + h);
  f.levels.assign(levels, levels + nlev);
  f.ok = g.ok;
  f.note = g.note;
  if (!g.ok) return f;
  std::vector<double> off(nlev);
  for (std::size_t l = 0; l < nlev; ++l) off[l] = c.offset(levels[l], p);
  double sc = c.scale(p);
  if (!c.calibrated(p)) {
    if (!f.note.empty()) f.note += "; ";
    f.note += "intervals not calibrated (too few past errors), Gaussian quantiles used";
  }
  f.mean = g.mean;
  f.std.resize(h);
  f.quantiles.resize(h * nlev);
  for (std::size_t k = 0; k < h; ++k) {
    f.std[k] = g.sigma[k] * sc;
    for (std::size_t l = 0; l < nlev; ++l) f.quantiles[k * nlev + l] = g.mean[k] + off[l] * g.sigma[k];
    if (!std::isfinite(f.mean[k]) || !std::isfinite(f.std[k])) {
      f.ok = false;
      f.note = "non-finite output";
    }
  }
  return f;
}

}  // namespace chronotick
