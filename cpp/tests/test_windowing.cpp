// make_window: interpolation, gaps, padding, centring precision, scale,
// argument checks.
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "common/normal.h"
#include "windowing/quantile_conformal.h"
#include "windowing/window.h"

using chronotick::conformal_factors;
using chronotick::make_window;

TEST(interpolates_on_the_grid) {
  std::vector<double> t = {0, 10, 20}, y = {0, 1, 3};
  auto w = make_window(t.data(), y.data(), 3, 20, 5, 5, INFINITY, NAN);
  // grid 0, 5, 10, 15, 20; level = 3
  CHECK(w.level == 3);
  CHECK_NEAR(w.values[0], -3, 1e-6);
  CHECK_NEAR(w.values[1], -2.5, 1e-6);
  CHECK_NEAR(w.values[2], -2, 1e-6);
  CHECK_NEAR(w.values[3], -1, 1e-6);
  CHECK_NEAR(w.values[4], 0, 1e-6);
  for (auto m : w.mask) CHECK(m == 1);
  CHECK(w.times[0] == 0 && w.times[4] == 20);
  // centred values -3, -2.5, -2, -1, 0: mean -1.7, population variance 1.16
  CHECK_NEAR(w.scale, std::sqrt(1.16), 1e-12);
}

TEST(pads_left_and_masks_gaps_and_the_future) {
  std::vector<double> t = {10, 11, 30}, y = {1, 2, 3};
  auto w = make_window(t.data(), y.data(), 3, 35, 5, 8, 5.0, NAN);
  // grid 0..35 step 5: 0,5 before the first; 10 on it; 15..25 in a 19 s gap; 30 on it; 35 after the last
  std::vector<int> expect = {0, 0, 1, 0, 0, 0, 1, 0};
  for (int k = 0; k < 8; ++k) CHECK(w.mask[k] == expect[k]);
  for (int k = 0; k < 8; ++k) CHECK(std::isnan(w.values[k]) == (expect[k] == 0));
  CHECK(w.level == 3);
  CHECK_NEAR(w.values[2], -2, 0);
  CHECK_NEAR(w.scale, 1.0, 1e-12);  // values -2, 0: population std 1
}

TEST(ignores_measurements_after_end_time) {
  std::vector<double> t = {0, 10, 20, 30}, y = {0, 1, 2, 100};
  auto w = make_window(t.data(), y.data(), 4, 25, 5, 6, INFINITY, NAN);
  // grid 0..25: level from t=20; 25 lies after the last used measurement
  CHECK(w.level == 2);
  CHECK(w.mask[4] == 1 && w.mask[5] == 0);
  CHECK_NEAR(w.values[3], -0.5, 1e-7);
}

TEST(long_history_and_explicit_level) {
  std::vector<double> t, y;
  for (int i = 0; i < 100000; ++i) {
    t.push_back(i);
    y.push_back(0.5 * i);
  }
  auto w = make_window(t.data(), y.data(), t.size(), 99999, 0.5, 4, INFINITY, 49999.0);
  // grid 99997.5, 98, 98.5, 99999 -> y 49998.75 .. 49999.5, minus 49999
  CHECK(w.level == 49999.0);
  CHECK_NEAR(w.values[0], -0.25, 1e-9);
  CHECK_NEAR(w.values[3], 0.5, 1e-9);
  auto none = make_window(t.data(), y.data(), t.size(), -10, 1, 3, INFINITY, 0.0);  // all before the data
  for (auto m : none.mask) CHECK(m == 0);
  CHECK(none.scale == 1.0);
}

TEST(microseconds_on_an_epoch_survive_float32) {
  std::vector<double> t, y;
  for (int i = 0; i < 100; ++i) {
    t.push_back(1.7e9 + 64.0 * i + 0.37 * std::sin(i));  // irregular
    y.push_back(1e-6 * std::sin(i / 5.0) + 0.25);         // 250 ms offset, 1 us wiggle
  }
  auto w = make_window(t.data(), y.data(), t.size(), t.back(), 64, 100, INFINITY, NAN);
  CHECK(w.level == y.back());
  for (int k = 1; k < 99; ++k) {
    // the exact interpolation in long double, compared at 1e-12 s
    std::size_t j = 0;
    while (t[j] < w.times[k]) ++j;
    long double f = (static_cast<long double>(w.times[k]) - t[j - 1]) / (static_cast<long double>(t[j]) - t[j - 1]);
    long double v = y[j - 1] + (static_cast<long double>(y[j]) - y[j - 1]) * f;
    CHECK(w.mask[k] == 1);
    CHECK_NEAR(static_cast<double>(w.values[k]) + w.level, static_cast<double>(v), 1e-12);
  }
  CHECK(w.scale > 1e-7 && w.scale < 2e-6);
}

static std::string error_of(const std::vector<double>& t, const std::vector<double>& y, double end, double step,
                            std::size_t context, double gap, double level) {
  try {
    make_window(t.data(), y.data(), t.size(), end, step, context, gap, level);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(bad_arguments_throw_naming_them) {
  std::vector<double> t = {0, 1, 2}, y = {0, 1, 2};
  CHECK(error_of(t, y, 2, 0, 4, INFINITY, NAN).find("step_s") == 0);
  CHECK(error_of(t, y, 2, INFINITY, 4, INFINITY, NAN).find("step_s") == 0);
  CHECK(error_of(t, y, 2, 1, 0, INFINITY, NAN).find("context") == 0);
  CHECK(error_of(t, y, 2, 1, 4, 0, NAN).find("max_gap") == 0);
  CHECK(error_of(t, y, 2, 1, 4, NAN, NAN).find("max_gap") == 0);
  CHECK(error_of(t, y, NAN, 1, 4, INFINITY, NAN).find("end_time") == 0);
  CHECK(error_of(t, y, -5, 1, 4, INFINITY, NAN).find("end_time is before") == 0);
  CHECK(error_of({0, 2, 1}, y, 2, 1, 4, INFINITY, NAN).find("t[2] <= t[1]") != std::string::npos);
  CHECK(error_of({0, 1, 1}, y, 2, 1, 4, INFINITY, NAN).find("t[2] <= t[1]") != std::string::npos);
  CHECK(error_of({0, NAN, 2}, y, 2, 1, 4, INFINITY, NAN) == "t[1] is not finite");
  CHECK(error_of({-INFINITY, 1, 2}, y, 2, 1, 4, INFINITY, NAN) == "t[0] is not finite");
  CHECK(error_of(t, {0, 1, NAN}, 2, 1, 4, INFINITY, NAN) == "y[2] is not finite");
  CHECK(error_of(t, y, 2, 1, 4, INFINITY, INFINITY).find("level") == 0);
  CHECK(error_of(t, y, 2, 1, 4, INFINITY, NAN).empty());
}

TEST(conformal_factors_take_the_conformal_quantile_of_side_scores) {
  // Three quantiles at 0.1 / 0.5 / 0.9: median 0, 1 below and 2 above. At
  // coverage 0.8 an observation y scores y / 2 above the median and -y / 1
  // below it; at 0.5 the ends are the quantiles at 0.25 / 0.75, interpolated:
  // -0.625 / 1.25.
  const double levels[] = {0.1, 0.5, 0.9};
  const double q[] = {-1, 0, 2, -1, 0, 2, -1, 0, 2, -1, 0, 2};
  const double y[] = {1.0, -3.0, 0.0, 4.0};        // scores 0.5, 3, 0, 2
  const double cov[] = {0.0, 0.5, 0.8, 0.95};
  double out[4];
  conformal_factors(y, q, 4, levels, 3, 1, cov, 4, out);
  CHECK(out[0] == 1.0);                             // coverage 0: the raw model
  CHECK_NEAR(out[1], 3.2, 1e-12);                   // ceil(5 x 0.5) = 3rd smallest of 0, 0.8, 3.2, 4.8
  CHECK(out[2] == 3.0);                             // ceil(5 x 0.8) = 4th
  // ceil(5 x 0.95) = 5 > n = 4: beyond c_n = 4/5 the largest score times the normal tail's
  // ratio z(0.975) / z(0.9) (it had been the largest itself, 3.0: one interval for 80-99.9%)
  CHECK_NEAR(out[3], 3.0 * chronotick::normal_quantile(0.975) / chronotick::normal_quantile(0.9), 1e-12);
  // a zero-width prediction: an observation off the median scores (almost) infinitely
  const double flat[] = {0, 0, 0};
  const double off[] = {1e-9};
  double f;
  const double c80 = 0.8;
  conformal_factors(off, flat, 1, levels, 3, 1, &c80, 1, &f);
  CHECK(f > 1e290);
}

TEST_MAIN()
