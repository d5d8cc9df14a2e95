// RowRing: order, wrap-around, overwrite counting, batches (row-major,
// field-wise, strided, missing fields), clear, and a random sequence of
// operations against a std::deque reference.
#include <cmath>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

#include "buffers/ring_buffer.h"
#include "check.h"

using chronotick::Field;
using chronotick::OutField;
using chronotick::RowRing;

// The newest n records, row-major.
static std::vector<double> snap(const RowRing& r, std::size_t n) {
  std::vector<double> rows(n * r.width());
  std::vector<OutField> out(r.width());
  for (std::size_t c = 0; c < r.width(); ++c) out[c] = {rows.data() + c, static_cast<std::ptrdiff_t>(r.width())};
  rows.resize(r.snapshot(n, out.data()) * r.width());
  return rows;
}

TEST(push_and_snapshot_in_order) {
  RowRing r(4, 2);
  for (int i = 0; i < 3; ++i) {
    double row[2] = {double(i), 10.0 * i};
    r.push(row);
  }
  CHECK(snap(r, 10) == std::vector<double>({0, 0, 1, 10, 2, 20}));
  CHECK(r.size() == 3 && r.overwritten() == 0 && r.total_pushed() == 3);
  CHECK(snap(r, 2) == std::vector<double>({1, 10, 2, 20}));
  CHECK(snap(r, 0).empty());
}

TEST(wraps_and_counts_overwritten) {
  RowRing r(4, 1);
  for (int i = 0; i < 10; ++i) {
    double v = i;
    r.push(&v);
  }
  CHECK(snap(r, 100) == std::vector<double>({6, 7, 8, 9}));
  CHECK(snap(r, 3) == std::vector<double>({7, 8, 9}));
  CHECK(r.overwritten() == 6 && r.total_pushed() == 10 && r.size() == 4);
}

TEST(batch_larger_than_capacity_keeps_the_newest) {
  RowRing r(5, 2);
  std::vector<double> rows;
  for (int i = 0; i < 12; ++i) {
    rows.push_back(i);
    rows.push_back(-i);
  }
  double first[2] = {100, 100};
  r.push(first);  // so the batch starts mid-ring
  r.push_rows(rows.data(), 12);
  CHECK(snap(r, 5) == std::vector<double>({7, -7, 8, -8, 9, -9, 10, -10, 11, -11}));
  CHECK(r.overwritten() == 8 && r.total_pushed() == 13 && r.size() == 5);
}

TEST(batch_wraps_around_the_end) {
  RowRing r(5, 1);
  std::vector<double> a = {0, 1, 2}, b = {3, 4, 5, 6};
  r.push_rows(a.data(), a.size());
  r.push_rows(b.data(), b.size());  // slots 3, 4, 0, 1
  CHECK(snap(r, 5) == std::vector<double>({2, 3, 4, 5, 6}));
  CHECK(r.overwritten() == 2);
}

TEST(fields_strided_and_missing) {
  RowRing r(8, 3);
  const double t[3] = {1, 2, 3};
  const double vals[6] = {10, 11, 20, 21, 30, 31};  // [3, 2] row-major: take column 1 with stride 2
  const Field f[3] = {{t, 1}, {vals + 1, 2}, {nullptr, 1}};
  r.push_fields(f, 3);
  const auto s = snap(r, 8);
  CHECK(s.size() == 9);
  CHECK(s[0] == 1 && s[1] == 11 && std::isnan(s[2]));
  CHECK(s[6] == 3 && s[7] == 31 && std::isnan(s[8]));
  r.push_fields(f, 0);  // an empty batch changes nothing
  CHECK(r.total_pushed() == 3);
}

TEST(clear_forgets_rows_but_keeps_counting) {
  RowRing r(3, 1);
  for (int i = 0; i < 5; ++i) {
    double v = i;
    r.push(&v);
  }
  r.clear();
  CHECK(r.size() == 0 && snap(r, 3).empty());
  CHECK(r.overwritten() == 2 && r.total_pushed() == 5);
  double v = 42;
  r.push(&v);
  CHECK(snap(r, 3) == std::vector<double>({42}));
  for (int i = 0; i < 4; ++i) r.push(&v);  // 5 since the clear: 2 more overwritten
  CHECK(r.overwritten() == 4 && r.size() == 3);
}

TEST(bad_construction_throws) {
  bool threw = false;
  try { RowRing r(0, 1); } catch (const std::invalid_argument&) { threw = true; }
  CHECK(threw);
  threw = false;
  try { RowRing r(1, 0); } catch (const std::invalid_argument&) { threw = true; }
  CHECK(threw);
}

TEST(random_operations_match_a_deque) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t cap = 1 + rng() % 9;
    RowRing r(cap, 2);
    std::deque<double> ref;
    uint64_t pushed = 0, lost = 0;
    for (int op = 0; op < 60; ++op) {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 4) {
        double row[2] = {double(pushed), 2.0 * double(pushed)};
        r.push(row);
        ref.push_back(double(pushed++));
      } else if (kind < 7) {
        const std::size_t n = rng() % 25;
        std::vector<double> rows;
        for (std::size_t i = 0; i < n; ++i) {
          rows.push_back(double(pushed));
          rows.push_back(2.0 * double(pushed));
          ref.push_back(double(pushed++));
        }
        r.push_rows(rows.data(), n);
      } else if (kind < 9) {
        const std::size_t n = rng() % 15;
        const auto s = snap(r, n);
        std::vector<double> want;
        for (std::size_t i = ref.size() - std::min(n, ref.size()); i < ref.size(); ++i) {
          want.push_back(ref[i]);
          want.push_back(2.0 * ref[i]);
        }
        CHECK(s == want);
      } else {
        r.clear();
        ref.clear();
      }
      while (ref.size() > cap) {
        ref.pop_front();
        ++lost;
      }
      CHECK(r.size() == ref.size() && r.total_pushed() == pushed && r.overwritten() == lost);
    }
  }
}

TEST_MAIN()
