#include "clock/shm_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

namespace chronotick::clock {

static ShmError sys_error(const std::string& what, const std::string& path) {
  int e = errno;
  return ShmError(CT_ERR_OPEN, e, path + ": " + what + ": " + std::strerror(e));
}

// The directory holding `path`, locked (flock, exclusive) while a publisher checks the file
// there and renames its own onto it: two publishers starting together on one path could both
// find it free and both rename, the later rename leaving the earlier publisher writing to a
// file no reader can open. With the check and the rename serialised, the later one finds the
// earlier one's file locked and fails. The lock is released when the constructor returns.
// A directory that cannot be opened for reading is left unlocked (the check still runs).
// Any user who can read the directory can hold its lock (/dev/shm, a 755 /run/chronotick), so
// the wait is bounded: a lock still held after kDirLockWait is an error naming the directory
// (a blocking flock had hung the publisher -- `serve`, Clock.start -- for as long as another
// user kept it; found by an audit, 2026-12-05).
namespace {
constexpr int kDirLockWaitMs = 5000;
struct DirLock {
  int fd = -1;
  explicit DirLock(const std::string& path) {
    std::string::size_type slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    for (int waited_ms = 0;; waited_ms += 10) {
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return;
      if (errno != EWOULDBLOCK && errno != EINTR) return;   // unlockable (e.g. ENOLCK): the check still runs
      if (waited_ms >= kDirLockWaitMs) {
        ::close(fd);
        fd = -1;
        throw ShmError(CT_ERR_OPEN, EBUSY,
                       path + ": the directory " + dir + " has been locked (flock) by another process for " +
                           std::to_string(kDirLockWaitMs / 1000) +
                           " s; a chronotick publisher holds it only while starting -- not started");
      }
      ::usleep(10000);
    }
  }
  ~DirLock() {
    if (fd >= 0) ::close(fd);   // closing drops the lock
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
};
// Why the file open as `fd` must not be replaced by a clock file ("" if it may: a
// regular file that is empty or begins with the clock file's magic).
std::string not_a_clock_file(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return std::string("cannot be examined: ") + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (st.st_size == 0) return "";
  char magic[4] = {};
  if (st.st_size < static_cast<off_t>(sizeof magic) || ::pread(fd, magic, sizeof magic, 0) != static_cast<ssize_t>(sizeof magic) ||
      std::memcmp(magic, "CTCK", sizeof magic) != 0)
    return "is not a chronotick clock file (it does not begin with \"CTCK\")";
  return "";
}

// The model an earlier writer left in the clock file open as `fd` (its writer
// gone: the file's lock is free), if it is a valid clock file whose data is
// intact -- as a reader falls back on it (ct_stuck_words) when its writer died
// mid-write -- and adoptable() now.
bool prior_model(int fd, ct_clock_data& out) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(sizeof(ct_clock_shm)))
    return false;
  ct_clock_shm f;
  if (::pread(fd, &f, sizeof f, 0) != static_cast<ssize_t>(sizeof f)) return false;
  if (ct_check_header(&f, static_cast<size_t>(st.st_size)) != CT_OK || f.writer_pid <= 0) return false;
  uint64_t w[kWords];
  std::memcpy(w, f.data, sizeof w);
  if (f.seq & 1u) {
    ct_stuck_words(w);  // killed mid-write: the previous model if its words are intact
  } else if (ct_checksum(w) != w[kWords - 1]) {
    return false;       // corrupt
  }
  out = from_words(w);
  return adoptable(out, realtime_ns(), monotonic_ns());
}
}  // namespace

ShmPublisher::ShmPublisher(const std::string& path, int64_t stale_after_ns, double max_slew_rate, bool adopt)
    : path_(path) {
  DirLock dir_lock(path);
  // Refuse to take over a file another live publisher holds; read the model a
  // gone one left there (under the directory lock, so no new writer starts meanwhile).
  ct_clock_data prior{};
  bool have_prior = false;
  int old = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (old < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
    // A file this process may not write is checked all the same: read-only (flock and the
    // model's read need no write access; the mirror below is then skipped). Unchecked, a
    // read-only CSV -- or another user's live clock file -- had been renamed over (an audit).
    old = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);   // (a FIFO: no wait for a writer)
  }
  if (old < 0 && errno != ENOENT) throw sys_error("cannot open the file there to check it", path);
  if (old >= 0) {
    // Only a clock file (or an empty file) is replaced: `serve --path data.csv` had renamed
    // the new clock file over the CSV.
    std::string why = not_a_clock_file(old);
    if (!why.empty()) {
      ::close(old);
      throw ShmError(CT_ERR_OPEN, EEXIST, path + ": exists and " + why + "; not replaced (remove it, or pick another path)");
    }
    bool busy = ::flock(old, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (!busy && adopt) have_prior = prior_model(old, prior);
    if (have_prior) {
      // kept mapped: its readers that have not followed yet read on along this writer's models
      void* q = ::mmap(nullptr, sizeof(SharedClock), PROT_READ | PROT_WRITE, MAP_SHARED, old, 0);
      if (q != MAP_FAILED) {
        old_ = static_cast<SharedClock*>(q);
        old_fd_ = old;
      }
    }
    if (old_fd_ < 0) ::close(old);
    if (busy) throw ShmError(CT_ERR_OPEN, EBUSY, path + ": another process is publishing to this clock file");
  }
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // A new file, never an existing one: O_EXCL | O_NOFOLLOW, so a name planted at `tmp` (a
  // symlink or hard link to another file, in a world-writable directory such as /dev/shm)
  // cannot make this process truncate and overwrite that file (a live clock file under its
  // readers -- SIGBUS -- or any file this user may write). A leftover of an earlier process
  // with this pid is removed (unlink removes the name, never the file it points to) and the
  // creation retried once.
  const int create_flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  fd_ = ::open(tmp.c_str(), create_flags, 0644);
  if (fd_ < 0 && errno == EEXIST && ::unlink(tmp.c_str()) == 0) fd_ = ::open(tmp.c_str(), create_flags, 0644);
  if (fd_ < 0) {
    ShmError err = sys_error("cannot create", tmp);
    close_old();
    throw err;
  }
  len_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  if (len_ < sizeof(SharedClock)) len_ = sizeof(SharedClock);
  void* p = MAP_FAILED;
  if (::fchmod(fd_, 0644) != 0 || ::ftruncate(fd_, static_cast<off_t>(len_)) != 0 ||
      ::flock(fd_, LOCK_EX | LOCK_NB) != 0 ||
      (p = ::mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0)) == MAP_FAILED) {
    ShmError err = sys_error("cannot set up", tmp);
    close_old();
    ::close(fd_);
    ::unlink(tmp.c_str());
    throw err;
  }
  // Any failure from here on: unmap, close (dropping the lock) and remove the
  // temporary file, so nothing is left on `path` or held by this process. The
  // writer (which validates its arguments) is made before the rename.
  try {
    shared_ = new (p) SharedClock;  // the page is zero-filled; this only starts the objects' lifetime
    init_header(*shared_, static_cast<int32_t>(::getpid()));
    writer_ = std::make_unique<ClockWriter>(shared_, stale_after_ns, max_slew_rate);
    if (have_prior) {
      writer_->adopt(prior);    // before the rename: readers see it from the start
      writer_->mirror_to(old_);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw sys_error("cannot rename " + tmp + " onto it", path);
  } catch (...) {
    writer_.reset();
    shared_ = nullptr;
    ::munmap(p, len_);
    ::close(fd_);
    fd_ = -1;
    ::unlink(tmp.c_str());
    close_old();
    throw;
  }
}

void ShmPublisher::close_old() {
  if (old_ != nullptr) ::munmap(static_cast<void*>(old_), sizeof(SharedClock));
  if (old_fd_ >= 0) ::close(old_fd_);
  old_ = nullptr;
  old_fd_ = -1;
}

void ShmPublisher::close() {
  if (shared_ == nullptr) return;
  writer_->retire();
  writer_->mirror_to(nullptr);
  close_old();
  ::munmap(static_cast<void*>(shared_), len_);
  ::close(fd_);
  shared_ = nullptr;
  fd_ = -1;
}

ShmPublisher::~ShmPublisher() { close(); }

ShmReader::ShmReader(const std::string& path) : path_(path) {
  int rc = ct_reader_open(&r_, path.c_str());
  if (rc != CT_OK) throw ShmError(rc, r_.sys_errno, ct_reader_error(&r_));
  shared_ = reinterpret_cast<const SharedClock*>(r_.shm);
}

bool ShmReader::follow_replaced() {
  // The C API's ct_reader_follow: a new valid file at the path is mapped, else the old mapping kept.
  if (ct_reader_follow(&r_, path_.c_str()) != 1) return false;
  shared_ = reinterpret_cast<const SharedClock*>(r_.shm);
  return true;
}

ShmReader::~ShmReader() { ct_reader_close(&r_); }

}  // namespace chronotick::clock
