// The clock segment in heap memory: the same seqlock and model as the shared
// file, for a process's own hot read path (one writer thread, any readers).
#pragma once
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "clock/clock_writer.h"

namespace chronotick::clock {

class ClockState {
 public:
  ClockState(int64_t stale_after_ns, double max_slew_rate) : shared_(new SharedClock()) {
    init_header(*shared_, static_cast<int32_t>(::getpid()));
    writer_ = std::make_unique<ClockWriter>(shared_.get(), stale_after_ns, max_slew_rate);
  }
  ClockWriter& writer() { return *writer_; }
  ct_time_bound now() const {
    uint64_t w[kWords];
    int64_t t;
    read(*shared_, w, t);
    ct_clock_data d = from_words(w);
    return ct_compute(&d, t, 1);
  }
  // The bound the published model gives at local time t (ns), e.g. for replays.
  // |t| must be at most 2^62 (std::invalid_argument otherwise, or where the
  // model's time at t would not fit in int64).
  ct_time_bound now_at(int64_t t) const {
    if (t < -kMaxTimeNs || t > kMaxTimeNs)
      throw std::invalid_argument("local_ns must be within +-2**62, got " + std::to_string(t));
    uint64_t w[kWords];
    int64_t unused;
    read(*shared_, w, unused);
    ct_clock_data d = from_words(w);
    if (!computable_at(d, t))
      throw std::invalid_argument("local_ns = " + std::to_string(t) + ": the published model's time there is beyond int64 ns");
    return ct_compute(&d, t, 1);
  }
  ct_clock_data snapshot(int64_t& local_ns, unsigned& retries) const {
    uint64_t w[kWords];
    retries = read(*shared_, w, local_ns);
    return from_words(w);
  }
  const SharedClock& shared() const { return *shared_; }

 private:
  std::unique_ptr<SharedClock> shared_;
  std::unique_ptr<ClockWriter> writer_;
};

}  // namespace chronotick::clock
