// prefix_hash: a fingerprint of the newest measurements of each prefix of a
// series -- the key under which an ONNX model's output for that prefix is
// remembered (python/chronotick/models/onnx.py, prefix_keys).
//
// For the prefix [0, i) of (t, y):
//
//   H(i) = sum_{j = max(0, i - span)}^{i - 1} x_j b^(i - 1 - j)   (mod 2^64),
//   x_j  = mix(mix(bits(y_j)) ^ bits(t_j)) | 1,
//
// mix splitmix64's finaliser, bits the IEEE-754 bit pattern, b an odd
// constant. x_j is odd, so never 0: a prefix with one more measurement at
// its start has another fingerprint (x_j b^k odd). Until 2026-12-05 x_j of
// (t, y) = (0, 0) was 0 -- mix(0) = 0 -- and a series starting at t = 0 with
// offsets relative to its first measurement shared every key with the same
// series less that point (found by an audit: predict() answered from the
// other series' model outputs). Positions count back from the prefix's newest measurement, so
// dropping the oldest measurements of a series leaves every key whose span
// they were not in unchanged. All prefixes in one pass over prefix sums
// P_k = sum_{j < k} x_j b^-j (b is invertible modulo 2^64):
// H(i) = b^(i-1) (P_i - P_{max(0, i - span)}).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace chronotick {

// splitmix64's finaliser.
inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The IEEE-754 bit pattern of v.
inline std::uint64_t bits64(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  return u;
}

// x_j of the fingerprint below.
inline std::uint64_t measurement_hash(double t, double y) { return mix64(mix64(bits64(y)) ^ bits64(t)) | 1; }

// out[k] = H(ends[k]); each end in [1, n], span >= 1. Throws
// std::invalid_argument naming a bad end or span.
void prefix_hashes(const double* t, const double* y, std::size_t n, const std::int64_t* ends, std::size_t m,
                   std::size_t span, std::uint64_t* out);

// The same with a span per end: out[k] = H(ends[k]) over its newest spans[k]
// measurements (a model on a fixed grid step: each prefix's window holds the
// measurements of a fixed time span, however many).
void prefix_hashes_spans(const double* t, const double* y, std::size_t n, const std::int64_t* ends,
                         std::size_t m, const std::int64_t* spans, std::uint64_t* out);

}  // namespace chronotick
