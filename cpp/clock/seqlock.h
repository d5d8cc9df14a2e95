// The shared clock segment as C++ sees it, and its seqlock.
//
// Same bytes as ct_clock_shm in include/chronotick.h (checked below), with
// std::atomic words so the concurrent accesses are well defined. Writer:
//   seq = s + 1 (odd, relaxed); release fence; data words (relaxed); seq = s + 2 (release).
// Reader:
//   s1 = seq (acquire); [odd -> retry]; read local clock; data words (relaxed);
//   acquire fence; s2 = seq (relaxed); [s2 != s1 -> retry].
// If the reader saw any word of a newer write, the acquire fence synchronises
// with the writer's release fence, so s2 sees at least the odd value and the
// read is retried (Boehm, "Can seqlocks get along with programming language
// memory models?", 2012). Under ThreadSanitizer (CT_TSAN, see chronotick.h)
// the fences become release stores / acquire loads of the data words.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "chronotick.h"

namespace chronotick::clock {

constexpr int kWords = CT_DATA_WORDS;

struct alignas(64) SharedClock {
  char magic[4];
  uint16_t version_major;
  uint16_t version_minor;
  uint32_t size;
  int32_t writer_pid;
  std::atomic<uint64_t> seq;
  std::atomic<uint64_t> data[kWords];
  uint64_t reserved[16];
};

static_assert(std::atomic<uint64_t>::is_always_lock_free, "the seqlock needs lock-free 64-bit atomics");
static_assert(sizeof(std::atomic<uint64_t>) == 8, "atomic words must have the plain layout");
static_assert(std::is_standard_layout<SharedClock>::value, "SharedClock must be standard layout");
static_assert(offsetof(SharedClock, seq) == offsetof(ct_clock_shm, seq), "layout mismatch with chronotick.h");
static_assert(offsetof(SharedClock, data) == offsetof(ct_clock_shm, data), "layout mismatch with chronotick.h");
static_assert(offsetof(SharedClock, reserved) == offsetof(ct_clock_shm, reserved), "layout mismatch");
static_assert(sizeof(SharedClock) >= sizeof(ct_clock_shm), "layout mismatch with chronotick.h");

// The words of a ct_clock_data (plain copy).
inline void to_words(const ct_clock_data& d, uint64_t* w) { std::memcpy(w, &d, sizeof d); }
inline ct_clock_data from_words(const uint64_t* w) {
  ct_clock_data d;
  std::memcpy(&d, w, sizeof d);
  return d;
}

inline int64_t realtime_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Writer side, in two steps so the writer can read the clock inside the
// odd window (begin_write), then compute and store the words (end_write).
inline uint64_t begin_write(SharedClock& s) {
  uint64_t q = s.seq.load(std::memory_order_relaxed);
  s.seq.store(q + 1, std::memory_order_relaxed);
#ifndef CT_TSAN
  std::atomic_thread_fence(std::memory_order_release);
#endif
  return q;
}

inline void end_write(SharedClock& s, uint64_t q, const uint64_t* w) {
#ifdef CT_TSAN
  for (int i = 0; i < kWords; ++i) s.data[i].store(w[i], std::memory_order_release);
#else
  for (int i = 0; i < kWords; ++i) s.data[i].store(w[i], std::memory_order_relaxed);
#endif
  s.seq.store(q + 2, std::memory_order_release);
}

// One consistent copy of the words plus the local clock read inside the
// window. Returns how many times it had to retry. A writer found mid-write is
// waited for as chronotick.h's ct_read does (yield every 1024 spins); if it is
// gone or stuck (ct_writer_stuck), returns ct_stuck_words: the last intact
// model marked CT_UNKNOWN, else the "never published" words; both read as CT_UNKNOWN.
// stuck: a reader's record of a write found in progress (ct_wait_begin), so that a
// writer stuck for good costs one read the wait, not every read; nullptr: each read waits.
// ask_pid false: the writer's pid means nothing here (a reader in another PID namespace:
// chronotick.h's ct_same_pid_namespace), so only the wait's length decides it is stuck.
inline unsigned read(const SharedClock& s, uint64_t* w, int64_t& local_ns, int64_t* stuck = nullptr,
                     bool ask_pid = true) {
  unsigned retries = 0;
  int64_t first_wait = 0;
  for (;; ++retries) {
    uint64_t s1 = s.seq.load(std::memory_order_acquire);
    if (s1 & 1u) {
      const bool check = first_wait == 0 && ct_wait_begin(stuck, s1, &first_wait);
      if ((check || ((retries + 1) & 1023u) == 0) && ct_writer_stuck(ask_pid ? s.writer_pid : 0, &first_wait)) break;
      continue;
    }
    local_ns = realtime_ns();
#ifdef CT_TSAN
    for (int i = 0; i < kWords; ++i) w[i] = s.data[i].load(std::memory_order_acquire);
#else
    for (int i = 0; i < kWords; ++i) w[i] = s.data[i].load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
#endif
    if (s.seq.load(std::memory_order_relaxed) == s1) {
      ct_wait_done(stuck);
      return retries;
    }
  }
  for (int i = 0; i < kWords; ++i) w[i] = s.data[i].load(std::memory_order_acquire);
  ct_stuck_words(w);
  local_ns = realtime_ns();
  return retries;
}

}  // namespace chronotick::clock
