// Order statistics used by several models: median, MAD and quantile of a
// small sample (copies its input; n is at most a few hundred).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace chronotick {

inline double median_of(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  double hi = v[m];
  if (v.size() % 2) return hi;
  double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m));
  return 0.5 * (lo + hi);
}

// Median absolute deviation scaled to a normal sigma: 1.4826 * median|x - median|.
inline double mad_sigma(const std::vector<double>& v) {
  if (v.size() < 2) return std::nan("");
  double med = median_of(v);
  std::vector<double> d(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) d[i] = std::fabs(v[i] - med);
  return 1.4826 * median_of(std::move(d));
}

// MAD sigma of v[0..n) using `work` as scratch (no allocation once `work`
// has grown); v is left untouched.
inline double mad_sigma_into(const double* v, std::size_t n, std::vector<double>& work) {
  if (n < 2) return std::nan("");
  work.assign(v, v + n);
  auto mid = work.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(work.begin(), mid, work.end());
  double med = *mid;
  if (n % 2 == 0) med = 0.5 * (med + *std::max_element(work.begin(), mid));
  for (std::size_t i = 0; i < n; ++i) work[i] = std::fabs(v[i] - med);
  std::nth_element(work.begin(), mid, work.end());
  double m = *mid;
  if (n % 2 == 0) m = 0.5 * (m + *std::max_element(work.begin(), mid));
  return 1.4826 * m;
}

}  // namespace chronotick
