#include "windowing/pow2_scale.h"

#include <cmath>

namespace chronotick {
namespace {

constexpr int kLowest = -64;   // rows with m < 2^kLowest are scaled up
constexpr int kHighest = 56;   // rows with m >= 2^kHighest are scaled down

void scale(float* v, std::size_t n, int e) {
  for (std::size_t i = 0; i < n; ++i) v[i] = std::ldexp(v[i], e);   // NaN stays NaN
}

}  // namespace

std::size_t pow2_rescale_rows(float* x, std::size_t rows, std::size_t context, int* exps) {
  std::size_t done = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    float* v = x + r * context;
    float m = 0.0f;
    bool inf = false;
    for (std::size_t i = 0; i < context; ++i) {
      if (std::isnan(v[i])) continue;
      inf = inf || std::isinf(v[i]);
      m = std::fmax(m, std::fabs(v[i]));
    }
    exps[r] = 0;
    if (inf || !(m > 0.0f)) continue;
    const int b = std::ilogb(m);
    if (b >= kLowest && b < kHighest) continue;
    exps[r] = -b;
    scale(v, context, -b);
    ++done;
  }
  return done;
}

void pow2_unscale_rows(float* x, std::size_t rows, std::size_t context, float* out, std::size_t per_row,
                       const int* exps) {
  for (std::size_t r = 0; r < rows; ++r) {
    if (exps[r] == 0) continue;
    scale(x + r * context, context, -exps[r]);
    scale(out + r * per_row, per_row, -exps[r]);
  }
}

}  // namespace chronotick
