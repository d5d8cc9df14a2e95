// robust: median of the last W measurements.
//
// Predicts a new measurement y = m + e: the median's own error
// (about 1.2533 s / sqrt(W) for normal data) plus the measurement scatter
// s = 1.4826 MAD, so sigma = s * sqrt(1 + pi / (2 W)). Flat in horizon:
// this model assumes no drift (fusion and calibration weigh it down when
// there is some).
#pragma once
#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/params.h"

namespace chronotick {
Gaussian predict_robust(const Series& s, const double* targets, std::size_t h, const ModelParams& p);
}
