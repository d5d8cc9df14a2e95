#include "models/hold.h"

#include <algorithm>
#include <cmath>

#include "models/robust_stats.h"

namespace chronotick {

Gaussian predict_hold(const Series& s, const double* targets, std::size_t h, const ModelParams& p) {
  if (s.n == 0) return failed("no measurements");
  const std::size_t n = s.n;
  const double last = s.y[n - 1];
  double spread = std::nan(""), dt = std::nan("");
  bool stepped = false;  // spread from the steps' root mean square (their MAD 0)
  if (n >= 3) {
    std::size_t first = n - 1 > p.hold_window ? n - 1 - p.hold_window : 0;
    std::vector<double> d, gaps;
    for (std::size_t i = first + 1; i < n; ++i) {
      d.push_back(s.y[i] - s.y[i - 1]);
      gaps.push_back(s.t[i] - s.t[i - 1]);
    }
    spread = mad_sigma(d);
    dt = median_of(gaps);
    if (spread == 0.0) {
      // At least half the steps exactly equal (quantized ticks, an exactly linear drift): no
      // MAD, but hold's own one-step errors are the steps, so their root mean square is its
      // spread. (Until 2026-12-05 the range of all values stood in: ~100x the errors on a
      // drift, so the calibration's past errors standardised by it came out ~0.01 sigma and the
      // intervals after noise began covered 0.4% of 80%; audit.)
      // scaled by the largest before squaring: steps beyond 1e154 or below 1e-162 had
      // overflowed or underflowed the squares (review, 2026-12-05)
      double big = 0, ss = 0;
      for (double v : d) big = std::max(big, std::fabs(v));
      if (big > 0.0 && std::isfinite(big))
        for (double v : d) ss += (v / big) * (v / big);
      spread = big * std::sqrt(ss / static_cast<double>(d.size()));
      stepped = spread > 0.0 && std::isfinite(spread);
    }
  }
  Gaussian g;
  g.mean.assign(h, last);
  g.sigma.resize(h);
  if (!(spread > 0.0) || !std::isfinite(spread)) {
    // Too little (or degenerate) history: a wide interval from what is
    // known: the range of the values and any stated uncertainty.
    double lo = *std::min_element(s.y, s.y + n), hi = *std::max_element(s.y, s.y + n);
    double width = hi - lo;
    if (s.u && std::isfinite(s.u[n - 1])) width = std::max(width, 3.0 * s.u[n - 1]);
    // Nothing else known: with under 3 values only the offset's own size is a
    // scale (a zero-width interval from one measurement would claim certainty);
    // with more, all equal, the data say the spread is below their resolution.
    const bool scaled = width > 0.0;
    if (!scaled) width = n < 3 ? std::max(std::fabs(last), resolution_of(s.y, n)) : resolution_of(s.y, n);
    // Two measurements: their one step is the only spread there is; as below, it grows with
    // the lead in spacings (a forecast 1000 spacings ahead had the width of one 1 ahead).
    const double gap = n == 2 ? s.t[1] - s.t[0] : std::nan("");
    for (std::size_t k = 0; k < h; ++k)
      g.sigma[k] = gap > 0.0 ? width * std::sqrt(std::max(1.0, (targets[k] - s.t[n - 1]) / gap)) : width;
    if (n < 3)  // no steps to take a spread of
      g.note = scaled ? "too little history for a spread estimate; interval from the range of the values"
               : std::fabs(last) > 0.0
                   ? "too little history for a spread estimate; interval from the newest value's own size (the "
                     "values all equal, no uncertainty given)"
                   : "too little history for a spread estimate, and no scale at all (the values all 0, no "
                     "uncertainty given): the interval is only the values' resolution, not an uncertainty";
    else
      g.note = "no spread of the steps between measurements (all 0, or beyond float's range); interval from the range of the values";
    return g;
  }
  const double t_last = s.t[n - 1];
  for (std::size_t k = 0; k < h; ++k) {
    double lead = targets[k] - t_last;
    g.sigma[k] = spread * std::sqrt(std::max(1.0, lead / dt));
  }
  if (stepped) g.note = "at least half the steps between measurements exactly equal; spread from the steps' root mean square";
  return g;
}

}  // namespace chronotick
