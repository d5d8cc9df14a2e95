// The clock seqlock under concurrency: one writer thread publishing as fast
// as it can while reader threads (C++ reader and the C header's ct_read)
// check that every read is consistent (checksum word) and that time_ns never
// goes backwards. Run under -fsanitize=thread in CI.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "check.h"
#include "clock/clock_state.h"

using namespace chronotick::clock;

namespace {

struct Counts {
  uint64_t reads = 0, torn = 0, backwards = 0, retries = 0;
};

// Redundant model: offset, bound and growth derived from one counter k, so a
// mix of two publishes shows up even if the checksum were to collide.
bool consistent(const ct_clock_data& d) {
  uint64_t w[kWords];
  to_words(d, w);
  if (ct_checksum(w) != d.check) return false;
  if (d.heartbeat_real_ns == 0) return true;  // not yet published
  int64_t k = d.bound_ns - 1000;
  return d.offset_ns == ((k % 7) - 3) * 100000 && d.growth_ns_per_s == static_cast<double>(k % 1000);
}

void writer_loop(ClockWriter& w, std::atomic<bool>& stop, std::atomic<uint64_t>& published) {
  int64_t k = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    Model m;
    m.ref_local_ns = realtime_ns();
    m.offset_ns = ((k % 7) - 3) * 100000;  // jumps back and forth by up to 0.6 ms
    m.freq = static_cast<double>((k % 5) - 2) * 1e-6;
    m.bound_ns = 1000 + k;
    m.growth_ns_per_s = static_cast<double>(k % 1000);
    m.status = (k % 3 == 0) ? CT_HOLDOVER : CT_SYNCHRONIZED;
    w.publish(m);
    ++k;
    published.store(static_cast<uint64_t>(k), std::memory_order_relaxed);
  }
}

}  // namespace

TEST(seqlock_no_torn_reads_and_monotonic_time) {
  ClockState state(10'000'000'000, 5e-4);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> published{0};
  const int n_readers = 3;
  const uint64_t reads_each = 200000;
  std::vector<Counts> counts(n_readers);
  std::thread writer(writer_loop, std::ref(state.writer()), std::ref(stop), std::ref(published));
  std::vector<std::thread> readers;
  for (int r = 0; r < n_readers; ++r) {
    readers.emplace_back([&, r] {
      Counts& c = counts[static_cast<size_t>(r)];
      int64_t last_time = INT64_MIN;
      const auto* cshm = reinterpret_cast<const ct_clock_shm*>(&state.shared());
      for (uint64_t i = 0; i < reads_each; ++i) {
        ct_clock_data d;
        int64_t t;
        if (r == 0) {  // the C header's reader on the same memory
          ct_read(cshm, &d, &t);
        } else {
          unsigned retries;
          d = state.snapshot(t, retries);
          c.retries += retries;
        }
        ++c.reads;
        if (!consistent(d)) ++c.torn;
        ct_time_bound b = ct_compute(&d, t, 1);
        if (b.time_ns < last_time) ++c.backwards;
        last_time = b.time_ns;
        if (b.status != CT_UNKNOWN && !(b.earliest_ns <= b.time_ns && b.time_ns <= b.latest_ns)) ++c.torn;
      }
    });
  }
  for (auto& t : readers) t.join();
  stop = true;
  writer.join();
  uint64_t reads = 0, torn = 0, backwards = 0, retries = 0;
  for (auto& c : counts) { reads += c.reads; torn += c.torn; backwards += c.backwards; retries += c.retries; }
  std::printf("  %llu reads, %llu publishes, %llu retries, %llu torn, %llu backwards\n",
              static_cast<unsigned long long>(reads), static_cast<unsigned long long>(published.load()),
              static_cast<unsigned long long>(retries), static_cast<unsigned long long>(torn),
              static_cast<unsigned long long>(backwards));
  CHECK(reads == n_readers * reads_each);
  CHECK(published.load() > 100);
  CHECK(torn == 0);
  CHECK(backwards == 0);
}

TEST(seqlock_now_is_consistent_under_publishing) {
  ClockState state(10'000'000'000, 5e-4);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> published{0};
  std::thread writer(writer_loop, std::ref(state.writer()), std::ref(stop), std::ref(published));
  while (published.load() == 0) std::this_thread::yield();
  int64_t last = INT64_MIN;
  int bad = 0;
  for (int i = 0; i < 100000; ++i) {
    ct_time_bound b = state.now();
    if (b.time_ns < last || b.status == CT_UNKNOWN || b.earliest_ns > b.time_ns || b.latest_ns < b.time_ns) ++bad;
    last = b.time_ns;
  }
  stop = true;
  writer.join();
  CHECK(bad == 0);
}

TEST_MAIN()
