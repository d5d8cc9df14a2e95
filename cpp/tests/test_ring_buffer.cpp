// RowRing: order, wrap-around, overwrite counting, batches, clear.
#include <vector>

#include "buffers/ring_buffer.h"
#include "check.h"

using chronotick::RowRing;

TEST(push_and_snapshot_in_order) {
  RowRing r(4, 2);
  for (int i = 0; i < 3; ++i) {
    double row[2] = {double(i), 10.0 * i};
    r.push(row);
  }
  std::vector<double> out;
  CHECK(r.snapshot(10, out) == 3);
  CHECK(out.size() == 6 && out[0] == 0 && out[1] == 0 && out[4] == 2 && out[5] == 20);
  CHECK(r.size() == 3 && r.overwritten() == 0 && r.total_pushed() == 3);
  CHECK(r.snapshot(2, out) == 2 && out[0] == 1);
}

TEST(wraps_and_counts_overwritten) {
  RowRing r(4, 1);
  for (int i = 0; i < 10; ++i) {
    double v = i;
    r.push(&v);
  }
  std::vector<double> out;
  CHECK(r.snapshot(100, out) == 4);
  CHECK(out == std::vector<double>({6, 7, 8, 9}));
  CHECK(r.overwritten() == 6 && r.total_pushed() == 10 && r.size() == 4);
}

TEST(batch_larger_than_capacity_keeps_the_newest) {
  RowRing r(5, 1);
  std::vector<double> rows;
  for (int i = 0; i < 12; ++i) rows.push_back(i);
  r.push(rows.data(), rows.size());
  std::vector<double> out;
  CHECK(r.snapshot(5, out) == 5);
  CHECK(out == std::vector<double>({7, 8, 9, 10, 11}));
  CHECK(r.overwritten() == 7 && r.total_pushed() == 12);
}

TEST(clear_forgets_rows_but_keeps_counting) {
  RowRing r(3, 1);
  for (int i = 0; i < 5; ++i) {
    double v = i;
    r.push(&v);
  }
  r.clear();
  std::vector<double> out;
  CHECK(r.size() == 0 && r.snapshot(3, out) == 0);
  CHECK(r.overwritten() == 2 && r.total_pushed() == 5);
  double v = 42;
  r.push(&v);
  CHECK(r.snapshot(3, out) == 1 && out[0] == 42);
}

TEST_MAIN()
