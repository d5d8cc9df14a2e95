// A window cell's value, centred on the window's level (y - level, formed in
// float64), as the float32 the model reads: where float32 cannot hold it
// (|v| > FLT_MAX, or NaN) it would be +-inf/NaN marked observed, so it is
// refused, naming the grid point.
#pragma once
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include "windowing/float_repr.h"

namespace chronotick {

[[noreturn, gnu::noinline, gnu::cold]] inline void refuse_centred(double v, std::size_t k, double level) {
  throw std::invalid_argument("the centred value at grid point " + std::to_string(k) + " (y - level = " +
                              float_repr(v) + ", level " + float_repr(level) + ") is not finite in float32");
}

// Inline, the refusal out of line: called once per window cell (it had not been inlined with the
// message built in it, ~16% of make_window).
inline float centred_float32(double v, std::size_t k, double level) {
  if (__builtin_expect(!(std::fabs(v) <= static_cast<double>(std::numeric_limits<float>::max())), 0))
    refuse_centred(v, k, level);
  return static_cast<float>(v);
}

}  // namespace chronotick
