/* chronotick.h -- read chronotick's corrected time from C or C++ without Python.
 *
 * A chronotick server publishes its clock model in a small shared-memory
 * file (written by chronotick's ClockPublisher); any process maps it
 * read-only and computes corrected time with one clock_gettime(CLOCK_REALTIME)
 * (vDSO) and no locks, system calls or allocation:
 *
 *     ct_reader r;
 *     if (ct_reader_open(&r, "/run/chronotick/clock") != CT_OK) { puts(ct_reader_error(&r)); ... }
 *     ct_time_bound tb = ct_reader_now(&r);   // tb.time_ns, [tb.earliest_ns, tb.latest_ns], tb.status
 *     ct_reader_close(&r);
 *
 * A restarted server renames a new file onto the path; a mapping of the old
 * one reads CT_UNKNOWN from then on. A reader that stays UNKNOWN should call
 * ct_reader_follow(&r, path) now and then (chronotick's own readers do, at most
 * once a second while UNKNOWN): it maps the file now at the path if that is
 * another one. The new server's file reads CT_UNKNOWN until its first
 * publish, with time_ns along the model the old server left (adopted when
 * that was written on this boot within the hour, with no step of the local
 * clock since: CLOCK_REALTIME and CLOCK_MONOTONIC advanced alike since its
 * heartbeat), and its first model is slewed in from that one; it also writes
 * its models, marked CT_UNKNOWN, into the file it replaced, so a reader that
 * follows late reads the same time_ns on either: time_ns does not go back
 * across a restart. Otherwise it reads the local clock until its
 * first publish, and time_ns can go back by the old model's offset.
 *
 * Misuse: NULL for the reader or the path gives CT_ERR_OPEN (errno EINVAL);
 * ct_reader_now/close/error accept NULL, closed and failed readers. The file
 * must not be truncated while mapped: a read of a page cut off faults with
 * SIGBUS. chronotick's publisher never truncates a file at the path (it makes
 * a new file and renames it over the old one) and creates it mode 0644, so
 * only the file's owner (the publishing user) or root can truncate it.
 *
 * Header-only (static inline), C99 with the GCC/Clang __atomic builtins, POSIX
 * (mmap, clock_gettime, kill). In strict C99 define _POSIX_C_SOURCE=200809L.
 *
 * The model (all times ns of CLOCK_REALTIME unless stated; offset = reference - local):
 *
 *     best(t)   = t + offset_ns + floor(freq * (t - ref_local_ns))
 *     slew(t)   = slew_v0_ns + (t - slew_t0_ns) + floor((freq - slew_rate) * (t - slew_t0_ns))
 *     time_ns   = max(best(t), slew(t))
 *     half(t)   = bound_ns + growth_ns_per_s * max(0, t - ref_local_ns) / 1e9
 *     earliest  = best(t) - half(t),   latest = max(best(t) + half(t), time_ns)
 *
 * When the writer replaces a model whose time is ahead of the new best
 * estimate, it starts slew() at the old model's value (slew_v0_ns at
 * slew_t0_ns = the publish time) and lets it run slower than best() by
 * slew_rate until best() catches up, so time_ns never goes backwards across
 * publishes (slopes 1 + freq - slew_rate > 0). Before the first publish
 * time_ns is the local clock, and the first model is slewed in from it the
 * same way (a local clock that is ahead is not stepped back). Forward
 * corrections apply at once. Bounds are around best(); `latest` widens to include time_ns during a
 * slew. Monotonicity assumes CLOCK_REALTIME itself is not stepped backwards.
 *
 * Staleness: the segment reads as CT_UNKNOWN (bounds INT64_MIN..INT64_MAX,
 * time_ns still from the model if one was ever published, else the local
 * clock) when the writer's last heartbeat is more than stale_after_ns old
 * (measured on CLOCK_REALTIME against heartbeat_real_ns; heartbeat_mono_ns
 * holds the same instant on CLOCK_MONOTONIC, which a restarted writer uses to
 * tell whether the local clock was stepped since), or when the writer
 * process has gone (checked with kill(pid, 0) at most every 100 ms, by a
 * reader in the writer's PID namespace only: in another one -- a container
 * reading the host's clock or the reverse -- the writer's pid names no
 * process or another one, and a dead writer shows only as a stale heartbeat).
 *
 * Seqlock: `seq` is odd while the writer writes. The writer stores seq odd,
 * release fence, data words (relaxed), seq even (release). A reader loads seq
 * (acquire), copies the data words (relaxed), acquire fence, reloads seq, and
 * retries if it was odd or changed. The last data word is a checksum of the
 * others (ct_checksum) so tests can prove no read is torn; ct_reader_open
 * checks it once to refuse garbage behind a valid header (CT_ERR_CORRUPT).
 */
#ifndef CHRONOTICK_H
#define CHRONOTICK_H

/* Strict ISO C (-std=c99/c11) hides POSIX: ask for it when no feature macro is
 * set (effective when this header comes before any system header). */
#if defined(__STRICT_ANSI__) && !defined(__cplusplus) && !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && \
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) && !defined(_BSD_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#if !defined(__GNUC__) && !defined(__clang__)
#error "chronotick.h needs the GCC/Clang __atomic builtins (gcc, clang, icx)"
#endif

#if !defined(CLOCK_REALTIME) || !defined(O_CLOEXEC)
#error "chronotick.h needs POSIX.1-2008 (clock_gettime, O_CLOEXEC, kill): compile with -D_POSIX_C_SOURCE=200809L or include chronotick.h before other headers"
#endif

/* ThreadSanitizer does not model standalone fences (GCC warns -Wtsan); under it
 * the seqlock uses the equivalent per-access form instead: release stores and
 * acquire loads of the data words. Same ordering guarantees, no fences. */
#if defined(__SANITIZE_THREAD__)
#define CT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CT_TSAN 1
#endif
#endif

#define CT_VERSION_MAJOR 1
#define CT_VERSION_MINOR 1

/* status */
#define CT_UNKNOWN 0
#define CT_SYNCHRONIZED 1
#define CT_HOLDOVER 2

/* error codes of ct_reader_open (ct_reader_follow returns them negated) */
#define CT_OK 0
#define CT_ERR_OPEN 1      /* open/fstat/mmap failed, or a NULL reader/path (EINVAL): see r->sys_errno (errno is left set too) */
#define CT_ERR_SIZE 2      /* the file is smaller than the layout it claims or this reader needs */
#define CT_ERR_MAGIC 3     /* not a chronotick clock file */
#define CT_ERR_VERSION 4   /* written with a different major layout version */
#define CT_ERR_NOT_FILE 5  /* not a regular file (a FIFO, a directory, a device) */
#define CT_ERR_CORRUPT 6   /* right header, but the data fails its checksum or the writer pid is not > 0 */

/* The data read under the seqlock: 14 words of 8 bytes. */
typedef struct ct_clock_data {
  int64_t ref_local_ns;      /* local CLOCK_REALTIME of the reference point */
  int64_t offset_ns;         /* reference - local at ref_local_ns */
  double freq;               /* d(offset)/d(local time), dimensionless (1e-6 = 1 ppm; + = local slow) */
  int64_t bound_ns;          /* half-width of the error bound at ref_local_ns */
  double growth_ns_per_s;    /* bound growth per second after ref_local_ns */
  int64_t slew_t0_ns;        /* publish time (local) where slew() starts */
  int64_t slew_v0_ns;        /* slew(slew_t0_ns) */
  double slew_rate;          /* how much slower than best() slew() runs, dimensionless (5e-4 = 500 ppm) */
  int64_t heartbeat_mono_ns; /* CLOCK_MONOTONIC of the last publish/heartbeat */
  int64_t heartbeat_real_ns; /* CLOCK_REALTIME of the same instant */
  int64_t stale_after_ns;    /* heartbeat older than this -> CT_UNKNOWN */
  double confidence;         /* coverage the bound is calibrated for, e.g. 0.99 */
  int64_t status;            /* CT_UNKNOWN / CT_SYNCHRONIZED / CT_HOLDOVER */
  uint64_t check;            /* ct_checksum of the 13 words above */
} ct_clock_data;

#define CT_DATA_WORDS 14

/* The file layout (version 1.1). Fields before `seq`, and `reserved`, are
 * written once when the file is created and never change. 1.1: reserved[0] /
 * reserved[1] are the inode / device of the writer's PID namespace
 * (/proc/self/ns/pid; 0 = not recorded, as 1.0 writers leave them). */
typedef struct ct_clock_shm {
  char magic[4];             /* "CTCK" */
  uint16_t version_major;
  uint16_t version_minor;
  uint32_t size;             /* sizeof the layout as written (>= sizeof(ct_clock_shm) for 1.x) */
  int32_t writer_pid;
  uint64_t seq;              /* seqlock counter: odd while writing */
  uint64_t data[CT_DATA_WORDS]; /* a ct_clock_data, word by word */
  uint64_t reserved[16];     /* room for minor-version additions */
} ct_clock_shm;

typedef char ct_assert_data_size[(sizeof(ct_clock_data) == 8 * CT_DATA_WORDS) ? 1 : -1];
typedef char ct_assert_shm_size[(sizeof(ct_clock_shm) == 24 + 8 * CT_DATA_WORDS + 128) ? 1 : -1];

typedef struct ct_time_bound {
  int64_t earliest_ns;       /* true time is >= this (at the calibrated confidence) */
  int64_t latest_ns;         /* true time is <= this */
  int64_t time_ns;           /* corrected time, monotonic across publishes */
  int status;                /* CT_UNKNOWN / CT_SYNCHRONIZED / CT_HOLDOVER */
} ct_time_bound;

/* A checksum of the first 13 data words (FNV-1a over 64-bit words, then a mix). */
static inline uint64_t ct_checksum(const uint64_t* w) {
  uint64_t h = 0xcbf29ce484222325ull;
  int i;
  for (i = 0; i < CT_DATA_WORDS - 1; ++i) {
    h ^= w[i];
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  return h;
}

/* Saturating int64 arithmetic: the model's terms are added so that no partial sum overflows
 * where the result fits, and a result beyond int64 is clamped, never wrapped (a wrapped sum is
 * undefined behaviour in C, and had collapsed a bound's upper half to nothing). Where nothing
 * overflows the results are the plain sums; the result is exact wherever it and each difference
 * of two times (t - ref, t - slew_t0: within +-2^62 as the writer publishes them) fit in int64.
 * The compiler's overflow builtins where it has them (GCC 5+, Clang), else comparisons
 * (CT_PORTABLE_OVERFLOW_CHECKS chooses those anywhere). */
#if !defined(CT_PORTABLE_OVERFLOW_CHECKS) && defined(__has_builtin)
#if __has_builtin(__builtin_add_overflow) && __has_builtin(__builtin_sub_overflow)
#define CT_HAVE_OVERFLOW_BUILTINS 1
#endif
#elif !defined(CT_PORTABLE_OVERFLOW_CHECKS) && defined(__GNUC__) && __GNUC__ >= 5
#define CT_HAVE_OVERFLOW_BUILTINS 1
#endif
#ifdef CT_HAVE_OVERFLOW_BUILTINS
#define CT_ADD_OVERFLOWS(a, b, r) __builtin_add_overflow(a, b, r)
#define CT_SUB_OVERFLOWS(a, b, r) __builtin_sub_overflow(a, b, r)
#else
static inline int ct_add_overflows(int64_t a, int64_t b, int64_t* r) {
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return 1;
  *r = a + b;
  return 0;
}
static inline int ct_sub_overflows(int64_t a, int64_t b, int64_t* r) {
  if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b)) return 1;
  *r = a - b;
  return 0;
}
#define CT_ADD_OVERFLOWS(a, b, r) ct_add_overflows(a, b, r)
#define CT_SUB_OVERFLOWS(a, b, r) ct_sub_overflows(a, b, r)
#endif

static inline int64_t ct_sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (CT_ADD_OVERFLOWS(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static inline int64_t ct_sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (CT_SUB_OVERFLOWS(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}

/* a + b + c: in order where no partial sum overflows (the common case); else two of opposite
 * signs first (that sum cannot overflow), so a sum that fits is exact. */
static inline int64_t ct_add3(int64_t a, int64_t b, int64_t c) {
  int64_t ab, r;
  if (!CT_ADD_OVERFLOWS(a, b, &ab) && !CT_ADD_OVERFLOWS(ab, c, &r)) return r;
  if ((a < 0) != (b < 0)) return ct_sat_add(a + b, c);
  if ((a < 0) != (c < 0)) return ct_sat_add(a + c, b);
  return ct_sat_add(ct_sat_add(a, b), c);
}

/* floor(k * dt), clamped to int64 (NaN: 0). */
static inline int64_t ct_floor_mul(double k, int64_t dt) {
  double x = k * (double)dt;
  int64_t i;
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))   /* beyond int64, or NaN */
    return x != x ? 0 : (x > 0 ? INT64_MAX : INT64_MIN);
  i = (int64_t)x;
  return (x < (double)i) ? i - 1 : i;
}

static inline int64_t ct_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* best(t): the model's estimate of reference time at local time t. */
static inline int64_t ct_best(const ct_clock_data* d, int64_t t) {
  return ct_add3(t, d->offset_ns, ct_floor_mul(d->freq, ct_sat_sub(t, d->ref_local_ns)));
}

/* time_ns at local time t: max(best, slew) -- see the top of this file. */
static inline int64_t ct_time(const ct_clock_data* d, int64_t t) {
  int64_t best = ct_best(d, t);
  int64_t dt = ct_sat_sub(t, d->slew_t0_ns);
  int64_t slew = ct_add3(d->slew_v0_ns, dt, ct_floor_mul(d->freq - d->slew_rate, dt));
  return slew > best ? slew : best;
}

/* The bound at local time t; `writer_alive` = 0 forces CT_UNKNOWN. */
/* The writer created the file but has published no model: time is the local clock's. */
static inline int ct_never_published(const ct_clock_data* d) {
  return d->status == CT_UNKNOWN && d->heartbeat_real_ns == 0;
}

static inline ct_time_bound ct_compute(const ct_clock_data* d, int64_t t, int writer_alive) {
  ct_time_bound r;
  int64_t age = ct_sat_sub(t, d->heartbeat_real_ns);
  int64_t best, elapsed;
  double half;
  if (ct_never_published(d)) {
    r.earliest_ns = INT64_MIN; r.latest_ns = INT64_MAX; r.time_ns = t; r.status = CT_UNKNOWN;
    return r;
  }
  r.time_ns = ct_time(d, t);
  if (d->status == CT_UNKNOWN || (uint64_t)d->status > CT_HOLDOVER || !writer_alive || d->stale_after_ns < 0 ||
      age > d->stale_after_ns || age < -d->stale_after_ns) {
    r.earliest_ns = INT64_MIN; r.latest_ns = INT64_MAX; r.status = CT_UNKNOWN;
    return r;
  }
  best = ct_best(d, t);
  elapsed = ct_sat_sub(t, d->ref_local_ns);
  half = (double)d->bound_ns + (elapsed > 0 ? d->growth_ns_per_s * (double)elapsed * 1e-9 : 0.0);
  /* saturate rather than overflow (NaN too), at 2^62 ns: the largest bound a writer publishes is
     read as published (a cap of 4e18 had narrowed bounds of 4e18..2^62; earliest/latest saturate) */
  if (!(half < 4611686018427387904.0)) half = 4611686018427387904.0;
  if (half < -4611686018427387904.0) half = -4611686018427387904.0;  /* (no writer of ours publishes one) */
  r.earliest_ns = ct_sat_sub(best, (int64_t)half);
  r.latest_ns = ct_sat_add(best, (int64_t)half);
  if (r.latest_ns < r.time_ns) r.latest_ns = r.time_ns;
  r.status = (int)d->status;
  return r;
}

/* A reader that finds the writer mid-write spins; every 1024 spins it yields
 * the CPU (the writer may be waiting for one) and gives up -- reading
 * CT_UNKNOWN -- if the writer process is gone (killed between its two seq
 * stores) or has stayed mid-write for CT_READ_MAX_WAIT_NS (e.g. stopped). */
#ifndef CT_READ_MAX_WAIT_NS
#define CT_READ_MAX_WAIT_NS 1000000000
#endif

/* Whether this process sees the writer's pid as the writer: it runs in the PID
 * namespace the writer recorded (or the writer recorded none, or this process
 * cannot tell). A reader in a container reading a host writer's file (or the
 * reverse) must not kill(pid, 0) the writer's pid: in its namespace that pid
 * is no process (the writer read as gone: CT_UNKNOWN for its whole life) or
 * another one (a dead writer read as alive). There a dead writer shows only
 * as a heartbeat older than stale_after. */
static inline int ct_same_pid_namespace(const ct_clock_shm* shm) {
  struct stat ns;
  if (shm->reserved[0] == 0 || stat("/proc/self/ns/pid", &ns) != 0) return 1;
  return (uint64_t)ns.st_ino == shm->reserved[0] && (uint64_t)ns.st_dev == shm->reserved[1];
}

/* writer_pid <= 0: no process to ask (another PID namespace), only the wait's length counts. */
static inline int ct_writer_stuck(int32_t writer_pid, int64_t* first_wait_ns) {
  int64_t now = ct_realtime_ns();
  if (*first_wait_ns == 0) *first_wait_ns = now;
  if (writer_pid > 0 && kill((pid_t)writer_pid, 0) != 0 && errno == ESRCH) return 1;
  if (now - *first_wait_ns > CT_READ_MAX_WAIT_NS || now < *first_wait_ns) return 1;
  sched_yield();
  return 0;
}

/* A read that finds the writer mid-write (seq odd) starts its wait here:
 * *first_wait is the wait's start, and the result says whether that wait is
 * over already (give up at once). A reader that keeps `stuck` (ct_reader
 * does: {seq of the write found in progress, local time it was first found})
 * carries the wait over from one read to the next while that same write stays
 * in progress, so a writer stuck for good (e.g. stopped) costs one read
 * CT_READ_MAX_WAIT_NS, not every read. stuck may be NULL (each read waits on
 * its own). Several threads may share one `stuck`: a race between them can
 * only make one read give up early or wait anew. */
static inline int ct_wait_begin(int64_t* stuck, uint64_t seq, int64_t* first_wait) {
  int64_t now = ct_realtime_ns();
  if (stuck != NULL && (uint64_t)__atomic_load_n(&stuck[0], __ATOMIC_ACQUIRE) == seq) {
    int64_t since = __atomic_load_n(&stuck[1], __ATOMIC_RELAXED);
    if (since != 0) {
      *first_wait = since;
      return now - since > CT_READ_MAX_WAIT_NS;
    }
  }
  if (stuck != NULL) {
    __atomic_store_n(&stuck[1], now, __ATOMIC_RELAXED);
    __atomic_store_n(&stuck[0], (int64_t)seq, __ATOMIC_RELEASE);
  }
  *first_wait = now;
  return 0;
}

/* After a read that succeeded: the write it may have waited on is done. */
static inline void ct_wait_done(int64_t* stuck) {
  if (stuck != NULL && __atomic_load_n(&stuck[0], __ATOMIC_RELAXED) != 0)
    __atomic_store_n(&stuck[0], 0, __ATOMIC_RELAXED);
}

/* The words a reader falls back on when it gives up on a stuck writer: the
 * data as it lies, if it carries its checksum (a writer killed between its two
 * seq stores has left the previous model intact), with the status UNKNOWN, so
 * time_ns runs on along the last model rather than falling back to the local
 * clock; else (a half-written copy) the never-published state. */
#define CT_WORD_HEARTBEAT_REAL (offsetof(ct_clock_data, heartbeat_real_ns) / 8)
#define CT_WORD_STATUS (offsetof(ct_clock_data, status) / 8)

/* w: the data words as they lie in the file (copied without the seqlock). */
static inline void ct_stuck_words(uint64_t* w) {
  if (ct_checksum(w) == w[CT_DATA_WORDS - 1] && w[CT_WORD_HEARTBEAT_REAL] != 0) {
    w[CT_WORD_STATUS] = CT_UNKNOWN;
  } else {
    memset(w, 0, CT_DATA_WORDS * sizeof w[0]);
  }
  w[CT_DATA_WORDS - 1] = ct_checksum(w);
}

/* One seqlock read of the data; also reads the local clock inside the read
 * window (so the data is the model in force at that instant). Returns 0, or
 * -1 when it gave up on a stuck writer (ct_writer_stuck): then `out` is the
 * last intact model marked CT_UNKNOWN, or the never-published state
 * (ct_stuck_words), either reading as CT_UNKNOWN. stuck: see ct_wait_begin
 * (ct_read passes NULL; ct_reader_now its reader's). */
__attribute__((noinline, cold, unused)) static int ct_read_loop(const ct_clock_shm* shm, ct_clock_data* out,
                                                               int64_t* local_ns, int64_t* stuck) {
  uint64_t w[CT_DATA_WORDS];
  unsigned spins = 0;
  int64_t first_wait = 0;
  for (;;) {
    uint64_t s1;
    int i, check = 0;
    s1 = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE);
    if (s1 & 1u) {
      if (first_wait == 0) check = ct_wait_begin(stuck, s1, &first_wait);
      if ((check || (++spins & 1023u) == 0) &&
          ct_writer_stuck(ct_same_pid_namespace(shm) ? shm->writer_pid : 0, &first_wait)) {
        for (i = 0; i < CT_DATA_WORDS; ++i) w[i] = __atomic_load_n(&shm->data[i], __ATOMIC_ACQUIRE);
        ct_stuck_words(w);
        memcpy(out, w, sizeof w);
        *local_ns = ct_realtime_ns();
        return -1;
      }
      continue;
    }
    *local_ns = ct_realtime_ns();
#ifdef CT_TSAN
    for (i = 0; i < CT_DATA_WORDS; ++i) w[i] = __atomic_load_n(&shm->data[i], __ATOMIC_ACQUIRE);
#else
    for (i = 0; i < CT_DATA_WORDS; ++i) w[i] = __atomic_load_n(&shm->data[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
#endif
    if (__atomic_load_n(&shm->seq, __ATOMIC_RELAXED) == s1) break;
  }
  ct_wait_done(stuck);
  memcpy(out, w, sizeof w);
  return 0;
}

/* ct_read_loop's first attempt, inline: the writer idle (seq even) and still so after the copy --
 * nearly every read. Anything else (a write in progress, or one that began during the copy) goes
 * to the loop, out of line, so the common read stays short (ct_reader_now_ns had grown to 2.2x a
 * clock_gettime with the stuck-writer handling inline; 1.8x again like this). */
static inline int ct_read_waited(const ct_clock_shm* shm, ct_clock_data* out, int64_t* local_ns, int64_t* stuck) {
#ifndef CT_TSAN
  uint64_t s1 = __atomic_load_n(&shm->seq, __ATOMIC_ACQUIRE);
  if (__builtin_expect(!(s1 & 1u), 1)) {
    uint64_t w[CT_DATA_WORDS];
    int i;
    *local_ns = ct_realtime_ns();
    for (i = 0; i < CT_DATA_WORDS; ++i) w[i] = __atomic_load_n(&shm->data[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__builtin_expect(__atomic_load_n(&shm->seq, __ATOMIC_RELAXED) == s1, 1)) {
      ct_wait_done(stuck);
      memcpy(out, w, sizeof w);
      return 0;
    }
  }
#endif
  return ct_read_loop(shm, out, local_ns, stuck);
}

static inline int ct_read(const ct_clock_shm* shm, ct_clock_data* out, int64_t* local_ns) {
  return ct_read_waited(shm, out, local_ns, NULL);
}

/* Checks the fixed header of a mapped file of `len` bytes; CT_OK or an error code. */
static inline int ct_check_header(const ct_clock_shm* shm, size_t len) {
  if (len < 16) return CT_ERR_SIZE;
  if (memcmp(shm->magic, "CTCK", 4) != 0) return CT_ERR_MAGIC;
  if (shm->version_major != CT_VERSION_MAJOR) return CT_ERR_VERSION;
  if (len < sizeof(ct_clock_shm) || shm->size < sizeof(ct_clock_shm) || shm->size > len) return CT_ERR_SIZE;
  return CT_OK;
}

typedef struct ct_reader {
  const ct_clock_shm* shm;
  size_t map_len;
  int fd;
  int error;                 /* last ct_reader_open result */
  int sys_errno;             /* errno for CT_ERR_OPEN */
  int64_t next_pid_check_ns; /* local time of the next kill(pid, 0) */
  int writer_alive;
  int same_pid_namespace;    /* ct_same_pid_namespace at open: 0 = no kill(pid, 0) */
  int64_t stuck[2];          /* a write found in progress and since when (ct_wait_begin) */
  char message[320];
} ct_reader;

/* Opens and maps `path` read-only. Returns CT_OK or an error code; on error
 * ct_reader_error(r) says what went wrong (naming the path, cut to 200
 * characters) and nothing needs closing. It checks the published data once
 * (CT_ERR_CORRUPT: a checksum mismatch; an all-zero file reads as never published). */
static inline int ct_reader_open(ct_reader* r, const char* path) {
  struct stat st;
  void* p;
  const ct_clock_shm* shm;
  const char* cut;
  if (r == NULL) {           /* nowhere to say more: CT_ERR_OPEN with errno EINVAL */
    errno = EINVAL;
    return CT_ERR_OPEN;
  }
  memset(r, 0, sizeof *r);
  r->fd = -1;
  r->writer_alive = 1;
  if (path == NULL) {
    r->sys_errno = EINVAL;
    snprintf(r->message, sizeof r->message, "(null): cannot open: the path is a NULL pointer");
    errno = EINVAL;
    return r->error = CT_ERR_OPEN;
  }
  cut = strlen(path) > 200 ? "..." : "";  /* messages show "%.200s%s", path, cut */
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer for ever */
  r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (r->fd < 0 || fstat(r->fd, &st) != 0) {
    r->sys_errno = errno;
    snprintf(r->message, sizeof r->message, "%.200s%s: cannot open: %s", path, cut, strerror(r->sys_errno));
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    errno = r->sys_errno;
    return r->error = CT_ERR_OPEN;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(r->message, sizeof r->message, "%.200s%s: not a regular file (a chronotick clock file is one)", path,
             cut);
    close(r->fd);
    r->fd = -1;
    return r->error = CT_ERR_NOT_FILE;
  }
  if ((size_t)st.st_size < 16) {
    snprintf(r->message, sizeof r->message, "%.200s%s: %lld bytes is too small for a chronotick clock file", path,
             cut, (long long)st.st_size);
    close(r->fd);
    r->fd = -1;
    return r->error = CT_ERR_SIZE;
  }
  p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, r->fd, 0);
  if (p == MAP_FAILED) {
    r->sys_errno = errno;
    snprintf(r->message, sizeof r->message, "%.200s%s: mmap failed: %s", path, cut, strerror(r->sys_errno));
    close(r->fd);
    r->fd = -1;
    errno = r->sys_errno;
    return r->error = CT_ERR_OPEN;
  }
  shm = (const ct_clock_shm*)p;
  r->error = ct_check_header(shm, (size_t)st.st_size);
  if (r->error == CT_OK && shm->writer_pid <= 0) r->error = CT_ERR_CORRUPT;  /* kill(pid <= 0) is no liveness test */
  if (r->error == CT_OK) {
    /* Garbage that passes the header checks must not read as a model: the data
     * must carry its checksum (an all-zero file reads as never published). */
    ct_clock_data d;
    uint64_t w[CT_DATA_WORDS], any = 0;
    int64_t t;
    int i;
    r->same_pid_namespace = ct_same_pid_namespace(shm);
    /* -1: a writer stuck mid-write; reads say UNKNOWN anyway (and, that write remembered in
     * r->stuck, give up on it at once) */
    if (ct_read_waited(shm, &d, &t, r->stuck) == 0) {
      memcpy(w, &d, sizeof w);
      for (i = 0; i < CT_DATA_WORDS; ++i) any |= w[i];
      if (any != 0 && ct_checksum(w) != w[CT_DATA_WORDS - 1]) r->error = CT_ERR_CORRUPT;
    }
  }
  if (r->error != CT_OK) {
    if (r->error == CT_ERR_MAGIC)
      snprintf(r->message, sizeof r->message, "%.200s%s: not a chronotick clock file (magic %02x%02x%02x%02x, "
               "expected \"CTCK\")", path, cut, (unsigned char)shm->magic[0], (unsigned char)shm->magic[1],
               (unsigned char)shm->magic[2], (unsigned char)shm->magic[3]);
    else if (r->error == CT_ERR_VERSION)
      snprintf(r->message, sizeof r->message, "%.200s%s: layout version %u.%u is %s than this reader's %d.%d; use a "
               "chronotick reader of major version %u", path, cut, shm->version_major, shm->version_minor,
               shm->version_major > CT_VERSION_MAJOR ? "newer" : "older", CT_VERSION_MAJOR, CT_VERSION_MINOR,
               shm->version_major);
    else if (r->error == CT_ERR_CORRUPT && shm->writer_pid <= 0)
      snprintf(r->message, sizeof r->message, "%.200s%s: corrupt chronotick clock file: writer pid %d is not a "
               "process id", path, cut, (int)shm->writer_pid);
    else if (r->error == CT_ERR_CORRUPT)
      snprintf(r->message, sizeof r->message, "%.200s%s: corrupt chronotick clock file: the published data fails "
               "its checksum", path, cut);
    else
      snprintf(r->message, sizeof r->message, "%.200s%s: file of %lld bytes, layout claims %u, version %d.%d needs "
               "%u", path, cut, (long long)st.st_size, shm->size, CT_VERSION_MAJOR, CT_VERSION_MINOR,
               (unsigned)sizeof(ct_clock_shm));
    munmap(p, (size_t)st.st_size);
    close(r->fd);
    r->fd = -1;
    return r->error;
  }
  r->shm = shm;
  r->map_len = (size_t)st.st_size;
  return CT_OK;
}

static inline const char* ct_reader_error(const ct_reader* r) {
  return r != NULL ? r->message : "(null): the ct_reader is a NULL pointer";
}

/* Unmaps and closes; a reader already closed, or whose open failed, is left as
 * it is (closing twice is fine). NULL is ignored. Not on a ct_reader that was
 * never passed to ct_reader_open (its fields are garbage). */
static inline void ct_reader_close(ct_reader* r) {
  if (r == NULL) return;
  if (r->shm) munmap((void*)(uintptr_t)r->shm, r->map_len);
  if (r->fd >= 0) close(r->fd);
  r->shm = NULL;
  r->fd = -1;
}

/* Is the writer process still there? kill(pid, 0) at most every 100 ms of local time
 * (in the writer's PID namespace only: ct_same_pid_namespace). */
static inline int ct_reader_writer_alive(ct_reader* r, int64_t local_ns) {
  int64_t next = __atomic_load_n(&r->next_pid_check_ns, __ATOMIC_RELAXED);
  if (!r->same_pid_namespace) return 1;   /* another PID namespace: the heartbeat's age decides */
  if (local_ns >= next || local_ns < next - 200000000) {
    int alive = !(kill((pid_t)r->shm->writer_pid, 0) != 0 && errno == ESRCH);
    __atomic_store_n(&r->writer_alive, alive, __ATOMIC_RELAXED);
    __atomic_store_n(&r->next_pid_check_ns, local_ns + 100000000, __ATOMIC_RELAXED);
    return alive;
  }
  return __atomic_load_n(&r->writer_alive, __ATOMIC_RELAXED);
}

/* Corrected time now. A reader whose open failed, or that is closed (or NULL),
 * reads CT_UNKNOWN (unbounded, the local clock) rather than faulting. Several
 * threads may call it on one reader at once (not with ct_reader_follow/close). */
static inline ct_time_bound ct_reader_now(ct_reader* r) {
  ct_clock_data d;
  int64_t t;
  if (__builtin_expect(r == NULL || r->shm == NULL, 0)) {
    ct_time_bound u;
    u.earliest_ns = INT64_MIN; u.latest_ns = INT64_MAX; u.time_ns = ct_realtime_ns(); u.status = CT_UNKNOWN;
    return u;
  }
  ct_read_waited(r->shm, &d, &t, r->stuck);
  return ct_compute(&d, t, ct_reader_writer_alive(r, t));
}

/* Follows a restarted publisher: if the file at `path` is no longer the one
 * `r` maps (a new publisher renamed its file onto the path) and it opens as a
 * valid clock file, `r` maps the new one and the old mapping is released.
 * Returns 1 when it switched (also when `r` was closed or its open had failed
 * and the path now opens), 0 when the path still holds the mapped file, and
 * -(error code) when the path cannot be opened as a clock file now (`r` is left
 * as it was, still reading the old mapping; the reason is not kept). It makes
 * system calls (stat, and open/mmap on a change): call it when ct_reader_now
 * says CT_UNKNOWN, e.g. at most once a second, as chronotick's own readers do.
 * Not safe against ct_reader_now on the same reader in another thread at the
 * same time (the old mapping is unmapped). */
static inline int ct_reader_follow(ct_reader* r, const char* path) {
  struct stat now_st, old_st;
  ct_reader fresh;
  int rc;
  if (r == NULL || path == NULL) return -CT_ERR_OPEN;
  if (r->shm != NULL && stat(path, &now_st) == 0 && fstat(r->fd, &old_st) == 0 && now_st.st_dev == old_st.st_dev &&
      now_st.st_ino == old_st.st_ino)
    return 0;
  rc = ct_reader_open(&fresh, path);
  if (rc != CT_OK) return -rc;
  ct_reader_close(r);
  *r = fresh;
  return 1;
}

/* Corrected time now, ns: time_ns of ct_reader_now, without the bound (nor the writer's liveness,
 * which decides only the bound and status). */
static inline int64_t ct_reader_now_ns(ct_reader* r) {
  ct_clock_data d;
  int64_t t;
  if (__builtin_expect(r == NULL || r->shm == NULL, 0)) return ct_realtime_ns();
  ct_read_waited(r->shm, &d, &t, r->stuck);
  return ct_never_published(&d) ? t : ct_time(&d, t);   /* ct_compute's time_ns */
}

#endif /* CHRONOTICK_H */
