/* Corrected time from C through include/chronotick.h vs plain clock_gettime.
 *
 *   cc -O2 -std=c99 -D_POSIX_C_SOURCE=200809L -Iinclude benchmarks/clock_read_bench.c -o clock_read_bench
 *   ./clock_read_bench PATH [ITERATIONS]
 *
 * First line: "now STATUS EARLIEST_NS LATEST_NS TIME_NS" (one ct_reader_now),
 * then, when ITERATIONS > 0, "clock_gettime_ns X", "ct_reader_now_ns Y" (mean
 * ns per call, best of 5 runs) and "ratio Y/X". Exit status 2 with the
 * reader's message if the file cannot be opened.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chronotick.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static volatile int64_t sink;

int main(int argc, char** argv) {
  ct_reader r;
  ct_time_bound b;
  long n = 0, i;
  int run;
  double best_sys = 1e30, best_ct = 1e30;
  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH [ITERATIONS]\n", argv[0]);
    return 1;
  }
  if (argc > 2) n = strtol(argv[2], NULL, 10);
  if (ct_reader_open(&r, argv[1]) != CT_OK) {
    fprintf(stderr, "%s\n", ct_reader_error(&r));
    return 2;
  }
  b = ct_reader_now(&r);
  printf("now %d %lld %lld %lld\n", b.status, (long long)b.earliest_ns, (long long)b.latest_ns,
         (long long)b.time_ns);
  for (run = 0; run < 5 && n > 0; ++run) {
    double t0, t1, t2;
    int64_t acc = 0;
    t0 = now_s();
    for (i = 0; i < n; ++i) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      acc += ts.tv_nsec;
    }
    t1 = now_s();
    for (i = 0; i < n; ++i) acc += ct_reader_now_ns(&r);
    t2 = now_s();
    sink = acc;
    if ((t1 - t0) < best_sys) best_sys = t1 - t0;
    if ((t2 - t1) < best_ct) best_ct = t2 - t1;
  }
  if (n > 0) {
    printf("clock_gettime_ns %.2f\n", 1e9 * best_sys / (double)n);
    printf("ct_reader_now_ns %.2f\n", 1e9 * best_ct / (double)n);
    printf("ratio %.3f\n", best_ct / best_sys);
  }
  ct_reader_close(&r);
  return 0;
}
