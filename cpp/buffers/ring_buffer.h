// A fixed-capacity ring of rows of `width` doubles: one producer thread
// pushes, one consumer thread takes snapshots of the newest rows, lock-free.
// When full, a push overwrites the oldest row (counted in overwritten()).
//
// Row i (0, 1, 2, ... in push order) lives in slot i mod capacity. The
// producer announces the rows it is about to write (`claimed` = last index + 1,
// then a release fence), writes them, and publishes them (`head`, release).
// A snapshot reads `head` (acquire), copies rows [head - n, head), then after
// an acquire fence reads `claimed`: a row i the producer may have been
// overwriting during the copy has i < claimed - capacity, so only rows
// i >= claimed - capacity are kept (a seqlock per row range: if the copy saw
// any value of a newer row, the fences make `claimed` show it). Values are
// relaxed atomics, so concurrent access is well defined (and TSan-clean) at
// the cost of plain loads and stores on x86-64/ARM64.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace chronotick {

class RowRing {
 public:
  RowRing(std::size_t capacity, std::size_t width)
      : capacity_(capacity), width_(width), data_(new std::atomic<double>[capacity * width]) {
    if (capacity == 0) throw std::invalid_argument("capacity must be > 0");
    if (width == 0) throw std::invalid_argument("width must be > 0");
    for (std::size_t i = 0; i < capacity * width; ++i) data_[i].store(0.0, std::memory_order_relaxed);
  }

  std::size_t capacity() const { return capacity_; }
  std::size_t width() const { return width_; }

  // Producer: append n rows (row-major, n * width doubles).
  void push(const double* rows, std::size_t n = 1) {
    const std::size_t keep = std::min(n, capacity_);
    push_tail(rows + (n - keep) * width_, keep, n);
  }

  // Producer: append a batch of `total` rows of which only the newest
  // `tail` = min(total, capacity) are given (the older ones would be
  // overwritten by the batch itself; they count as pushed and overwritten).
  void push_tail(const double* tail_rows, std::size_t tail, std::size_t total) {
    write_batch(tail, total, [&](std::size_t r, std::size_t c) { return tail_rows[r * width_ + c]; });
  }

  // Producer: append `total` rows given as `width` columns (column c of row
  // r at cols[c][r]; a null column fills NaN): no interleaved copy needed.
  void push_columns(const double* const* cols, std::size_t total) {
    const std::size_t tail = std::min(total, capacity_), skip = total - tail;
    write_batch(tail, total, [&](std::size_t r, std::size_t c) {
      return cols[c] ? cols[c][skip + r] : std::numeric_limits<double>::quiet_NaN();
    });
  }

  // Consumer: the newest min(n, size()) rows, oldest first, into out
  // (resized to rows * width). Returns the number of rows. Always a
  // consistent run of consecutive rows; under a producer outpacing the copy
  // it may return fewer than asked after `max_retries` tries.
  std::size_t snapshot(std::size_t n, std::vector<double>& out, int max_retries = 8) const {
    for (int attempt = 0;; ++attempt) {
      const uint64_t h = head_.load(std::memory_order_acquire);
      const uint64_t floor = cleared_.load(std::memory_order_acquire);
      uint64_t avail = h - std::min(h, floor);
      avail = std::min<uint64_t>(avail, capacity_);
      const uint64_t take = std::min<uint64_t>(avail, n);
      const uint64_t first = h - take;
      out.resize(static_cast<std::size_t>(take) * width_);
      for (uint64_t i = first; i < h; ++i) {
        const std::atomic<double>* slot = &data_[(i % capacity_) * width_];
        double* dst = out.data() + (i - first) * width_;
        for (std::size_t c = 0; c < width_; ++c) dst[c] = slot[c].load(std::memory_order_relaxed);
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      const uint64_t claimed = claimed_.load(std::memory_order_relaxed);
      const uint64_t safe = claimed > capacity_ ? claimed - capacity_ : 0;  // rows >= safe are intact
      if (first >= safe) return static_cast<std::size_t>(take);
      if (attempt >= max_retries) {  // keep the intact newest part
        uint64_t keep = h > safe ? h - safe : 0;
        out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(keep * width_));
        return static_cast<std::size_t>(keep);
      }
    }
  }

  // Rows currently held (at most capacity).
  std::size_t size() const {
    const uint64_t h = head_.load(std::memory_order_acquire), floor = cleared_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(std::min<uint64_t>(h - std::min(h, floor), capacity_));
  }
  uint64_t total_pushed() const { return head_.load(std::memory_order_acquire); }
  // Rows lost to overwriting (pushed but no longer held, clear() not counted).
  uint64_t overwritten() const {
    const uint64_t h = head_.load(std::memory_order_acquire), floor = cleared_.load(std::memory_order_acquire);
    const uint64_t live = h - std::min(h, floor);
    return live > capacity_ ? live - capacity_ + overwritten_before_clear_.load(std::memory_order_relaxed)
                            : overwritten_before_clear_.load(std::memory_order_relaxed);
  }
  // Forget the rows held so far (either thread; pushed rows stay counted).
  void clear() {
    const uint64_t h = head_.load(std::memory_order_acquire);
    const uint64_t floor = cleared_.load(std::memory_order_relaxed);
    const uint64_t live = h - std::min(h, floor);
    if (live > capacity_) overwritten_before_clear_.fetch_add(live - capacity_, std::memory_order_relaxed);
    cleared_.store(h, std::memory_order_release);
  }

 private:
  // The seqlock-style write of a batch; value(r, c) gives column c of the
  // r-th of the `tail` rows written.
  template <class Value>
  void write_batch(std::size_t tail, std::size_t total, Value value) {
    if (total == 0) return;
    if (tail != std::min(total, capacity_)) throw std::invalid_argument("push: tail != min(total, capacity)");
    const uint64_t h = head_.load(std::memory_order_relaxed);
    const uint64_t first = h + (total - tail);  // index of the first row written
    claimed_.store(h + total, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    std::size_t slot = static_cast<std::size_t>(first % capacity_);
    for (std::size_t r = 0; r < tail; ++r) {
      std::atomic<double>* dst = &data_[slot * width_];
      for (std::size_t c = 0; c < width_; ++c) dst[c].store(value(r, c), std::memory_order_relaxed);
      if (++slot == capacity_) slot = 0;
    }
    head_.store(h + total, std::memory_order_release);
  }

  std::size_t capacity_, width_;
  std::unique_ptr<std::atomic<double>[]> data_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> claimed_{0};
  alignas(64) std::atomic<uint64_t> cleared_{0};
  std::atomic<uint64_t> overwritten_before_clear_{0};
};

}  // namespace chronotick
