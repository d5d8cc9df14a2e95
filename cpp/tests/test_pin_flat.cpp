// pin_flat: rows whose observed cells are all equal forecast as that constant;
// any spread, missing cells and all-missing rows left to the model.
#include <cmath>
#include <limits>
#include <vector>

#include "check.h"
#include "windowing/pin_flat.h"

using namespace chronotick;

static const float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(flat_rows_are_pinned_others_left_alone) {
  const std::size_t L = 6, per_row = 4;
  std::vector<float> x = {
      0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f,           // flat
      kNaN, 0.25f, kNaN, 0.25f, kNaN, 0.25f,       // flat where observed
      0.0f, 0.0f, 0.0f, 0.0f, 1e-12f, 0.0f,         // a tiny spread: the model's own
      kNaN, kNaN, kNaN, kNaN, kNaN, kNaN,           // nothing observed
  };
  std::vector<float> out(4 * per_row, 7.0f);
  CHECK(pin_flat_rows(x.data(), 4, L, out.data(), per_row) == 2);
  for (std::size_t k = 0; k < per_row; ++k) {
    CHECK(out[k] == 0.5f);
    CHECK(out[per_row + k] == 0.25f);
    CHECK(out[2 * per_row + k] == 7.0f);
    CHECK(out[3 * per_row + k] == 7.0f);
  }
}

TEST(the_value_is_the_newest_observed_cell) {
  // +0 and -0 compare equal: the row is flat, pinned to the newest observed cell's value
  std::vector<float> x = {-0.0f, 0.0f, kNaN};
  std::vector<float> out(2, 1.0f);
  CHECK(pin_flat_rows(x.data(), 1, 3, out.data(), 2) == 1);
  CHECK(out[0] == 0.0f && !std::signbit(out[0]) && !std::signbit(out[1]));
}

TEST(no_rows_no_writes) {
  std::vector<float> out(3, 2.0f);
  CHECK(pin_flat_rows(nullptr, 0, 5, out.data(), 3) == 0);
  CHECK(out[0] == 2.0f);
}

TEST_MAIN()
