// Publishing a clock model into a SharedClock (heap or shared memory).
//
// publish() stores the model of chronotick.h:
//   best(t) = t + offset_ns + floor(freq * (t - ref_local_ns)),
//   half-width(t) = bound_ns + growth_ns_per_s * (t - ref_local_ns) / 1e9,
// and the slew start that keeps time_ns monotonic: at the publish instant
// `now` (read inside the seqlock's odd window), slew_v0 = max(previous model's
// time_ns(now), best(now)), slew_t0 = now. A single writer per SharedClock.
#pragma once
#include <cmath>
#include <cstdint>

#include "clock/seqlock.h"

namespace chronotick::clock {

// Times and offsets a model may hold (ns): |offset_ns|, bound_ns and local
// times up to 2^62 (146 years), so t + offset + freq x (t - ref) +- the bound
// stays within int64 for any sane pairing (computable_at checks the rest).
inline constexpr int64_t kMaxTimeNs = int64_t{1} << 62;

// Whether ct_compute(d, t) stays within int64: best(t) +- the half-width and
// the slew line at t, estimated in double (error ~1e3 ns, far inside the margin).
inline bool computable_at(const ct_clock_data& d, int64_t t) {
  if (d.status == CT_UNKNOWN && d.heartbeat_real_ns == 0) return true;  // never published: t itself
  constexpr double kLimit = 9.2e18;  // below 2^63 = 9.223e18
  const double td = static_cast<double>(t);
  const double elapsed = td - static_cast<double>(d.ref_local_ns);
  const double best = td + static_cast<double>(d.offset_ns) + d.freq * elapsed;
  const double slew = static_cast<double>(d.slew_v0_ns) +
                      (td - static_cast<double>(d.slew_t0_ns)) * (1.0 + d.freq - d.slew_rate);
  double half = 0.0;
  if (d.status != CT_UNKNOWN) {
    half = static_cast<double>(d.bound_ns) + (elapsed > 0 ? d.growth_ns_per_s * elapsed * 1e-9 : 0.0);
    if (!(half < 4.0e18)) half = 4.0e18;  // ct_compute's saturation
  }
  return std::fabs(best) + half < kLimit && std::fabs(slew) < kLimit;
}

struct Model {
  int64_t ref_local_ns = 0;      // local CLOCK_REALTIME of the reference point
  int64_t offset_ns = 0;         // reference - local at ref_local_ns
  double freq = 0.0;             // d(offset)/d(local), dimensionless
  int64_t bound_ns = 0;          // bound half-width at ref_local_ns
  double growth_ns_per_s = 0.0;  // bound growth rate
  int status = CT_SYNCHRONIZED;
  double confidence = 0.95;
};

class ClockWriter {
 public:
  // stale_after_ns: readers report CT_UNKNOWN once the last publish/heartbeat
  // is older than this. max_slew_rate: how fast a backward correction is
  // absorbed (dimensionless, 5e-4 = 0.5 ms per s), in (0, 0.5].
  ClockWriter(SharedClock* shared, int64_t stale_after_ns, double max_slew_rate);

  // Validates (std::invalid_argument naming the field) and publishes; returns what was written.
  ct_clock_data publish(const Model& m);
  // The same at an explicit local time `now` (CLOCK_REALTIME ns) instead of
  // the clock read inside the write window: for replays on a simulated time
  // base. A live writer uses publish().
  ct_clock_data publish_at(const Model& m, int64_t now);
  // Refreshes the heartbeat, keeping the model.
  void heartbeat();
  // Marks the clock CT_UNKNOWN (e.g. when the writer shuts down).
  void retire();

  const ct_clock_data& last() const { return last_; }
  uint64_t publishes() const { return publishes_; }

 private:
  void write(ct_clock_data& d, uint64_t q);

  SharedClock* shared_;
  int64_t stale_after_ns_;
  double max_slew_rate_;
  ct_clock_data last_{};
  uint64_t publishes_ = 0;
};

// Fills the fixed header (magic, version, size, pid) of a zeroed SharedClock.
void init_header(SharedClock& s, int32_t writer_pid);

}  // namespace chronotick::clock
