// Interval calibration from a model's own past errors (split conformal).
//
// Given past forecasts (m_j, s_j) of measurements y_j at about the lead being
// calibrated (models/leads.h), the standardised errors a_j = |y_j - m_j| / s_j
// are exchangeable with the next one if the model's sigma has the right
// shape, so the central interval m +- Q(a, c) s, Q the conformal quantile
// (ceil((n+1)c)-th smallest), covers a new measurement with probability >= c.
// Quantile level l maps to m + sign(l - 1/2) Q(a, |2l - 1|) s. A lead bucket
// with fewer than `calib_min` errors borrows the calibration of the nearest
// shorter lead that has enough; with none, Gaussian quantiles z_l are used.
// Either way the forecast's note says so.
//
// The raw mean absolute error mean_j |y_j - m_j| of the same pairs is kept
// too: the fusion weighs members by it (fusion/fusion.h).
#pragma once
#include <string>
#include <vector>

#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/leads.h"
#include "models/params.h"

namespace chronotick {

struct Calibration {
  std::vector<double> abs_z;  // standardised absolute errors, sorted ascending
  double mean_abs_err = 0;    // mean |y_j - m_j| over the same pairs (unstandardised)
  bool calibrated(const ModelParams& p) const { return abs_z.size() >= p.calib_min; }
  // Multiplier of sigma for quantile level `level` (Gaussian if uncalibrated).
  double offset(double level, const ModelParams& p) const;
  // (offset(0.9) - offset(0.1)) / 2.563: calibrated sigma / raw sigma.
  double scale(const ModelParams& p) const;
};

// Errors of `hist` (the forecasts of bucket b of `plan`), standardised by
// their sigma; non-finite forecasts are skipped.
Calibration calibrate(const Series& s, const LeadPlan& plan, std::size_t b, const Gaussian& hist);
std::vector<Calibration> calibrate_all(const Series& s, const LeadPlan& plan, const std::vector<Gaussian>& hist);

// The calibration each lead bucket uses (its own, or borrowed from the
// longest calibrated shorter lead; nullptr: Gaussian).
std::vector<const Calibration*> per_bucket(const LeadPlan& plan, const std::vector<Calibration>& cals,
                                           const ModelParams& p);

// The calibration each target uses, and a note when some target had to
// borrow or go without.
std::vector<const Calibration*> per_target(const LeadPlan& plan, const std::vector<Calibration>& cals,
                                           const ModelParams& p, std::string* note);

// Quantiles (and std = (q90 - q10) / 2.563) of a calibrated Gaussian forecast.
QuantileForecast to_quantiles(const std::string& model, const double* targets, std::size_t h,
                              const double* levels, std::size_t nlev, const Gaussian& g,
                              const std::vector<const Calibration*>& cal, const ModelParams& p,
                              const std::string& cal_note);

}  // namespace chronotick
