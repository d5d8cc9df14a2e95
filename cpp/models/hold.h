// hold: the last measured value, held.
//
// Interval from the spread of recent step-to-step changes d_i = y_i - y_{i-1}:
// s = 1.4826 MAD(d). White measurement noise of variance r gives
// var(d) = 2r = var(hold error); a random walk with diffusion q per
// measurement interval dt gives var(error at lead tau) = q tau / dt.
// Both are covered by sigma(tau) = s * sqrt(max(1, tau / dt)), dt the
// median measurement spacing.
#pragma once
#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/params.h"

namespace chronotick {
Gaussian predict_hold(const Series& s, const double* targets, std::size_t h, const ModelParams& p);
}
