#include "clock/clock_writer.h"

#include <sys/stat.h>

#include <atomic>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace chronotick::clock {

void init_header(SharedClock& s, int32_t writer_pid) {
  std::memcpy(s.magic, "CTCK", 4);
  s.version_major = CT_VERSION_MAJOR;
  s.version_minor = CT_VERSION_MINOR;
  s.size = static_cast<uint32_t>(sizeof(ct_clock_shm));
  s.writer_pid = writer_pid;
  // the PID namespace writer_pid means something in (chronotick.h, ct_same_pid_namespace)
  struct stat ns;
  if (::stat("/proc/self/ns/pid", &ns) == 0) {
    s.reserved[0] = static_cast<uint64_t>(ns.st_ino);
    s.reserved[1] = static_cast<uint64_t>(ns.st_dev);
  } else {
    s.reserved[0] = s.reserved[1] = 0;   // not recorded: readers use kill(pid, 0) as before
  }
  s.seq.store(0, std::memory_order_relaxed);
  uint64_t zero[kWords] = {};
  for (auto& w : s.data) w.store(0, std::memory_order_relaxed);
  s.data[kWords - 1].store(ct_checksum(zero), std::memory_order_relaxed);  // "never published" is consistent too
  s.seq.store(0, std::memory_order_release);
}

ClockWriter::ClockWriter(SharedClock* shared, int64_t stale_after_ns, double max_slew_rate)
    : shared_(shared), stale_after_ns_(stale_after_ns), max_slew_rate_(max_slew_rate) {
  if (shared == nullptr) throw std::invalid_argument("shared: null SharedClock");
  if (stale_after_ns <= 0)
    throw std::invalid_argument("stale_after_ns must be > 0, got " + std::to_string(stale_after_ns));
  if (!(max_slew_rate > 0.0 && max_slew_rate <= 0.5))
    throw std::invalid_argument("max_slew_rate must be in (0, 0.5], got " + std::to_string(max_slew_rate));
}

static void check_model(const Model& m) {
  if (m.status != CT_UNKNOWN && m.status != CT_SYNCHRONIZED && m.status != CT_HOLDOVER)
    throw std::invalid_argument("status must be 0 (UNKNOWN), 1 (SYNCHRONIZED) or 2 (HOLDOVER), got " +
                                std::to_string(m.status));
  if (!std::isfinite(m.freq) || std::fabs(m.freq) > 0.01)
    throw std::invalid_argument("freq must be finite with |freq| <= 0.01 (10000 ppm), got " + std::to_string(m.freq));
  if (m.bound_ns < 0) throw std::invalid_argument("bound_ns must be >= 0, got " + std::to_string(m.bound_ns));
  if (!std::isfinite(m.growth_ns_per_s) || m.growth_ns_per_s < 0)
    throw std::invalid_argument("growth_ns_per_s must be finite and >= 0, got " + std::to_string(m.growth_ns_per_s));
  if (!(m.confidence > 0.0 && m.confidence <= 1.0))
    throw std::invalid_argument("confidence must be in (0, 1], got " + std::to_string(m.confidence));
  if (m.ref_local_ns <= 0 || m.ref_local_ns > kMaxTimeNs)
    throw std::invalid_argument("ref_local_ns must be in (0, 2**62], got " + std::to_string(m.ref_local_ns));
  // Beyond 2^62 the reader's t + offset_ns wraps around int64 (e.g. near 2^63).
  if (m.offset_ns < -kMaxTimeNs || m.offset_ns > kMaxTimeNs)
    throw std::invalid_argument("offset_ns must be within +-2**62, got " + std::to_string(m.offset_ns));
  if (m.bound_ns > kMaxTimeNs)
    throw std::invalid_argument("bound_ns must be <= 2**62, got " + std::to_string(m.bound_ns));
}

// The words of d with its checksum (also stored in d.check).
static void checked_words(ct_clock_data& d, uint64_t* w) {
  to_words(d, w);
  d.check = ct_checksum(w);
  w[kWords - 1] = d.check;
}

// Stores d (its checksum computed here) and ends the write begun with q.
void ClockWriter::write(ct_clock_data& d, uint64_t q) {
  uint64_t w[kWords];
  checked_words(d, w);
  end_write(*shared_, q, w);
  last_ = d;
  if (mirror_ != nullptr) {
    ct_clock_data u = d;
    u.status = CT_UNKNOWN;
    checked_words(u, w);
    // Its writer gone, the old file's seq may have been left odd (killed mid-write): then
    // that odd value opens this write's window.
    uint64_t m = mirror_->seq.load(std::memory_order_relaxed);
    if (m & 1u)
      m -= 1;
    else
      m = begin_write(*mirror_);
    end_write(*mirror_, m, w);
  }
}

ct_clock_data ClockWriter::publish(const Model& m) { return publish_at(m, -1); }

ct_clock_data ClockWriter::publish_at(const Model& m, int64_t now_in) {
  check_model(m);
  if (now_in == 0 || now_in > kMaxTimeNs)
    throw std::invalid_argument("now_ns must be in (0, 2**62], got " + std::to_string(now_in));
  {
    // Before the write window (a throw inside it would leave the seqlock odd):
    // the new model and the previous one's slew must be computable at about now.
    const int64_t t = now_in < 0 ? realtime_ns() : now_in;
    ct_clock_data probe{};
    probe.ref_local_ns = m.ref_local_ns;
    probe.offset_ns = m.offset_ns;
    probe.freq = m.freq;
    probe.bound_ns = m.bound_ns;
    probe.growth_ns_per_s = m.growth_ns_per_s;  // its bound's growth too (was unchecked: a static analysis)
    probe.slew_t0_ns = t;
    probe.status = CT_SYNCHRONIZED;
    probe.heartbeat_real_ns = t;
    if (!computable_at(probe, t) || (has_last() && !computable_at(last_, t)))
      throw std::invalid_argument("offset_ns = " + std::to_string(m.offset_ns) + " at local time " +
                                  std::to_string(t) + " ns gives a time beyond int64 ns");
  }
  uint64_t q = begin_write(*shared_);
  // Inside the odd window: readers that saw the old model read the clock before this.
  // That needs the odd seq visible to other cores before the clock is read here: a
  // store->load order, which only a full fence gives (x86 keeps stores in a store
  // buffer past later loads; a release fence does not drain it). Without it a reader
  // could see the old model at a local time after `now` and time_ns go back a few ns.
#ifndef CT_TSAN  // TSan does not model fences (-Wtsan); this one orders a store before a clock read, which it does not track
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  int64_t now = now_in < 0 ? realtime_ns() : now_in;
  ct_clock_data d{};
  d.ref_local_ns = m.ref_local_ns;
  d.offset_ns = m.offset_ns;
  d.freq = m.freq;
  d.bound_ns = m.bound_ns;
  d.growth_ns_per_s = m.growth_ns_per_s;
  // Do not go back from what a reader could have read at `now`: the previous
  // (or adopted) model's time_ns(now), or -- before the first publish, when
  // readers get the raw local clock (ct_compute's never-published case) --
  // `now` itself. So a negative first offset is slewed in like any other, not stepped.
  int64_t v0 = ct_best(&d, now);
  int64_t prev = has_last() ? ct_time(&last_, now) : now;
  if (prev > v0) v0 = prev;
  d.slew_t0_ns = now;
  d.slew_v0_ns = v0;
  d.slew_rate = max_slew_rate_;
  d.heartbeat_real_ns = now;
  d.heartbeat_mono_ns = monotonic_ns();
  d.stale_after_ns = stale_after_ns_;
  d.confidence = m.confidence;
  d.status = m.status;
  write(d, q);
  ++publishes_;
  return d;
}

void ClockWriter::heartbeat() {
  // An adopted model not yet replaced keeps its heartbeat: it says how old that model is
  // (adoptable()); refreshing it would let a chain of restarts carry a model on for ever.
  if (adopted_ && publishes_ == 0) return;
  uint64_t q = begin_write(*shared_);
  ct_clock_data d = last_;
  d.heartbeat_real_ns = realtime_ns();
  d.heartbeat_mono_ns = monotonic_ns();
  write(d, q);
}

void ClockWriter::retire() {
  uint64_t q = begin_write(*shared_);
  ct_clock_data d = last_;
  d.status = CT_UNKNOWN;
  if (d.heartbeat_real_ns == 0) {
    d.heartbeat_real_ns = realtime_ns();
    d.heartbeat_mono_ns = monotonic_ns();
  }
  write(d, q);
}

void ClockWriter::adopt(const ct_clock_data& d) {
  if (has_last()) throw std::logic_error("adopt: this writer has published already");
  uint64_t q = begin_write(*shared_);
  ct_clock_data a = d;
  a.status = CT_UNKNOWN;
  write(a, q);
  adopted_ = true;
}

}  // namespace chronotick::clock
