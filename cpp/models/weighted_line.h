// weighted_line: the weighted least-squares line through (x_i, y_i), i < n,
//
//   xbar = sum w x / sum w,   ybar = sum w y / sum w,
//   b    = sum w (x - xbar)(y - ybar) / sxx,   sxx = sum w (x - xbar)^2,
//   y    = ybar + b (x - xbar).
//
// False when the weights sum to zero or x has no spread. Used by the
// regression model (models/regression.cpp) and the window detrending
// (windowing/detrend.cpp).
#pragma once
#include <cstddef>

namespace chronotick {

struct WeightedLine {
  double xbar = 0, ybar = 0, b = 0, sw = 0, sxx = 0;
};

inline bool weighted_line(const double* x, const double* y, const double* w, std::size_t n, WeightedLine& out) {
  double sw = 0, sx = 0, sy = 0;
  for (std::size_t i = 0; i < n; ++i) { sw += w[i]; sx += w[i] * x[i]; sy += w[i] * y[i]; }
  if (!(sw > 0)) return false;
  const double xb = sx / sw, yb = sy / sw;
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = x[i] - xb;
    sxx += w[i] * dx * dx;
    sxy += w[i] * dx * (y[i] - yb);
  }
  if (!(sxx > 0)) return false;
  out = WeightedLine{xb, yb, sxy / sxx, sw, sxx};
  return true;
}

}  // namespace chronotick
