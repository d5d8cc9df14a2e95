// Interval calibration from a model's own past errors (split conformal).
//
// Given past forecasts (m_j, s_j) of measurements y_j at about the lead being
// calibrated (models/leads.h), the standardised errors a_j = |y_j - m_j| / s_j
// are exchangeable with the next one if the model's sigma has the right
// shape, so the central interval m +- Q(a, c) s, Q the conformal quantile
// (ceil((n+1)c)-th smallest), covers a new measurement with probability >= c.
// Quantile level l maps to m + sign(l - 1/2) Q(a, |2l - 1|) s. Beyond
// c_n = n/(n+1), the widest coverage n errors resolve (split conformal would
// answer infinity), Q is the largest a grown by the normal tail's ratio
// z((1+c)/2) / z((1+c_n)/2): a wider coverage asked gives a wider interval
// (with 24 errors, 99.8% was as wide as 98%). A lead bucket
// with fewer than `calib_min` errors borrows the calibration of the nearest
// shorter lead that has enough; with none, Gaussian quantiles z_l are used.
// Either way the forecast's note says so.
//
// The raw mean absolute error mean_j |y_j - m_j| of the same pairs is kept
// too: the fusion weighs members by it (fusion/fusion.h).
//
// A lead beyond the longest calibrated one (no past pair reaches that far:
// a 1 h forecast from 1 h of history) borrows a shorter lead's calibration,
// and the model's own sigma may grow far too slowly with the lead (a line
// fit's sigma assumes white noise). There the interval is at least the
// borrowed lead's absolute error quantile grown with the lead as a power
// law, Q_abs(D) * (L / D)^a, L the target's own lead in median spacings
// (not its bucket's S: with S every lead of a bucket got one floor, flat
// across leads 23-45, 46-90, 91-128 and then 1.8-2.8x wider, and the 80%
// intervals covered 70-96% by turns at the bucket edges on random-walk FM;
// an audit, 2026-12-06), a = log2(MAE(D) / MAE(D/2)) -- the growth the
// errors showed from D/2 to D -- kept in [growth_min, 2] (growth_min = 1.5
// by default: random-walk FM, the long-term noise of crystal oscillators;
// at most quadratic: a frequency drift), growth_min when D/2 is not
// calibrated; the note says so. The floor is there because the growth seen
// up to D understates the growth beyond it whenever a redder noise takes
// over at longer leads (white phase noise at short leads, random-walk FM at
// long ones: with a floor of 1 such intervals covered 54-74% of 80% in
// tests/test_long_lead_calibration.py); white phase or white FM noise
// (a <= 1) is covered conservatively (95-100% there).
//
// Each calibrated end m + offset is rounded outward: the offset is scaled by
// kOutward = 1 + 8 eps before the mean is added (to_quantiles, and the fused
// intervals of fusion/ensemble.cpp). An end meant to lie exactly on a past
// error (conformal counts a score <= Q as covered) had landed a float step
// inside it through the rounding of (|e_j| / s_j) * s: on integer-valued
// offsets the robust model's 80% intervals covered 73.1%, the same data in
// seconds 85.1% (an audit, 2026-12-06). The median (offset 0) stays the mean.
#pragma once
#include <limits>
#include <string>
#include <vector>

#include "common/forecast.h"
#include "models/gaussian.h"
#include "models/leads.h"
#include "models/params.h"

namespace chronotick {

// A past forecast whose sigma is at the float64 resolution floor of the
// values (sigma <= kFloorUlps * eps * max(|m_j|, |y_j|), robust_stats.h
// resolution_of: it came from exactly constant or exactly linear
// measurements) has no scale its error could be standardised by: a clean
// step after a flat stretch gave |y_j - m_j| / s_j ~ 1e150 and intervals
// 1e148 wide. Such an error is kept unstandardised (abs_fixed) and enters
// the conformal quantile as it is, next to the others' a_j * sigma.
constexpr double kFloorUlps = 16.0;

// The factor a calibrated quantile's offset from the mean is scaled by before the mean is added
// (above): 1 + 8 eps covers the few roundings of the conformal multiplier times sigma.
constexpr double kOutward = 1.0 + 8.0 * std::numeric_limits<double>::epsilon();

struct Calibration {
  std::vector<double> abs_z;  // standardised absolute errors, sorted ascending
  std::vector<double> abs_fixed;  // absolute errors of pairs with a floor sigma (above), sorted ascending
  double mean_abs_err = 0;    // mean |y_j - m_j| over the same pairs (unstandardised)
  std::vector<double> abs_err;  // |y_j - m_j|, sorted ascending
  std::size_t lead_steps = 0;   // S of the lead bucket these errors are from (D where borrowed)
  double growth = 1.5;          // exponent a of the error growth with the lead (see above)
  bool calibrated(const ModelParams& p) const { return abs_z.size() + abs_fixed.size() >= p.calib_min; }
  // Multiplier of sigma for quantile level `level` (Gaussian if uncalibrated;
  // from abs_z alone; Gaussian where abs_z is empty but abs_fixed
  // calibrates, so that scale() is then 1).
  double offset(double level, const ModelParams& p) const;
  // (offset(0.9) - offset(0.1)) / 2.563: calibrated sigma / raw sigma.
  double scale(const ModelParams& p) const;
  // The calibrated sigma of a forecast whose model sigma is `sigma`:
  // sigma * scale() -- or, with abs_fixed, (offset_at(0.9) - offset_at(0.1)) /
  // 2.563 at that sigma (the errors kept unstandardised count as they are).
  double calibrated_sigma(double sigma, const ModelParams& p) const;
  // Conformal quantile of the unstandardised errors for level `level`
  // (signed like offset; 0 if uncalibrated).
  double abs_offset(double level, const ModelParams& p) const;
  // Offset of quantile `level` from the mean for a target in the lead bucket
  // `steps` (its S), `lead` median spacings ahead (LeadPlan::lead_of_target),
  // with model sigma `sigma`: offset(level) * sigma (with abs_fixed: the
  // conformal quantile of {a_j * sigma} and abs_fixed together), widened to
  // abs_offset(level) * (lead / lead_steps)^growth when steps > lead_steps
  // (a borrowed bucket; `lead` is then > sqrt(2) lead_steps). Not rounded
  // outward (kOutward is the caller's, on the quantiles).
  double offset_at(double level, double sigma, std::size_t steps, double lead, const ModelParams& p) const;
};

// The growth exponent a of errors from lead D/2 to D: log2(mae_d / mae_half)
// kept in [growth_min, 2]; growth_min when either is not positive (D/2 has no
// errors: pass 0).
double growth_exponent(double mae_d, double mae_half, double growth_min);

// Offset from the mean of quantile `level` at ratio = L / D times the lead D
// whose absolute errors `sorted_abs_err` are (ascending): their conformal
// quantile for |2 level - 1| grown as ratio^growth, signed like level - 1/2,
// 0 at the median or without errors. (The ONNX forecaster's floor as well:
// _core.grown_offsets.)
double grown_offset(const std::vector<double>& sorted_abs_err, double level, double ratio, double growth);

// Errors of `hist` (the forecasts of bucket b of `plan`), standardised by
// their sigma; non-finite forecasts are skipped.
Calibration calibrate(const Series& s, const LeadPlan& plan, std::size_t b, const Gaussian& hist);
std::vector<Calibration> calibrate_all(const Series& s, const LeadPlan& plan, const std::vector<Gaussian>& hist,
                                       const ModelParams& p);

// The calibration each lead bucket uses (its own, or borrowed from the
// longest calibrated shorter lead; nullptr: Gaussian).
std::vector<const Calibration*> per_bucket(const LeadPlan& plan, const std::vector<Calibration>& cals,
                                           const ModelParams& p);

// The calibration each target uses, and a note when some target had to
// borrow or go without.
std::vector<const Calibration*> per_target(const LeadPlan& plan, const std::vector<Calibration>& cals,
                                           const ModelParams& p, std::string* note);

// Quantiles (and std = (q90 - q10) / 2.563) of a calibrated Gaussian forecast,
// each calibrated end rounded outward (kOutward).
// target_steps: S of each target's lead bucket (empty: no lead growth);
// target_leads: each target's own lead L (LeadPlan::lead_of_target; empty: S).
QuantileForecast to_quantiles(const std::string& model, const double* targets, std::size_t h,
                              const double* levels, std::size_t nlev, const Gaussian& g,
                              const std::vector<const Calibration*>& cal, const ModelParams& p,
                              const std::string& cal_note, const std::vector<std::size_t>& target_steps = {},
                              const std::vector<double>& target_leads = {});

// S of each target's lead bucket.
std::vector<std::size_t> target_steps(const LeadPlan& plan);

}  // namespace chronotick
