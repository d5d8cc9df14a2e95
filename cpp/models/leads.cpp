#include "models/leads.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "windowing/nearest_window.h"

namespace chronotick {

std::size_t LeadPlan::earliest_prefix(std::size_t n) const {
  std::size_t e = n;
  for (const auto& b : prefix)
    if (!b.empty()) e = std::min(e, b.front());
  return e;
}

LeadPlan plan_leads(const Series& s, const double* targets, std::size_t h, const ModelParams& p) {
  LeadPlan plan;
  const std::size_t n = s.n;
  plan.bucket_of_target.assign(h, 0);
  plan.lead_of_target.assign(h, 1.0);
  const double dt = n >= 2 ? median_spacing(s.t, n) : 1.0;
  for (std::size_t k = 0; k < h; ++k) {
    double tau = n ? targets[k] - s.t[n - 1] : 0.0;
    double steps = std::max(1.0, tau / dt);
    plan.lead_of_target[k] = std::min(steps, 0x1p63);  // finite where S stops at 2^62 (below)
    // S = 2^round(log2 steps), at most 2^62: a target 2^63.5 spacings ahead (a step_s far above the
    // measurements' spacing) had shifted by 64 or more, undefined, and on x86 wrapped into a small
    // bucket with a far too narrow interval (an ASan/UBSan audit, 2026-12-05); inf steps likewise
    const double e = std::log2(steps);
    const unsigned power = e < 62.0 ? static_cast<unsigned>(std::lround(e)) : 62u;
    std::size_t S = std::size_t{1} << power;
    auto it = std::find(plan.steps.begin(), plan.steps.end(), S);
    if (it == plan.steps.end()) {
      plan.steps.push_back(S);
      it = plan.steps.end() - 1;
    }
    plan.bucket_of_target[k] = static_cast<std::size_t>(it - plan.steps.begin());
  }
  // Pairs of bucket S: prefixes i = end - 1 - g k, k = 0 .. calib_origins - 1,
  // end = n - S + 1 keeping the target j = i - 1 + S <= n - 1, i >=
  // min_history, spaced g = ceil(S / calib_spread) apart (g = 1 without a
  // spread: the newest consecutive ones).
  auto prefixes_of = [&](std::size_t S) {
    std::vector<std::size_t> out;
    const std::size_t end = n >= S ? n - S + 1 : 0;
    const std::size_t g = p.calib_spread == 0 ? 1 : std::max<std::size_t>(1, (S + p.calib_spread - 1) / p.calib_spread);
    const std::size_t lo = std::max<std::size_t>(p.min_history, 1);
    for (std::size_t i = end; i > lo && out.size() < p.calib_origins; i -= std::min(g, i)) out.push_back(i - 1);
    std::reverse(out.begin(), out.end());
    return out;
  };
  auto pairs = [&](std::size_t S) { return prefixes_of(S).size(); };
  // A lead no past pair can calibrate (it reaches beyond the history: a 1 h
  // forecast from 1 h of measurements) gets donor buckets without targets:
  // the longest shorter power-of-two lead D with calib_min pairs, and D/2;
  // the calibration borrows D's errors and grows them with the lead at the
  // rate they grew from D/2 to D (models/calibration.h).
  auto add = [&](std::size_t S) {
    if (std::find(plan.steps.begin(), plan.steps.end(), S) == plan.steps.end()) plan.steps.push_back(S);
  };
  const std::size_t wanted = plan.steps.size();
  for (std::size_t b = 0; b < wanted; ++b) {
    if (pairs(plan.steps[b]) >= p.calib_min) continue;
    for (std::size_t D = plan.steps[b] >> 1; D >= 1; D >>= 1) {
      if (pairs(D) >= p.calib_min) {
        add(D);
        if (D >= 2 && pairs(D / 2) >= p.calib_min) add(D / 2);
        break;
      }
    }
  }
  for (std::size_t S : plan.steps) plan.prefix.push_back(prefixes_of(S));
  return plan;
}

void onnx_lead_buckets(const double* h, std::size_t n, std::int64_t cap, std::int64_t* out) {
  for (std::size_t k = 0; k < n; ++k) {
    if (std::isnan(h[k])) throw std::invalid_argument("lead " + std::to_string(k) + " is NaN");
    const double e = std::log2(std::max(h[k], 1.0));
    const double power = e < 62.0 ? std::nearbyint(e) : 62.0;
    out[k] = std::min(std::int64_t{1} << static_cast<int>(power), cap);
  }
}

}  // namespace chronotick
