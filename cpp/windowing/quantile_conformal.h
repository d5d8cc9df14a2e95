// Split-conformal interval factors for a quantile model (the ONNX
// forecaster's online calibration, python/chronotick/models/calibration.py).
//
// Past predictions: raw quantiles q_j[K] (ascending, at the model's levels
// L_0 < ... < L_{K-1}, L_m = 1/2) made for observations y_j before they were
// seen. For a central coverage c (clamped to the widest interval the levels
// give, c' = min(c, 2 L_{K-1} - 1, 1 - 2 L_0)), the interval ends are the
// quantiles at (1 -+ c')/2, linearly interpolated between levels, and
//   e_j = y_j - q_j[m],  d_j = (hi_j - q_j[m]) if e_j >= 0 else (q_j[m] - lo_j),
//   s_j = 0 if e_j == 0 else |e_j| / max(d_j, 1e-300),
// the factor is the ceil((n + 1) c)-th smallest s_j (1 for c == 0): scaling
// the model's distances from its median by it makes the central interval of
// coverage c cover a new observation with probability >= c when the scores
// are exchangeable. Beyond c_n = n / (n + 1) (ceil((n + 1) c) > n) no order
// statistic is enough: the largest s_j times z((1 + c)/2) / z((1 + c_n)/2),
// the normal tail's ratio (as models/calibration.h), so a wider coverage asked
// is a wider interval.
#pragma once
#include <cstddef>

namespace chronotick {

// y[n], q[n * K] (row j = q_j), levels[K], cov[nc] in [0, 1) -> out[nc].
// n >= 1 (the caller decides how many errors make a calibration).
void conformal_factors(const double* y, const double* q, std::size_t n, const double* levels, std::size_t K,
                       std::size_t median_index, const double* cov, std::size_t nc, double* out);

}  // namespace chronotick
