// Read-path self check for tests: n seqlock reads, each checked for a torn
// copy (checksum word), an inconsistent bound, and time_ns going backwards.
#pragma once
#include <cstdint>

#include "clock/seqlock.h"

namespace chronotick::clock {

struct ReadCheck {
  uint64_t reads = 0, torn = 0, bad_bounds = 0, backwards = 0, retries = 0, unknown = 0;
};

// snapshot(local_ns, retries) -> ct_clock_data, as ShmReader / ClockState have.
template <class Reader>
ReadCheck verify_reads(const Reader& r, uint64_t n) {
  ReadCheck c;
  int64_t last = INT64_MIN;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t t;
    unsigned retries;
    ct_clock_data d = r.snapshot(t, retries);
    uint64_t w[kWords];
    to_words(d, w);
    ++c.reads;
    c.retries += retries;
    if (ct_checksum(w) != d.check) ++c.torn;
    ct_time_bound b = ct_compute(&d, t, 1);
    if (b.status == CT_UNKNOWN) ++c.unknown;
    else if (!(b.earliest_ns <= b.time_ns && b.time_ns <= b.latest_ns)) ++c.bad_bounds;
    if (b.time_ns < last) ++c.backwards;
    last = b.time_ns;
  }
  return c;
}

}  // namespace chronotick::clock
