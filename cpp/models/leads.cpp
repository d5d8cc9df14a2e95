#include "models/leads.h"

#include <algorithm>
#include <cmath>

#include "models/robust_stats.h"

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
  double dt = 1.0;
  if (n >= 2) {
    std::size_t first = n > 65 ? n - 65 : 0;
    std::vector<double> gaps;
    for (std::size_t i = first + 1; i < n; ++i) gaps.push_back(s.t[i] - s.t[i - 1]);
    dt = median_of(std::move(gaps));
  }
  for (std::size_t k = 0; k < h; ++k) {
    double tau = n ? targets[k] - s.t[n - 1] : 0.0;
    double steps = std::max(1.0, tau / dt);
    std::size_t S = std::size_t{1} << static_cast<unsigned>(std::lround(std::log2(steps)));
    auto it = std::find(plan.steps.begin(), plan.steps.end(), S);
    if (it == plan.steps.end()) {
      plan.steps.push_back(S);
      it = plan.steps.end() - 1;
    }
    plan.bucket_of_target[k] = static_cast<std::size_t>(it - plan.steps.begin());
  }
  for (std::size_t S : plan.steps) {
    std::vector<std::size_t> prefixes;
    if (n >= S) {
      std::size_t end = n - S + 1;  // prefix i < end keeps j = i - 1 + S <= n - 1
      std::size_t start = end > p.calib_origins ? end - p.calib_origins : 0;
      start = std::max(start, std::max<std::size_t>(p.min_history, 1));
      for (std::size_t i = start; i < end; ++i) prefixes.push_back(i);
    }
    plan.prefix.push_back(std::move(prefixes));
  }
  return plan;
}

}  // namespace chronotick
