// make_window: interpolation, gaps, padding, centring precision.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "windowing/window.h"

using chronotick::make_window;

TEST(interpolates_on_the_grid) {
  std::vector<double> t = {0, 10, 20}, y = {0, 1, 3};
  auto w = make_window(t.data(), y.data(), 3, 20, 5, 5, INFINITY, NAN);
  // grid 0, 5, 10, 15, 20; level = 3
  CHECK(w.level == 3);
  CHECK_NEAR(w.values[0], -3, 1e-6);
  CHECK_NEAR(w.values[1], -2.5, 1e-6);
  CHECK_NEAR(w.values[3], -1, 1e-6);
  CHECK_NEAR(w.values[4], 0, 1e-6);
  for (auto m : w.mask) CHECK(m == 1);
  CHECK(w.times[0] == 0 && w.times[4] == 20);
}

TEST(pads_left_and_masks_gaps_and_the_future) {
  std::vector<double> t = {10, 11, 30}, y = {1, 2, 3};
  auto w = make_window(t.data(), y.data(), 3, 35, 5, 8, 5.0, NAN);
  // grid 0..35 step 5: 0,5 before the first; 10 on it; 15..25 in a 19 s gap; 30 on it; 35 after the last
  std::vector<int> expect = {0, 0, 1, 0, 0, 0, 1, 0};
  for (int k = 0; k < 8; ++k) CHECK(w.mask[k] == expect[k]);
  CHECK(std::isnan(w.values[0]) && std::isnan(w.values[7]));
  CHECK(w.level == 3);
}

TEST(microseconds_on_an_epoch_survive_float32) {
  std::vector<double> t, y;
  for (int i = 0; i < 100; ++i) {
    t.push_back(1.7e9 + 64.0 * i);
    y.push_back(1e-6 * std::sin(i / 5.0) + 0.25);  // 250 ms offset, 1 us wiggle
  }
  auto w = make_window(t.data(), y.data(), t.size(), t.back(), 64, 100, INFINITY, NAN);
  for (int k = 0; k < 100; ++k) CHECK_NEAR(w.values[k] + w.level, y[k], 1e-12);
  CHECK(w.scale > 1e-7 && w.scale < 2e-6);
}

TEST(bad_arguments_throw) {
  std::vector<double> t = {0, 1}, y = {0, 1};
  bool threw = false;
  try { make_window(t.data(), y.data(), 2, 1, 0, 4, INFINITY, NAN); } catch (const std::invalid_argument&) { threw = true; }
  CHECK(threw);
  threw = false;
  try { make_window(t.data(), y.data(), 2, -5, 1, 4, INFINITY, NAN); } catch (const std::invalid_argument&) { threw = true; }
  CHECK(threw);  // nothing at or before end_time to take the level from
}

TEST_MAIN()
