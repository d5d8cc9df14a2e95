// delay_noise (models/delay_noise.h): a scale growing with excess delay is
// found where the scatter follows the delay, and equal weights where it does not.
#include <cmath>
#include <cstdint>
#include <vector>

#include "check.h"
#include "models/delay_noise.h"

using namespace chronotick;

namespace {

// A small deterministic generator (xorshift), uniform in [0, 1).
struct Uniform {
  std::uint64_t s = 88172645463325252ULL;
  double operator()() {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    return static_cast<double>(s >> 11) * (1.0 / 9007199254740992.0);
  }
};

// Laplace noise of scale b.
double laplace(Uniform& u, double b) {
  const double p = u() - 0.5;
  return -b * (p < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::fabs(p));
}

struct Window { std::vector<double> y, d; };

// 300 measurements, delays 20 + U(0, 40) ms; noise scale 0.5 (1 + slope * excess / 10 ms).
Window window(double slope, bool follow_delay) {
  Uniform u;
  Window w;
  for (int i = 0; i < 300; ++i) {
    const double d = 20.0 + 40.0 * u();
    const double x = follow_delay ? 0.5 * (d - 20.0) : 10.0;
    w.d.push_back(d);
    w.y.push_back(laplace(u, 0.5 * (1.0 + slope * x / 10.0)));
  }
  return w;
}

}  // namespace

TEST(scatter_that_follows_the_delay_gets_a_growing_scale) {
  Window w = window(1.0, true);
  std::vector<double> sigma(w.y.size(), -1.0);
  DelayNoise fit;
  CHECK(delay_noise(w.y.data(), w.d.data(), w.y.size(), sigma.data(), &fit));
  CHECK(fit.k > 0.3 && fit.k < 3.0);
  // The least delayed measurement gets the smallest sigma, the most delayed the largest.
  std::size_t lo = 0, hi = 0;
  for (std::size_t i = 0; i < w.d.size(); ++i) {
    if (w.d[i] < w.d[lo]) lo = i;
    if (w.d[i] > w.d[hi]) hi = i;
  }
  for (double s : sigma) CHECK(s >= sigma[lo] && s <= sigma[hi]);
  CHECK(sigma[hi] > 3.0 * sigma[lo]);
}

TEST(scatter_unrelated_to_the_delay_gets_equal_weights) {
  Window w = window(1.0, false);
  std::vector<double> sigma(w.y.size(), -1.0);
  DelayNoise fit;
  CHECK(delay_noise(w.y.data(), w.d.data(), w.y.size(), sigma.data(), &fit));
  CHECK_NEAR(fit.k, 0.0, 0.0);
  for (double s : sigma) CHECK_NEAR(s, sigma[0], 0.0);
  CHECK(sigma[0] > 0.0);
}

TEST(the_scale_is_free_of_the_delays_unit) {
  Window w = window(1.0, true);
  std::vector<double> a(w.y.size()), b(w.y.size()), d_s(w.d);
  for (double& d : d_s) d *= 1e-3;   // ms -> s
  CHECK(delay_noise(w.y.data(), w.d.data(), w.y.size(), a.data()));
  CHECK(delay_noise(w.y.data(), d_s.data(), w.y.size(), b.data()));
  for (std::size_t i = 0; i < a.size(); ++i) CHECK_NEAR(a[i], b[i], 1e-9 * a[i]);
}

TEST(nothing_to_fit_leaves_sigma_alone) {
  std::vector<double> sigma(7, -1.0), y(7, 0.0), d(7, 30.0);
  for (int i = 0; i < 7; ++i) y[i] = 0.1 * (i % 3);
  CHECK(!delay_noise(y.data(), d.data(), 7, sigma.data()));   // fewer than 8
  std::vector<double> y8(20), d8(20, 30.0), s8(20, -1.0);
  for (int i = 0; i < 20; ++i) y8[i] = 0.1 * (i % 3);
  CHECK(!delay_noise(y8.data(), d8.data(), 20, s8.data()));  // equal delays
  for (int i = 0; i < 20; ++i) d8[i] = 30.0 + i;
  std::vector<double> flat(20, 1.0);
  CHECK(!delay_noise(flat.data(), d8.data(), 20, s8.data()));  // no scatter
  for (double s : s8) CHECK_NEAR(s, -1.0, 0.0);
}

TEST_MAIN()
