// spike_mask: a window's gross outliers set to missing before the model
// run; steps, trends and plain noise left alone.
#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "check.h"
#include "windowing/nearest_window.h"
#include "windowing/spike_mask.h"

using namespace chronotick;

// A noisy line: v_k = a + b k + N(0, sd), float32 as the model reads it.
static std::vector<float> noisy_line(std::size_t L, double a, double b, double sd, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, sd);
  std::vector<float> v(L);
  for (std::size_t k = 0; k < L; ++k) v[k] = static_cast<float>(a + b * double(k) + n(rng));
  return v;
}

static std::size_t count_nan(const std::vector<float>& v) {
  std::size_t c = 0;
  for (float x : v) c += std::isnan(x);
  return c;
}

TEST(plain_noise_and_a_trend_are_left_alone) {
  SpikeWork work;
  for (unsigned seed = 1; seed <= 20; ++seed) {
    auto v = noisy_line(512, 0.0, 2e-6, 1e-4, seed);
    const auto before = v;
    CHECK(mask_spikes(v.data(), v.size(), 5.0, work) == 0);
    CHECK(v == before);
  }
}

TEST(lone_spikes_are_masked_anywhere_in_the_window) {
  SpikeWork work;
  for (std::size_t at : {std::size_t(0), std::size_t(1), std::size_t(200), std::size_t(510), std::size_t(511)}) {
    auto v = noisy_line(512, 1e-3, 0.0, 1e-4, 7);
    v[at] += 1.0f;
    CHECK(mask_spikes(v.data(), v.size(), 5.0, work) == 1);
    CHECK(std::isnan(v[at]));
    CHECK(count_nan(v) == 1);
  }
}

TEST(a_step_is_kept_from_its_second_cell_and_in_the_middle_whole) {
  SpikeWork work;
  // a step of 20 ms (200 sigma) at cell 300: every cell kept
  auto v = noisy_line(512, 0.0, 0.0, 1e-4, 3);
  for (std::size_t k = 300; k < 512; ++k) v[k] += 0.02f;
  CHECK(mask_spikes(v.data(), v.size(), 5.0, work) == 0);
  // the step's newest two cells: both kept (the first confirmed by the second)
  v = noisy_line(512, 0.0, 0.0, 1e-4, 3);
  v[510] += 0.02f;
  v[511] += 0.02f;
  CHECK(mask_spikes(v.data(), v.size(), 5.0, work) == 0);
  // only the newest cell moved: indistinguishable from a spike, masked
  v = noisy_line(512, 0.0, 0.0, 1e-4, 3);
  v[511] += 0.02f;
  CHECK(mask_spikes(v.data(), v.size(), 5.0, work) == 1 && std::isnan(v[511]));
}

TEST(empty_cells_small_windows_and_zero_spread_are_left_alone) {
  SpikeWork work;
  auto v = noisy_line(512, 0.0, 0.0, 1e-4, 5);
  for (std::size_t k = 0; k < 512; k += 3) v[k] = NAN;   // gaps: spikes still found across them
  v[400] += 1.0f;
  CHECK(!std::isnan(v[400]));
  CHECK(mask_spikes(v.data(), v.size(), 5.0, work) == 1 && std::isnan(v[400]));
  std::vector<float> few = {0, 0, 0, 1, 0, 0, 0};  // 7 observed cells: too few to judge
  CHECK(mask_spikes(few.data(), few.size(), 5.0, work) == 0);
  std::vector<float> flat(64, 0.5f);               // sigma = 0: no scale, nothing masked
  flat[20] = 9.0f;
  CHECK(mask_spikes(flat.data(), flat.size(), 5.0, work) == 0);
  bool threw = false;
  try {
    mask_spikes(v.data(), v.size(), 0.0, work);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  CHECK(threw);
}

TEST(a_masked_newest_cell_recentres_the_window_on_the_newest_kept_one) {
  // 100 measurements 64 s apart at 1 ms (noise 1e-5), the newest 1000 s off
  std::mt19937_64 rng(11);
  std::normal_distribution<double> n(0.0, 1e-5);
  std::vector<double> t(100), y(100);
  for (std::size_t i = 0; i < 100; ++i) {
    t[i] = 64.0 * double(i);
    y[i] = 1e-3 + n(rng);
  }
  y[99] = 1000.0;
  std::vector<float> v(128), plain(128);
  const double level = spike_free_window(t.data(), y.data(), t.size(), t[99], 64.0, 128, 5.0, v.data());
  CHECK(std::isnan(v[127]));
  CHECK(std::fabs(level - y[98]) < 1e-9);  // centred on the newest kept cell
  CHECK(std::fabs(v[126]) < 1e-9f);
  // the kept cells keep float32's resolution of the differences (not that of 1000 s)
  nearest_window(t.data(), y.data(), 99, t[98], 64.0, 128, level, plain.data());
  for (std::size_t k = 0; k < 127; ++k) CHECK((std::isnan(v[k]) && std::isnan(plain[k + 1])) || v[k] == plain[k + 1]);
  // c NaN: nearest_window alone
  const double raw = spike_free_window(t.data(), y.data(), t.size(), t[99], 64.0, 128, NAN, v.data());
  CHECK(raw == 1000.0 && v[127] == 0.0f);
}

TEST(a_spike_that_rounds_the_others_noise_away_is_still_found) {
  // noise 1e-6 s, the newest 1e4 s off: centred on it, float32 (resolution ~1e-3 s
  // there) makes every other cell equal, no spread to judge by; judged again centred
  // on the newest 5's median, it is masked and the window keeps its noise.
  std::vector<double> t(64), y(64);
  for (std::size_t i = 0; i < 64; ++i) {
    t[i] = double(i);
    y[i] = 1e-3 + (static_cast<double>((i * 7919) % 13) - 6.0) * 1e-7;
  }
  y[63] = 1e4;
  std::vector<float> v(64);
  nearest_window(t.data(), y.data(), t.size(), 63.0, 1.0, 64, NAN, v.data());
  SpikeWork work;
  CHECK(mask_spikes(v.data(), v.size(), 5.0, work) == 0 && work.sigma == 0.0);  // the case meant
  const double level = spike_free_window(t.data(), y.data(), t.size(), 63.0, 1.0, 64, 5.0, v.data());
  CHECK(std::isnan(v[63]));
  CHECK(std::fabs(level - y[62]) < 1e-12);
  for (std::size_t k = 0; k < 63; ++k) CHECK_NEAR(v[k], y[k] - level, 1e-12);
  // a window with no spread at all is left as it is
  std::vector<double> flat(64, 2.5);
  const double lv = spike_free_window(t.data(), flat.data(), t.size(), 63.0, 1.0, 64, 5.0, v.data());
  CHECK(lv == 2.5 && v[0] == 0.0f && v[63] == 0.0f);
}

TEST_MAIN()
