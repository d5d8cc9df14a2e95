// spike_mask: gross outliers of a model input window set to missing (NaN).
//
// The ONNX models scale their input by its own mean and standard deviation
// (inside the graph). One NTP measurement 1 s off among 100 us of noise sets
// that scale to ~60 ms: the forecast's median moves by milliseconds and its
// quantiles widen ~1000x. Here such a cell is marked missing before the run.
//
// On the observed cells o_0 < o_1 < ... (NaN = empty):
//   s     = median of (v[o_j] - v[o_j-1]) / (o_j - o_j-1)      (slope per cell)
//   sigma = 1.4826 median |v[o_j] - v[o_j-1] - s (o_j - o_j-1)| (a difference's noise)
//   T     = c sigma
// then, oldest first, cell k is kept if it agrees within T with any of
//   (a) the median of v[a] + s (k - a) over the last 3 kept cells a (before
//       any is kept: over the first 5 observed cells),
//   (b) the last kept cell, v[a] + s (k - a)  (the second cell of a step),
//   (c) its successor k', v[k'] - s (k' - k)   (the first cell of a step),
// and set to NaN otherwise. So a lone spike goes, a step stays from its
// second cell on when it is the newest: at one measurement per cell its
// second measurement, on a coarse grid (step_factor measurements a cell)
// after ~1.5 x step_factor measurements -- 12 polls at the long-term model's
// step_factor 8 (an audit, 2026-12-05; the model itself moves later still).
// Nothing is masked with fewer
// than 8 observed cells or sigma = 0 (no scale to judge by).
#pragma once
#include <cstddef>
#include <vector>

namespace chronotick {

// Scratch space, reused from call to call.
struct SpikeWork {
  std::vector<std::size_t> obs, drop;
  std::vector<double> d;
  double sigma = 0;  // the last call's sigma (NaN: fewer than 8 observed cells)
};

// Masks values[0 .. L) in place; returns how many cells it set to NaN.
std::size_t mask_spikes(float* values, std::size_t L, double c, SpikeWork& work);

// nearest_window (nearest_window.h) followed by mask_spikes with threshold c
// (c NaN: nearest_window alone): the model's own binning less the masked
// cells. Where the newest cell is masked, the window is binned again centred
// on the newest kept cell's level (in float64, so float32 keeps the cells'
// resolution). Where the cells show no spread at all, they are judged again
// centred on the median of the newest 5 measurements (centred on a huge
// spike, float32 may round the others' noise away). Returns the level
// subtracted.
double spike_free_window(const double* t, const double* y, std::size_t n, double end_time, double step,
                         std::size_t context, double c, float* values);

}  // namespace chronotick
