// Inverse-variance fusion: weights, quantiles, dropped members.
#include <cmath>
#include <limits>
#include <stdexcept>

#include "check.h"
#include "fusion/fusion.h"

using namespace chronotick;

namespace {
QuantileForecast member(const char* name, double mean, double sigma, std::size_t h = 2) {
  QuantileForecast f;
  f.model = name;
  f.levels = {0.1, 0.5, 0.9};
  for (std::size_t k = 0; k < h; ++k) {
    f.times.push_back(100.0 + static_cast<double>(k));
    f.mean.push_back(mean);
    f.std.push_back(sigma);
    for (double z : {-1.2815515655446004, 0.0, 1.2815515655446004}) f.quantiles.push_back(mean + z * sigma);
  }
  return f;
}
}  // namespace

TEST(inverse_variance_weights_and_mean) {
  FusedForecast f = fuse({member("a", 1.0, 1.0), member("b", 3.0, 2.0)});
  // sigma from (q90 - q10) / 2.563 is within 0.01% of the true sigma.
  CHECK_NEAR(f.weights[0], 0.8, 1e-3);  // 1 / (1 + 1/4) = 0.8
  CHECK_NEAR(f.weights[2], 0.2, 1e-3);
  CHECK_NEAR(f.forecast.mean[0], 0.8 * 1.0 + 0.2 * 3.0, 1e-3);
  CHECK(f.forecast.model == "fused(a,b)");
  // Quantile offsets are the weighted average of the members' offsets.
  double expected_sigma = 0.8 * 1.0 + 0.2 * 2.0;
  CHECK_NEAR(f.forecast.q(0, 2) - f.forecast.mean[0], 1.2815515655446004 * expected_sigma, 2e-3);
}

TEST(recent_errors_set_the_weights_when_every_member_has_one) {
  QuantileForecast a = member("a", 1.0, 1.0), b = member("b", 3.0, 1.0);
  a.recent_mae = {1.0, 1.0};
  b.recent_mae = {2.0, std::numeric_limits<double>::quiet_NaN()};
  FusedForecast f = fuse({a, b});
  // step 0: 1/mae^2 -> 1 : 1/4 -> 0.8 / 0.2, although the sigmas are equal
  CHECK_NEAR(f.weights[0], 0.8, 1e-12);
  CHECK_NEAR(f.weights[2], 0.2, 1e-12);
  CHECK_NEAR(f.forecast.mean[0], 0.8 * 1.0 + 0.2 * 3.0, 1e-12);
  // step 1: b's error unknown -> both weighted by sigma (equal)
  CHECK_NEAR(f.weights[1], 0.5, 1e-9);
  CHECK_NEAR(f.weights[3], 0.5, 1e-9);
}

TEST(members_are_fused_only_where_they_are_finite) {
  // "part" is NaN at step 0 only (a model whose horizon does not reach it): weight 0
  // there, its share at step 1. "nowhere" is NaN everywhere and "failed" failed: dropped.
  QuantileForecast part = member("part", 0.0, 1.0);
  part.quantiles[1] = std::numeric_limits<double>::quiet_NaN();
  QuantileForecast nowhere = member("nowhere", 0.0, 1.0);
  for (double& m : nowhere.mean) m = std::numeric_limits<double>::quiet_NaN();
  QuantileForecast failed = member("failed", 0.0, 1.0);
  failed.ok = false;
  failed.note = "boom";
  FusedForecast f = fuse({member("good", 2.0, 1.0), part, nowhere, failed});
  CHECK(f.forecast.ok);
  CHECK(f.forecast.model == "fused(good,part)");
  const std::size_t h = 2;
  CHECK(f.weights[0 * h + 0] == 1.0 && f.weights[1 * h + 0] == 0.0);  // step 0: good alone
  CHECK_NEAR(f.weights[0 * h + 1], 0.5, 1e-9);                         // step 1: equal sigmas
  CHECK_NEAR(f.weights[1 * h + 1], 0.5, 1e-9);
  CHECK(f.weights[2 * h + 0] == 0.0 && f.weights[2 * h + 1] == 0.0 && f.weights[3 * h + 1] == 0.0);
  CHECK(f.forecast.mean[0] == 2.0);
  CHECK_NEAR(f.forecast.mean[1], 1.0, 1e-9);
  for (double v : f.forecast.quantiles) CHECK(std::isfinite(v));
  CHECK(f.forecast.note.find("failed: boom") != std::string::npos);
  CHECK(f.forecast.note.find("nowhere") != std::string::npos);
  // a step no member reaches: no forecast
  FusedForecast none = fuse({part});
  CHECK(!none.forecast.ok);
  CHECK(none.forecast.note.find("step 0") != std::string::npos);
}

TEST(a_member_with_crossed_quantiles_is_unusable_there) {
  // Crossed quantiles at step 0 (a negative implied sigma): dropped there, not
  // given all the weight as a "zero sigma" member; step 1 is fine.
  QuantileForecast a = member("a", 1.0, 1.0), b = member("b", 3.0, 2.0);
  b.quantiles[0] = 3.0 + 2.0 * 1.2815515655446004;
  b.quantiles[2] = 3.0 - 2.0 * 1.2815515655446004;
  FusedForecast f = fuse({a, b});
  CHECK(f.forecast.ok);
  CHECK_NEAR(f.weights[0], 1.0, 1e-12);  // a alone at step 0
  CHECK_NEAR(f.weights[2], 0.0, 1e-12);
  CHECK_NEAR(f.weights[1], 0.8, 1e-3);   // both at step 1
  CHECK_NEAR(f.forecast.mean[0], 1.0, 1e-12);
}

// A member with the base levels of predict() whose every level but the tails sits on one
// value (an exactly flat record): q10 read by interpolating between 0.025 and 0.1 at 0.1
// itself came out 5e-20 above q90, and the member was dropped as "non-finite output".
QuantileForecast flat_member(const char* name, double value, std::size_t h = 2) {
  QuantileForecast f;
  f.model = name;
  f.levels = {0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975};
  for (std::size_t k = 0; k < h; ++k) {
    f.times.push_back(100.0 + static_cast<double>(k));
    f.mean.push_back(value);
    f.std.push_back(0.0);
    for (double q : {value - 0.0008, value, value, value, value, value, value + 0.0008}) f.quantiles.push_back(q);
  }
  return f;
}

TEST(a_zero_width_member_is_read_at_its_own_levels_and_fused) {
  QuantileForecast a = flat_member("a", 0.0001);
  CHECK(implied_sigma(a, 0) == 0.0);
  QuantileForecast b = flat_member("b", 0.0005);
  for (std::size_t k = 0; k < 2; ++k) b.quantiles[k * 7 + 1] = 0.0004, b.quantiles[k * 7 + 5] = 0.0006;
  FusedForecast f = fuse({a, b});
  CHECK(f.forecast.ok);
  CHECK(f.forecast.model == "fused(a,b)");
  CHECK(f.weights[0] == 1.0);  // the zero-sigma member takes it all (fusion.h) ...
  // ... and the interval still holds the other's median (it had been a's zero-wide one alone)
  CHECK(f.forecast.q(0, 1) <= 0.0001 && f.forecast.q(0, 5) >= 0.0005);
  CHECK(f.forecast.note.find("the fused forecast stated no spread where members disagree") != std::string::npos);
}

TEST(members_that_each_claim_certainty_but_disagree_are_all_inside_the_interval) {
  // Three members with zero-width central intervals at 0.1, 0.5 and 0.16 (ms): the fused
  // quantiles below the median reach down to 0.1, those above up to 0.5.
  FusedForecast f = fuse({flat_member("a", 0.1), flat_member("b", 0.5), flat_member("c", 0.16)});
  CHECK(f.forecast.ok);
  CHECK(f.forecast.note.find("members stating no spread disagree") != std::string::npos);
  const std::size_t L = f.forecast.levels.size();
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(f.forecast.q(k, 1) <= 0.1);      // q10
    CHECK(f.forecast.q(k, 5) >= 0.5);      // q90
    CHECK(f.forecast.q(k, 2) <= 0.1);      // q25
    CHECK(f.forecast.q(k, 4) >= 0.5);      // q75
    CHECK(f.forecast.q(k, 0) <= 0.1 && f.forecast.q(k, 0) <= f.forecast.q(k, 1));  // the tails too,
    CHECK(f.forecast.q(k, L - 1) >= 0.5 && f.forecast.q(k, L - 1) >= f.forecast.q(k, 5));  // in order
    CHECK_NEAR(f.forecast.std[k], (f.forecast.q(k, 5) - f.forecast.q(k, 1)) / 2.563, 1e-15);
  }
  // Agreeing certain members, or one member that states a spread: nothing changes.
  FusedForecast same = fuse({flat_member("a", 0.1), flat_member("b", 0.1)});
  CHECK(same.forecast.q(0, 1) == 0.1 && same.forecast.q(0, 5) == 0.1);
  CHECK(same.forecast.note.empty());
  QuantileForecast wide = flat_member("w", 0.3);
  for (std::size_t k = 0; k < 2; ++k) wide.quantiles[k * L + 1] = 0.2, wide.quantiles[k * L + 5] = 0.4;
  FusedForecast mixed = fuse({flat_member("a", 0.1), wide});
  CHECK(mixed.weights[0] == 1.0);  // the certain member takes the weight ...
  // ... and the interval holds the other's median too (until 2026-12-05 it was [0.1, 0.1]: the
  // unweighted member was not looked at; an audit's 0 vs 100 +- 1 fused to [0, 0])
  CHECK(mixed.forecast.q(0, 1) == 0.1 && mixed.forecast.q(0, 5) == 0.3);
  CHECK(mixed.forecast.q(0, 3) == 0.1);   // the median stays
}

TEST(a_fused_forecast_stating_no_spread_holds_disagreeing_members) {
  // Rule Z5: after the fused calibration (forecast_fused) the fused forecast may state no
  // spread (its past errors were exactly 0) while members weighted in it -- one of them with a
  // spread -- disagree: the interval then holds their medians too.
  QuantileForecast wide = flat_member("w", 0.3);
  const std::size_t L = wide.levels.size();
  for (std::size_t k = 0; k < 2; ++k) wide.quantiles[k * L + 1] = 0.2, wide.quantiles[k * L + 5] = 0.4;
  FusedForecast out;
  out.members = {flat_member("a", 0.1), wide};
  out.forecast = flat_member("fused(a,w)", 0.15);
  for (double& q : out.forecast.quantiles) q = 0.15;          // zero wide at every level
  out.weights = {0.6, 0.6, 0.4, 0.4};
  contain_certain_members(out);
  CHECK(out.forecast.note.find("the fused forecast stated no spread where members disagree") != std::string::npos);
  for (std::size_t k = 0; k < 2; ++k) {
    CHECK(out.forecast.q(k, 1) <= 0.1 && out.forecast.q(k, 5) >= 0.3);
    CHECK(out.forecast.q(k, 3) == 0.15);                        // the median stays
  }
  // a fused forecast with a spread, or members that agree: nothing changes
  FusedForecast spread = out;
  spread.forecast = flat_member("fused(a,w)", 0.15);          // a central interval [0.14, 0.16]
  for (std::size_t k = 0; k < 2; ++k)
    spread.forecast.quantiles[k * L + 1] = 0.14, spread.forecast.quantiles[k * L + 5] = 0.16;
  spread.forecast.note.clear();
  contain_certain_members(spread);
  CHECK(spread.forecast.note.empty() && spread.forecast.q(0, 1) == 0.14 && spread.forecast.q(0, 5) == 0.16);
}

TEST(all_members_failing_is_reported) {
  QuantileForecast a = member("a", 0.0, 1.0);
  a.ok = false;
  FusedForecast f = fuse({a});
  CHECK(!f.forecast.ok);
}

TEST(mismatched_members_are_rejected) {
  bool threw = false;
  try {
    fuse({member("a", 0.0, 1.0, 2), member("b", 0.0, 1.0, 3)});
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

TEST_MAIN()
