#include "fusion/forecast_checks.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "fusion/fusion.h"
#include "windowing/float_repr.h"

namespace chronotick {

void check_levels(const double* levels, std::size_t n) {
  for (std::size_t l = 0; l < n; ++l)
    if (!(levels[l] > 0.0 && levels[l] < 1.0) || (l > 0 && !(levels[l] > levels[l - 1])))
      throw std::invalid_argument("levels must be strictly increasing in (0, 1): levels[" + std::to_string(l) +
                                  "] = " + float_repr(levels[l]));
}

void finish_forecast(QuantileForecast& f, bool partial, const std::string& note) {
  const std::size_t h = f.times.size(), L = f.levels.size();
  if (f.quantiles.size() != h * L)
    throw std::invalid_argument("quantiles must have shape (len(times), len(levels)) = (" + std::to_string(h) +
                                ", " + std::to_string(L) + ")");
  if (f.mean.size() != h) throw std::invalid_argument("mean and times differ in length");
  check_levels(f.levels.data(), L);
  for (std::size_t k = 0; k < h; ++k)
    for (std::size_t l = 1; l < L; ++l)
      if (f.q(k, l) < f.q(k, l - 1))
        throw std::invalid_argument("quantiles at target " + std::to_string(k) + " decrease with the level: " +
                                    float_repr(f.q(k, l)) + " at level " + float_repr(f.levels[l]) + " < " +
                                    float_repr(f.q(k, l - 1)) + " at level " + float_repr(f.levels[l - 1]));
  // NaN first: implied_sigma falls back to f.std[k] when finite, so a
  // placeholder 0 would be returned as the sigma.
  f.std.assign(h, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t k = 0; k < h; ++k) f.std[k] = implied_sigma(f, k);
  f.ok = true;
  f.note.clear();
  std::size_t reached = 0;
  for (std::size_t k = 0; k < h; ++k) {
    bool any = std::isfinite(f.mean[k]), all = any;
    for (std::size_t l = 0; l < L; ++l) {
      any = any || std::isfinite(f.q(k, l));
      all = all && std::isfinite(f.q(k, l));
    }
    reached += all ? 1 : 0;
    if (all || (partial && !any)) continue;  // partial: an all-NaN row is a target not reached
    f.ok = false;
    f.note = std::string("non-finite ") + (std::isfinite(f.mean[k]) ? "quantiles" : "mean") + " at target " +
             std::to_string(k);
  }
  if (f.ok && reached == 0) {
    f.ok = false;
    f.note = "reaches none of the targets";
  } else if (f.ok && reached < h) {
    f.note = "reaches " + std::to_string(reached) + " of " + std::to_string(h) + " targets";
  }
  if (!note.empty()) f.note = f.note.empty() ? note : f.note + "; " + note;
}

}  // namespace chronotick
