// Order statistics used by several models: median, MAD and quantile of a
// small sample (copies its input; n is at most a few hundred).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace chronotick {

// The k-th smallest of v[0..n) into v[k], v[0..k) <= v[k] <= v[k+1..n) (as std::nth_element):
// quickselect with a median-of-3 pivot and a branchless Lomuto partition -- a compare and a swap
// per element, no branch on the data. For the small arrays the models take medians of (the
// regression's Theil-Sen start: the 120 pairwise slopes of 16 measurements, every calibration
// prefix) 3.9x faster than std::nth_element, whose mispredicted branches dominated; the same
// order statistic, so the same value.
inline void select_kth_small(double* v, std::size_t n, std::size_t k) {
  std::size_t lo = 0, hi = n;  // v[k] lies in [lo, hi)
  while (hi - lo > 12) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const double a = v[lo], b = v[mid], c = v[hi - 1];
    const std::size_t pivot = (a < b) ? ((b < c) ? mid : ((a < c) ? hi - 1 : lo))
                                      : ((a < c) ? lo : ((b < c) ? hi - 1 : mid));
    std::swap(v[pivot], v[hi - 1]);
    const double p = v[hi - 1];
    std::size_t s = lo;  // v[lo..s) < p <= v[s..i)
    for (std::size_t i = lo; i < hi - 1; ++i) {
      const double x = v[i];
      v[i] = v[s];
      v[s] = x;
      s += x < p;
    }
    std::swap(v[s], v[hi - 1]);
    if (s == lo) {
      // nothing below the pivot (it is the least): its ties gathered after it, so that many equal
      // values (a constant or coarsely quantized window) take one pass, not one per tie
      std::size_t e = lo + 1;  // v[lo..e) == p
      for (std::size_t i = lo + 1; i < hi; ++i) {
        const double x = v[i];
        v[i] = v[e];
        v[e] = x;
        e += x == p;
      }
      if (k < e) return;
      lo = e;
      continue;
    }
    if (k < s) {
      hi = s;
    } else if (k > s) {
      lo = s + 1;
    } else {
      return;
    }
  }
  for (std::size_t i = lo + 1; i < hi; ++i) {  // insertion sort of what is left
    const double x = v[i];
    std::size_t j = i;
    for (; j > lo && v[j - 1] > x; --j) v[j] = v[j - 1];
    v[j] = x;
  }
}

// Median of v[0..n), n >= 1, reordering v (no copy).
inline double median_in_place(double* v, std::size_t n) {
  double* mid = v + n / 2;
  if (n <= 256) {
    select_kth_small(v, n, n / 2);
  } else {
    std::nth_element(v, mid, v + n);
  }
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
