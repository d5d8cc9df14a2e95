// The clock segment as a file in shared memory (e.g. under /dev/shm or /run).
//
// ShmPublisher creates it: a new temporary file beside `path` (O_EXCL | O_NOFOLLOW), mode 0644 (readable
// by all, writable by the owner only), sized to a page, header filled, locked
// with flock(LOCK_EX) for the publisher's lifetime, then renamed onto `path`,
// so readers never see a half-initialised file. A second publisher on a path
// whose file is still locked fails; the check and the rename run under a lock
// on the directory, so two publishers starting together cannot both pass.
// With `adopt`, a model the file's earlier writer left there (gone, and
// adoptable(): this boot, within the hour, no step of the local clock since)
// is taken over (ClockWriter::adopt): readers following the new file read
// time_ns on along it, and the first publish slews from it, so time_ns does
// not go back across a restart.
// ShmReader maps it read-only and reads with the seqlock of seqlock.h (header
// checks and pid checks from chronotick.h).
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "clock/clock_writer.h"

namespace chronotick::clock {

// code: CT_ERR_OPEN (then sys_errno is set), CT_ERR_SIZE, CT_ERR_MAGIC, CT_ERR_VERSION.
struct ShmError : std::runtime_error {
  ShmError(int c, int e, const std::string& what) : std::runtime_error(what), code(c), sys_errno(e) {}
  int code;
  int sys_errno;
};

class ShmPublisher {
 public:
  ShmPublisher(const std::string& path, int64_t stale_after_ns, double max_slew_rate, bool adopt = true);
  ~ShmPublisher();
  ShmPublisher(const ShmPublisher&) = delete;
  ShmPublisher& operator=(const ShmPublisher&) = delete;

  ClockWriter& writer() { return *writer_; }
  // Whether it took over the model an earlier writer left (false once closed).
  bool adopted() const { return writer_ != nullptr && shared_ != nullptr && writer_->adopted(); }
  const std::string& path() const { return path_; }
  // Marks the clock UNKNOWN, unmaps and releases the lock (the file stays).
  void close();
  bool closed() const { return shared_ == nullptr; }

 private:
  std::string path_;
  int fd_ = -1;
  SharedClock* shared_ = nullptr;
  size_t len_ = 0;
  std::unique_ptr<ClockWriter> writer_;
  // The file this one replaced, when its model was adopted: written on too (ClockWriter::mirror_to).
  int old_fd_ = -1;
  SharedClock* old_ = nullptr;
  void close_old();
};

class ShmReader {
 public:
  explicit ShmReader(const std::string& path);
  ~ShmReader();
  ShmReader(const ShmReader&) = delete;
  ShmReader& operator=(const ShmReader&) = delete;

  ct_time_bound now() {
    uint64_t w[kWords];
    int64_t t;
    read(*shared_, w, t, r_.stuck, r_.same_pid_namespace != 0);
    ct_clock_data d = from_words(w);
    ct_time_bound b = ct_compute(&d, t, ct_reader_writer_alive(&r_, t));
    // UNKNOWN (the writer gone or stale): a restarted server has renamed a new
    // file onto the path, and this mapping would never see it. At most once a
    // second, look and follow it (the healthy path makes no system call).
    if (b.status == CT_UNKNOWN && t >= next_replaced_check_ns_) {
      next_replaced_check_ns_ = t + 1000000000;
      if (follow_replaced()) return now();
    }
    return b;
  }
  // One seqlock read: the data, the local time read with it, the times it looked at
  // the sequence word again. A write found stuck is remembered as now() does (r_.stuck):
  // one snapshot waits for it, later ones give up at once (each had spun its 1 s).
  ct_clock_data snapshot(int64_t& local_ns, unsigned& retries) const {
    uint64_t w[kWords];
    retries = read(*shared_, w, local_ns, r_.stuck, r_.same_pid_namespace != 0);
    return from_words(w);
  }
  int32_t writer_pid() const { return shared_->writer_pid; }
  uint16_t version_minor() const { return shared_->version_minor; }
  const std::string& path() const { return path_; }

  // Re-maps the path if the file there is no longer the one mapped (a new
  // publisher renamed its file onto it) and is a valid clock file; returns
  // whether it did. Not thread-safe against concurrent reads of this reader
  // (Python calls hold the GIL); it is chronotick.h's ct_reader_follow.
  bool follow_replaced();

 private:
  std::string path_;
  mutable ct_reader r_{};   // mutable: its stuck record (atomics) is updated by const snapshot()
  const SharedClock* shared_ = nullptr;
  int64_t next_replaced_check_ns_ = 0;
};

}  // namespace chronotick::clock
