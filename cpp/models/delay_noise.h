// delay_noise: each measurement's noise scale from its round-trip delay.
//
// An NTP offset's error comes mostly from queueing on the path, which also
// shows as delay above the path's minimum; chrony weights its samples the
// same way (sourcestats.c: sd + distance - min_distance). Per window of n
// measurements (offsets y, delays d, oldest first):
//
//   x_i     = (d_i - min d) / 2                  excess one-way delay
//   x_typ   = median of the positive x_i          (the unit of x)
//   sigma_i = sqrt(pi/2) s (1 + k x_i / x_typ)   (normal-consistent)
//
// k and s by Laplace maximum likelihood on the scatter of each measurement
// about its neighbours, r_i = |y_i - median(y_{i-2} .. y_{i+2})| (interior
// points only): for each k of a fixed grid {0, 0.01 .. 1000} (16 steps,
// geometric), s_k = mean(r_i / f_i) with f_i = 1 + k x_i / x_typ, and
//   score(k) = -sum log(s_k f_i) - [k > 0] (1/2) log m     (BIC, m points)
// so equal weights (k = 0) win unless the delays explain the scatter better
// by more than one parameter's worth. Scale-free in the delays' unit; sigma
// is in the offsets' unit (r_i understates the scatter a little: the median
// includes y_i; the models use only sigma's ratios).
//
// Returns false (sigma untouched) when there is nothing to fit: fewer than
// 8 measurements, all delays equal, or no scatter. k = 0 gives equal sigma.
#pragma once
#include <cstddef>

namespace chronotick {

struct DelayNoise {
  double k = 0.0;      // chosen slope of the scale in x / x_typ (0: equal weights)
  double s = 0.0;      // Laplace scale of a minimum-delay measurement (offsets' unit)
  double x_typ = 0.0;  // median positive excess one-way delay (delays' unit)
};

bool delay_noise(const double* y, const double* d, std::size_t n, double* sigma, DelayNoise* fit = nullptr);

}  // namespace chronotick
