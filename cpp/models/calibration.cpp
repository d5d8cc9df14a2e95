#include "models/calibration.h"

#include <algorithm>
#include <cmath>

#include "common/normal.h"

namespace chronotick {

double Calibration::offset(double level, const ModelParams& p) const {
  if (!calibrated(p)) return normal_quantile(level);
  if (level == 0.5) return 0.0;
  // Conformal quantile of the sorted errors: the ceil((n+1)c)-th smallest.
  double k = std::ceil((static_cast<double>(abs_z.size()) + 1.0) * std::fabs(2.0 * level - 1.0));
  std::size_t idx = k < 1.0 ? 0 : std::min(abs_z.size() - 1, static_cast<std::size_t>(k) - 1);
  double q = abs_z[idx];
  return level > 0.5 ? q : -q;
}

double Calibration::scale(const ModelParams& p) const {
  return (offset(0.9, p) - offset(0.1, p)) / 2.563;
}

Calibration calibrate(const Series& s, const LeadPlan& plan, std::size_t b, const Gaussian& hist) {
  Calibration c;
  double sum_abs = 0;
  for (std::size_t k = 0; k < hist.mean.size() && k < plan.prefix[b].size(); ++k) {
    double m = hist.mean[k], sd = hist.sigma[k];
    if (!std::isfinite(m) || !std::isfinite(sd) || !(sd > 0)) continue;
    double e = std::fabs(s.y[plan.target_index(b, k)] - m);
    sum_abs += e;
    c.abs_z.push_back(e / sd);
  }
  if (!c.abs_z.empty()) c.mean_abs_err = sum_abs / static_cast<double>(c.abs_z.size());
  std::sort(c.abs_z.begin(), c.abs_z.end());
  return c;
}

std::vector<Calibration> calibrate_all(const Series& s, const LeadPlan& plan, const std::vector<Gaussian>& hist) {
  std::vector<Calibration> out(plan.steps.size());
  for (std::size_t b = 0; b < plan.steps.size() && b < hist.size(); ++b) out[b] = calibrate(s, plan, b, hist[b]);
  return out;
}

std::vector<const Calibration*> per_bucket(const LeadPlan& plan, const std::vector<Calibration>& cals,
                                           const ModelParams& p) {
  std::vector<const Calibration*> out(plan.steps.size(), nullptr);
  for (std::size_t b = 0; b < out.size(); ++b) {
    if (b < cals.size() && cals[b].calibrated(p)) {
      out[b] = &cals[b];
      continue;
    }
    std::size_t best_steps = 0;
    for (std::size_t c = 0; c < cals.size(); ++c) {
      if (plan.steps[c] < plan.steps[b] && plan.steps[c] > best_steps && cals[c].calibrated(p)) {
        best_steps = plan.steps[c];
        out[b] = &cals[c];
      }
    }
  }
  return out;
}

std::vector<const Calibration*> per_target(const LeadPlan& plan, const std::vector<Calibration>& cals,
                                           const ModelParams& p, std::string* note) {
  std::vector<const Calibration*> buckets = per_bucket(plan, cals, p);
  std::vector<const Calibration*> out(plan.bucket_of_target.size(), nullptr);
  bool borrowed = false, none = false;
  for (std::size_t k = 0; k < out.size(); ++k) {
    std::size_t b = plan.bucket_of_target[k];
    out[k] = buckets[b];
    if (!out[k]) none = true;
    else if (out[k] != &cals[b]) borrowed = true;
  }
  if (note) {
    if (borrowed) *note = "intervals at some leads calibrated at a shorter lead (too little history)";
    if (none) *note += std::string(note->empty() ? "" : "; ") +
                       "intervals not calibrated at some leads (too few past errors), Gaussian quantiles used";
  }
  return out;
}

QuantileForecast to_quantiles(const std::string& model, const double* targets, std::size_t h,
                              const double* levels, std::size_t nlev, const Gaussian& g,
                              const std::vector<const Calibration*>& cal, const ModelParams& p,
                              const std::string& cal_note) {
  QuantileForecast f;
  f.model = model;
  f.times.assign(targets, targets + h);
  f.levels.assign(levels, levels + nlev);
  f.ok = g.ok;
  f.note = g.note;
  if (!g.ok) return f;
  if (!cal_note.empty()) f.note += (f.note.empty() ? "" : "; ") + cal_note;
  static const Calibration gaussian;
  f.mean = g.mean;
  f.std.resize(h);
  f.recent_mae.assign(h, std::nan(""));
  f.quantiles.resize(h * nlev);
  for (std::size_t k = 0; k < h; ++k) {
    const Calibration& c = (k < cal.size() && cal[k]) ? *cal[k] : gaussian;
    if (&c != &gaussian && c.mean_abs_err > 0) f.recent_mae[k] = c.mean_abs_err;
    f.std[k] = g.sigma[k] * c.scale(p);
    for (std::size_t l = 0; l < nlev; ++l) f.quantiles[k * nlev + l] = g.mean[k] + c.offset(levels[l], p) * g.sigma[k];
    if (!std::isfinite(f.mean[k]) || !std::isfinite(f.std[k])) {
      f.ok = false;
      f.note = "non-finite output";
    }
  }
  return f;
}

}  // namespace chronotick
