#include "windowing/spike_mask.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "models/robust_stats.h"
#include "windowing/float_repr.h"
#include "windowing/nearest_window.h"

namespace chronotick {

std::size_t mask_spikes(float* values, std::size_t L, double c, SpikeWork& work) {
  if (!(c > 0) || std::isinf(c)) throw std::invalid_argument("spike threshold must be finite and > 0, got " + float_repr(c));
  std::vector<std::size_t>& obs = work.obs;
  obs.clear();
  for (std::size_t k = 0; k < L; ++k)
    if (!std::isnan(values[k])) obs.push_back(k);
  const std::size_t m = obs.size();
  work.sigma = std::nan("");
  if (m < 8) return 0;
  std::vector<double>& d = work.d;
  d.resize(m - 1);
  for (std::size_t j = 1; j < m; ++j)
    d[j - 1] = (double(values[obs[j]]) - double(values[obs[j - 1]])) / double(obs[j] - obs[j - 1]);
  const double s = median_in_place(d.data(), d.size());
  for (std::size_t j = 1; j < m; ++j)
    d[j - 1] = std::fabs(double(values[obs[j]]) - double(values[obs[j - 1]]) - s * double(obs[j] - obs[j - 1]));
  const double sigma = 1.4826 * median_in_place(d.data(), d.size());
  work.sigma = sigma;
  if (!(sigma > 0)) return 0;
  const double T = c * sigma;
  // The kept cells' original values are needed after masking: mask only at the end.
  std::size_t kept[3];
  std::size_t n_kept = 0;
  std::vector<std::size_t>& drop = work.drop;
  drop.clear();
  double ref[5];
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t k = obs[j];
    const double v = values[k];
    // (b) first: the cheapest, and in plain noise it decides almost every cell
    bool keep = false;
    if (n_kept > 0) {
      const std::size_t a = kept[(n_kept - 1) % 3];
      keep = std::fabs(v - double(values[a]) - s * (double(k) - double(a))) <= T;
    }
    if (!keep) {  // (a)
      std::size_t nr = 0;
      if (n_kept == 0) {
        for (std::size_t i = 0; i < std::min<std::size_t>(5, m); ++i)
          ref[nr++] = double(values[obs[i]]) - s * (double(obs[i]) - double(k));
      } else {
        for (std::size_t i = 0; i < std::min<std::size_t>(3, n_kept); ++i) {
          const std::size_t a = kept[(n_kept - 1 - i) % 3];
          ref[nr++] = double(values[a]) + s * (double(k) - double(a));
        }
      }
      keep = std::fabs(v - median_in_place(ref, nr)) <= T;
    }
    if (!keep && j + 1 < m) {  // (c)
      const std::size_t k2 = obs[j + 1];
      keep = std::fabs(double(values[k2]) - s * (double(k2) - double(k)) - v) <= T;
    }
    if (keep) {
      kept[n_kept % 3] = k;
      ++n_kept;
    } else {
      drop.push_back(k);
    }
  }
  for (std::size_t k : drop) values[k] = std::numeric_limits<float>::quiet_NaN();
  return drop.size();
}

namespace {

// Bins again, centred as nearest_window centres (on the newest y) -- or, where
// the newest cell is masked, on the newest kept cell's value (`values` being
// centred on `base`) -- and masks the cells that are NaN in `values` now.
double rebin_masked(const double* t, const double* y, std::size_t n, double end_time, double step,
                    std::size_t context, double base, float* values, std::vector<char>& gone) {
  gone.assign(context, 0);
  std::size_t newest_kept = context;
  for (std::size_t i = 0; i < context; ++i) {
    gone[i] = std::isnan(values[i]);
    if (!gone[i]) newest_kept = i;
  }
  double level = std::nan("");
  if (gone[context - 1] && newest_kept < context) level = base + double(values[newest_kept]);
  level = nearest_window(t, y, n, end_time, step, context, level, values);
  for (std::size_t i = 0; i < context; ++i)
    if (gone[i]) values[i] = std::numeric_limits<float>::quiet_NaN();
  return level;
}

}  // namespace

double spike_free_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                         std::size_t context, double c, float* values) {
  const double level = nearest_window(t, y, n, end_time, step, context, std::nan(""), values);
  if (std::isnan(c)) return level;
  thread_local SpikeWork work;
  thread_local std::vector<char> gone;
  const std::size_t masked = mask_spikes(values, context, c, work);
  if (masked > 0)  // the model's own binning less the spikes; re-centred if the newest is one
    return std::isnan(values[context - 1])
               ? rebin_masked(t, y, n, end_time, step, context, level, values, gone)
               : level;
  if (!(work.sigma == 0.0) || n < 2) return level;
  // No spread to judge by -- or float32 rounded it away, the window centred on a
  // newest measurement far from the rest: judge again centred on the newest 5's median.
  double last5[5];
  const std::size_t m = std::min<std::size_t>(5, n);
  for (std::size_t i = 0; i < m; ++i) last5[i] = y[n - m + i];
  const double centre = median_in_place(last5, m);
  if (centre == level) return level;
  nearest_window(t, y, n, end_time, step, context, centre, values);
  mask_spikes(values, context, c, work);
  return rebin_masked(t, y, n, end_time, step, context, centre, values, gone);
}

}  // namespace chronotick
