"""Probing the C reader of include/chronotick.h as a systems programmer would: strict-mode builds from
two translation units, API misuse, the publisher's temporary file, readers following a restarted
publisher, and eight reader processes against a fast publisher. Each C program is compiled with the
system compiler (skipped without one)."""
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time

import pytest

_core = pytest.importorskip("chronotick._core")
if not hasattr(_core, "ClockPublisher"):
    pytest.skip("chronotick._core built without the clock bindings", allow_module_level=True)

from chronotick.shm import Client, Status

from test_shm import BUSY_PUBLISHER, CC, ENV, ROOT, _header

CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
INC = f"-I{ROOT / 'include'}"
STRICT = ["-Wall", "-Wextra", "-pedantic", "-Werror"]


def _build(tmp_path, name, sources, compiler=None, flags=(), std="-std=c99"):
    compiler = compiler or CC
    if compiler is None:
        pytest.skip("no C compiler")
    files = []
    for fname, text in sources.items():
        (tmp_path / fname).write_text(textwrap.dedent(text))
        files.append(str(tmp_path / fname))
    exe = tmp_path / name
    r = subprocess.run([compiler, std, *STRICT, *flags, INC, *files, "-o", str(exe)], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr
    return exe


def _run(exe, *args, timeout=60):
    r = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r.stdout.splitlines()


# ---- strict builds, two translation units ----------------------------------------------------

TU_MAIN = r"""
#include "chronotick.h"
int other_open(const char* path);
int main(int argc, char** argv) {
  ct_reader r;
  int rc = ct_reader_open(&r, argc > 1 ? argv[1] : "/nonexistent/clock");
  ct_time_bound b = ct_reader_now(&r);
  ct_reader_close(&r);
  printf("%d %d %d\n", rc, other_open(argc > 1 ? argv[1] : "/nonexistent/clock"), b.status);
  return 0;
}
"""
TU_OTHER = r"""
#include "chronotick.h"
int other_open(const char* path);
int other_open(const char* path) {
  ct_reader r;
  int rc = ct_reader_open(&r, path);
  (void)ct_reader_now_ns(&r);
  ct_reader_close(&r);
  return rc;
}
"""


@pytest.mark.parametrize("lang,std", [("c", "-std=c99"), ("c", "-std=c11"), ("c", "-std=c17"), ("c++", "-std=c++11"),
                                      ("c++", "-std=c++17")])
def test_header_strict_and_from_two_translation_units(tmp_path, lang, std):
    ext = "c" if lang == "c" else "cpp"
    exe = _build(tmp_path, "two", {f"main.{ext}": TU_MAIN, f"other.{ext}": TU_OTHER},
                 compiler=CC if lang == "c" else CXX, std=std)
    assert _run(exe)[0] == "1 1 0"     # CT_ERR_OPEN twice, CT_UNKNOWN


# ---- misuse ----------------------------------------------------------------------------------

MISUSE = r"""
#include "chronotick.h"
#include <stdlib.h>
/* misuse MODE [PATH]: prints "rc errno status" or the like; must never crash */
int main(int argc, char** argv) {
  ct_reader r;
  ct_time_bound b;
  const char* m = argv[1];
  int rc;
  (void)argc;
  if (!strcmp(m, "null_reader")) {
    errno = 0;
    rc = ct_reader_open(NULL, "/dev/null");
    printf("%d %d\n", rc, errno == EINVAL);
  } else if (!strcmp(m, "null_path")) {
    rc = ct_reader_open(&r, NULL);
    b = ct_reader_now(&r);
    printf("%d %d %d %s\n", rc, r.sys_errno == EINVAL, b.status, ct_reader_error(&r));
    ct_reader_close(&r);
  } else if (!strcmp(m, "null_calls")) {
    b = ct_reader_now(NULL);
    ct_reader_close(NULL);
    printf("%d %d %d %s\n", b.status, b.earliest_ns == INT64_MIN, ct_reader_now_ns(NULL) > 0, ct_reader_error(NULL));
    printf("%d\n", ct_reader_follow(NULL, "/x") < 0);
  } else if (!strcmp(m, "open")) {       /* open PATH: the code, then a read, close twice, read closed */
    rc = ct_reader_open(&r, argv[2]);
    b = ct_reader_now(&r);
    printf("%d %d %s\n", rc, b.status, ct_reader_error(&r));
    ct_reader_close(&r);
    ct_reader_close(&r);
    b = ct_reader_now(&r);
    printf("%d %d\n", b.status, b.latest_ns == INT64_MAX);
  }
  return 0;
}
"""


@pytest.fixture(scope="module")
def misuse(tmp_path_factory):
    d = tmp_path_factory.mktemp("misuse")
    san = [] if os.environ.get("CT_NO_SANITIZE") else ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                                                       "-g"]
    exe = _build(d, "misuse", {"misuse.c": MISUSE}, flags=san, std="-std=c11")
    return lambda *a: _run(exe, *a)


def test_null_reader_and_path_give_ct_err_open_not_a_crash(misuse):
    # every one of these had faulted (SIGSEGV): strlen(NULL), memset(NULL), r->shm of NULL
    assert misuse("null_reader") == ["1 1"]
    rc, einval, status, msg = misuse("null_path")[0].split(" ", 3)
    assert (rc, einval, status) == ("1", "1", "0") and "NULL" in msg
    out = misuse("null_calls")
    assert out[0].startswith("0 1 1 ") and "NULL" in out[0] and out[1] == "1"


def test_bad_paths_give_their_documented_codes(misuse, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    small = tmp_path / "small"
    small.write_bytes(b"CTCK" + bytes(6))
    short = tmp_path / "short"
    short.write_bytes(_header()[:100])
    magic = tmp_path / "magic"
    magic.write_bytes(_header(magic=b"NTPD"))
    v2 = tmp_path / "v2"
    v2.write_bytes(_header(major=2))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    cases = {tmp_path: 5, fifo: 5, "/dev/null": 5, small: 2, empty: 2, short: 2, magic: 3, v2: 4,
             tmp_path / "missing": 1, "/" + "x" * 5000: 1, tmp_path / ("y" * 300): 1}
    for path, code in cases.items():
        first, after_close = misuse("open", path)
        rc, status, msg = first.split(" ", 2)
        assert int(rc) == code, (path, first)
        assert status == "0" and msg and len(msg) < 320        # a failed reader reads UNKNOWN
        assert after_close == "0 1"                            # closing twice, reading closed: UNKNOWN


# ---- the publisher's temporary file ----------------------------------------------------------

def test_publisher_never_truncates_a_file_planted_at_its_temporary_name(tmp_path):
    # The publisher created `path + ".tmp." + pid` with O_CREAT | O_TRUNC: a symlink (or hard link)
    # planted there by anyone who can write the directory (/dev/shm is world-writable) made it
    # truncate the target to a page and write a clock header into it -- e.g. a live clock file under
    # its readers (SIGBUS), or any file the publishing user may write.
    path = tmp_path / "clock"
    tmp = tmp_path / f"clock.tmp.{os.getpid()}"
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious data\n" * 1000)
    before = victim.read_bytes()
    for link in (os.symlink, os.link):
        link(victim, tmp)
        with _core.ClockPublisher(str(path)) as pub:
            pub.publish(time.time_ns(), 1_000_000, 0.0, 1000, 0.0, 1)
            assert victim.read_bytes() == before
            assert Client(path).now().status is Status.SYNCHRONIZED
            assert not os.path.lexists(tmp) and not os.path.islink(path)
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert victim.read_bytes() == before


# ---- many readers, a fast publisher ----------------------------------------------------------

# The publisher: test_shm.BUSY_PUBLISHER (its k-th model carries a known invariant).

STRESS = r"""
#include "chronotick.h"
#include <stdlib.h>
/* stress PATH SECONDS [MAX_SECONDS]: raw seqlock reads checked against the publisher's invariant,
 * and ct_reader_now checked for monotonic time_ns and consistent bounds; after SECONDS it goes on
 * reading, up to MAX_SECONDS, until it has seen every status (a reader descheduled through each
 * short UNKNOWN window of a loaded machine had seen none); prints
 * "reads torn invariant back bad seen_unknown seen_sync seen_hold transitions" */
int main(int argc, char** argv) {
  ct_reader r;
  long reads = 0, torn = 0, inv = 0, back = 0, bad = 0, seen[3] = {0, 0, 0}, trans = 0;
  int last_status = -1;
  int64_t last = INT64_MIN, end, hard_end;
  if (argc < 3 || ct_reader_open(&r, argv[1]) != CT_OK) { fprintf(stderr, "%s\n", ct_reader_error(&r)); return 2; }
  end = ct_realtime_ns() + (int64_t)(atof(argv[2]) * 1e9);
  hard_end = argc > 3 ? end - (int64_t)(atof(argv[2]) * 1e9) + (int64_t)(atof(argv[3]) * 1e9) : end;
  while (ct_realtime_ns() < end || (!(seen[0] && seen[1] && seen[2]) && ct_realtime_ns() < hard_end)) {
    int i;
    for (i = 0; i < 200; ++i, ++reads) {
      ct_clock_data d;
      uint64_t w[CT_DATA_WORDS];
      int64_t t, k;
      ct_time_bound b;
      ct_read(r.shm, &d, &t);
      memcpy(w, &d, sizeof w);
      if (ct_checksum(w) != d.check) ++torn;
      if (d.heartbeat_real_ns != 0) {
        k = d.bound_ns - 1000;
        if (d.offset_ns != ((k % 7) - 3) * 100000 || d.freq != (double)((k % 5) - 2) * 1e-6 ||
            d.growth_ns_per_s != (double)(k % 1000) || d.status != (k % 50 == 49 ? 0 : 1 + (k % 2)))
          ++inv;
      }
      b = ct_reader_now(&r);
      if (b.status < 0 || b.status > 2) { ++bad; continue; }
      if (b.status != CT_UNKNOWN && !(b.earliest_ns <= b.time_ns && b.time_ns <= b.latest_ns)) ++bad;
      if (b.time_ns < last) ++back;
      last = b.time_ns;
      ++seen[b.status];
      if (last_status >= 0 && b.status != last_status) ++trans;
      last_status = b.status;
    }
  }
  printf("%ld %ld %ld %ld %ld %ld %ld %ld %ld\n", reads, torn, inv, back, bad, seen[0], seen[1], seen[2], trans);
  ct_reader_close(&r);
  return 0;
}
"""


def test_eight_c_readers_against_a_fast_publisher(tmp_path):
    exe = _build(tmp_path, "stress", {"stress.c": STRESS}, flags=["-O2", "-D_POSIX_C_SOURCE=200809L"])
    path = tmp_path / "clock"
    w = subprocess.Popen([sys.executable, "-c", BUSY_PUBLISHER, str(path), "5"], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert w.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        # 2.5 s each, up to 4.5 s until every status was seen (the publisher runs 5 s)
        readers = [subprocess.Popen([str(exe), str(path), "2.5", "4.5"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(8)]
        results = []
        for r in readers:
            out, err = r.communicate(timeout=60)
            assert r.returncode == 0, err
            results.append([int(x) for x in out.split()])
        publishes = int(w.stdout.readline())
    finally:
        w.kill()
        w.wait()
    assert publishes > 1000
    for reads, torn, inv, back, bad, unknown, sync, hold, trans in results:
        assert reads > 10_000
        assert torn == inv == back == bad == 0, results
        assert sync > 0 and hold > 0 and unknown > 0 and trans > 10, results


# ---- a restarted publisher -------------------------------------------------------------------

FOLLOW = r"""
#include "chronotick.h"
#include <stdlib.h>
/* follow PATH SECONDS: reads until SECONDS have passed; while UNKNOWN it calls
 * ct_reader_follow at most every 50 ms. Prints "switches final_status final_pid". */
int main(int argc, char** argv) {
  ct_reader r;
  long switches = 0;
  int64_t end, next_follow = 0;
  ct_time_bound b;
  if (argc < 3 || ct_reader_open(&r, argv[1]) != CT_OK) { fprintf(stderr, "%s\n", ct_reader_error(&r)); return 2; }
  end = ct_realtime_ns() + (int64_t)(atof(argv[2]) * 1e9);
  for (;;) {
    int64_t now = ct_realtime_ns();
    b = ct_reader_now(&r);
    if (now >= end) break;
    if (b.status == CT_UNKNOWN && now >= next_follow) {
      int rc = ct_reader_follow(&r, argv[1]);
      if (rc == 1) ++switches;
      next_follow = now + 50000000;
    }
    {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
  }
  printf("%ld %d %d\n", switches, b.status, (int)r.shm->writer_pid);
  ct_reader_close(&r);
  return 0;
}
"""


def test_c_readers_follow_a_restarted_publisher(tmp_path):
    # The C API had no way to follow: a reader had to close and re-open by itself, reading the local
    # clock in between (or, if the re-open failed, for good). ct_reader_follow maps the new file.
    exe = _build(tmp_path, "follow", {"follow.c": FOLLOW}, flags=["-D_POSIX_C_SOURCE=200809L"])
    path = tmp_path / "clock"
    first = subprocess.Popen([sys.executable, "-c", BUSY_PUBLISHER, str(path), "0.3", "600"], env=ENV,
                             stdout=subprocess.PIPE, text=True)
    second = None
    try:
        assert first.stdout.readline().strip() == "ready"
        int(first.stdout.readline())                  # published, now idle (alive, holding the file)
        readers = [subprocess.Popen([str(exe), str(path), "3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True) for _ in range(3)]
        time.sleep(0.5)
        first.kill()                                  # the old writer is gone: readers say UNKNOWN
        first.wait()
        second = subprocess.Popen([sys.executable, "-c", BUSY_PUBLISHER, str(path), "30"], env=ENV,
                                  stdout=subprocess.PIPE, text=True)
        assert second.stdout.readline().strip() == "ready"
        for r in readers:
            out, err = r.communicate(timeout=30)
            assert r.returncode == 0, err
            switches, status, pid = (int(x) for x in out.split())
            assert switches == 1 and pid == second.pid and status in (0, 1, 2)
    finally:
        for p in (first, second):
            if p is not None:
                p.kill()
                p.wait()


def test_follow_keeps_the_old_mapping_when_the_path_is_not_a_clock_file(tmp_path):
    src = r"""
    #include "chronotick.h"
    int main(int argc, char** argv) {
      ct_reader r;
      int a, b, c;
      (void)argc;
      if (ct_reader_open(&r, argv[1]) != CT_OK) return 2;
      a = ct_reader_follow(&r, argv[1]);             /* same file: 0 */
      rename(argv[2], argv[1]);                      /* a file with the wrong magic now */
      b = ct_reader_follow(&r, argv[1]);             /* -CT_ERR_MAGIC, still mapped */
      c = r.shm != NULL && ct_reader_now(&r).status == CT_SYNCHRONIZED;
      ct_reader_close(&r);
      printf("%d %d %d %d\n", a, b, c, ct_reader_follow(&r, argv[3]));   /* closed + a good file: 1 */
      ct_reader_close(&r);
      return 0;
    }
    """
    exe = _build(tmp_path, "keep", {"keep.c": src}, flags=["-D_POSIX_C_SOURCE=200809L"])
    path, bad, good = tmp_path / "clock", tmp_path / "bad", tmp_path / "good"
    bad.write_bytes(_header(magic=b"NTPD"))
    with _core.ClockPublisher(str(good)) as pub2:
        with _core.ClockPublisher(str(path)) as pub:
            pub.publish(time.time_ns(), 0, 0.0, 1000, 0.0, 1)
            assert _run(exe, path, bad, good) == ["0 -3 1 1"]
        del pub2


# ---- a writer killed mid-write ---------------------------------------------------------------

def test_a_writer_killed_mid_write_keeps_time_on_the_last_model(misuse, tmp_path):
    # A reader that gave up on a writer stuck mid-write (dead, or mid-write for 1 s) read the
    # never-published state: UNKNOWN with the *local clock*, so time_ns stepped back by the model's
    # offset (here 1 s). The data words a killed writer leaves are the previous model, intact
    # (its checksum holds): now time_ns runs on along it, still UNKNOWN and unbounded.
    import struct
    from test_shm_probe import _checksum, _model_words
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    words = _model_words(status=1)
    words[1] = 1_000_000_000                          # offset +1 s
    words[6] = words[5] + words[1]                    # slew_v0 = best at slew_t0
    f = tmp_path / "stuck"
    head = struct.pack("<4sHHIiQ", b"CTCK", 1, 0, 264, int(dead.stdout), 5)     # seq 5: odd, mid-write
    f.write_bytes(head + struct.pack("<14Q", *words, _checksum(words)) + bytes(4096 - 24 - 112))
    rc, status, _ = misuse("open", f)[0].split(" ", 2)
    assert rc == "0" and status == "0"
    tb = Client(f).now()
    assert tb.status is Status.UNKNOWN and tb.earliest_ns == -(2 ** 63)
    assert abs(tb.time_ns - time.time_ns() - 1_000_000_000) < 100_000_000
    words[2] ^= 1                                     # half-written: fails its checksum -> local clock
    f.write_bytes(head + struct.pack("<14Q", *words, _checksum(words[:2] + [words[2] ^ 1] + words[3:]))
                  + bytes(4096 - 24 - 112))
    tb = Client(f).now()
    assert tb.status is Status.UNKNOWN and abs(tb.time_ns - time.time_ns()) < 100_000_000


# ---- the reader's int64 arithmetic -----------------------------------------------------------

_SUMS = """
    #include "chronotick.h"
    #include <stdio.h>
    int main(void) {
      const int64_t v[] = {0, 1, -1, 2, -2, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                           (int64_t)1 << 62, -((int64_t)1 << 62), 4611686018427387905LL, -4611686018427387905LL,
                           1796518823457353104LL, -3600000000000000000LL};
      const int n = (int)(sizeof v / sizeof v[0]);
      int i, j, k;
      for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
          printf("+ %lld %lld %lld\\n", (long long)v[i], (long long)v[j], (long long)ct_sat_add(v[i], v[j]));
          printf("- %lld %lld %lld\\n", (long long)v[i], (long long)v[j], (long long)ct_sat_sub(v[i], v[j]));
          for (k = 0; k < n; ++k)
            printf("3 %lld %lld %lld %lld\\n", (long long)v[i], (long long)v[j], (long long)v[k],
                   (long long)ct_add3(v[i], v[j], v[k]));
        }
      return 0;
    }
"""


@pytest.mark.parametrize("flags", [[], ["-DCT_PORTABLE_OVERFLOW_CHECKS"]], ids=["builtins", "portable"])
def test_reader_sums_are_exact_or_clamped_never_wrapped(tmp_path, flags):
    """include/chronotick.h adds the model's terms without a wrapped (undefined) partial sum: the
    exact sum where it fits in int64, clamped where it does not -- with the compiler's overflow
    builtins and with the portable comparisons alike, under UBSan where the compiler has it
    (without it the values are still checked) -- a static analysis, 2026-12-06, found t + offset
    overflowing before the frequency term brought the sum back. ct_best / ct_time / ct_compute
    on such models: cpp/tests/test_clock_model.cpp, which CI runs under UBSan."""
    ubsan = ["-fsanitize=undefined", "-fno-sanitize-recover=all"]
    try:
        exe = _build(tmp_path, "sums", {"sums.c": _SUMS}, flags=[*flags, *ubsan, "-D_POSIX_C_SOURCE=200809L"])
    except AssertionError:      # a compiler without UBSan
        exe = _build(tmp_path, "sums", {"sums.c": _SUMS}, flags=[*flags, "-D_POSIX_C_SOURCE=200809L"])
    lo, hi = -2**63, 2**63 - 1
    lines = _run(exe)
    assert len(lines) == 2 * 15**2 + 15**3
    for line in lines:
        op, *nums = line.split()
        *args, got = map(int, nums)
        exact = args[0] - args[1] if op == "-" else sum(args)
        assert got == min(hi, max(lo, exact)), line
