#include "clock/clock_set_watch.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <system_error>

#if defined(__linux__)
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#endif

namespace chronotick::clock {

#if defined(__linux__)

bool ClockSetWatch::available() { return true; }

ClockSetWatch::ClockSetWatch() {
  tfd_ = ::timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
  if (tfd_ < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create(CLOCK_REALTIME)");
  efd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd_ < 0) {
    int e = errno;
    ::close(tfd_);
    throw std::system_error(e, std::generic_category(), "eventfd");
  }
  try {
    arm();
  } catch (...) {
    ::close(tfd_);
    ::close(efd_);
    throw;
  }
}

ClockSetWatch::~ClockSetWatch() {
  ::close(tfd_);
  ::close(efd_);
}

// Armed ~3 years ahead (absolute): it expires only if the clock is set past that -- a set too.
void ClockSetWatch::arm() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  itimerspec its{};
  its.it_value.tv_sec = now.tv_sec + 100000000;
  if (::timerfd_settime(tfd_, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, nullptr) != 0)
    throw std::system_error(errno, std::generic_category(), "timerfd_settime(TFD_TIMER_CANCEL_ON_SET)");
}

ClockSetWatch::Result ClockSetWatch::wait(double timeout_s) {
  int ms = 0;
  if (timeout_s > 0) ms = timeout_s >= 2.0e6 ? 2000000000 : static_cast<int>(std::ceil(timeout_s * 1000.0));
  pollfd fds[2] = {{tfd_, POLLIN, 0}, {efd_, POLLIN, 0}};
  int rc = ::poll(fds, 2, ms);
  if (rc <= 0) return kTimeout;  // (EINTR too: the caller waits again with what is left)
  if (fds[1].revents & POLLIN) {
    uint64_t n;
    (void)!::read(efd_, &n, sizeof n);  // resets the counter
    return kInterrupted;
  }
  if (fds[0].revents & POLLIN) {
    uint64_t n;
    ssize_t r = ::read(tfd_, &n, sizeof n);
    if ((r < 0 && errno == ECANCELED) || r == static_cast<ssize_t>(sizeof n)) {
      arm();  // a cancelled (or expired) timer stays so until armed again
      return kClockSet;
    }
  }
  return kTimeout;
}

void ClockSetWatch::interrupt() {
  uint64_t one = 1;
  (void)!::write(efd_, &one, sizeof one);
}

#else

bool ClockSetWatch::available() { return false; }
ClockSetWatch::ClockSetWatch() {
  throw std::system_error(std::make_error_code(std::errc::function_not_supported), "ClockSetWatch needs Linux");
}
ClockSetWatch::~ClockSetWatch() = default;
void ClockSetWatch::arm() {}
ClockSetWatch::Result ClockSetWatch::wait(double) { return kTimeout; }
void ClockSetWatch::interrupt() {}

#endif

}  // namespace chronotick::clock
