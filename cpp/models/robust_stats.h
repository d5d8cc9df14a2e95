// Order statistics used by several models: median, MAD and quantile of a
// small sample (copies its input; n is at most a few hundred).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace chronotick {

// Median of v[0..n), n >= 1, reordering v (no copy).
inline double median_in_place(double* v, std::size_t n) {
  double* mid = v + n / 2;
  std::nth_element(v, mid, v + n);
  const double hi = *mid;
  if (n % 2) return hi;
  return 0.5 * (*std::max_element(v, mid) + hi);
}

inline double median_of(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  return median_in_place(v.data(), v.size());
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
// has grown); v is left untouched. median (optional): gets v's median.
inline double mad_sigma_into(const double* v, std::size_t n, std::vector<double>& work,
                             double* median = nullptr) {
  if (n < 2) return std::nan("");
  work.assign(v, v + n);
  const double med = median_in_place(work.data(), n);
  if (median) *median = med;
  for (std::size_t i = 0; i < n; ++i) work[i] = std::fabs(v[i] - med);
  return 1.4826 * median_in_place(work.data(), n);
}

// Inverse-variance weights from uncertainties u[0..n) (null: none), scaled
// so that their median is 1 (a sample of typical uncertainty weighs 1). A
// missing, non-finite or non-positive u weighs as a typical one. Formed from
// u / u_ref before squaring, so that no u, however small or large, under- or
// overflows 1/u^2.
// (Out of line: inlined into fit_regression it set off GCC 12's -Wfree-nonheap-object, a false
// positive on the vector of known weights.)
std::vector<double> relative_weights(const double* u, std::size_t n);

// The floor of any noise scale estimated from values v[0..n): four spacings
// of doubles at the largest |v|, and at least sqrt(DBL_MIN) ~ 1.5e-154 (so
// that its square is a normal double: all-zero data). No sample is known
// better than its floating-point representation; the floor matters only
// where every residual is exactly 0 (constant or exactly linear data), where
// it keeps a model's sigma from being 0.
inline double resolution_of(const double* v, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(v[i]));
  return std::max(4.0 * std::numeric_limits<double>::epsilon() * m,
                  std::sqrt(std::numeric_limits<double>::min()));
}

}  // namespace chronotick
