// forecast_checks: what QuantileForecast's constructor and the ONNX
// post-processing check, the sigma they derive and the ok / note they set.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "fusion/forecast_checks.h"

using namespace chronotick;

static const double kNaN = std::numeric_limits<double>::quiet_NaN();

static QuantileForecast make(std::vector<double> mean, std::vector<double> q,
                             std::vector<double> levels = {0.1, 0.5, 0.9}) {
  QuantileForecast f;
  f.model = "m";
  for (std::size_t k = 0; k < mean.size(); ++k) f.times.push_back(100.0 + static_cast<double>(k));
  f.levels = std::move(levels);
  f.mean = std::move(mean);
  f.quantiles = std::move(q);
  return f;
}

static std::string error_of(QuantileForecast f, bool partial = false) {
  try {
    finish_forecast(f, partial, "");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(a_finite_forecast_is_ok_with_its_implied_sigma) {
  auto f = make({0.0, 1.0}, {-1.2815, 0.0, 1.2815, 0.0, 1.0, 2.0});
  finish_forecast(f, false, "");
  CHECK(f.ok && f.note.empty());
  CHECK(f.std.size() == 2);
  CHECK_NEAR(f.std[0], 2 * 1.2815 / 2.563, 1e-12);   // (q90 - q10) / 2.563
  CHECK_NEAR(f.std[1], 2.0 / 2.563, 1e-12);
}

TEST(the_callers_note_is_appended) {
  auto f = make({0.0}, {-1.0, 0.0, 1.0});
  finish_forecast(f, false, "calibrated");
  CHECK(f.ok && f.note == "calibrated");
  auto g = make({0.0, kNaN}, {-1.0, 0.0, 1.0, kNaN, kNaN, kNaN});
  finish_forecast(g, true, "calibrated");
  CHECK(g.ok && g.note == "reaches 1 of 2 targets; calibrated");
}

TEST(non_finite_values_make_it_not_ok_and_name_the_target) {
  auto f = make({0.0, 0.0}, {-1.0, 0.0, 1.0, -1.0, kNaN, 1.0});
  finish_forecast(f, false, "");
  CHECK(!f.ok && f.note == "non-finite quantiles at target 1");
  auto g = make({kNaN, 0.0}, {-1.0, 0.0, 1.0, -1.0, 0.0, 1.0});
  finish_forecast(g, false, "");
  CHECK(!g.ok && g.note == "non-finite mean at target 0");
}

TEST(partial_all_nan_targets_are_not_reached_half_nan_ones_fail) {
  auto f = make({kNaN, 0.0}, {kNaN, kNaN, kNaN, -1.0, 0.0, 1.0});
  finish_forecast(f, true, "");
  CHECK(f.ok && f.note == "reaches 1 of 2 targets");
  CHECK(std::isnan(f.std[0]) && std::isfinite(f.std[1]));
  auto g = make({kNaN, 0.0}, {kNaN, 0.0, kNaN, -1.0, 0.0, 1.0});   // some finite: a failure, not "not reached"
  finish_forecast(g, true, "");
  CHECK(!g.ok && g.note == "non-finite mean at target 0");
  auto h = make({kNaN}, {kNaN, kNaN, kNaN});
  finish_forecast(h, true, "");
  CHECK(!h.ok && h.note == "reaches none of the targets");
  auto n = make({kNaN}, {kNaN, kNaN, kNaN});       // not partial: all NaN is a failure
  finish_forecast(n, false, "");
  CHECK(!n.ok && n.note == "non-finite mean at target 0");
}

TEST(crossed_quantiles_throw_naming_target_and_levels) {
  const std::string e = error_of(make({0.0, 0.0}, {-1.0, 0.0, 1.0, 0.5, 0.0, 1.0}));
  CHECK(e == "quantiles at target 1 decrease with the level: 0.0 at level 0.5 < 0.5 at level 0.1");
}

TEST(levels_out_of_order_or_range_throw_naming_the_level) {
  CHECK(error_of(make({0.0}, {-1.0, 0.0, 1.0}, {0.1, 0.5, 0.5})) ==
        "levels must be strictly increasing in (0, 1): levels[2] = 0.5");
  CHECK(error_of(make({0.0}, {-1.0, 0.0, 1.0}, {0.0, 0.5, 0.9})) ==
        "levels must be strictly increasing in (0, 1): levels[0] = 0.0");
  CHECK(error_of(make({0.0}, {-1.0, 0.0, 1.0}, {0.1, 0.5, kNaN})) ==
        "levels must be strictly increasing in (0, 1): levels[2] = nan");
}

TEST(sizes_that_disagree_throw) {
  CHECK(error_of(make({0.0}, {-1.0, 0.0})) == "quantiles must have shape (len(times), len(levels)) = (1, 3)");
  auto f = make({0.0}, {-1.0, 0.0, 1.0});
  f.mean.push_back(1.0);
  CHECK(error_of(f) == "mean and times differ in length");
}

TEST(a_second_finish_starts_afresh) {
  auto f = make({0.0}, {-1.0, 0.0, 1.0});
  f.ok = false;
  f.note = "stale";
  finish_forecast(f, false, "");
  CHECK(f.ok && f.note.empty());
}

TEST_MAIN()
