#include "fusion/ensemble.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "models/calibration.h"
#include "models/leads.h"
#include "models/tempcomp.h"

namespace chronotick {
namespace {

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
  if (g.ok) cals = calibrate_all(s, plan, history);
  std::string note;
  std::vector<const Calibration*> cal = per_target(plan, cals, p, &note);
  QuantileForecast f = to_quantiles(name, targets, h, levels, nlev, g, cal, p, note, target_steps(plan));
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

  // External members with a past join at the one-step bucket. There, every
  // member's recent_mae is its mean |y_j - m_j| over the same pairs: those
  // for which every such external member made a prediction (its window may
  // be shorter than calib_origins), so the weights compare like with like.
  const std::size_t one = std::find(plan.steps.begin(), plan.steps.end(), std::size_t{1}) - plan.steps.begin();
  std::vector<bool> has_past(me, false);
  bool any_past = false;
  for (std::size_t e = 0; e < me; ++e) {
    has_past[e] = one < plan.steps.size() && extra[e].past_mean.size() == s.n && extra[e].past_sigma.size() == s.n;
    any_past = any_past || has_past[e];
  }
  std::vector<double> extra_mae(me, std::nan("")), core_mae_one(m, std::nan(""));
  if (any_past) {
    std::vector<std::size_t> common;  // pair indices k of the one-step bucket
    for (std::size_t k = 0; k < plan.prefix[one].size(); ++k) {
      const std::size_t j = plan.target_index(one, k);
      bool all = true;
      for (std::size_t e = 0; e < me; ++e) all = all && (!has_past[e] || std::isfinite(extra[e].past_mean[j]));
      if (all) common.push_back(k);
    }
    auto mae_over = [&](auto&& predicted) {  // predicted(k, j): the prediction of y_j at pair k
      double sum = 0;
      std::size_t cnt = 0;
      for (std::size_t k : common) {
        const std::size_t j = plan.target_index(one, k);
        const double mu = predicted(k, j);
        if (std::isfinite(mu)) sum += std::fabs(s.y[j] - mu), ++cnt;
      }
      return cnt >= p.calib_min && sum > 0 ? sum / static_cast<double>(cnt) : std::nan("");
    };
    for (std::size_t e = 0; e < me; ++e)
      if (has_past[e]) extra_mae[e] = mae_over([&](std::size_t, std::size_t j) { return extra[e].past_mean[j]; });
    for (std::size_t i = 0; i < m; ++i) {
      if (!members[i].ok || history[i].size() <= one) continue;
      core_mae_one[i] = mae_over([&](std::size_t k, std::size_t) { return history[i][one].mean[k]; });
      for (std::size_t k = 0; k < h; ++k)
        if (plan.bucket_of_target[k] == one) members[i].recent_mae[k] = core_mae_one[i];
    }
  }
  for (std::size_t e = 0; e < me; ++e) {
    QuantileForecast f = extra[e].forecast;
    if (has_past[e]) {
      f.recent_mae.assign(h, std::nan(""));
      for (std::size_t k = 0; k < h; ++k)
        if (plan.bucket_of_target[k] == one) f.recent_mae[k] = extra_mae[e];
    }
    members.push_back(std::move(f));
  }
  FusedForecast out = fuse(members);
  if (!out.forecast.ok) return fallback_hold(s, targets, h, levels, nlev, p, "every model failed");

  // Past fused forecasts at each lead: the members' calibrated past forecasts
  // fused with the same rule (1/mae^2 when all have a recent error at that
  // lead, else 1/sigma^2); their errors calibrate the fused intervals.
  struct Past { double mu, sd, mae; };
  std::vector<Gaussian> fused_hist(plan.steps.size());
  for (std::size_t b = 0; b < plan.steps.size(); ++b) {
    for (std::size_t k = 0; k < plan.prefix[b].size(); ++k) {
      std::vector<Past> past;
      for (std::size_t i = 0; i < m; ++i) {
        if (!members[i].ok || history[i].size() <= b || !member_bucket[i][b]) continue;
        const Calibration& c = *member_bucket[i][b];
        const double mae = (b == one && any_past) ? core_mae_one[i] : c.mean_abs_err;
        past.push_back({history[i][b].mean[k], history[i][b].sigma[k] * c.scale(p), mae});
      }
      if (b == one) {
        std::size_t j = plan.target_index(b, k);
        for (std::size_t e = 0; e < me; ++e)
          if (out.members[m + e].ok && std::isfinite(extra_mae[e]))
            past.push_back({extra[e].past_mean[j], extra[e].past_sigma[j], extra_mae[e]});
      }
      bool by_mae = true;
      for (const Past& q : past) by_mae = by_mae && q.mae > 0;
      double total = 0, mean = 0, sig = 0;
      for (const Past& q : past) {
        if (!std::isfinite(q.mu) || !(q.sd > 0) || !std::isfinite(q.sd)) continue;
        double w = by_mae ? 1.0 / (q.mae * q.mae) : 1.0 / (q.sd * q.sd);
        total += w; mean += w * q.mu; sig += w * q.sd;
      }
      fused_hist[b].mean.push_back(total > 0 ? mean / total : std::nan(""));
      fused_hist[b].sigma.push_back(total > 0 ? sig / total : std::nan(""));
    }
  }
  std::vector<Calibration> fcals = calibrate_all(s, plan, fused_hist);
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
    for (std::size_t l = 0; l < L; ++l)
      f.quantiles[k * L + l] = f.mean[k] + cal[k]->offset_at(f.levels[l], sigma, steps[k], p);
    f.std[k] = (cal[k]->offset_at(0.9, sigma, steps[k], p) - cal[k]->offset_at(0.1, sigma, steps[k], p)) / 2.563;
    if (cal[k]->mean_abs_err > 0) f.recent_mae[k] = cal[k]->mean_abs_err;
  }
  return out;
}

}  // namespace chronotick
