// One producer pushes records (i, 2i, -i) as fast as it can (single records,
// small batches and batches larger than the ring) while the consumer takes
// snapshots of varying length: every snapshot must be consecutive records,
// none torn (the redundant fields agree), never older than the previous
// snapshot. Run under ThreadSanitizer and AddressSanitizer in CI. The
// producer keeps going (yielding between pushes once its quota is done)
// until the consumer has read enough rows, so the test checks the same thing
// however the two threads are scheduled; a snapshot overrun by the producer
// may come back short or empty, by design.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "buffers/ring_buffer.h"
#include "check.h"

using chronotick::OutField;
using chronotick::RowRing;

static void hammer(std::size_t capacity, long total) {
  RowRing r(capacity, 3);
  std::atomic<bool> done{false};
  std::atomic<long> taken{0};      // snapshots the consumer has taken so far
  std::atomic<long> rows_read{0};  // rows the consumer has read so far
  constexpr long kMinSnapshots = 200, kMinRows = 1000;
  std::thread producer([&] {
    std::vector<double> batch;
    long i = 0;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (long round = 0;; ++round) {
      if (i >= total) {
        if ((taken.load(std::memory_order_relaxed) >= kMinSnapshots &&
             rows_read.load(std::memory_order_relaxed) >= kMinRows) ||
            std::chrono::steady_clock::now() > give_up)
          break;
        std::this_thread::yield();   // the quota is done: let a starved consumer run
      }
      long n = round % 3 == 0 ? 1 : (round % 50 == 1 ? static_cast<long>(capacity) + 5 : 7);
      if (n == 1) {
        const double x = static_cast<double>(i++);
        const double row[3] = {x, 2.0 * x, -x};
        r.push(row);
        continue;
      }
      batch.clear();
      for (long k = 0; k < n; ++k, ++i) {
        const double x = static_cast<double>(i);
        batch.insert(batch.end(), {x, 2.0 * x, -x});
      }
      r.push_rows(batch.data(), static_cast<std::size_t>(n));
    }
    done = true;
  });
  std::vector<double> t(capacity + 10), y(capacity + 10), u(capacity + 10);
  const OutField out[3] = {{t.data(), 1}, {y.data(), 1}, {u.data(), 1}};
  long snapshots = 0, torn = 0, gaps = 0, backwards = 0, rows = 0, short_reads = 0;
  double newest = -1;
  for (std::size_t want = 1; !done; want = want % (capacity + 10) + 17) {
    const std::size_t avail = r.size();
    const std::size_t n = r.snapshot(want, out);
    ++snapshots;
    taken.store(snapshots, std::memory_order_relaxed);
    rows += static_cast<long>(n);
    rows_read.store(rows, std::memory_order_relaxed);
    if (n < std::min(want, avail)) ++short_reads;  // allowed only when the producer overran the copy
    for (std::size_t k = 0; k < n; ++k) {
      if (y[k] != 2.0 * t[k] || u[k] != -t[k]) ++torn;
      if (k && t[k] != t[k - 1] + 1.0) ++gaps;
    }
    if (n) {
      if (t[n - 1] < newest) ++backwards;
      newest = t[n - 1];
    }
  }
  producer.join();
  std::printf("  capacity %zu: %ld snapshots, %ld rows read, %ld short, %ld torn, %ld gaps, %ld backwards\n",
              capacity, snapshots, rows, short_reads, torn, gaps, backwards);
  CHECK(snapshots >= kMinSnapshots);
  CHECK(rows >= kMinRows);
  CHECK(torn == 0);
  CHECK(gaps == 0);
  CHECK(backwards == 0);
  CHECK(r.total_pushed() >= static_cast<uint64_t>(total));
  CHECK(r.overwritten() == r.total_pushed() - r.size());
}

TEST(small_ring_under_constant_overrun) { hammer(64, 2000000); }
TEST(large_ring) { hammer(4096, 2000000); }

TEST_MAIN()
