// One producer pushes rows (i, 2i, -i) as fast as it can while a consumer
// snapshots: every snapshot must be consecutive rows with intact fields.
// Run under ThreadSanitizer and AddressSanitizer in CI.
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "buffers/ring_buffer.h"
#include "check.h"

using chronotick::RowRing;

TEST(concurrent_snapshots_are_consistent) {
  RowRing r(256, 3);
  const long total = 2000000;
  std::atomic<bool> done{false};
  std::thread producer([&] {
    double batch[3 * 7];
    long i = 0;
    while (i < total) {
      if (i % 3 == 0) {  // mix single and batched pushes
        const double x = static_cast<double>(i);
        double row[3] = {x, 2.0 * x, -x};
        r.push(row);
        ++i;
      } else {
        for (int k = 0; k < 7; ++k, ++i) {
          const double x = static_cast<double>(i);
          batch[3 * k] = x;
          batch[3 * k + 1] = 2.0 * x;
          batch[3 * k + 2] = -x;
        }
        r.push(batch, 7);
      }
    }
    done = true;
  });
  std::vector<double> out;
  long snapshots = 0, torn = 0, gaps = 0, rows = 0;
  while (!done) {
    std::size_t n = r.snapshot(100, out);
    ++snapshots;
    rows += static_cast<long>(n);
    for (std::size_t k = 0; k < n; ++k) {
      double t = out[3 * k];
      if (out[3 * k + 1] != 2.0 * t || out[3 * k + 2] != -t) ++torn;
      if (k && t != out[3 * (k - 1)] + 1.0) ++gaps;
    }
  }
  producer.join();
  std::printf("  %ld snapshots, %ld rows read, %ld torn, %ld gaps\n", snapshots, rows, torn, gaps);
  CHECK(snapshots > 10);
  CHECK(torn == 0);
  CHECK(gaps == 0);
  CHECK(r.total_pushed() >= static_cast<uint64_t>(total));
}

TEST_MAIN()
