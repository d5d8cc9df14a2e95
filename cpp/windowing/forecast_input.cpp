#include "windowing/forecast_input.h"

#include <cmath>
#include <stdexcept>

#include "windowing/detrend.h"
#include "windowing/float_repr.h"
#include "windowing/grid_quantiles.h"
#include "windowing/nearest_window.h"
#include "windowing/spike_mask.h"

namespace chronotick {

ForecastInput prepare_forecast(const double* t, std::size_t nt, const double* y, std::size_t ny,
                               const double* targets, std::size_t n_targets, double step, std::size_t context,
                               std::size_t horizon, const std::string& model, float* values, double* h,
                               double detrend_r2, double spike_c) {
  // The step first: a bad one would otherwise be blamed on the targets (steps_ahead).
  if (!std::isnan(step) && !(step > 0 && std::isfinite(step)))
    throw std::invalid_argument("step_s must be > 0 (or NaN for the median spacing), got " + float_repr(step));
  check_measurements(t, nt, y, ny, 2);
  bool finite = true;
  for (std::size_t i = 0; i < n_targets; ++i) finite = finite && std::isfinite(targets[i]);
  if (!finite)
    for (std::size_t i = 0; i < n_targets; ++i)
      if (!std::isfinite(targets[i]))
        throw std::invalid_argument("target_times[" + std::to_string(i) + "] = " + float_repr(targets[i]) +
                                    " is not finite");
  if (n_targets == 0) throw std::invalid_argument("target_times is empty");
  ForecastInput in;
  in.t_end = t[nt - 1];
  in.step = std::isnan(step) ? median_spacing(t, nt, 64) : step;
  steps_ahead(targets, n_targets, in.t_end, in.step, horizon, model, h);
  in.level = spike_free_window(t, y, nt, in.t_end, in.step, context, spike_c, values);
  if (!std::isnan(detrend_r2)) {
    thread_local DetrendWork work;
    in.slope = detrend_window(values, context, detrend_r2, work);
  }
  return in;
}

}  // namespace chronotick
