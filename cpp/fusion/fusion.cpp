#include "fusion/fusion.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/normal.h"

namespace chronotick {
namespace {

// Quantile of forecast f at step k and level `level`, by linear interpolation
// between its levels; NaN outside them.
double quantile_at(const QuantileForecast& f, std::size_t k, double level) {
  const std::size_t L = f.levels.size();
  for (std::size_t l = 0; l + 1 < L; ++l) {
    // A level the member has is read as it is: q_l + 1 * (q_l+1 - q_l) can differ from
    // q_l+1 in the last bit, and a zero-width member then looked crossed (sigma -5e-20).
    if (f.levels[l] == level) return f.q(k, l);
    if (f.levels[l + 1] == level) return f.q(k, l + 1);
    if (f.levels[l] < level && level < f.levels[l + 1]) {
      double a = (level - f.levels[l]) / (f.levels[l + 1] - f.levels[l]);
      return f.q(k, l) + a * (f.q(k, l + 1) - f.q(k, l));
    }
  }
  if (L == 1 && f.levels[0] == level) return f.q(k, 0);
  return std::nan("");
}

// Whether member f can be fused at step k: it did not fail, its mean and
// quantiles there are finite and its implied sigma finite and >= 0. (A member
// may reach only some targets -- an ONNX model's horizon -- and be NaN at the
// others.)
bool usable_at(const QuantileForecast& f, std::size_t k) {
  if (!f.ok || f.mean.size() != f.times.size() || f.quantiles.size() != f.times.size() * f.levels.size())
    return false;
  if (!std::isfinite(f.mean[k])) return false;
  for (std::size_t l = 0; l < f.levels.size(); ++l)
    if (!std::isfinite(f.q(k, l))) return false;
  // A sigma below 0 (crossed quantiles) or non-finite is no spread to weight by.
  const double s = implied_sigma(f, k);
  return std::isfinite(s) && s >= 0.0;
}

// Why member f is usable at no step (for the fused forecast's note).
std::string unusable_reason(const QuantileForecast& f) {
  if (!f.note.empty()) return f.note;
  if (!f.ok) return "failed";
  if (f.mean.size() != f.times.size() || f.quantiles.size() != f.times.size() * f.levels.size())
    return "output of the wrong size";
  for (std::size_t k = 0; k < f.times.size(); ++k)
    if (std::isfinite(f.mean[k]) && std::isfinite(implied_sigma(f, k)))
      return "crossed quantiles (q90 below q10)";
  return "non-finite output";
}

// Whether member f states no spread at step k: q90 - q10 within the values' float resolution.
bool certain_at(const QuantileForecast& f, std::size_t k) {
  const double lo = quantile_at(f, k, 0.1), hi = quantile_at(f, k, 0.9);
  return hi - lo <= 16.0 * std::numeric_limits<double>::epsilon() * std::max(std::fabs(lo), std::fabs(hi));
}

}  // namespace

double recent_mae_at(const QuantileForecast& f, std::size_t k) {
  if (k >= f.recent_mae.size() || !std::isfinite(f.recent_mae[k]) || !(f.recent_mae[k] > 0)) return std::nan("");
  return f.recent_mae[k];
}

double implied_sigma(const QuantileForecast& f, std::size_t k) {
  double lo = quantile_at(f, k, 0.1), hi = quantile_at(f, k, 0.9);
  if (std::isfinite(lo) && std::isfinite(hi)) return (hi - lo) / 2.563;
  if (k < f.std.size() && std::isfinite(f.std[k])) return f.std[k];
  const std::size_t L = f.levels.size();
  if (L >= 2 && f.levels[L - 1] > f.levels[0]) {
    double dz = normal_quantile(f.levels[L - 1]) - normal_quantile(f.levels[0]);
    return (f.q(k, L - 1) - f.q(k, 0)) / dz;
  }
  return std::nan("");
}

FusedForecast fuse(const std::vector<QuantileForecast>& members) {
  if (members.empty()) throw std::invalid_argument("fuse: no members");
  const auto& ref = members[0];
  const std::size_t h = ref.times.size(), L = ref.levels.size(), m = members.size();
  for (const auto& f : members) {
    if (f.times != ref.times)
      throw std::invalid_argument("fuse: member '" + f.model + "' forecasts at other times than '" + ref.model + "'");
    if (f.levels != ref.levels)
      throw std::invalid_argument("fuse: member '" + f.model + "' has other quantile levels than '" + ref.model + "'");
  }
  FusedForecast out;
  out.members = members;
  out.weights.assign(m * h, 0.0);
  std::string name = "fused(";
  std::vector<std::vector<bool>> at(m, std::vector<bool>(h, false));  // usable at step k
  std::vector<bool> use(m, false);                                   // usable somewhere
  std::string why;
  for (std::size_t i = 0; i < m; ++i) {
    out.member_names.push_back(members[i].model);
    for (std::size_t k = 0; k < h; ++k) use[i] = (at[i][k] = usable_at(members[i], k)) || use[i];
    if (use[i]) {
      name += (name.back() == '(' ? "" : ",") + members[i].model;
    } else {
      // the member's own note names it already ("kalman: could not ..."): said once, not
      // "dropped kalman: kalman: ..." (an audit, 2026-12-06)
      std::string reason = unusable_reason(members[i]);
      const std::string own = members[i].model + ": ";
      if (reason.compare(0, own.size(), own) == 0) reason.erase(0, own.size());
      why += (why.empty() ? "" : "; ") + own + reason;
    }
  }
  name += ")";
  QuantileForecast& f = out.forecast;
  f.model = name;
  f.times = ref.times;
  f.levels = ref.levels;
  f.note = why.empty() ? "" : "dropped " + why;
  for (std::size_t k = 0; k < h; ++k) {
    bool any = false;
    for (std::size_t i = 0; i < m; ++i) any = any || at[i][k];
    if (!any) {  // no member reaches this step: no forecast (the callers fall back)
      f.ok = false;
      f.note += (f.note.empty() ? "" : "; ") + std::string("no member can forecast step ") + std::to_string(k);
      return out;
    }
  }
  f.mean.assign(h, 0.0);
  f.std.assign(h, 0.0);
  f.quantiles.assign(h * L, 0.0);
  for (std::size_t k = 0; k < h; ++k) {
    // Weights: 1/mae^2 when every usable member knows its recent error at
    // this step, else 1/sigma^2 (members claiming zero sigma share it all).
    bool by_mae = true;
    for (std::size_t i = 0; i < m; ++i)
      if (at[i][k]) by_mae = by_mae && recent_mae_at(members[i], k) > 0;
    std::size_t zero = 0;
    if (!by_mae)
      for (std::size_t i = 0; i < m; ++i) if (at[i][k] && !(implied_sigma(members[i], k) > 0)) ++zero;
    // The scale each weight is 1/scale^2 of (0: a zero-sigma member's share).
    auto scale_of = [&](std::size_t i) {
      if (by_mae) return recent_mae_at(members[i], k);
      double s = implied_sigma(members[i], k);
      return zero ? (s > 0 ? std::nan("") : 1.0) : s;
    };
    double total = 0, smin = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < m; ++i) {
      if (!at[i][k]) continue;
      double s = scale_of(i), w = s > 0 ? 1.0 / (s * s) : 0.0;
      if (s > 0) smin = std::min(smin, s);
      out.weights[i * h + k] = w;
      total += w;
    }
    if (!(total > 0) || !std::isfinite(total)) {
      // Scales so small or large that 1/s^2 under- or overflows: the same
      // weights as (s_min / s)^2.
      total = 0;
      for (std::size_t i = 0; i < m; ++i) {
        if (!at[i][k]) continue;
        double s = scale_of(i), r = smin / s;
        out.weights[i * h + k] = s > 0 ? r * r : 0.0;
        total += out.weights[i * h + k];
      }
    }
    for (std::size_t i = 0; i < m; ++i) {
      double& w = out.weights[i * h + k];
      w = at[i][k] && total > 0 ? w / total : 0.0;
      if (w == 0) continue;
      f.mean[k] += w * members[i].mean[k];
      f.std[k] += w * implied_sigma(members[i], k);
    }
    for (std::size_t l = 0; l < L; ++l) {
      double q = f.mean[k];
      for (std::size_t i = 0; i < m; ++i) {
        double w = out.weights[i * h + k];
        if (w > 0) q += w * (members[i].q(k, l) - members[i].mean[k]);
      }
      f.quantiles[k * L + l] = q;
    }
  }
  contain_certain_members(out);
  return out;
}

void contain_certain_members(FusedForecast& out) {
  QuantileForecast& f = out.forecast;
  const std::size_t h = f.times.size(), L = f.levels.size(), m = out.members.size();
  if (!f.ok || f.quantiles.size() != h * L || out.weights.size() != m * h) return;
  bool members_certain = false, fused_certain = false;
  for (std::size_t k = 0; k < h; ++k) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    std::size_t n = 0;
    bool all_certain = true;
    for (std::size_t i = 0; i < m; ++i) {
      // every member that could be fused here, weighted or not: a zero-spread member takes all
      // the weight from the others (1/sigma^2), and the fused interval must still hold their
      // medians (it had been [0, 0] with another member at 100 +- 1; found by an audit)
      if (!(out.weights[i * h + k] > 0) && !usable_at(out.members[i], k)) continue;
      const QuantileForecast& g = out.members[i];
      all_certain = all_certain && certain_at(g, k);
      double med = quantile_at(g, k, 0.5);
      if (!std::isfinite(med)) med = g.mean[k];
      lo = std::min(lo, med), hi = std::max(hi, med), ++n;
    }
    if (n < 2 || !(hi > lo)) continue;
    if (all_certain) {
      members_certain = true;
    } else {
      // the fused forecast states no spread itself (its calibration saw only exact hits) where
      // members disagree: it holds their medians too (Rule Z5, 2026-12-04)
      if (!certain_at(f, k)) continue;
      fused_certain = true;
    }
    for (std::size_t l = 0; l < L; ++l) {
      double& q = f.quantiles[k * L + l];
      if (f.levels[l] < 0.5) q = std::min(q, lo);
      if (f.levels[l] > 0.5) q = std::max(q, hi);
    }
    const double q10 = quantile_at(f, k, 0.1), q90 = quantile_at(f, k, 0.9);
    if (std::isfinite(q10) && std::isfinite(q90)) f.std[k] = (q90 - q10) / 2.563;
  }
  static const std::string said =
      "members stating no spread disagree: the interval holds their medians at some steps";
  static const std::string said_fused =
      "the fused forecast stated no spread where members disagree: the interval holds their medians at some steps";
  for (const auto& [on, note] : {std::pair<bool, const std::string&>{members_certain, said},
                                 std::pair<bool, const std::string&>{fused_certain, said_fused}})
    if (on && f.note.find(note) == std::string::npos) f.note += (f.note.empty() ? "" : "; ") + note;
}

}  // namespace chronotick
