#include "windowing/prefix_hash.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace chronotick {
namespace {

constexpr std::uint64_t kBase = 0x9E3779B97F4A7C15ULL;

// b^-1 modulo 2^64 (Newton's iteration; each step doubles the correct low bits).
std::uint64_t inverse(std::uint64_t b) {
  std::uint64_t x = b;
  for (int k = 0; k < 6; ++k) x *= 2 - b * x;
  return x;
}

}  // namespace

namespace {

// H(ends[k]) over span_of(k) measurements each.
template <typename SpanOf>
void hashes(const double* t, const double* y, std::size_t n, const std::int64_t* ends, std::size_t m,
            SpanOf span_of, std::uint64_t* out) {
  if (m == 0) return;
  std::size_t lo = n, hi = 0;
  for (std::size_t k = 0; k < m; ++k) {
    if (ends[k] < 1 || static_cast<std::uint64_t>(ends[k]) > n)
      throw std::invalid_argument("ends[" + std::to_string(k) + "] = " + std::to_string(ends[k]) +
                                  " is not in [1, " + std::to_string(n) + "]");
    const std::size_t end = static_cast<std::size_t>(ends[k]), span = span_of(k);
    lo = std::min(lo, end > span ? end - span : 0);
    hi = std::max(hi, end);
  }
  // Only measurements [lo, hi) enter any key; indices below are relative to lo.
  const std::size_t len = hi - lo;
  std::vector<std::uint64_t> p(len + 1), fwd(len);
  const std::uint64_t inv = inverse(kBase);
  std::uint64_t back = 1, ahead = 1;  // b^-k, b^k
  p[0] = 0;
  for (std::size_t k = 0; k < len; ++k) {
    p[k + 1] = p[k] + measurement_hash(t[lo + k], y[lo + k]) * back;
    fwd[k] = ahead;
    back *= inv;
    ahead *= kBase;
  }
  for (std::size_t k = 0; k < m; ++k) {
    const std::size_t i = static_cast<std::size_t>(ends[k]) - lo;  // >= 1
    const std::size_t span = span_of(k);
    const std::size_t start = i > span ? i - span : 0;
    out[k] = fwd[i - 1] * (p[i] - p[start]);
  }
}

}  // namespace

void prefix_hashes(const double* t, const double* y, std::size_t n, const std::int64_t* ends, std::size_t m,
                   std::size_t span, std::uint64_t* out) {
  if (span == 0) throw std::invalid_argument("span must be >= 1");
  hashes(t, y, n, ends, m, [span](std::size_t) { return span; }, out);
}

void prefix_hashes_spans(const double* t, const double* y, std::size_t n, const std::int64_t* ends,
                         std::size_t m, const std::int64_t* spans, std::uint64_t* out) {
  for (std::size_t k = 0; k < m; ++k)
    if (spans[k] < 1)
      throw std::invalid_argument("spans[" + std::to_string(k) + "] = " + std::to_string(spans[k]) + " is not >= 1");
  hashes(t, y, n, ends, m, [spans](std::size_t k) { return static_cast<std::size_t>(spans[k]); }, out);
}

}  // namespace chronotick
