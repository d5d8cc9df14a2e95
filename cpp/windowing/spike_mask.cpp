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
  if (m < 8) return 0;
  std::vector<double>& d = work.d;
  d.resize(m - 1);
  for (std::size_t j = 1; j < m; ++j)
    d[j - 1] = (double(values[obs[j]]) - double(values[obs[j - 1]])) / double(obs[j] - obs[j - 1]);
  const double s = median_in_place(d.data(), d.size());
  for (std::size_t j = 1; j < m; ++j)
    d[j - 1] = std::fabs(double(values[obs[j]]) - double(values[obs[j - 1]]) - s * double(obs[j] - obs[j - 1]));
  const double sigma = 1.4826 * median_in_place(d.data(), d.size());
  if (!(sigma > 0)) return 0;
  const double T = c * sigma;
  // The kept cells' original values are needed after masking: mask only at the end.
  std::size_t kept[3];
  std::size_t n_kept = 0, masked = 0;
  std::vector<std::size_t> drop;  // small: spikes are rare
  double ref[5];
  for (std::size_t j = 0; j < m; ++j) {
    const std::size_t k = obs[j];
    const double v = values[k];
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
    bool keep = std::fabs(v - median_in_place(ref, nr)) <= T;
    if (!keep && n_kept > 0) {
      const std::size_t a = kept[(n_kept - 1) % 3];
      keep = std::fabs(v - double(values[a]) - s * (double(k) - double(a))) <= T;
    }
    if (!keep && j + 1 < m) {
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
  masked = drop.size();
  return masked;
}

double spike_free_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                         std::size_t context, double c, float* values) {
  if (std::isnan(c) || n == 0) return nearest_window(t, y, n, end_time, step, context, std::nan(""), values);
  // Judge the cells centred on the median of the newest 5 measurements: centred on a
  // spike (the newest y, the default level), float32 would round their noise away.
  double last5[5];
  const std::size_t m = std::min<std::size_t>(5, n);
  for (std::size_t i = 0; i < m; ++i) last5[i] = y[n - m + i];
  const double centre = median_in_place(last5, m);
  nearest_window(t, y, n, end_time, step, context, centre, values);
  thread_local SpikeWork work;
  if (mask_spikes(values, context, c, work) == 0)
    return nearest_window(t, y, n, end_time, step, context, std::nan(""), values);
  // The window as the model was trained on it (centred on the newest y), less the masked
  // cells; where the newest cell is masked, centred on the newest kept cell instead.
  thread_local std::vector<char> gone;
  gone.assign(context, 0);
  std::size_t newest_kept = context;
  for (std::size_t i = 0; i < context; ++i) {
    gone[i] = std::isnan(values[i]);
    if (!gone[i]) newest_kept = i;
  }
  const double level = gone[context - 1] && newest_kept < context ? centre + double(values[newest_kept]) : std::nan("");
  const double used = nearest_window(t, y, n, end_time, step, context, level, values);
  for (std::size_t i = 0; i < context; ++i)
    if (gone[i]) values[i] = std::numeric_limits<float>::quiet_NaN();
  return used;
}

}  // namespace chronotick
