// pow2_scale: rows of a Chronos-Bolt window outside float32's safe range for the
// graph's own scaling are brought into [1, 2) by a power of two, exactly, and the
// output scaled back; rows inside the range, flat, all-missing or infinite ones left.
#include <cmath>
#include <limits>
#include <vector>

#include "check.h"
#include "windowing/pow2_scale.h"

using namespace chronotick;

static const float kNaN = std::numeric_limits<float>::quiet_NaN();
static const float kInf = std::numeric_limits<float>::infinity();

TEST(rows_outside_the_range_are_scaled_by_a_power_of_two_and_back) {
  const std::size_t L = 4, per_row = 3;
  std::vector<float> x = {
      1e-25f, -3e-25f, kNaN, 2e-25f,      // tiny: scaled up
      1e-3f, -2e-3f, 0.0f, 5e-4f,         // ordinary: left
      3e20f, -1e20f, 2e20f, kNaN,         // huge: scaled down
      0.0f, 0.0f, kNaN, 0.0f,             // flat at 0: left (m = 0)
      kNaN, kNaN, kNaN, kNaN,             // nothing observed: left
      1e-30f, kInf, 0.0f, 0.0f,           // an infinite cell: left (the run says non-finite)
  };
  const std::vector<float> before = x;
  std::vector<int> e(6, 99);
  CHECK(pow2_rescale_rows(x.data(), 6, L, e.data()) == 2);
  CHECK(e[0] > 0 && e[1] == 0 && e[2] < 0 && e[3] == 0 && e[4] == 0 && e[5] == 0);
  float m0 = 0, m2 = 0;
  for (std::size_t i = 0; i < L; ++i) {
    if (!std::isnan(x[i])) m0 = std::fmax(m0, std::fabs(x[i]));
    if (!std::isnan(x[2 * L + i])) m2 = std::fmax(m2, std::fabs(x[2 * L + i]));
  }
  CHECK(m0 >= 1.0f && m0 < 2.0f);
  CHECK(m2 >= 1.0f && m2 < 2.0f);
  for (std::size_t i = L; i < 2 * L; ++i) CHECK(x[i] == before[i]);
  // the model's output, in the rescaled units, is scaled back exactly; the window restored
  std::vector<float> out(6 * per_row, 1.5f);
  pow2_unscale_rows(x.data(), 6, L, out.data(), per_row, e.data());
  for (std::size_t i = 0; i < x.size(); ++i) CHECK((std::isnan(x[i]) && std::isnan(before[i])) || x[i] == before[i]);
  CHECK(out[0] == std::ldexp(1.5f, -e[0]));
  CHECK(out[per_row] == 1.5f);
  CHECK(out[2 * per_row] == std::ldexp(1.5f, -e[2]));
}

TEST(the_edges_of_the_range) {
  std::vector<float> x = {std::ldexp(1.0f, -64), std::ldexp(1.0f, -65), std::ldexp(1.9f, 55), std::ldexp(1.0f, 56)};
  std::vector<int> e(4, 99);
  CHECK(pow2_rescale_rows(x.data(), 4, 1, e.data()) == 2);
  CHECK(e[0] == 0 && e[1] == 65 && e[2] == 0 && e[3] == -56);
  CHECK(x[1] == 1.0f && x[3] == 1.0f);
}

TEST_MAIN()
