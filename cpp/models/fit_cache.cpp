#include "models/fit_cache.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "windowing/prefix_hash.h"

namespace chronotick {
namespace {

constexpr std::size_t kSets = 64;     // a power of two
constexpr std::size_t kWays = 4;      // slots per set, the least recently used replaced
constexpr std::size_t kMaxKey = 256;  // measurements

// The key's start: the values every fit depends on (m, parameters), then the newest m
// measurements' t, y (and u), each as its IEEE-754 bits.
struct Key {
  std::vector<std::uint64_t> bits;

  void start(const Series& s, std::size_t m) {
    bits.clear();
    bits.push_back(m);
    bits.push_back(s.u ? 1 : 0);
  }
  void add(std::uint64_t v) { bits.push_back(v); }
  void add_series(const Series& s, std::size_t m) {
    const std::size_t first = s.n - m;
    for (std::size_t i = first; i < s.n; ++i) bits.push_back(bits64(s.t[i]));
    for (std::size_t i = first; i < s.n; ++i) bits.push_back(bits64(s.y[i]));
    if (s.u)
      for (std::size_t i = first; i < s.n; ++i) bits.push_back(bits64(s.u[i]));
  }
  // FNV-style (one multiply a value), finished with splitmix64's mixer: it picks the set, the
  // whole key decides a match (mix64 on every value took a third of a cached fit's time).
  std::uint64_t hash() const {
    std::uint64_t h = 0xCBF29CE484222325ULL;
    for (std::uint64_t v : bits) h = (h ^ v) * 0x100000001B3ULL;
    return mix64(h);
  }
};

struct Counters {
  std::size_t hits = 0, misses = 0;
};

Counters& counters() {
  thread_local Counters c;
  return c;
}

template <class V>
struct Memo {
  struct Slot {
    std::uint64_t hash = 0, used = 0;
    std::vector<std::uint64_t> key;  // empty: unused
    V value{};
  };
  std::array<std::array<Slot, kWays>, kSets> sets;
  Key key;  // the key being looked up (scratch)
  std::uint64_t clock = 0;

  // The value kept under `key`, else make() kept there.
  template <class Make>
  V get(Make&& make) {
    const std::uint64_t h = key.hash();
    auto& set = sets[h & (kSets - 1)];
    Slot* oldest = &set[0];
    for (Slot& slot : set) {
      if (slot.hash == h && slot.key.size() == key.bits.size() &&
          std::memcmp(slot.key.data(), key.bits.data(), key.bits.size() * sizeof(std::uint64_t)) == 0) {
        ++counters().hits;
        slot.used = ++clock;
        return slot.value;
      }
      if (slot.used < oldest->used) oldest = &slot;
    }
    ++counters().misses;
    oldest->value = make();
    oldest->hash = h;
    oldest->used = ++clock;
    oldest->key.assign(key.bits.begin(), key.bits.end());
    return oldest->value;
  }
  void reset() {
    for (auto& set : sets)
      for (Slot& slot : set) slot = Slot{};
  }
};

Memo<RegressionFit>& regression_memo() {
  thread_local Memo<RegressionFit> m;
  return m;
}

Memo<KalmanNoise>& kalman_memo() {
  thread_local Memo<KalmanNoise> m;
  return m;
}

}  // namespace

RegressionFit cached_regression_fit(const Series& s, const ModelParams& p,
                                    RegressionFit (*fit)(const Series&, const ModelParams&)) {
  const std::size_t m = std::min(s.n, p.regression_max);
  if (m > kMaxKey) return fit(s, p);
  Memo<RegressionFit>& memo = regression_memo();
  memo.key.start(s, m);
  memo.key.add(s.n >= std::max<std::size_t>(3, p.regression_min) ? 1 : 0);  // below: fit_regression fails
  memo.key.add(p.regression_max);
  memo.key.add(p.regression_min);
  memo.key.add(bits64(p.huber_k));
  memo.key.add_series(s, m);
  return memo.get([&] { return fit(s, p); });
}

KalmanNoise cached_kalman_noise(const Series& s, const ModelParams& p,
                                KalmanNoise (*estimate)(const Series&, const ModelParams&)) {
  const std::size_t m = std::min(s.n, p.kalman_window);
  if (m > kMaxKey) return estimate(s, p);
  Memo<KalmanNoise>& memo = kalman_memo();
  memo.key.start(s, m);
  memo.key.add_series(s, m);
  return memo.get([&] { return estimate(s, p); });
}

void reset_fit_cache() {
  regression_memo().reset();
  kalman_memo().reset();
  counters() = Counters{};
}

std::size_t fit_cache_hits() { return counters().hits; }
std::size_t fit_cache_misses() { return counters().misses; }

}  // namespace chronotick
