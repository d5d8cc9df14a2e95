"""Defects found by probing the shared-memory clock's readers as a user would: the C header
include/chronotick.h (compiled with the system C compiler) and chronotick.Client."""
import os
import shutil
import struct
import subprocess
import sys
import time

import pytest

_core = pytest.importorskip("chronotick._core")
if not hasattr(_core, "ClockPublisher"):
    pytest.skip("chronotick._core built without the clock bindings", allow_module_level=True)

from chronotick.shm import Client, Status

from test_shm import BUSY_PUBLISHER, CC, ENV, ROOT   # the compiler, child processes' environment, the repository

CXX = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
M64 = (1 << 64) - 1


def _checksum(words):
    """ct_checksum of chronotick.h over the first 13 data words."""
    h = 0xcbf29ce484222325
    for w in words[:13]:
        h ^= w & M64
        h = (h * 0x100000001b3) & M64
        h ^= h >> 29
    return h


def _file(data=None, pid=None, seq=0, magic=b"CTCK"):
    """A clock file: header + 14 data words (13 given, or none = all zero) + padding to a page."""
    head = struct.pack("<4sHHIiQ", magic, 1, 0, 264, os.getpid() if pid is None else pid, seq)
    if data is None:
        words = [0] * 14
    else:
        words = list(data) + [_checksum(data)]
    return head + struct.pack("<14Q", *words) + bytes(4096 - 24 - 112)


def _model_words(status=1, bound=1000):
    now = time.time_ns()
    d = lambda x: struct.unpack("<Q", struct.pack("<d", x))[0]
    # ref, offset, freq, bound, growth, slew_t0, slew_v0, slew_rate, hb_mono, hb_real, stale, confidence, status
    return [now, 0, d(0.0), bound, d(0.0), now, now, d(5e-4), 1, now, 60 * 10**9, d(0.99), status]


PROBE_C = r"""
#include "chronotick.h"
#include <stdlib.h>
/* probe PATH MODE: open, print "rc MSG", then per MODE:
 *   now     one ct_reader_now (also when the open failed) and print it
 *   close   open, close, then ct_reader_now on the closed reader
 *   opens N open/close N times, print how many were not CT_OK
 *   check S read for S seconds in a loop, print "reads bad back badstatus" */
int main(int argc, char** argv) {
  ct_reader r;
  int rc = ct_reader_open(&r, argv[1]);
  ct_time_bound b;
  printf("%d %s\n", rc, ct_reader_error(&r));
  if (argc < 3) return 0;
  if (strcmp(argv[2], "close") == 0) ct_reader_close(&r);
  if (strcmp(argv[2], "now") == 0 || strcmp(argv[2], "close") == 0) {
    b = ct_reader_now(&r);
    printf("%d %lld %lld %lld\n", b.status, (long long)b.earliest_ns, (long long)b.latest_ns, (long long)b.time_ns);
  } else if (strcmp(argv[2], "opens") == 0) {
    long i, n = atol(argv[3]), bad = 0;
    ct_reader_close(&r);
    for (i = 0; i < n; ++i) {
      if (ct_reader_open(&r, argv[1]) != CT_OK) { ++bad; fprintf(stderr, "%s\n", ct_reader_error(&r)); }
      else ct_reader_close(&r);
    }
    printf("%ld\n", bad);
  } else if (strcmp(argv[2], "check") == 0) {
    long reads = 0, bad = 0, back = 0, badstatus = 0;
    int64_t last = INT64_MIN, end = ct_realtime_ns() + (int64_t)(atof(argv[3]) * 1e9);
    while (ct_realtime_ns() < end) {
      int k;
      for (k = 0; k < 1000; ++k, ++reads) {
        b = ct_reader_now(&r);
        if (b.status < 0 || b.status > 2) ++badstatus;
        if (b.status != CT_UNKNOWN && !(b.earliest_ns <= b.time_ns && b.time_ns <= b.latest_ns)) ++bad;
        if (b.time_ns < last) ++back;
        last = b.time_ns;
      }
    }
    printf("%ld %ld %ld %ld\n", reads, bad, back, badstatus);
  }
  if (rc == CT_OK) ct_reader_close(&r);
  return 0;
}
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    if CC is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("probe")
    src = d / "probe.c"
    src.write_text(PROBE_C)
    exe = d / "probe"
    r = subprocess.run([CC, "-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
                        f"-I{ROOT / 'include'}", str(src), "-o", str(exe)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr

    def run(*args, timeout=30):
        r = subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False)
        assert r.returncode == 0, (r.returncode, r.stderr)
        return r.stdout.splitlines()
    return run


# ---- C header ------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["c", "c++"])
def test_header_compiles_warning_free_without_a_posix_define(tmp_path, lang):
    # plain `cc -std=c11 -Wall -Wextra` had failed: clock_gettime, kill, O_CLOEXEC undeclared
    compiler, std, name = (CC, "-std=c11", "probe.c") if lang == "c" else (CXX, "-std=c++17", "probe.cpp")
    if compiler is None:
        pytest.skip(f"no {lang} compiler")
    src = tmp_path / name
    src.write_text(PROBE_C)
    r = subprocess.run([compiler, std, "-Wall", "-Wextra", "-Werror", "-fsyntax-only", f"-I{ROOT / 'include'}",
                        str(src)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_header_without_posix_define_gives_a_clear_error(tmp_path):
    # included after a system header in strict C, it had failed with implicit declarations and
    # "CLOCK_REALTIME undeclared"; now one #error says what to define
    src = tmp_path / "late.c"
    src.write_text('#include <stdio.h>\n#include "chronotick.h"\nint main(void) { return 0; }\n')
    r = subprocess.run([CC, "-std=c11", "-fsyntax-only", f"-I{ROOT / 'include'}", str(src)], capture_output=True,
                       text=True, check=False)
    first = next(line for line in r.stderr.splitlines() if "error" in line)
    assert r.returncode != 0 and "#error" in first and "_POSIX_C_SOURCE" in first


def test_c_open_refuses_garbage_data_behind_a_valid_header(probe, tmp_path):
    f = tmp_path / "garbage"
    f.write_bytes(_file()[:24] + os.urandom(112) + bytes(4096 - 136))
    rc, msg = probe(f)[0].split(" ", 1)
    assert int(rc) == 6 and "corrupt chronotick clock file" in msg and "checksum" in msg   # CT_ERR_CORRUPT
    f.write_bytes(_file(pid=0))
    rc, msg = probe(f)[0].split(" ", 1)
    assert int(rc) == 6 and "writer pid 0" in msg
    f.write_bytes(_file())                         # all zero: never published, reads fine
    assert probe(f, "now")[0].split(" ", 1)[0] == "0"


def test_c_reader_rejects_a_status_out_of_range(probe, tmp_path):
    f = tmp_path / "status7"
    f.write_bytes(_file(_model_words(status=7)))
    out = probe(f, "now")
    assert out[0].startswith("0 ")
    assert int(out[1].split()[0]) == 0             # read as UNKNOWN, not "status 7"
    f.write_bytes(_file(_model_words(status=1)))
    assert int(probe(f, "now")[1].split()[0]) == 1


def test_c_now_on_a_failed_or_closed_reader_reads_unknown(probe, tmp_path):
    # ct_reader_now dereferenced a NULL mapping: SIGSEGV
    status, earliest, latest, t = (int(x) for x in probe(tmp_path / "missing", "now")[1].split())
    assert status == 0 and earliest == -(2 ** 63) and latest == 2 ** 63 - 1
    assert abs(t - time.time_ns()) < 10**9
    f = tmp_path / "clock"
    f.write_bytes(_file(_model_words()))
    out = probe(f, "close")
    assert out[0].startswith("0 ") and int(out[1].split()[0]) == 0


def test_c_error_message_for_a_long_path_keeps_the_reason(probe, tmp_path):
    # a 320-byte message had been filled by the path alone: "cannot open: ..." cut off
    p = tmp_path / ("b" * 300)
    rc, msg = probe(p)[0].split(" ", 1)
    assert int(rc) == 1 and msg.endswith("...: cannot open: File name too long") and len(msg) < 320


def test_c_readers_against_a_busy_writer(probe, tmp_path):
    # no false CT_ERR_CORRUPT while the writer publishes, and every read is consistent
    path = tmp_path / "clock"
    w = subprocess.Popen([sys.executable, "-c", BUSY_PUBLISHER, str(path), "6"], env=ENV, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert w.stdout.readline().strip() == "ready"
        time.sleep(0.1)
        assert probe(path, "opens", 20000)[1] == "0"
        reads, bad, back, badstatus = (int(x) for x in probe(path, "check", 1.5)[1].split())
        assert reads > 100_000 and bad == back == badstatus == 0
    finally:
        w.kill()
        w.wait()


# ---- Python Client -------------------------------------------------------------------------

def test_client_refuses_garbage_data_behind_a_valid_header(tmp_path):
    f = tmp_path / "garbage"
    f.write_bytes(_file()[:24] + os.urandom(112) + bytes(4096 - 136))
    with pytest.raises(ValueError, match="corrupt chronotick clock file.*checksum"):
        Client(f)
    f.write_bytes(_file(pid=0))
    with pytest.raises(ValueError, match="writer pid 0 is not a process id"):
        Client(f)
    f.write_bytes(_file(_model_words(status=1)))
    assert Client(f).now().status is Status.SYNCHRONIZED


def test_status_command_on_a_garbage_file_says_corrupt(tmp_path):
    f = tmp_path / "garbage"
    f.write_bytes(_file()[:24] + os.urandom(112) + bytes(4096 - 136))
    r = subprocess.run([sys.executable, "-m", "chronotick", "status", "--path", str(f)], env=ENV,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3 and "corrupt chronotick clock file" in r.stderr and "frequency" not in r.stdout   # no clock to read


def test_client_takes_bytes_and_non_utf8_paths(tmp_path):
    f = tmp_path / "clock"
    f.write_bytes(_file(_model_words()))
    c = Client(os.fsencode(f))                     # was ValueError "must be a non-empty file path"
    assert c.path == str(f) and c.now().status is Status.SYNCHRONIZED
    odd = os.fsencode(tmp_path) + b"/clock\xff"    # not UTF-8: was TypeError "incompatible constructor arguments"
    with open(odd, "wb") as fh:
        fh.write(_file(_model_words()))
    assert Client(odd).now().status is Status.SYNCHRONIZED
    assert Client(os.fsdecode(odd)).now().status is Status.SYNCHRONIZED
    with pytest.raises(FileNotFoundError):         # was UnicodeDecodeError of the core's message
        Client(os.fsencode(tmp_path) + b"/missing\xff")
    bad = os.fsencode(tmp_path) + b"/magic\xff"
    with open(bad, "wb") as fh:
        fh.write(_file(magic=b"NTPD"))
    with pytest.raises(ValueError, match=r"not a chronotick clock file"):
        Client(bad)
    with pytest.raises(ValueError, match="non-empty"):
        Client(b"")
    with pytest.raises(TypeError):
        Client(42)


def test_a_writer_stuck_mid_write_costs_one_read_the_wait_not_every_read(tmp_path):
    """Audit finding (session 23): a publisher frozen between its two seq stores (SIGSTOP, a
    frozen cgroup) made Client(path) and then every now() spin the full second before reading
    UNKNOWN. The reader now remembers the write it found in progress: one wait, then UNKNOWN at
    once while that write stays in progress."""
    p = tmp_path / "clock"
    p.write_bytes(_file(_model_words(), seq=7))           # odd: mid-write; the writer (us) alive
    t0 = time.monotonic()
    c = Client(str(p))                                     # the open reads once: the one wait
    assert time.monotonic() - t0 >= 0.9
    for _ in range(3):
        t0 = time.monotonic()
        assert c.now().status == Status.UNKNOWN
        assert time.monotonic() - t0 < 0.5   # (the failure guarded against is a 1 s spin)
    # snapshot() (`chronotick status` reads it) too: it had spun the full second on every call
    # (an audit, 2026-12-06)
    for _ in range(3):
        t0 = time.monotonic()
        c.snapshot()
        assert time.monotonic() - t0 < 0.5


def test_the_largest_published_bound_is_read_as_published():
    # publish takes bound_ns up to 2**62, but readers saturated the half-width at 4e18: a narrower
    # interval than published (an audit, 2026-12-06); earliest/latest saturate in int64 instead
    from chronotick import _core
    s = _core.ClockState()
    now = time.time_ns()
    for bound in (4 * 10**18, 4 * 10**18 + 10**17, 2**62):
        s.publish_at(now, now, 0, 0.0, bound, 0.0, 1, 0.99)
        b = s.now_at(now)
        assert b.latest_ns - b.time_ns == bound and b.time_ns - b.earliest_ns == bound, bound
