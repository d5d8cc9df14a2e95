// A fixed-capacity ring of records of `width` doubles: one producer thread
// pushes, one consumer thread takes snapshots of the newest records, with no
// lock. When full, a push overwrites the oldest record (counted in
// overwritten()).
//
// Storage is column-major: field c of record i lives at column c, slot
// i mod capacity, so a batch is `width` contiguous copies.
//
// Consistency (a seqlock over record indices). Record i = 0, 1, 2, ... in
// push order. The producer first announces the newest record it is about to
// write (`claimed` = last index + 1), then writes the fields (release
// stores), then publishes (`head` = last index + 1, release). A snapshot reads
// `head` (acquire), copies records [head - n, head) (acquire loads), then
// reads `claimed`. If any field it copied came from a write that started
// after the copy began, that load synchronised with the write, so `claimed`
// shows that write's announcement, and that write only touches slots of
// records < claimed - capacity. So the records i >= claimed - capacity of the
// copy are intact; if the whole copy is, it is returned, else the snapshot
// retries, after waiting for the write it overlapped to be published (and
// after `max_retries` returns only the intact newest part: possibly nothing,
// when every copy overlapped a batch as large as the ring).
// Fields are atomics (release stores, acquire loads: plain moves on x86-64),
// so the concurrent access is defined behaviour that ThreadSanitizer models
// exactly (it does not model standalone fences).
//
// Threads: one producer at a time (callers serialise pushes); any number
// of threads may take snapshots concurrently (they only read).
//
// Counters: total_pushed() counts every record ever pushed (clear() does not
// reset it); overwritten() counts records lost to overwriting (pushed while
// the ring was full, or dropped from a batch larger than the capacity).
// The ring does not look at the values (no time-order or finiteness checks).
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <thread>

namespace chronotick {

// A strided view of one field: element r at p[r * stride]. p == nullptr
// means "no data": pushes write NaN.
struct Field {
  const double* p = nullptr;
  std::ptrdiff_t stride = 1;
};
struct OutField {
  double* p = nullptr;
  std::ptrdiff_t stride = 1;
};

class RowRing {
 public:
  RowRing(std::size_t capacity, std::size_t width) : capacity_(capacity), width_(width) {
    if (capacity == 0) throw std::invalid_argument("capacity must be > 0");
    if (width == 0) throw std::invalid_argument("width must be > 0");
    if (capacity > std::numeric_limits<std::size_t>::max() / width / sizeof(double))
      throw std::invalid_argument("capacity * width too large");
    data_.reset(new std::atomic<double>[capacity * width]);
    for (std::size_t i = 0; i < capacity * width; ++i) data_[i].store(0.0, std::memory_order_relaxed);
  }

  std::size_t capacity() const { return capacity_; }
  std::size_t width() const { return width_; }

  // Producer: append one record (width doubles).
  void push(const double* record) {
    const uint64_t h = head_.load(std::memory_order_relaxed);
    claimed_.store(h + 1, std::memory_order_relaxed);
    const std::size_t slot = static_cast<std::size_t>(h % capacity_);
    for (std::size_t c = 0; c < width_; ++c) data_[c * capacity_ + slot].store(record[c], std::memory_order_release);
    head_.store(h + 1, std::memory_order_release);
  }

  // Producer: append n records given row-major (n * width doubles).
  void push_rows(const double* rows, std::size_t n) {
    Field f[kMaxStackWidth];
    if (width_ > kMaxStackWidth) {
      std::unique_ptr<Field[]> heap(new Field[width_]);
      for (std::size_t c = 0; c < width_; ++c) heap[c] = {rows + c, static_cast<std::ptrdiff_t>(width_)};
      push_fields(heap.get(), n);
      return;
    }
    for (std::size_t c = 0; c < width_; ++c) f[c] = {rows + c, static_cast<std::ptrdiff_t>(width_)};
    push_fields(f, n);
  }

  // Producer: append n records given field by field (fields[c] for
  // c < width). Only the newest min(n, capacity) are written: the older ones
  // would be overwritten by the batch itself (they count as pushed and
  // overwritten).
  void push_fields(const Field* fields, std::size_t n) {
    if (n == 0) return;
    const std::size_t tail = std::min(n, capacity_), skip = n - tail;
    const uint64_t h = head_.load(std::memory_order_relaxed);
    claimed_.store(h + n, std::memory_order_relaxed);
    const std::size_t slot0 = static_cast<std::size_t>((h + skip) % capacity_);
    const std::size_t first_run = std::min(tail, capacity_ - slot0);  // before wrapping to slot 0
    for (std::size_t c = 0; c < width_; ++c) {
      std::atomic<double>* col = &data_[c * capacity_];
      const Field f = fields[c];
      if (f.p == nullptr) {
        const double nan = std::numeric_limits<double>::quiet_NaN();
        for (std::size_t r = 0; r < first_run; ++r) col[slot0 + r].store(nan, std::memory_order_release);
        for (std::size_t r = first_run; r < tail; ++r) col[r - first_run].store(nan, std::memory_order_release);
      } else if (f.stride == 1) {
        const double* src = f.p + skip;
        for (std::size_t r = 0; r < first_run; ++r) col[slot0 + r].store(src[r], std::memory_order_release);
        for (std::size_t r = first_run; r < tail; ++r) col[r - first_run].store(src[r], std::memory_order_release);
      } else {
        const double* src = f.p + static_cast<std::ptrdiff_t>(skip) * f.stride;
        for (std::size_t r = 0; r < first_run; ++r)
          col[slot0 + r].store(src[static_cast<std::ptrdiff_t>(r) * f.stride], std::memory_order_release);
        for (std::size_t r = first_run; r < tail; ++r)
          col[r - first_run].store(src[static_cast<std::ptrdiff_t>(r) * f.stride], std::memory_order_release);
      }
    }
    head_.store(h + n, std::memory_order_release);
  }

  // Consumer: copy the newest min(n, size()) records, oldest first, into
  // out[c] (room for n records each). Returns the number copied. Always a
  // run of consecutive, untorn records ending at the newest record published
  // when the copy began; when the producer overwrites faster than `max_retries`
  // copies can finish, only the intact newest part is returned (fewer rows).
  std::size_t snapshot(std::size_t n, const OutField* out, int max_retries = 16) const {
    for (int attempt = 0;; ++attempt) {
      const uint64_t h = head_.load(std::memory_order_acquire);
      const uint64_t floor = cleared_.load(std::memory_order_acquire);
      const uint64_t avail = std::min<uint64_t>(h - std::min(h, floor), capacity_);
      const std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(avail, n));
      const uint64_t first = h - take;
      const std::size_t slot0 = static_cast<std::size_t>(first % capacity_);
      const std::size_t first_run = std::min(take, capacity_ - slot0);
      for (std::size_t c = 0; c < width_; ++c) {
        const std::atomic<double>* col = &data_[c * capacity_];
        double* dst = out[c].p;
        const std::ptrdiff_t s = out[c].stride;
        for (std::size_t r = 0; r < first_run; ++r)
          dst[static_cast<std::ptrdiff_t>(r) * s] = col[slot0 + r].load(std::memory_order_acquire);
        for (std::size_t r = first_run; r < take; ++r)
          dst[static_cast<std::ptrdiff_t>(r) * s] = col[r - first_run].load(std::memory_order_acquire);
      }
      const uint64_t claimed = claimed_.load(std::memory_order_relaxed);
      const uint64_t safe = claimed > capacity_ ? claimed - capacity_ : 0;  // records >= safe are intact
      if (first >= safe) return take;
      // A write was under way (a batch as large as the ring overwrites all of it): let it
      // finish before copying again, rather than retrying into it max_retries times at once
      // and returning nothing (a snapshot of a full ring came back empty 16% of the time
      // while push_many ran in a loop). Bounded: a producer that never publishes is a bug.
      for (int spin = 0; spin < (1 << 16) && head_.load(std::memory_order_acquire) < claimed; ++spin)
        std::this_thread::yield();
      if (attempt >= max_retries) {  // keep the intact newest part, moved to the front
        const std::size_t keep = static_cast<std::size_t>(h > safe ? h - safe : 0);
        const std::size_t drop = take - keep;
        for (std::size_t c = 0; c < width_; ++c)
          for (std::size_t r = 0; r < keep; ++r)
            out[c].p[static_cast<std::ptrdiff_t>(r) * out[c].stride] =
                out[c].p[static_cast<std::ptrdiff_t>(r + drop) * out[c].stride];
        return keep;
      }
    }
  }

  // Records currently held (at most capacity).
  std::size_t size() const {
    const uint64_t h = head_.load(std::memory_order_acquire), floor = cleared_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(std::min<uint64_t>(h - std::min(h, floor), capacity_));
  }
  uint64_t total_pushed() const { return head_.load(std::memory_order_acquire); }
  // Records lost to overwriting (records dropped by clear() not counted).
  uint64_t overwritten() const {
    const uint64_t before = overwritten_before_clear_.load(std::memory_order_acquire);
    const uint64_t h = head_.load(std::memory_order_acquire), floor = cleared_.load(std::memory_order_acquire);
    const uint64_t live = h - std::min(h, floor);
    return before + (live > capacity_ ? live - capacity_ : 0);
  }
  // Forget the records held so far (pushed records stay counted). Call it
  // from the producer, or from the consumer while no other thread clears.
  void clear() {
    const uint64_t h = head_.load(std::memory_order_acquire);
    const uint64_t floor = cleared_.load(std::memory_order_relaxed);
    const uint64_t live = h - std::min(h, floor);
    if (live > capacity_) overwritten_before_clear_.fetch_add(live - capacity_, std::memory_order_release);
    cleared_.store(h, std::memory_order_release);
  }

 private:
  static constexpr std::size_t kMaxStackWidth = 16;

  std::size_t capacity_, width_;
  std::unique_ptr<std::atomic<double>[]> data_;
  alignas(64) std::atomic<uint64_t> head_{0};     // producer -> consumer: records published
  alignas(64) std::atomic<uint64_t> claimed_{0};  // producer -> consumer: records being written
  alignas(64) std::atomic<uint64_t> cleared_{0};  // records before this index were cleared
  std::atomic<uint64_t> overwritten_before_clear_{0};
};

}  // namespace chronotick
