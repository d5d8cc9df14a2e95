// output_memo: which row of the ONNX forecaster's memo holds the model's
// output for a prefix of a series (python/chronotick/models/onnx.py,
// _pair_preds). The outputs themselves stay in the caller's arrays; this is
// their index.
//
// A prefix is named by its key (t, y, h): its newest measurement and the
// fingerprint h of its newest measurements (prefix_hash.h). Keys are kept in
// the order they were added. Below `capacity` keys a new key gets the next
// slot (0, 1, 2, ...); from then on it takes the slot of the oldest key, which
// is evicted -- so slots stay below capacity and the caller's arrays never
// need more rows. While capacity < limit an evicted key is remembered by a
// 64-bit hash (at most `limit` of them, the oldest forgotten first): a key
// asked for again after its eviction (`evicted`) means the caller's working
// set outgrew the memo, and grow() doubles the capacity (up to limit).
//
// Keys compare as numbers (t == t', y == y', h == h'), so 0.0 and -0.0 are
// one time or offset, as in the Python tuples this replaced.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace chronotick {

struct MemoKey {
  double t;
  double y;
  std::uint64_t h;
};

class OutputMemo {
 public:
  // 1 <= capacity <= limit; throws std::invalid_argument otherwise.
  OutputMemo(std::size_t capacity, std::size_t limit);

  // The slot of key k, or -1 where it is not held.
  std::int64_t find(const MemoKey& k) const;
  // The slots of the prefixes [0, ends[k]) of (t, y), keyed (t[ends[k]-1], y[ends[k]-1], h[k]),
  // into slots[k]: -1 for a prefix of fewer than 2 measurements (no prediction is made from
  // it), `missing` where the key is not held. Returns how many are not held. ends in [1, n].
  std::size_t find_prefixes(const double* t, const double* y, const std::int64_t* ends, const std::uint64_t* h,
                            std::size_t m, std::int64_t missing, std::int64_t* slots) const;
  // Add k and return its slot (a key held already: its slot, nothing changes). Throws
  // std::invalid_argument for a NaN t or y (such a key would never be found).
  std::int64_t add(const MemoKey& k);
  // Whether k was evicted since the last grow() (only tracked while capacity < limit).
  bool evicted(const MemoKey& k) const;
  // capacity = min(limit, 2 capacity); the evicted keys forgotten.
  void grow();
  // Every key dropped (slots start again at 0); the evicted keys are still remembered.
  void clear();

  std::size_t size() const { return slot_of_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::size_t limit() const { return limit_; }
  // A smaller capacity than size() evicts nothing now: each later add evicts one.
  void set_capacity(std::size_t capacity);
  // The slots in use, in the order their keys were added.
  std::vector<std::int64_t> slots() const;

 private:
  struct Hash {
    std::size_t operator()(const MemoKey& k) const;
  };
  struct Equal {
    bool operator()(const MemoKey& a, const MemoKey& b) const { return a.t == b.t && a.y == b.y && a.h == b.h; }
  };
  static std::uint64_t key_hash(const MemoKey& k);

  std::size_t capacity_, limit_;
  std::unordered_map<MemoKey, std::int64_t, Hash, Equal> slot_of_;
  std::deque<MemoKey> order_;                 // oldest first
  std::unordered_set<std::uint64_t> ghosts_;  // key_hash of evicted keys
  std::deque<std::uint64_t> ghost_order_;     // oldest first
};

}  // namespace chronotick
