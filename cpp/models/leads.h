// Which past forecasts calibrate a forecast: pairs (prefix i, target j) at
// the leads the forecast asks for.
//
// A forecast at lead tau (target time - newest measurement) is calibrated by
// the model's errors at about the same lead in the past: measurement j
// predicted from measurements [0, i) with j = i - 1 + S, S = tau / dt
// measurements ahead (dt the median spacing). Leads are grouped in buckets
// S = 1, 2, 4, 8, ... (log2-rounded), so a 64-step horizon needs at most
// 7 buckets; each bucket takes the newest `calib_origins` pairs whose prefix
// has at least `min_history` measurements, their prefixes spaced
// g = ceil(S / calib_spread) apart (errors S steps ahead from consecutive
// origins share most of their noise: spaced, the same number of pairs
// holds more independent errors; params.h). Every target j <= n - 1: the
// calibration never sees past the forecast origin. A bucket with fewer than
// `calib_min` pairs (the lead reaches beyond the history) brings a donor
// bucket without targets: the longest shorter lead with enough pairs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/forecast.h"
#include "models/params.h"

namespace chronotick {

struct LeadPlan {
  std::vector<std::size_t> steps;                // per bucket: S
  std::vector<std::vector<std::size_t>> prefix;  // per bucket: prefix length i of each pair
  std::vector<std::size_t> bucket_of_target;     // per forecast target: its bucket
  std::vector<double> lead_of_target;            // per forecast target: its own lead L = max(1, tau / dt) in
                                                 // median spacings, at most 2^63 (S = 2^round(log2 L), at most 2^62)

  std::size_t target_index(std::size_t bucket, std::size_t pair) const {
    return prefix[bucket][pair] - 1 + steps[bucket];
  }
  // Smallest prefix over all pairs (s.n if there are none).
  std::size_t earliest_prefix(std::size_t n) const;
};

LeadPlan plan_leads(const Series& s, const double* targets, std::size_t h, const ModelParams& p);

// The ONNX forecaster's lead buckets (python/chronotick/models/onnx.py, _lead_buckets): for
// each h (grid steps ahead) S = 2^round(log2 max(h, 1)), rounded half to even as numpy's round
// (plan_leads above rounds half away from zero: the two differ only where log2 lands exactly
// on k + 1/2, which no integer lead does), at most 2^62 and at most cap. Throws
// std::invalid_argument for a NaN h.
void onnx_lead_buckets(const double* h, std::size_t n, std::int64_t cap, std::int64_t* out);

}  // namespace chronotick
