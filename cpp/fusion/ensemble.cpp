#include "fusion/ensemble.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <utility>

#include "models/calibration.h"
#include "models/leads.h"
#include "models/tempcomp.h"

namespace chronotick {
namespace {

// From this lead (in measurements) on, the fused intervals' scale is the spread of the
// members' mixture (ensemble.h); below it the weighted mean of their sigmas.
constexpr std::size_t kMixtureScaleLead = 32;

// sqrt(sum_i w_i (a_i^2 + b_i^2)) over the terms each(f) hands to f(w, a, b), with every a, b
// divided by the largest |a|, |b| before squaring: the mixture spread where the plain sum's
// squares pass the double range (spreads ~1e154; it had been inf, the fused quantiles
// -inf/NaN/inf with ok; an audit, 2026-12-06). NaN where that largest is not finite or is 0
// (a member already infinite: the caller keeps what it had).
template <class Each>
double scaled_root_sum(const Each& each) {
  double big = 0, scaled = 0;
  each([&](double, double a, double b) { big = std::max(big, std::max(std::fabs(a), std::fabs(b))); });
  if (!(std::isfinite(big) && big > 0)) return std::nan("");
  each([&](double w, double a, double b) {
    a /= big, b /= big;
    scaled += w * (a * a + b * b);
  });
  return big * std::sqrt(scaled);
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
  QuantileForecast f = to_quantiles("hold", targets, h, levels, nlev, g, {}, p,
                                    "intervals not calibrated (too little history)");
  FusedForecast out = fuse({f});
  out.forecast.model = "hold (fallback: " + why + ")";
  out.forecast.note = f.note;
  return out;
}

QuantileForecast calibrated(const std::string& name, const Series& s, const double* targets, std::size_t h,
                            const double* levels, std::size_t nlev, const LeadPlan& plan, const Gaussian& g,
                            const std::vector<Gaussian>& history, const ModelParams& p,
                            std::vector<Calibration>* cals_out = nullptr) {
  std::vector<Calibration> cals;
  if (g.ok) cals = calibrate_all(s, plan, history, p);
  std::string note;
  std::vector<const Calibration*> cal = per_target(plan, cals, p, &note);
  QuantileForecast f = to_quantiles(name, targets, h, levels, nlev, g, cal, p, note, target_steps(plan),
                                    plan.lead_of_target);
  if (cals_out) *cals_out = std::move(cals);
  return f;
}

}  // namespace

QuantileForecast forecast_model(Model m, const Series& s, const double* targets, std::size_t h,
                                const double* levels, std::size_t nlev, const ModelParams& p) {
  LeadPlan plan = plan_leads(s, targets, h, p);
  ModelRun run = run_model(m, s, targets, h, plan, p);
  return calibrated(model_name(m), s, targets, h, levels, nlev, plan, run.forecast, run.history, p);
}

QuantileForecast forecast_tempcomp(const Series& s, const double* temp, const double* targets, std::size_t h,
                                   const double* levels, std::size_t nlev, const ModelParams& p) {
  LeadPlan plan = plan_leads(s, targets, h, p);
  Gaussian g = predict_tempcomp(s, temp, targets, h, p);
  std::vector<Gaussian> history;
  if (g.ok)
    history = refit_history(s, plan, [&](const Series& prefix, const double* tg, std::size_t k) {
      return predict_tempcomp(prefix, temp, tg, k, p);
    });
  return calibrated("regression+temp", s, targets, h, levels, nlev, plan, g, history, p);
}

FusedForecast forecast_fused(const std::vector<Model>& models, const Series& s, const double* targets,
                             std::size_t h, const double* levels, std::size_t nlev, const ModelParams& p,
                             const std::vector<ExternalMember>& extra) {
  if (s.n < p.min_history)
    return fallback_hold(s, targets, h, levels, nlev, p,
                         std::to_string(s.n) + " measurements < min_history " + std::to_string(p.min_history));
  const std::size_t m = models.size(), me = extra.size();
  LeadPlan plan = plan_leads(s, targets, h, p);
  std::vector<QuantileForecast> members;
  std::vector<std::vector<Gaussian>> history(m);
  std::vector<std::vector<Calibration>> cals(m);
  for (std::size_t i = 0; i < m; ++i) {
    ModelRun run = run_model(models[i], s, targets, h, plan, p);
    members.push_back(calibrated(model_name(models[i]), s, targets, h, levels, nlev, plan, run.forecast,
                                 run.history, p, &cals[i]));
    history[i] = std::move(run.history);
  }
  for (std::size_t i = 0; i < m; ++i) cals[i].resize(plan.steps.size());
  std::vector<std::vector<const Calibration*>> member_bucket(m);
  for (std::size_t i = 0; i < m; ++i) member_bucket[i] = per_bucket(plan, cals[i], p);

  // External members' past predictions at the plan's pairs (NaN: none).
  const std::size_t nb = plan.steps.size();
  using Grid = std::vector<std::vector<double>>;  // [bucket][pair]
  std::vector<Grid> ext_mu(me), ext_sd(me);
  std::vector<bool> has_past(me, false);
  bool any_past = false;
  {
    std::map<std::pair<std::size_t, std::size_t>, std::pair<std::size_t, std::size_t>> where;  // -> (b, k)
    for (std::size_t b = 0; b < nb; ++b)
      for (std::size_t k = 0; k < plan.prefix[b].size(); ++k)
        where[{plan.prefix[b][k], plan.target_index(b, k)}] = {b, k};
    for (std::size_t e = 0; e < me; ++e) {
      ext_mu[e].resize(nb);
      ext_sd[e].resize(nb);
      for (std::size_t b = 0; b < nb; ++b) {
        ext_mu[e][b].assign(plan.prefix[b].size(), std::nan(""));
        ext_sd[e][b].assign(plan.prefix[b].size(), std::nan(""));
      }
      for (const PastPrediction& q : extra[e].past) {
        auto it = where.find({q.prefix, q.target});
        if (it == where.end() || !std::isfinite(q.mean) || !(q.sigma > 0) || !std::isfinite(q.sigma)) continue;
        ext_mu[e][it->second.first][it->second.second] = q.mean;
        ext_sd[e][it->second.first][it->second.second] = q.sigma;
        has_past[e] = true;
      }
      any_past = any_past || has_past[e];
    }
  }
  // Per bucket: every member's mean |y_j - m_j| over the same pairs (those
  // every external member that reaches the bucket predicted: one with at
  // least calib_min past predictions there; an ONNX model does not reach
  // leads past its horizon); NaN under calib_min pairs.
  std::vector<std::vector<double>> core_mae(m, std::vector<double>(nb, std::nan("")));
  std::vector<std::vector<double>> ext_mae(me, std::vector<double>(nb, std::nan("")));
  std::vector<std::vector<bool>> reaches(me, std::vector<bool>(nb, false));
  if (any_past) {
    for (std::size_t b = 0; b < nb; ++b) {
      for (std::size_t e = 0; e < me; ++e) {
        std::size_t have = 0;
        for (double mu : ext_mu[e][b]) have += std::isfinite(mu) ? 1 : 0;
        reaches[e][b] = has_past[e] && have >= p.calib_min;
      }
      std::vector<std::size_t> common;
      for (std::size_t k = 0; k < plan.prefix[b].size(); ++k) {
        bool all = true;
        for (std::size_t e = 0; e < me; ++e) all = all && (!reaches[e][b] || std::isfinite(ext_mu[e][b][k]));
        if (all) common.push_back(k);
      }
      auto mae_over = [&](auto&& predicted) {  // predicted(k): the prediction of pair k's target
        double sum = 0;
        std::size_t cnt = 0;
        for (std::size_t k : common) {
          const double mu = predicted(k);
          if (std::isfinite(mu)) sum += std::fabs(s.y[plan.target_index(b, k)] - mu), ++cnt;
        }
        return cnt >= p.calib_min && sum > 0 ? sum / static_cast<double>(cnt) : std::nan("");
      };
      for (std::size_t e = 0; e < me; ++e)
        if (reaches[e][b]) ext_mae[e][b] = mae_over([&](std::size_t k) { return ext_mu[e][b][k]; });
      for (std::size_t i = 0; i < m; ++i)
        if (members[i].ok && history[i].size() > b)
          core_mae[i][b] = mae_over([&](std::size_t k) { return history[i][b].mean[k]; });
    }
  }
  // The bucket whose errors weigh the members at bucket b: b, or the longest
  // shorter lead where the errors are known (the classical members', and
  // those of every external member that reaches it).
  std::vector<std::size_t> src(nb, nb);
  if (any_past) {
    for (std::size_t b = 0; b < nb; ++b) {
      for (std::size_t c = 0; c < nb; ++c) {
        if (plan.steps[c] > plan.steps[b]) continue;
        bool known = false;
        for (std::size_t i = 0; i < m; ++i) known = known || std::isfinite(core_mae[i][c]);
        for (std::size_t e = 0; e < me; ++e) known = known && (!reaches[e][c] || std::isfinite(ext_mae[e][c]));
        if (known && (src[b] == nb || plan.steps[c] > plan.steps[src[b]])) src[b] = c;
      }
    }
  }
  for (std::size_t k = 0; k < h; ++k) {
    const std::size_t c = src[plan.bucket_of_target[k]];
    if (c == nb) continue;
    for (std::size_t i = 0; i < m; ++i)
      if (members[i].ok && std::isfinite(core_mae[i][c])) members[i].recent_mae[k] = core_mae[i][c];
  }
  for (std::size_t e = 0; e < me; ++e) {
    QuantileForecast f = extra[e].forecast;
    if (has_past[e]) {
      f.recent_mae.assign(h, std::nan(""));
      for (std::size_t k = 0; k < h; ++k) {
        const std::size_t c = src[plan.bucket_of_target[k]];
        if (c != nb) f.recent_mae[k] = ext_mae[e][c];
      }
    }
    members.push_back(std::move(f));
  }
  FusedForecast out = fuse(members);
  if (!out.forecast.ok) return fallback_hold(s, targets, h, levels, nlev, p, "every model failed");

  // Past fused forecasts at each lead: the members' calibrated past forecasts
  // (external members' where they made one) fused with the same rule (1/mae^2
  // when all have a recent error at that lead, else 1/sigma^2); their errors
  // calibrate the fused intervals.
  struct Past { double mu, sd, mae; };
  std::vector<Gaussian> fused_hist(nb);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t c = src[b];
    for (std::size_t k = 0; k < plan.prefix[b].size(); ++k) {
      std::vector<Past> past;
      for (std::size_t i = 0; i < m; ++i) {
        if (!members[i].ok || history[i].size() <= b || !member_bucket[i][b]) continue;
        const Calibration& cb = *member_bucket[i][b];
        const double mae = (c != nb && std::isfinite(core_mae[i][c])) ? core_mae[i][c] : cb.mean_abs_err;
        past.push_back({history[i][b].mean[k], cb.calibrated_sigma(history[i][b].sigma[k], p), mae});
      }
      if (c != nb)
        for (std::size_t e = 0; e < me; ++e)
          if (out.members[m + e].ok && std::isfinite(ext_mu[e][b][k]) && std::isfinite(ext_mae[e][c]))
            past.push_back({ext_mu[e][b][k], ext_sd[e][b][k], ext_mae[e][c]});
      bool by_mae = true;
      for (const Past& q : past) by_mae = by_mae && q.mae > 0;
      // a past forecast's weight; 0: not usable (non-finite, or no spread)
      auto weight = [by_mae](const Past& q) {
        if (!std::isfinite(q.mu) || !(q.sd > 0) || !std::isfinite(q.sd)) return 0.0;
        return by_mae ? 1.0 / (q.mae * q.mae) : 1.0 / (q.sd * q.sd);
      };
      double total = 0, mean = 0, sig = 0;
      for (const Past& q : past) {
        const double w = weight(q);
        if (!(w > 0)) continue;
        total += w; mean += w * q.mu; sig += w * q.sd;
      }
      double sigma = std::nan("");
      if (total > 0) {
        mean /= total;
        sigma = sig / total;
        if (plan.steps[b] >= kMixtureScaleLead) {
          double second = 0;  // the members' mixture spread (above)
          for (const Past& q : past)
            if (const double w = weight(q); w > 0) second += w * (q.sd * q.sd + (q.mu - mean) * (q.mu - mean));
          sigma = std::sqrt(second * total) / total;  // = sqrt(second / total), as validated bit for bit
          if (!std::isfinite(sigma)) {  // squares past the double range: scaled first
            const double r = scaled_root_sum([&](auto&& term) {
              for (const Past& q : past)
                if (const double w = weight(q); w > 0) term(w / total, q.sd, q.mu - mean);
            });
            if (!std::isnan(r)) sigma = r;
          }
        }
      }
      fused_hist[b].mean.push_back(total > 0 ? mean : std::nan(""));
      fused_hist[b].sigma.push_back(sigma);
    }
  }
  std::vector<Calibration> fcals = calibrate_all(s, plan, fused_hist, p);
  std::string note;
  std::vector<const Calibration*> cal = per_target(plan, fcals, p, &note);
  QuantileForecast& f = out.forecast;
  if (!note.empty()) f.note += (f.note.empty() ? "" : "; ") + std::string("fused: ") + note;
  const std::size_t L = f.levels.size();
  const std::vector<std::size_t> steps = target_steps(plan);
  f.recent_mae.assign(h, std::nan(""));
  for (std::size_t k = 0; k < h; ++k) {
    if (!cal[k]) continue;  // keep the members' averaged (calibrated) offsets
    double sigma = f.std[k];  // weighted mean of the members' calibrated sigmas
    if (steps[k] >= kMixtureScaleLead) {
      // the members' mixture spread, as at the past origins above
      auto each = [&](auto&& term) {
        for (std::size_t i = 0; i < out.members.size(); ++i)
          if (const double w = out.weights[i * h + k]; w > 0)
            term(w, implied_sigma(out.members[i], k), out.members[i].mean[k] - f.mean[k]);
      };
      double second = 0;
      each([&](double w, double sd, double d) { second += w * (sd * sd + d * d); });
      sigma = std::sqrt(second);
      if (!std::isfinite(sigma)) {  // squares past the double range: scaled first
        const double r = scaled_root_sum(each);
        if (!std::isnan(r)) sigma = r;
      }
    }
    const double lead = plan.lead_of_target[k];
    for (std::size_t l = 0; l < L; ++l)  // each end rounded outward (models/calibration.h)
      f.quantiles[k * L + l] = f.mean[k] + cal[k]->offset_at(f.levels[l], sigma, steps[k], lead, p) * kOutward;
    f.std[k] = (cal[k]->offset_at(0.9, sigma, steps[k], lead, p) - cal[k]->offset_at(0.1, sigma, steps[k], lead, p)) /
               2.563;
    if (cal[k]->mean_abs_err > 0) f.recent_mae[k] = cal[k]->mean_abs_err;
  }
  contain_certain_members(out);
  return out;
}

std::vector<PastPrediction> calibration_pairs(const Series& s, const double* targets, std::size_t h,
                                              const ModelParams& p) {
  std::vector<PastPrediction> out;
  if (s.n < p.min_history) return out;  // forecast_fused answers with its hold fallback: no pairs used
  LeadPlan plan = plan_leads(s, targets, h, p);
  // Buckets have distinct leads S = j - i + 1, so no pair appears twice.
  for (std::size_t b = 0; b < plan.steps.size(); ++b)
    for (std::size_t k = 0; k < plan.prefix[b].size(); ++k)
      out.push_back({plan.prefix[b][k], plan.target_index(b, k), std::nan(""), std::nan("")});
  return out;
}

}  // namespace chronotick
