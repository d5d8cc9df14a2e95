#include "models/leads.h"

#include <algorithm>
#include <cmath>

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
  const double dt = n >= 2 ? median_spacing(s.t, n) : 1.0;
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
  // Pairs of bucket S: prefixes i in [start, end), end = n - S + 1 keeping
  // j = i - 1 + S <= n - 1, start = the newest calib_origins, >= min_history.
  auto range = [&](std::size_t S, std::size_t& start, std::size_t& end) {
    end = n >= S ? n - S + 1 : 0;
    start = end > p.calib_origins ? end - p.calib_origins : 0;
    start = std::max(start, std::max<std::size_t>(p.min_history, 1));
    return end > start ? end - start : std::size_t{0};
  };
  // A lead no past pair can calibrate (it reaches beyond the history: a 1 h
  // forecast from 1 h of measurements) gets donor buckets without targets:
  // the longest shorter power-of-two lead D with calib_min pairs that every
  // model can re-forecast (prefixes inside the Kalman filter's window), and
  // D/2; the calibration borrows D's errors and grows them with the lead at
  // the rate they grew from D/2 to D (models/calibration.h).
  const std::size_t window_first = n > p.kalman_window ? n - p.kalman_window : 0;
  auto usable = [&](std::size_t S) {
    std::size_t start, end;
    range(S, start, end);
    start = std::max(start, window_first + 1);
    return end > start ? end - start : std::size_t{0};
  };
  auto add = [&](std::size_t S) {
    if (std::find(plan.steps.begin(), plan.steps.end(), S) == plan.steps.end()) plan.steps.push_back(S);
  };
  const std::size_t wanted = plan.steps.size();
  for (std::size_t b = 0; b < wanted; ++b) {
    std::size_t start, end;
    if (range(plan.steps[b], start, end) >= p.calib_min && usable(plan.steps[b]) >= p.calib_min) continue;
    for (std::size_t D = plan.steps[b] >> 1; D >= 1; D >>= 1) {
      if (usable(D) >= p.calib_min) {
        add(D);
        if (D >= 2 && usable(D / 2) >= p.calib_min) add(D / 2);
        break;
      }
    }
  }
  for (std::size_t S : plan.steps) {
    std::vector<std::size_t> prefixes;
    std::size_t start, end;
    if (range(S, start, end) > 0)
      for (std::size_t i = start; i < end; ++i) prefixes.push_back(i);
    plan.prefix.push_back(std::move(prefixes));
  }
  return plan;
}

}  // namespace chronotick
