#include "models/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/normal.h"

namespace chronotick {
namespace {

// Signed conformal quantile of the ascending `sorted` errors for quantile
// level `level`: the ceil((n+1)c)-th smallest, c = |2 level - 1|, with the
// sign of level - 1/2. Beyond c_n = n/(n+1), the widest coverage n errors
// resolve (where split conformal would answer infinity), the largest error
// grows by the normal tail's ratio z((1+c)/2) / z((1+c_n)/2): wider
// coverage asked, a wider interval, continuous at c_n.
double conformal(const std::vector<double>& sorted, double level) {
  const double n = static_cast<double>(sorted.size()), c = std::fabs(2.0 * level - 1.0);
  double k = std::ceil((n + 1.0) * c);
  double v;
  if (k <= n) {
    v = sorted[k < 1.0 ? 0 : static_cast<std::size_t>(k) - 1];
  } else {
    const double cn = n / (n + 1.0);
    v = sorted.back() * normal_quantile(0.5 + 0.5 * c) / normal_quantile(0.5 + 0.5 * cn);
  }
  return level > 0.5 ? v : -v;
}

}  // namespace

double Calibration::offset(double level, const ModelParams& p) const {
  if (!calibrated(p) || abs_z.empty()) return normal_quantile(level);
  if (level == 0.5) return 0.0;
  return conformal(abs_z, level);
}

double Calibration::scale(const ModelParams& p) const {
  return (offset(0.9, p) - offset(0.1, p)) / 2.563;
}

double Calibration::calibrated_sigma(double sigma, const ModelParams& p) const {
  if (abs_fixed.empty() || !calibrated(p)) return sigma * scale(p);
  return (offset_at(0.9, sigma, 0, 0.0, p) - offset_at(0.1, sigma, 0, 0.0, p)) / 2.563;
}

double Calibration::abs_offset(double level, const ModelParams& p) const {
  if (!calibrated(p)) return 0.0;
  return grown_offset(abs_err, level, 1.0, 1.0);
}

double Calibration::offset_at(double level, double sigma, std::size_t steps, double lead,
                              const ModelParams& p) const {
  double q;
  if (abs_fixed.empty() || !calibrated(p)) {
    q = offset(level, p) * sigma;
  } else if (level == 0.5) {
    q = 0.0;
  } else {
    // the floor-sigma pairs' errors as they are, the others' scaled to this sigma
    std::vector<double> v(abs_fixed);
    for (double z : abs_z) v.push_back(z * std::fabs(sigma));
    std::sort(v.begin(), v.end());
    q = conformal(v, level);
  }
  if (lead_steps > 0 && steps > lead_steps && calibrated(p)) {
    // the target's own lead L, not its bucket's S (calibration.h)
    double grown = grown_offset(abs_err, level, lead / static_cast<double>(lead_steps), growth);
    if (std::fabs(grown) > std::fabs(q)) q = grown;
  }
  return q;
}

double growth_exponent(double mae_d, double mae_half, double growth_min) {
  const double lo = std::clamp(growth_min, 0.0, 2.0);
  if (!(mae_d > 0) || !(mae_half > 0)) return lo;
  return std::clamp(std::log2(mae_d / mae_half), lo, 2.0);
}

double grown_offset(const std::vector<double>& sorted_abs_err, double level, double ratio, double growth) {
  if (sorted_abs_err.empty() || level == 0.5) return 0.0;
  return conformal(sorted_abs_err, level) * std::pow(ratio, growth);
}

Calibration calibrate(const Series& s, const LeadPlan& plan, std::size_t b, const Gaussian& hist) {
  Calibration c;
  double sum_abs = 0;
  for (std::size_t k = 0; k < hist.mean.size() && k < plan.prefix[b].size(); ++k) {
    double m = hist.mean[k], sd = hist.sigma[k];
    if (!std::isfinite(m) || !std::isfinite(sd) || !(sd > 0)) continue;
    const double yj = s.y[plan.target_index(b, k)];
    double e = std::fabs(yj - m);
    sum_abs += e;
    if (sd <= kFloorUlps * std::numeric_limits<double>::epsilon() * std::max(std::fabs(m), std::fabs(yj)) ||
        sd <= kFloorUlps * std::sqrt(std::numeric_limits<double>::min()))
      c.abs_fixed.push_back(e);  // a floor sigma: no scale to standardise by (calibration.h)
    else
      c.abs_z.push_back(e / sd);
    c.abs_err.push_back(e);
  }
  c.lead_steps = plan.steps[b];
  std::sort(c.abs_err.begin(), c.abs_err.end());
  if (!c.abs_err.empty()) c.mean_abs_err = sum_abs / static_cast<double>(c.abs_err.size());
  std::sort(c.abs_z.begin(), c.abs_z.end());
  std::sort(c.abs_fixed.begin(), c.abs_fixed.end());
  return c;
}

std::vector<Calibration> calibrate_all(const Series& s, const LeadPlan& plan, const std::vector<Gaussian>& hist,
                                       const ModelParams& p) {
  std::vector<Calibration> out(plan.steps.size());
  for (std::size_t b = 0; b < plan.steps.size() && b < hist.size(); ++b) {
    out[b] = calibrate(s, plan, b, hist[b]);
    out[b].growth = growth_exponent(0.0, 0.0, p.growth_min);
  }
  // Growth exponent of each bucket from the bucket of half its lead.
  for (std::size_t b = 0; b < out.size(); ++b) {
    for (std::size_t c = 0; c < out.size(); ++c) {
      if (2 * plan.steps[c] != plan.steps[b] || out[c].abs_err.empty() || out[b].abs_err.empty()) continue;
      out[b].growth = growth_exponent(out[b].mean_abs_err, out[c].mean_abs_err, p.growth_min);
    }
  }
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
    if (borrowed) *note = "intervals at some leads calibrated at a shorter lead (too little history), "
                          "at least that lead's errors grown with the lead";
    if (none) *note += std::string(note->empty() ? "" : "; ") +
                       "intervals not calibrated at some leads (too few past errors), Gaussian quantiles used";
  }
  return out;
}

std::vector<std::size_t> target_steps(const LeadPlan& plan) {
  std::vector<std::size_t> out(plan.bucket_of_target.size());
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = plan.steps[plan.bucket_of_target[k]];
  return out;
}

QuantileForecast to_quantiles(const std::string& model, const double* targets, std::size_t h,
                              const double* levels, std::size_t nlev, const Gaussian& g,
                              const std::vector<const Calibration*>& cal, const ModelParams& p,
                              const std::string& cal_note, const std::vector<std::size_t>& steps,
                              const std::vector<double>& leads) {
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
    const std::size_t S = k < steps.size() ? steps[k] : 0;
    const double lead = k < leads.size() ? leads[k] : static_cast<double>(S);
    const double out = c.calibrated(p) ? kOutward : 1.0;  // calibrated ends rounded outward (calibration.h)
    for (std::size_t l = 0; l < nlev; ++l)
      f.quantiles[k * nlev + l] = g.mean[k] + c.offset_at(levels[l], g.sigma[k], S, lead, p) * out;
    f.std[k] = (c.offset_at(0.9, g.sigma[k], S, lead, p) - c.offset_at(0.1, g.sigma[k], S, lead, p)) / 2.563;
    if (!std::isfinite(f.mean[k]) || !std::isfinite(f.std[k])) {
      f.ok = false;
      f.note = "non-finite output";
    }
  }
  return f;
}

}  // namespace chronotick
