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

struct Slot {
  std::uint64_t hash = 0, used = 0;
  std::vector<std::uint64_t> key;  // empty: unused
  RegressionFit fit;
};

struct Cache {
  std::array<std::array<Slot, kWays>, kSets> sets;
  std::vector<std::uint64_t> key;  // the key being looked up (scratch)
  std::uint64_t clock = 0;
  std::size_t hits = 0, misses = 0;
};

Cache& cache() {
  thread_local Cache c;
  return c;
}

// The key: m, whether n reaches the fit's minimum (fit_regression fails below it), whether u
// is given, the three parameters, then t, y (and u) of the newest m measurements, each as its
// IEEE-754 bits.
void make_key(const Series& s, std::size_t m, const ModelParams& p, std::vector<std::uint64_t>& key) {
  const std::size_t first = s.n - m;
  key.clear();
  key.push_back(m);
  key.push_back(s.n >= std::max<std::size_t>(3, p.regression_min) ? 1 : 0);
  key.push_back(s.u ? 1 : 0);
  key.push_back(p.regression_max);
  key.push_back(p.regression_min);
  key.push_back(bits64(p.huber_k));
  for (std::size_t i = first; i < s.n; ++i) key.push_back(bits64(s.t[i]));
  for (std::size_t i = first; i < s.n; ++i) key.push_back(bits64(s.y[i]));
  if (s.u)
    for (std::size_t i = first; i < s.n; ++i) key.push_back(bits64(s.u[i]));
}

std::uint64_t hash_of(const std::vector<std::uint64_t>& key) {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL;
  for (std::uint64_t v : key) h = mix64(h ^ v) + 0x9E3779B97F4A7C15ULL;
  return h;
}

}  // namespace

RegressionFit cached_regression_fit(const Series& s, const ModelParams& p,
                                    RegressionFit (*fit)(const Series&, const ModelParams&)) {
  const std::size_t m = std::min(s.n, p.regression_max);
  if (m > kMaxKey) return fit(s, p);
  Cache& c = cache();
  make_key(s, m, p, c.key);
  const std::uint64_t h = hash_of(c.key);
  auto& set = c.sets[h & (kSets - 1)];
  Slot* oldest = &set[0];
  for (Slot& slot : set) {
    if (slot.hash == h && slot.key.size() == c.key.size() &&
        std::memcmp(slot.key.data(), c.key.data(), c.key.size() * sizeof(std::uint64_t)) == 0) {
      ++c.hits;
      slot.used = ++c.clock;
      return slot.fit;
    }
    if (slot.used < oldest->used) oldest = &slot;
  }
  ++c.misses;
  oldest->fit = fit(s, p);
  oldest->hash = h;
  oldest->used = ++c.clock;
  oldest->key.assign(c.key.begin(), c.key.end());
  return oldest->fit;
}

void reset_fit_cache() {
  Cache& c = cache();
  for (auto& set : c.sets)
    for (Slot& slot : set) slot = Slot{};
  c.hits = c.misses = 0;
}

std::size_t fit_cache_hits() { return cache().hits; }
std::size_t fit_cache_misses() { return cache().misses; }

}  // namespace chronotick
