// Waking when the local clock is set (stepped) rather than at the next poll.
//
// Linux: a timerfd on CLOCK_REALTIME armed far in the future with
// TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET is cancelled -- its read fails
// with ECANCELED -- whenever the clock is set discontinuously
// (clock_settime, settimeofday, adjtimex ADJ_SETOFFSET: chrony's makestep,
// date -s). An eventfd beside it lets another thread end a wait (interrupt).
// Elsewhere available() is false and the constructor throws.
#pragma once

namespace chronotick::clock {

class ClockSetWatch {
 public:
  static bool available();
  ClockSetWatch();   // std::system_error when the timerfd or the eventfd cannot be made
  ~ClockSetWatch();
  ClockSetWatch(const ClockSetWatch&) = delete;
  ClockSetWatch& operator=(const ClockSetWatch&) = delete;

  enum Result { kTimeout = 0, kClockSet = 1, kInterrupted = 2 };
  // Blocks up to timeout_s seconds (<= 0: only looks). kClockSet when the
  // clock was set since the last kClockSet (or construction), kInterrupted
  // after interrupt() (it ends the wait in progress, or else the next one;
  // several before a wait end just that one).
  Result wait(double timeout_s);
  // From any thread (async-signal-safe: one write).
  void interrupt();

 private:
  void arm();
  int tfd_ = -1;
  int efd_ = -1;
};

}  // namespace chronotick::clock
