#include "windowing/pin_flat.h"

#include <algorithm>
#include <cmath>

namespace chronotick {

std::size_t pin_flat_rows(const float* x, std::size_t rows, std::size_t context, float* out,
                          std::size_t per_row) {
  std::size_t pinned = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const float* v = x + r * context;
    bool seen = false, flat = true;
    float c = 0.0f;
    for (std::size_t i = context; i-- > 0 && flat;) {   // from the newest: c is the newest observed cell
      if (std::isnan(v[i])) continue;                  // missing: no spread
      if (!seen) {
        c = v[i];
        seen = true;
      } else if (v[i] != c) {
        flat = false;
      }
    }
    if (seen && flat) {
      std::fill(out + r * per_row, out + (r + 1) * per_row, c);
      ++pinned;
    }
  }
  return pinned;
}

}  // namespace chronotick
