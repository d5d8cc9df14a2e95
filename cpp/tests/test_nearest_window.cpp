// nearest_window / median_spacing / check_measurements (the shipped ONNX
// model's binning), grid_quantiles / steps_ahead (its post-processing),
// prepare_forecast, float_repr. The numpy reference is checked against the
// binding in tests/test_onnx_window_parity.py.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "windowing/float_repr.h"
#include "windowing/forecast_input.h"
#include "windowing/grid_quantiles.h"
#include "windowing/nearest_window.h"

using namespace chronotick;

static std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(bins_to_the_nearest_cell_with_means_and_gaps) {
  // grid 0, 10, 20, 30, 40; t=-6 falls in cell -1 (dropped); 20 and 21 share cell 2; nothing near 30
  std::vector<double> t = {-6, 0, 10, 20, 21, 40}, y = {9, 1, 2, 3, 5, 7};
  std::vector<float> v(5);
  const double level = nearest_window(t.data(), y.data(), t.size(), 40, 10, 5, NAN, v.data());
  CHECK(level == 7);
  CHECK(v[0] == -6.0f && v[1] == -5.0f && v[2] == -3.0f && std::isnan(v[3]) && v[4] == 0.0f);
}

TEST(cell_edges_round_half_up) {
  // cell k covers [g_k - step/2, g_k + step/2): t = 15 belongs to g = 20, t = 24.999 too
  std::vector<double> t = {15, 24.999, 25}, y = {1, 2, 4};
  std::vector<float> v(3);
  nearest_window(t.data(), y.data(), 3, 30, 10, 3, 0.0, v.data());
  CHECK(std::isnan(v[0]) && v[1] == 1.5f && v[2] == 4.0f);
}

TEST(short_history_is_left_padded_and_level_keeps_float32_resolution) {
  std::vector<double> t, y;
  for (int i = 0; i < 8; ++i) {
    t.push_back(1.7e9 + 100.0 * i);
    y.push_back(1e6 + 1e-6 * i);  // microsecond steps on a 1e6 level
  }
  std::vector<float> v(16);
  const double level = nearest_window(t.data(), y.data(), t.size(), t.back(), 100, 16, NAN, v.data());
  CHECK(level == y.back());
  for (int k = 0; k < 8; ++k) CHECK(std::isnan(v[k]));
  for (int k = 8; k < 16; ++k) CHECK_NEAR(v[k], (k - 15) * 1e-6, 2e-10);  // y itself carries 1.2e-10
}

TEST(a_measurement_after_the_end_is_refused) {
  std::vector<double> t = {0, 10, 30}, y = {0, 0, 0};
  std::vector<float> v(4);
  const std::string e = error_of([&] { nearest_window(t.data(), y.data(), 3, 10, 10, 4, NAN, v.data()); });
  CHECK(e == "measurement at t=30.0 lies after the window's end_time 10.0");
  CHECK(error_of([&] { nearest_window(t.data(), y.data(), 3, 30, 0, 4, NAN, v.data()); }).find("step_s") == 0);
}

TEST(count_cells_counts_the_windows_cells_that_hold_a_measurement) {
  // window of 4 cells 10 wide ending at 100: cells at 70, 80, 90, 100 ([65, 105))
  std::vector<double> t = {10, 64.9, 65, 69, 81, 84, 100};
  CHECK(count_cells(t.data(), t.size(), 10, 4) == 3);  // 65 and 69 share cell 70, 81 and 84 cell 80
  CHECK(count_cells(t.data(), t.size(), 10, 1) == 1);  // the newest cell alone
  CHECK(count_cells(t.data(), t.size(), 100, 4) == 2);  // 10 in the cell at 0, the rest in that at 100
  CHECK(count_cells(t.data(), 1, 10, 4) == 1 && count_cells(t.data(), 0, 10, 4) == 0);
  CHECK(error_of([&] { count_cells(t.data(), t.size(), 0, 4); }).find("step_s") == 0);
}

TEST(after_last_gap_finds_the_newest_long_spacing) {
  std::vector<double> t = {0, 1, 50, 51, 52, 200, 201};
  CHECK(after_last_gap(t.data(), t.size(), 7, 40) == 5);   // 52 -> 200
  CHECK(after_last_gap(t.data(), t.size(), 2, 40) == 0);   // only 200, 201 looked at
  CHECK(after_last_gap(t.data(), t.size(), 3, 40) == 5);   // 52, 200, 201
  CHECK(after_last_gap(t.data(), t.size(), 7, 200) == 0);
  CHECK(after_last_gap(t.data(), 5, 100, 40) == 2);        // of the first five: 1 -> 50
}

TEST(past_mean_sigma_maps_marked_rows_and_floors_every_finite_mean) {
  // K = 3 levels, median index 1; the plan's two levels: halfway 0-1 and 1-2
  const double q[] = {3, 1, 2,      // unsorted: read as 1, 2, 3
                      0, 0, 0,      // flat: sigma floored at the resolution of 0
                      5, 6, 7};     // not marked: left as given, then floored
  const bool todo[] = {true, true, false};
  const int64_t lo[] = {0, 1}, hi[] = {1, 2};
  const double w[] = {0.5, 0.5}, w1[] = {0.5, 0.5};
  const double f[] = {2, 2, 1, 1, 9, 9};
  double mean[] = {0, 0, 1e6}, sigma[] = {0, 0, 1e-30};
  past_mean_sigma(q, 3, 3, 1, todo, lo, hi, w, w1, f, mean, sigma);
  // row 0: m = 2, base = 1.5 / 2.5, out = 2 +- 2 * 0.5 = 1 / 3, sigma = 2 / 2.563
  CHECK(mean[0] == 2 && sigma[0] == 2.0 / 2.563);
  CHECK(mean[1] == 0 && sigma[1] == std::sqrt(std::numeric_limits<double>::min()));
  CHECK(mean[2] == 1e6 && sigma[2] == 4.0 * (std::nextafter(1e6, INFINITY) - 1e6));
  const int64_t bad[] = {0, 3};
  CHECK(error_of([&] { past_mean_sigma(q, 3, 3, 1, todo, lo, bad, w, w1, f, mean, sigma); })
            .find("outside the K model levels") != std::string::npos);
}

TEST(median_spacing_of_the_newest_65) {
  std::vector<double> t = {0, 1, 3, 6};  // spacings 1, 2, 3
  CHECK(median_spacing(t.data(), 4) == 2);
  CHECK(median_spacing(t.data(), 4, 2) == 2.5);  // newest two spacings: 2, 3
  std::vector<double> u;
  for (int i = 0; i < 200; ++i) u.push_back(i < 100 ? 1000.0 * i : 99000.0 + 10.0 * (i - 99) + (i % 3));
  // the newest 64 spacings are 10 + {0,1,2 pattern differences}: median of 64 values
  std::vector<double> d;
  for (int i = 136; i < 200; ++i) d.push_back(u[i] - u[i - 1]);
  std::sort(d.begin(), d.end());
  CHECK(median_spacing(u.data(), u.size()) == 0.5 * (d[31] + d[32]));
}

TEST(measurement_checks_name_the_value) {
  std::vector<double> t = {0, 1, 1}, y = {0, NAN, 0};
  CHECK(error_of([&] { check_measurements(t.data(), 3, y.data(), 3); }) == "y[1] = nan is not finite");
  y[1] = 0;
  CHECK(error_of([&] { check_measurements(t.data(), 3, y.data(), 3); }) ==
        "t must be strictly increasing: t[2] = 1.0 after t[1] = 1.0");
  CHECK(error_of([&] { check_measurements(t.data(), 1, y.data(), 1); }) == "at least 2 measurements are needed, got 1");
  CHECK(error_of([&] { check_measurements(t.data(), 2, y.data(), 3); }) == "t and y differ in length: 2 vs 3");
  CHECK(error_of([&] { check_measurements(t.data(), 2, y.data(), 2); }).empty());
}

TEST(float_repr_is_pythons) {
  CHECK(float_repr(1760000000.5) == "1760000000.5");
  CHECK(float_repr(100.0) == "100.0");
  CHECK(float_repr(0.1) == "0.1");
  CHECK(float_repr(-2.5e-7) == "-2.5e-07");
  CHECK(float_repr(1e16) == "1e+16");
  CHECK(float_repr(0.0001) == "0.0001");
  CHECK(float_repr(-INFINITY) == "-inf");
  CHECK(float_repr(0.0) == "0.0");
}

TEST(steps_ahead_limits) {
  std::vector<double> tg = {150, 100 + 64.5 * 100}, h(2);
  steps_ahead(tg.data(), 2, 100, 100, 64, "m", h.data());
  CHECK(h[0] == 0.5 && h[1] == 64.5);
  tg[1] = 6560;
  CHECK(error_of([&] { steps_ahead(tg.data(), 2, 100, 100, 64, "m", h.data()); }) ==
        "target_times[1] = 6560.0 is 6460 s ahead; model m forecasts at most 64 steps of 100 s = 6400 s ahead");
  tg[0] = 50;
  CHECK(error_of([&] { steps_ahead(tg.data(), 2, 100, 100, 64, "m", h.data()); }) ==
        "target_times[0] = 50.0 is before the newest measurement 100.0");
}

TEST(grid_quantiles_interpolate_sort_and_map_levels) {
  // K = 3 levels (0.1, 0.5, 0.9), H = 4 steps: q[k, j] = (k - 1) * (j + 1), level 10
  const std::size_t K = 3, H = 4;
  std::vector<float> q(K * H);
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t j = 0; j < H; ++j)
      q[k * H + j] = static_cast<float>((static_cast<double>(k) - 1) * (static_cast<double>(j) + 1.0));
  // requested levels 0.1, 0.3, 0.5 with f = 2 at 0.1: lo/hi into the model levels
  std::vector<int64_t> lo = {0, 0, 0}, hi = {1, 1, 1};
  std::vector<double> w = {0, 0.5, 1}, w1 = {1, 0.5, 0}, f = {2, 1, 1};
  std::vector<double> h = {0.3, 2.5, 4.4}, median(3), out(9);
  grid_quantiles(q.data(), K, H, h.data(), 3, 10.0, 0.0, 1,
                 LevelPlan{lo.data(), hi.data(), w.data(), w1.data(), f.data(), 3},
                 median.data(), out.data());
  // h 0.3 -> step 1: q = -1, 0, 1; h 2.5 -> -2.5, 0, 2.5; h 4.4 -> step 4: -4, 0, 4
  const double s[3] = {1, 2.5, 4};
  for (int i = 0; i < 3; ++i) {
    CHECK(median[i] == 10.0);
    CHECK_NEAR(out[i * 3 + 0], 10 - 2 * s[i], 1e-12);
    CHECK_NEAR(out[i * 3 + 1], 10 - 0.5 * s[i], 1e-12);
    CHECK_NEAR(out[i * 3 + 2], 10, 1e-12);
  }
  // a detrended window's line (slope per step) comes back at the target's own step h (the
  // model's part at the clamped one; until 2026-12-06 the line too, so h 0.3 read a whole
  // step's trend ahead), in float64: a spread float32 could not hold next to the line survives
  grid_quantiles(q.data(), K, H, h.data(), 3, 10.0, 1e9, 1,
                 LevelPlan{lo.data(), hi.data(), w.data(), w1.data(), f.data(), 3},
                 median.data(), out.data());
  for (int i = 0; i < 3; ++i) {
    CHECK(median[i] == 10.0 + 1e9 * h[i]);
    CHECK_NEAR(out[i * 3 + 0] - median[i], -2 * s[i], 1e-6);
    CHECK_NEAR(out[i * 3 + 1] - median[i], -0.5 * s[i], 1e-6);
  }
  // crossed quantiles are reordered before use
  std::swap(q[0], q[2 * H]);
  grid_quantiles(q.data(), K, H, h.data(), 1, 0.0, 0.0, 1,
                 LevelPlan{lo.data(), hi.data(), w.data(), w1.data(), f.data(), 3},
                 median.data(), out.data());
  CHECK(median[0] == 0 && out[0] == -2);
  CHECK(all_finite(q.data(), q.size()));
  q[5] = NAN;
  CHECK(!all_finite(q.data(), q.size()));
}

TEST(read_ahead_reads_each_prefix_at_its_lead) {
  // two model outputs, K = 3, H = 4: q[k, j] = (k - 1) * (j + 1) and its negation (crossed)
  const std::size_t K = 3, H = 4;
  std::vector<float> a(K * H), b(K * H);
  for (std::size_t k = 0; k < K; ++k)
    for (std::size_t j = 0; j < H; ++j) {
      a[k * H + j] = static_cast<float>((static_cast<double>(k) - 1) * (static_cast<double>(j) + 1.0));
      b[k * H + j] = -a[k * H + j];
    }
  const double ma[3] = {100, 10, 0}, mb[3] = {50, -1, 2};   // (step, level, slope)
  const float* rows[4] = {a.data(), b.data(), nullptr, a.data()};
  const double* meta[4] = {ma, mb, nullptr, ma};
  // 250 s at step 100 = 2.5 steps; 125 s at step 50 = 2.5 steps, level -1 + 2 x 2.5; none; 450 s = 4.5 steps
  std::vector<double> dt = {250, 125, 1, 451}, out(12);
  read_ahead(rows, meta, dt.data(), 4, K, H, out.data());
  CHECK(out[0] == 10 - 2.5 && out[1] == 10 && out[2] == 10 + 2.5);
  CHECK(out[3] == 4 - 2.5 && out[4] == 4 && out[5] == 4 + 2.5);    // crossed rows come back sorted
  CHECK(std::isnan(out[6]) && std::isnan(out[7]) && std::isnan(out[8]));
  CHECK(std::isnan(out[9]) && std::isnan(out[11]));                  // 4.51 steps > H + 1/2
  dt[3] = 449;                                                       // 4.49 steps: step H
  read_ahead(rows, meta, dt.data(), 4, K, H, out.data());
  CHECK(out[9] == 10 - 4 && out[11] == 10 + 4);
  // the same values grid_quantiles reads (its median) at the same step
  std::vector<int64_t> lo = {1}, hi = {1};
  std::vector<double> w = {0}, w1 = {1}, f = {1}, h = {2.5}, median(1), q(1);
  grid_quantiles(a.data(), K, H, h.data(), 1, 10.0, 0.0, 1, LevelPlan{lo.data(), hi.data(), w.data(), w1.data(), f.data(), 1},
                 median.data(), q.data());
  dt[0] = 250;
  read_ahead(rows, meta, dt.data(), 1, K, H, out.data());
  CHECK(median[0] == out[1]);
  CHECK(error_of([&] { read_ahead(rows, meta, dt.data(), 1, 65, H, out.data()); }) == "read_ahead: bad shape K=65 H=4");
}

TEST(variations_below_float32s_normal_range_are_refused) {
  // 1e-46 about the level: float32 holds 0 or a subnormal step, not the data
  std::vector<double> t = {0, 10, 20, 30}, y = {1e-46, 3e-46, 2e-46, 1e-46};
  std::vector<float> v(4);
  CHECK(error_of([&] { nearest_window(t.data(), y.data(), 4, 30, 10, 4, NAN, v.data()); })
            .find(" about their level, below float32's normal range (1.2e-38)") != std::string::npos);
  std::vector<double> flat = {1e-46, 1e-46, 1e-46, 1e-46};   // no variation at all: a flat window, as ever
  CHECK(nearest_window(t.data(), flat.data(), 4, 30, 10, 4, NAN, v.data()) == 1e-46 && v[0] == 0.0f);
  std::vector<double> small = {1e-30, 3e-30, 2e-30, 1e-30};  // inside float32's range: kept
  nearest_window(t.data(), small.data(), 4, 30, 10, 4, NAN, v.data());
  CHECK(v[1] == static_cast<float>(2e-30));
}

TEST(window_spans_cover_what_each_window_holds) {
  // regular 10 s polls, then 100 s: a window of 4 cells (step = the median spacing) ending at a
  // 100-s poll reaches 4.5 x 100 s back, over the 1-s ones
  std::vector<double> t;
  for (int i = 0; i < 200; ++i) t.push_back(i);               // 1 s polls, t = 0 .. 199
  for (int i = 1; i <= 80; ++i) t.push_back(199 + 100.0 * i);  // then 100 s
  const std::vector<int64_t> ends = {1, 2, 50, 200, 203, 280};
  std::vector<int64_t> out(ends.size());
  window_spans(t.data(), t.size(), ends.data(), ends.size(), 4, 1.0, 5, out.data());
  CHECK(out[0] == 5 && out[1] == 5 && out[2] == 5 && out[3] == 5);   // 1-s windows: 5 polls
  // prefix 203 (newest 499, step: the median of 64 spacings, 61 of 1 s and 3 of 100 s: 1 s): 5
  CHECK(out[4] == 5);
  // prefix 280 (newest t = 8199, step 100): from 8199 - 450 = 7749 on: 5 polls
  CHECK(out[5] == 5);
  // 100 s polls for 40 only, after 1-s ones (step 100 s once most of the 64 spacings are 100 s):
  // a window of 40 cells reaches 4050 s back, over 3650 1-s polls... of which 200 exist
  const std::vector<int64_t> e2 = {240};
  window_spans(t.data(), t.size(), e2.data(), 1, 40, 1.0, 5, out.data());
  // newest 199 + 4000 = 4199; median of 64 spacings: 40 of 100 s, 24 of 1 s -> 100 s; edge 4199 - 4050
  // = 149: the 1-s polls 149 .. 199 (51) and the 40 of 100 s
  CHECK(out[0] == 91);
  // step_factor 2: the edge at 4199 - 8100 < 0: all 240
  window_spans(t.data(), t.size(), e2.data(), 1, 40, 2.0, 5, out.data());
  CHECK(out[0] == 240);
  const std::vector<int64_t> bad = {281};
  CHECK(error_of([&] { window_spans(t.data(), t.size(), bad.data(), 1, 4, 1.0, 5, out.data()); }) ==
        "ends[0] = 281 is not in [1, 280]");
  // window_oldest: the oldest index any key of the prefixes [first, last) reaches
  for (std::size_t first : {2, 150, 230}) {
    for (std::size_t ctx : {4, 40}) {
      std::vector<int64_t> range, spans(280 - first);
      for (std::size_t i = first; i < 280; ++i) range.push_back(static_cast<int64_t>(i));
      window_spans(t.data(), t.size(), range.data(), range.size(), ctx, 1.0, 5, spans.data());
      int64_t want = 280;
      for (std::size_t k = 0; k < range.size(); ++k) want = std::min(want, range[k] - spans[k]);
      CHECK(window_oldest(t.data(), t.size(), first, 280, ctx, 1.0, 5) == want);
    }
  }
  CHECK(error_of([&] { window_oldest(t.data(), t.size(), 5, 5, 4, 1.0, 5); }).find("not a range") != std::string::npos);
}

TEST(prepare_forecast_in_one_pass) {
  std::vector<double> t = {0, 100, 200, 300}, y = {1, 2, 3, 4}, tg = {400}, h(1);
  std::vector<float> v(4);
  auto prep = [&](std::size_t n_targets) {
    return prepare_forecast(t.data(), 4, y.data(), 4, tg.data(), n_targets, NAN, 4, 64, "m", v.data(), h.data());
  };
  const ForecastInput in = prep(1);
  CHECK(in.level == 4 && in.step == 100 && in.t_end == 300 && h[0] == 1);
  CHECK(v[0] == -3.0f && v[3] == 0.0f);
  tg[0] = NAN;
  CHECK(error_of([&] { prep(1); }) == "target_times[0] = nan is not finite");
  CHECK(error_of([&] { prep(0); }) == "target_times is empty");
}

TEST_MAIN()
