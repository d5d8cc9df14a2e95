// detrend: a straight line through a model input window, taken out before the
// model runs and put back on its forecast (the ONNX forecaster,
// python/chronotick/models/onnx.py).
//
// clock-bolt was trained mostly on NTP-disciplined clocks, whose offsets
// revert to a level; on a free-running clock (a steady frequency offset: a
// line) it forecasts towards the window's mean instead of along the line.
// Where a line explains the window, the model sees the residuals instead:
//
//   fit   v_k = a + b (k - (L - 1))  over the observed cells k (NaN = empty):
//         least squares, then 4 Huber passes (weight min(1, c / |r_k|),
//         c = 1.345 sigma, sigma = 1.4826 MAD of the residuals) -- only if
//         the least-squares line already has R^2 >= min(0.5, r2_min) (a
//         screen: the passes cost 2/3 of the time, and a disciplined clock's
//         windows are mostly no line at all);
//   R^2 = 1 - (MAD(r) / MAD(v))^2: how much of the window's spread the line
//         explains (robust: a few spikes move neither MAD);
//   t = |b| sqrt(Sxx) / s, s^2 = sum r_k^2 / (n - 2) (the final line's
//         residuals, unweighted; Sxx = sum (x_k - xbar)^2): the slope's t
//         statistic (Rule D: on 8 cells of white noise the robust R^2 alone
//         passed 6.4% of windows, t >= 4 as well 0.4%);
//   if R^2 > r2_min and t >= 4:  v_k -= b (k - (L - 1)), and the model's forecast h grid
//         steps ahead gets b h back (in float64: windowing/grid_quantiles.h).
//
// The newest cell is the anchor (k = L - 1): its value, and so the level the
// window is centred on, is unchanged. With fewer than 8 observed cells, no
// spread, R^2 <= r2_min or t < 4 the window is left as it is (slope 0). The slope
// is in the window's units per grid step.
#pragma once
#include <cstddef>
#include <vector>

namespace chronotick {

// Scratch space of detrend_window, reused from call to call (no allocation
// once it has grown to a window's size).
struct DetrendWork {
  std::vector<double> x, y, w, r, sel;
};

// Fits and (if the line explains the window) removes it from values[0 .. L);
// returns the slope removed (0: none).
double detrend_window(float* values, std::size_t L, double r2_min, DetrendWork& work);

}  // namespace chronotick
