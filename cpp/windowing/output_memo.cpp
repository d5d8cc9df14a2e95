#include "windowing/output_memo.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "windowing/prefix_hash.h"

namespace chronotick {

OutputMemo::OutputMemo(std::size_t capacity, std::size_t limit) : capacity_(capacity), limit_(limit) {
  if (capacity < 1 || capacity > limit)
    throw std::invalid_argument("need 1 <= capacity <= limit, got capacity " + std::to_string(capacity) +
                                ", limit " + std::to_string(limit));
}

// t + 0.0 and y + 0.0 turn -0.0 into 0.0: keys equal as numbers hash alike.
std::uint64_t OutputMemo::key_hash(const MemoKey& k) {
  return mix64(mix64(mix64(bits64(k.t + 0.0)) ^ bits64(k.y + 0.0)) ^ k.h);
}

std::size_t OutputMemo::Hash::operator()(const MemoKey& k) const { return static_cast<std::size_t>(key_hash(k)); }

std::int64_t OutputMemo::find(const MemoKey& k) const {
  const auto it = slot_of_.find(k);
  return it == slot_of_.end() ? -1 : it->second;
}

std::size_t OutputMemo::find_prefixes(const double* t, const double* y, const std::int64_t* ends,
                                      const std::uint64_t* h, std::size_t m, std::int64_t missing,
                                      std::int64_t* slots) const {
  std::size_t absent = 0;
  for (std::size_t k = 0; k < m; ++k) {
    if (ends[k] < 2) {
      slots[k] = -1;
      continue;
    }
    slots[k] = find(MemoKey{t[ends[k] - 1], y[ends[k] - 1], h[k]});
    if (slots[k] < 0) {
      slots[k] = missing;
      ++absent;
    }
  }
  return absent;
}

std::int64_t OutputMemo::add(const MemoKey& k) {
  // a NaN key never equals itself: it could be added but never found, nor evicted (its slot lost)
  if (std::isnan(k.t) || std::isnan(k.y)) throw std::invalid_argument("a memo key's t and y must not be NaN");
  // a key held already keeps its slot (added twice, order_ had held it twice: its first
  // eviction freed the slot, the second looked it up in vain; a static analysis, 2026-12-06)
  const auto held = slot_of_.find(k);
  if (held != slot_of_.end()) return held->second;
  std::int64_t slot;
  if (slot_of_.size() >= capacity_) {
    const MemoKey gone = order_.front();
    order_.pop_front();
    const auto it = slot_of_.find(gone);   // held: every key in order_ is (NaN refused above)
    slot = it->second;
    slot_of_.erase(it);
    if (capacity_ < limit_) {
      const std::uint64_t g = key_hash(gone);
      if (ghosts_.insert(g).second) {
        ghost_order_.push_back(g);
        if (ghost_order_.size() > limit_) {
          ghosts_.erase(ghost_order_.front());
          ghost_order_.pop_front();
        }
      }
    }
  } else {
    slot = static_cast<std::int64_t>(slot_of_.size());
  }
  slot_of_.emplace(k, slot);
  order_.push_back(k);
  return slot;
}

bool OutputMemo::evicted(const MemoKey& k) const { return !ghosts_.empty() && ghosts_.count(key_hash(k)) != 0; }

void OutputMemo::grow() {
  if (capacity_ < limit_) capacity_ = capacity_ > limit_ / 2 ? limit_ : 2 * capacity_;
  ghosts_.clear();
  ghost_order_.clear();
}

void OutputMemo::clear() {
  slot_of_.clear();
  order_.clear();
}

void OutputMemo::set_capacity(std::size_t capacity) {
  if (capacity < 1 || capacity > limit_)
    throw std::invalid_argument("need 1 <= capacity <= limit (" + std::to_string(limit_) + "), got " +
                                std::to_string(capacity));
  capacity_ = capacity;
}

std::vector<std::int64_t> OutputMemo::slots() const {
  std::vector<std::int64_t> out;
  out.reserve(order_.size());
  for (const MemoKey& k : order_) out.push_back(slot_of_.at(k));
  return out;
}

}  // namespace chronotick
