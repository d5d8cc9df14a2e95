#include "models/robust.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "models/robust_stats.h"

namespace chronotick {

Gaussian predict_robust(const Series& s, const double* /*targets*/, std::size_t h, const ModelParams& p) {
  if (s.n < 3) return failed("robust needs at least 3 measurements");
  std::size_t w = std::min(s.n, p.robust_window);
  thread_local std::vector<double> work;   // scratch, kept from call to call (no allocation)
  // Only the measurements since the window's newest gap (Rule R): a spacing longer than w
  // median spacings and than w times the span of the window's measurements before it -- those
  // measurements then hold a level from much longer ago than they span (a laptop suspended for
  // 2 days, one poll since: the median of 8 old and 1 new measurement, 173 ms off, and the
  // fusion's interval held neither it nor the truth; an audit, 2026-12-05). The second test
  // keeps a change of poll interval from being a gap (a Clock's 4 s warm-up polls, then 64 s:
  // a review found robust failing at the first three 64 s polls).
  if (w >= 3) {
    const double* t = s.t + (s.n - w);
    work.resize(w - 1);
    for (std::size_t i = 1; i < w; ++i) work[i - 1] = t[i] - t[i - 1];
    const double wd = static_cast<double>(w), limit = wd * median_in_place(work.data(), w - 1);
    for (std::size_t i = w - 1; i >= 1; --i)
      if (t[i] - t[i - 1] > limit && t[i] - t[i - 1] > wd * (t[i - 1] - t[0])) {
        if (w - i < 3)
          return failed("robust: " + std::to_string(w - i) + " measurement(s) since a gap of " +
                        std::to_string(t[i] - t[i - 1]) + " s (needs 3)");
        w -= i;
        break;
      }
  }
  const double* v = s.y + (s.n - w);   // the window, left in its order (the sum below)
  double med = 0, spread = 0;
  if (w >= 2) {   // mad_sigma's arithmetic (models/robust_stats.h) in the reused work space
    spread = mad_sigma_into(v, w, work, &med);
  } else {
    med = w == 1 ? v[0] : std::nan("");
    spread = std::nan("");
  }
  if (spread == 0.0) {
    // More than half the window ties (quantised or constant data): the mean
    // absolute deviation from the median, x sqrt(pi/2) (a normal sigma),
    // floored at the values' resolution.
    double sad = 0;
    for (std::size_t i = 0; i < w; ++i) sad += std::fabs(v[i] - med);
    spread = std::max(1.2533 * sad / static_cast<double>(w), resolution_of(v, w));
  }
  if (!(spread > 0.0) || !std::isfinite(spread)) return failed("robust: no finite spread in the window (values too large?)");
  Gaussian g;
  g.mean.assign(h, med);
  g.sigma.assign(h, spread * std::sqrt(1.0 + M_PI / (2.0 * static_cast<double>(w))));
  return g;
}

}  // namespace chronotick
