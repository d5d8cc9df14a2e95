// Keeping a Chronos-Bolt window inside float32's range for its in-graph scaling
// (the ONNX forecaster's pre- and post-processing for Chronos-Bolt exports;
// python/chronotick/models/onnx.py, OnnxForecaster._run_model).
//
// The graph scales its window by s = sqrt(mean((x - mean x)^2)) in float32:
// squared deviations below ~1e-19 underflow (s falls to 0 and then to its 1e-5
// floor: a 1e-25-scale series came back 1e24 times its spread off), above
// ~1.8e19 overflow (s = inf, the output NaN). The window is centred on its
// newest cell, so its deviations are at most 2 max|x|: max|x| is the test. Its forecast is otherwise equivariant
// to the window's scale (clock-bolt: within 2e-4 of the spread from 1e-20 to
// 1e17), so a row whose largest |cell| m lies outside [2^-64, 2^56) is
// multiplied by 2^e, e = -ilogb(m) (m 2^e in [1, 2); exact in float32), and
// its model output by 2^-e after the run. Rows inside the range, flat rows
// (m = 0) and rows with an infinite cell are left as they are.
#pragma once
#include <cstddef>

namespace chronotick {

// Rescales the rows of x [rows, context] that need it; exps[r] gets e (0: row left).
// Returns how many rows were rescaled.
std::size_t pow2_rescale_rows(float* x, std::size_t rows, std::size_t context, int* exps);

// Undoes pow2_rescale_rows on x (exactly, except cells of a row scaled down that
// underflowed there: 2^-126 below its largest and less, left 0) and scales each
// row's output out[r * per_row .. + per_row) by 2^-e.
void pow2_unscale_rows(float* x, std::size_t rows, std::size_t context, float* out, std::size_t per_row,
                       const int* exps);

}  // namespace chronotick
