// Publishing a clock model into a SharedClock (heap or shared memory).
//
// publish() stores the model of chronotick.h:
//   best(t) = t + offset_ns + floor(freq * (t - ref_local_ns)),
//   half-width(t) = bound_ns + growth_ns_per_s * (t - ref_local_ns) / 1e9,
// and the slew start that keeps time_ns monotonic: at the publish instant
// `now` (read inside the seqlock's odd window), slew_v0 = max(previous model's
// time_ns(now), best(now)), slew_t0 = now. The previous model is this writer's
// last, or one adopted from an earlier writer of the same file (adopt()).
// A single writer per SharedClock.
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
    if (!(half < 4611686018427387904.0)) half = 4611686018427387904.0;  // ct_compute's saturation (2^62)
  }
  return std::fabs(best) + half < kLimit && std::fabs(slew) < kLimit;
}

// An earlier writer's model may be adopted by a new writer of the file when it
// was published on this boot no more than kAdoptMaxAgeNs ago (CLOCK_MONOTONIC)
// and the local clock has not been stepped since: CLOCK_REALTIME and
// CLOCK_MONOTONIC advanced alike since its heartbeat, within kAdoptStepNs
// (both are slewed alike; only a step, a leap second or a suspend parts them).
inline constexpr int64_t kAdoptMaxAgeNs = int64_t{3600} * 1000000000;  // an hour
inline constexpr int64_t kAdoptStepNs = 1000000;                       // 1 ms

inline bool adoptable(const ct_clock_data& d, int64_t now_real, int64_t now_mono) {
  if (d.ref_local_ns <= 0 || d.ref_local_ns > kMaxTimeNs || d.heartbeat_real_ns <= 0 || d.heartbeat_mono_ns <= 0)
    return false;  // never published
  if (static_cast<uint64_t>(d.status) > CT_HOLDOVER || !std::isfinite(d.freq) || std::fabs(d.freq) > 0.01 ||
      !(d.slew_rate > 0.0 && d.slew_rate <= 0.5) || d.bound_ns < 0)
    return false;  // not a model this writer could have written
  const int64_t mono_age = now_mono - d.heartbeat_mono_ns;
  if (mono_age < 0 || mono_age > kAdoptMaxAgeNs) return false;  // another boot, or too old
  const int64_t step = (now_real - d.heartbeat_real_ns) - mono_age;
  if (step > kAdoptStepNs || step < -kAdoptStepNs) return false;  // the local clock was stepped
  return computable_at(d, now_real);
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
  // Refreshes the heartbeat, keeping the model (not an adopted model before the first
  // publish: its heartbeat says how old it is).
  void heartbeat();
  // Marks the clock CT_UNKNOWN (e.g. when the writer shuts down); the model
  // and its heartbeat stay, so readers keep its time_ns.
  void retire();
  // Takes over `d`, the model an earlier writer of this file left (see
  // adoptable()): written at once marked CT_UNKNOWN, heartbeat kept, so readers
  // read time_ns along it instead of the raw local clock, and the first
  // publish slews from it as from a model of this writer's own -- time_ns does
  // not go back across a restart of the publisher. Before any publish only.
  void adopt(const ct_clock_data& d);
  bool adopted() const { return adopted_; }
  // Also writes everything from now on, marked CT_UNKNOWN, into `old`: the
  // file this writer's replaced, which readers that have not followed yet
  // still map. They then read the same time_ns as the new file's readers (a
  // first model behind the adopted one is slewed in; the old model, read on,
  // would run ahead of it and a reader following late would go back).
  void mirror_to(SharedClock* old) { mirror_ = old; }

  const ct_clock_data& last() const { return last_; }
  uint64_t publishes() const { return publishes_; }

 private:
  void write(ct_clock_data& d, uint64_t q);

  SharedClock* shared_;
  int64_t stale_after_ns_;
  double max_slew_rate_;
  ct_clock_data last_{};
  bool adopted_ = false;
  // last_ is a model readers may have read: published or adopted
  bool has_last() const { return publishes_ > 0 || adopted_; }
  uint64_t publishes_ = 0;
  SharedClock* mirror_ = nullptr;
};

// Fills the fixed header (magic, version, size, pid) of a zeroed SharedClock.
void init_header(SharedClock& s, int32_t writer_pid);

}  // namespace chronotick::clock
