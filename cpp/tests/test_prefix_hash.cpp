// prefix_hash: the definition (Horner per prefix, over measurement_hash) against the one-pass
// prefix sums; keys unchanged when the oldest measurements drop; changed by
// any measurement inside the span, not by one before it; bad ends refused.
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.h"
#include "windowing/prefix_hash.h"

using chronotick::prefix_hashes;
using chronotick::prefix_hashes_spans;

namespace {

// The definition: sum_{j=i-span}^{i-1} x_j b^(i-1-j) by Horner's rule.
std::uint64_t direct(const std::vector<double>& t, const std::vector<double>& y, std::size_t i, std::size_t span) {
  std::uint64_t h = 0;
  for (std::size_t j = i > span ? i - span : 0; j < i; ++j)
    h = h * 0x9E3779B97F4A7C15ULL + chronotick::measurement_hash(t[j], y[j]);
  return h;
}

std::uint64_t one(const std::vector<double>& t, const std::vector<double>& y, std::int64_t end, std::size_t span) {
  std::uint64_t out = 0;
  prefix_hashes(t.data(), y.data(), t.size(), &end, 1, span, &out);
  return out;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(one_pass_equals_the_definition_and_keys_follow_the_span) {
  std::vector<double> t, y;
  for (int i = 0; i < 600; ++i) {
    t.push_back(1.7e9 + 64.0 * i);
    y.push_back(1e-3 * ((i * 7919) % 101 - 50));
  }
  const std::size_t span = 321;
  std::vector<std::int64_t> ends = {1, 2, 100, 321, 322, 400, 599, 600};
  std::vector<std::uint64_t> got(ends.size());
  prefix_hashes(t.data(), y.data(), t.size(), ends.data(), ends.size(), span, got.data());
  for (std::size_t k = 0; k < ends.size(); ++k)
    CHECK(got[k] == direct(t, y, static_cast<std::size_t>(ends[k]), span));
  // the same prefixes after the 50 oldest measurements dropped
  std::vector<double> t2(t.begin() + 50, t.end()), y2(y.begin() + 50, y.end());
  CHECK(one(t2, y2, 550, span) == got[7]);
  CHECK(one(t2, y2, 350, span) == got[5]);
  // a change inside the span of the prefix ending at 600 moves its key; one before it does not
  std::vector<double> y3 = y;
  y3[300] += 1e-15;
  CHECK(one(t, y3, 600, span) != got[7]);
  CHECK(one(t, y3, 600, span) == direct(t, y3, 600, span));
  std::vector<double> y4 = y;
  y4[200] += 1.0;                       // 600 - 321 = 279 > 200
  CHECK(one(t, y4, 600, span) == got[7]);
  std::vector<double> t5 = t;
  t5[599] += 1e-6;                      // the time of a measurement counts as well
  CHECK(one(t5, y, 600, span) != got[7]);
}

TEST(bad_ends_and_span_are_refused) {
  std::vector<double> t = {0.0, 1.0, 2.0}, y = {0.0, 0.0, 0.0};
  std::uint64_t o;
  std::int64_t e0 = 0, e4 = 4, e2 = 2;
  CHECK(error_of([&] { prefix_hashes(t.data(), y.data(), 3, &e0, 1, 5, &o); }) == "ends[0] = 0 is not in [1, 3]");
  CHECK(error_of([&] { prefix_hashes(t.data(), y.data(), 3, &e4, 1, 5, &o); }) == "ends[0] = 4 is not in [1, 3]");
  CHECK(error_of([&] { prefix_hashes(t.data(), y.data(), 3, &e2, 1, 0, &o); }) == "span must be >= 1");
}

TEST(a_span_per_end_is_the_scalar_span_where_equal) {
  std::vector<double> t = {0, 1, 2, 3, 4, 5}, y = {5, 4, 3, 2, 1, 0};
  std::vector<std::int64_t> ends = {2, 4, 6}, spans = {2, 3, 1};
  std::vector<std::uint64_t> per(3), one(1);
  prefix_hashes_spans(t.data(), y.data(), 6, ends.data(), 3, spans.data(), per.data());
  for (std::size_t k = 0; k < 3; ++k) {
    prefix_hashes(t.data(), y.data(), 6, &ends[k], 1, static_cast<std::size_t>(spans[k]), one.data());
    CHECK(per[k] == one[0]);
  }
  CHECK(per[1] != per[2]);
  std::int64_t bad = 0;
  CHECK(error_of([&] { prefix_hashes_spans(t.data(), y.data(), 6, ends.data(), 1, &bad, per.data()); }) ==
        "spans[0] = 0 is not >= 1");
}

TEST(a_measurement_at_zero_zero_still_counts) {
  // x of (0, 0) was 0 (mix64(0) = 0): a series starting at t = 0 with offsets relative to its
  // first measurement had the keys of the same series less that point
  std::vector<double> t = {0, 1, 2, 3}, y = {0, 1e-6, 3e-6, 2e-6};
  std::vector<double> t1(t.begin() + 1, t.end()), y1(y.begin() + 1, y.end());
  CHECK(chronotick::measurement_hash(0.0, 0.0) != 0);
  CHECK(one(t, y, 4, 10) != one(t1, y1, 3, 10));
}

TEST_MAIN()
