"""The shared-memory clock: publisher, Client in other processes, torn reads, staleness, C reader."""
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

_core = pytest.importorskip("chronotick._core")
if not hasattr(_core, "ClockPublisher"):
    pytest.skip("chronotick._core built without the clock bindings", allow_module_level=True)

from chronotick.shm import Client, Status, TimeBound

ROOT = Path(__file__).resolve().parents[1]
# Child processes import the same chronotick as this one (the working tree or an installed wheel).
_PKG_PARENT = str(Path(sys.modules["chronotick"].__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=_PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "clock")


def test_client_reads_published_model(path):
    with _core.ClockPublisher(path) as pub:
        c = Client(path)
        tb = c.now()
        assert isinstance(tb, TimeBound) and tb.status is Status.UNKNOWN
        ref = time.time_ns()
        pub.publish(ref, 25_000_000, 2e-6, 40_000, 1000.0, _core.CLOCK_SYNCHRONIZED, confidence=0.99)
        before = time.time_ns()
        tb = c.now()
        after = time.time_ns()
        assert tb.status is Status.SYNCHRONIZED
        # time = local + 25 ms + 2 ppm * (local - ref)
        assert before + 25_000_000 <= tb.time_ns <= after + 25_000_000 + 1_000
        half = (tb.latest_ns - tb.earliest_ns) / 2
        assert 40_000 <= half < 40_000 + 1000 * 1.0          # + 1000 ns/s growth over < 1 s
        assert tb.earliest_ns <= tb.time_ns <= tb.latest_ns
        assert abs(c.now_ns() - (time.time_ns() + 25_000_000)) < 5_000_000
        snap = c.snapshot()
        assert snap["offset_ns"] == 25_000_000 and snap["confidence"] == 0.99 and snap["check_ok"]
        assert c.writer_pid == os.getpid()


def test_file_mode_and_single_publisher(path):
    with _core.ClockPublisher(path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        with pytest.raises(OSError, match="another process is publishing"):
            _core.ClockPublisher(path)
    _core.ClockPublisher(path).close()          # free again once the first one is closed


def _start_publisher(path, barrier, results):
    barrier.wait(timeout=60)
    try:
        pub = _core.ClockPublisher(path)
    except OSError as e:
        results.put(("refused", str(e)))
        return
    results.put(("publishing", os.getpid()))
    time.sleep(0.3)                         # hold it while the others try
    pub.close()


def test_publishers_starting_together_one_wins(tmp_path):
    # Each checked the path was free and then renamed its file onto it: started together,
    # several could pass the check, the later renames leaving the earlier publishers writing
    # to files no reader can open (4 of 20 rounds of 8 had 2-3 "publishing"). The check and
    # the rename now run under a lock on the directory.
    import multiprocessing
    ctx = multiprocessing.get_context("fork")
    for r in range(6):
        path = str(tmp_path / f"clock{r}")
        barrier, results = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_start_publisher, args=(path, barrier, results)) for _ in range(6)]
        for p in procs:
            p.start()
        got = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        winners = [g for g in got if g[0] == "publishing"]
        assert len(winners) == 1, got
        assert all("another process is publishing" in m for k, m in got if k == "refused"), got
    assert sorted(os.listdir(tmp_path)) == [f"clock{r}" for r in range(6)]   # no temporary files left


def test_a_client_follows_a_restarted_publisher(path):
    # The new publisher renames a new file onto the path: a Client mapping the old one
    # read UNKNOWN for ever. It now looks again (at most once a second) while UNKNOWN.
    first = _core.ClockPublisher(path)
    c = Client(path)
    first.publish(time.time_ns(), 1_000_000, 0.0, 1000, 0.0, _core.CLOCK_SYNCHRONIZED)
    assert c.now().status is Status.SYNCHRONIZED
    first.close()
    assert c.now().status is Status.UNKNOWN               # looked: the same file, nothing to follow
    second = _core.ClockPublisher(path)
    try:
        second.publish(time.time_ns(), 2_000_000, 0.0, 1000, 0.0, _core.CLOCK_HOLDOVER)
        deadline = time.monotonic() + 3.0
        while c.now().status is Status.UNKNOWN and time.monotonic() < deadline:
            time.sleep(0.05)
        a = time.time_ns()
        tb = c.now()
        b = time.time_ns()
        assert tb.status is Status.HOLDOVER
        # bracketed by two reads of the clock: a pause between them on a busy runner cannot fail it
        assert a + 2_000_000 - 1_000_000 <= tb.time_ns <= b + 2_000_000 + 1_000_000
        assert c.snapshot()["offset_ns"] == 2_000_000
    finally:
        second.close()


def test_close_and_staleness_read_as_unknown(path):
    pub = _core.ClockPublisher(path, stale_after_s=0.3)
    c = Client(path)
    pub.publish(time.time_ns(), 0, 0.0, 1000, 0.0, _core.CLOCK_HOLDOVER)
    assert c.now().status is Status.HOLDOVER
    time.sleep(0.4)
    tb = c.now()
    assert tb.status is Status.UNKNOWN and tb.earliest_ns == -(2 ** 63) and tb.latest_ns == 2 ** 63 - 1
    pub.heartbeat()
    assert c.now().status is Status.HOLDOVER
    pub.close()
    assert c.now().status is Status.UNKNOWN
    with pytest.raises(ValueError, match="closed"):
        pub.publish(time.time_ns(), 0, 0.0, 1000, 0.0, 1)


WRITER = textwrap.dedent("""
    import sys, time
    from chronotick import _core
    path, seconds = sys.argv[1], float(sys.argv[2])
    pub = _core.ClockPublisher(path, stale_after_s=60.0)
    k = 0
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while seconds < 0 or time.monotonic() < end:
        # redundant fields: offset, bound and growth all follow from k
        pub.publish(time.time_ns(), ((k % 7) - 3) * 100_000, ((k % 5) - 2) * 1e-6, 1000 + k,
                    float(k % 1000), 1 + (k % 2))
        k += 1
    print(k, flush=True)
""")

READER = textwrap.dedent("""
    import json, sys
    from chronotick.shm import Client
    c = Client(sys.argv[1])
    out = c._reader._verify_reads(int(sys.argv[2]))          # C++ loop over the real read path
    # and through Python: TimeBound reads, monotone and consistent
    last, backwards, bad, torn = -2**63, 0, 0, 0
    for i in range(int(sys.argv[3])):
        tb = c.now()
        backwards += tb.time_ns < last
        last = tb.time_ns
        bad += not (tb.earliest_ns <= tb.time_ns <= tb.latest_ns)
        if i % 10 == 0:
            s = c.snapshot()
            k = s["bound_ns"] - 1000
            torn += (not s["check_ok"]) or s["offset_ns"] != ((k % 7) - 3) * 100_000 \\
                or s["growth_ns_per_s"] != float(k % 1000)
    out.update(py_reads=int(sys.argv[3]), py_backwards=backwards, py_bad=bad, py_torn=torn)
    print(json.dumps(out))
""")


def test_no_torn_reads_across_processes(path):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path, "-1"], env=ENV, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.05)
        readers = [subprocess.Popen([sys.executable, "-c", READER, path, "1500000", "100000"], env=ENV,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = []
        for r in readers:
            out, err = r.communicate(timeout=300)
            assert r.returncode == 0, err
            results.append(json.loads(out))
        publishes = Client(path).snapshot()["bound_ns"] - 1000
    finally:
        writer.kill()
        writer.wait()
    total = sum(r["reads"] + r["py_reads"] for r in results)
    print(f"{total} reads, {publishes} publishes, retries {[r['retries'] for r in results]}")
    assert total >= 3_000_000
    assert publishes > 1000
    for r in results:
        assert r["torn"] == 0 and r["py_torn"] == 0
        assert r["backwards"] == 0 and r["py_backwards"] == 0
        assert r["bad_bounds"] == 0 and r["py_bad"] == 0
        assert r["unknown"] == 0


def test_killed_writer_reads_as_unknown_before_stale_limit(path):
    code = textwrap.dedent("""
        import sys, time
        from chronotick import _core
        pub = _core.ClockPublisher(sys.argv[1], stale_after_s=600.0)
        pub.publish(time.time_ns(), 1_000_000, 0.0, 1000, 0.0, 1)
        print("published", flush=True)
        time.sleep(600)
    """)
    writer = subprocess.Popen([sys.executable, "-c", code, path], env=ENV, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "published"
        c = Client(path)
        assert c.now().status is Status.SYNCHRONIZED
        t_before = c.now_ns()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    time.sleep(0.25)                  # the pid is checked at most every 100 ms
    tb = c.now()
    assert tb.status is Status.UNKNOWN
    assert tb.time_ns > t_before      # still the last model's time, monotone


def test_backward_correction_is_slewed_monotonic():
    st = _core.ClockState(max_slew_rate=1e-3)
    st.publish(time.time_ns(), 10_000_000, 0.0, 1000, 0.0, 1)
    a = st.now_ns()
    st.publish(time.time_ns(), 0, 0.0, 1000, 0.0, 1)       # 10 ms backwards
    b = st.now()
    assert b[2] >= a
    assert b[1] >= b[2]                                    # latest widened to include the slewed time
    assert b[0] <= time.time_ns() + 1000                   # earliest is around the new best estimate
    check = st._verify_reads(200_000)
    assert check["reads"] == 200_000 and check["torn"] == check["backwards"] == check["bad_bounds"] == 0


def test_publish_rejects_bad_values():
    st = _core.ClockState()
    now = time.time_ns()
    with pytest.raises(ValueError, match="status"):
        st.publish(now, 0, 0.0, 0, 0.0, 9)
    with pytest.raises(ValueError, match="freq"):
        st.publish(now, 0, float("nan"), 0, 0.0, 1)
    with pytest.raises(ValueError, match="bound_ns"):
        st.publish(now, 0, 0.0, -5, 0.0, 1)
    with pytest.raises(ValueError, match="stale_after_s"):
        _core.ClockState(stale_after_s=0)
    with pytest.raises(ValueError, match="max_slew_rate"):
        _core.ClockState(max_slew_rate=2.0)


def _header(magic=b"CTCK", major=1, minor=0, size=264, pid=1, seq=0):
    return struct.pack("<4sHHIiQ", magic, major, minor, size, pid, seq) + bytes(4096 - 24)


def test_writer_stuck_mid_write_reads_as_unknown_without_hanging(tmp_path):
    f = tmp_path / "stuck"
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    dead_pid = int(child.stdout)                       # exited and reaped
    f.write_bytes(_header(pid=dead_pid, seq=3))        # odd sequence: the writer died while writing
    tb = Client(f).now()
    assert tb.status is Status.UNKNOWN and tb.earliest_ns == -(2 ** 63)


def test_wrong_magic_newer_version_missing_file(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(_header(magic=b"NTPD"))
    with pytest.raises(ValueError, match="not a chronotick clock file"):
        Client(bad)
    bad.write_bytes(_header(major=2))
    with pytest.raises(ValueError, match="version 2.0 is newer"):
        Client(bad)
    bad.write_bytes(_header()[:100])
    with pytest.raises(ValueError, match="bytes"):
        Client(bad)
    with pytest.raises(FileNotFoundError):
        Client(tmp_path / "missing")
    bad.write_bytes(_header(minor=7))        # a newer minor version of the same major reads fine
    assert Client(bad).now().status is Status.UNKNOWN


CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")

# A publisher in another process (argv: PATH SECONDS [LINGER_S]) publishing as fast as it can; its
# k-th model carries a known invariant: bound_ns = 1000 + k, offset_ns, growth and status all
# functions of k, status SYNCHRONIZED/HOLDOVER alternately, every 50th UNKNOWN. Prints "ready"
# when the file is up and the number of publishes at the end (then lingers LINGER_S seconds).
# Used by the C-reader probes (tests/test_shm_probe.py, tests/test_c_reader_probe.py).
BUSY_PUBLISHER = textwrap.dedent("""
    import sys, time
    from chronotick import _core
    pub = _core.ClockPublisher(sys.argv[1], stale_after_s=60.0)
    print("ready", flush=True)
    k = 0
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        status = 0 if k % 50 == 49 else 1 + (k % 2)
        pub.publish(time.time_ns(), ((k % 7) - 3) * 100_000, ((k % 5) - 2) * 1e-6, 1000 + k, float(k % 1000), status)
        k += 1
    print(k, flush=True)
    time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 0)
""")


@pytest.mark.skipif(CC is None, reason="no C compiler")
def test_c_header_reader_agrees_with_client(path, tmp_path):
    exe = tmp_path / "clock_read"
    r = subprocess.run([CC, "-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Wpedantic",
                        "-Werror", f"-I{ROOT / 'include'}", str(ROOT / "benchmarks" / "clock_read_bench.c"),
                        "-o", str(exe)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    with _core.ClockPublisher(path) as pub:
        pub.publish(time.time_ns(), -3_000_000, 1e-6, 20_000, 50.0, _core.CLOCK_SYNCHRONIZED)
        before = Client(path).now()
        out = subprocess.run([str(exe), path], capture_output=True, text=True, check=True).stdout.split()
        after = Client(path).now()
    status, earliest, latest, t = (int(x) for x in out[1:5])
    assert status == 1
    assert before.time_ns <= t <= after.time_ns
    assert before.earliest_ns <= earliest <= after.earliest_ns
    # the width read in C lies between the Client's before and after it (it changes with time: the
    # -3 ms first correction is slewed in at 500 ppm, `latest` following the slew; a fixed 2 us
    # tolerance failed when the C program started >4 ms after `before`, under load)
    widths = (before.latest_ns - before.earliest_ns, after.latest_ns - after.earliest_ns)
    assert min(widths) - 2_000 <= latest - earliest <= max(widths) + 2_000
    bad = tmp_path / "bad"
    bad.write_bytes(_header(major=3))
    r = subprocess.run([str(exe), str(bad)], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "newer" in r.stderr


def test_clock_publishes_to_a_pathlib_path(tmp_path):
    # a Path had been refused by the core's ClockPublisher (TypeError), while Client takes one
    import chronotick
    p = tmp_path / "clock"
    c = chronotick.Clock(lambda: None, shm_path=p)
    try:
        assert p.exists() and Client(p).now().status is Status.UNKNOWN
    finally:
        c.stop()
    with pytest.raises(ValueError, match="shm_path must be a non-empty file path"):
        chronotick.Clock(lambda: None, shm_path="")


def test_a_file_that_is_not_a_clock_file_is_not_replaced(tmp_path):
    # `serve --path data.csv` had renamed a new clock file over the CSV (CLI audit, 2026-12-04):
    # a publisher replaces only a clock file (its writer gone) or an empty file
    data = tmp_path / "data.csv"
    data.write_text("t,offset\n1,0.5\n")
    with pytest.raises(FileExistsError, match=r"exists and is not a chronotick clock file.*not replaced"):
        _core.ClockPublisher(str(data))
    assert data.read_text() == "t,offset\n1,0.5\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]      # no temporary file left
    empty = tmp_path / "empty"
    empty.touch()
    with _core.ClockPublisher(str(empty)):
        pass
    with _core.ClockPublisher(str(empty)):        # a clock file left by a gone writer: taken over
        pass
    link = tmp_path / "null"
    os.symlink("/dev/null", link)
    with pytest.raises(FileExistsError, match="exists and is not a regular file"):
        _core.ClockPublisher(str(link))


def test_a_directory_lock_held_by_another_process_is_an_error_not_a_hang(tmp_path):
    """Any user who can read the clock file's directory can flock it (/dev/shm, a 755
    /run/chronotick); a publisher waited for that lock forever (`serve`, Clock.start; an audit,
    2026-12-05). Now it gives up after 5 s with an error naming the directory, and starts once
    the lock is free."""
    import fcntl
    path = str(tmp_path / "clock")
    holder = os.open(str(tmp_path), os.O_RDONLY | os.O_DIRECTORY)   # another open file description
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        ticks, stop = [], threading.Event()
        ticker = threading.Thread(target=lambda: [ticks.append(1) or time.sleep(0.01) for _ in iter(stop.is_set, True)])
        ticker.start()
        start = time.monotonic()
        try:
            with pytest.raises(OSError, match=f"the directory {tmp_path} has been locked .* not started") as err:
                _core.ClockPublisher(path)
        finally:
            stop.set()
            ticker.join()
        assert err.value.errno == 16 and 4.5 < time.monotonic() - start < 30
        assert len(ticks) > 100          # other threads ran meanwhile (the wait releases the GIL)
        assert not os.path.exists(path)
    finally:
        os.close(holder)
    _core.ClockPublisher(path).close()


def test_a_reader_in_another_pid_namespace_reads_a_live_writer(path):
    """A reader in its own PID namespace (a container sharing /dev/shm or a mounted /run with the
    host's writer) checked the writer with kill(pid, 0) in its own namespace, found no such
    process, and read UNKNOWN for the writer's whole life (an audit, 2026-12-05). The writer
    records its PID namespace (layout 1.1); a reader in another one leaves liveness to the
    heartbeat's age. Needs `unshare --pid` (root): skipped where it cannot run."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare --pid cannot run here: {probe.stderr.decode().strip()[:80]}")
    reader = textwrap.dedent(f"""
        import os
        from chronotick.shm import Client
        c = Client({path!r})
        b = c.now()
        print(os.getpid(), c.writer_pid, b.status.name)
    """)
    with _core.ClockPublisher(path) as pub:
        pub.publish(time.time_ns(), 1_000_000, 0.0, 50_000, 1.0, _core.CLOCK_SYNCHRONIZED, confidence=0.99)
        assert _core.CLOCK_LAYOUT_VERSION == (1, 1)
        out = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", reader],
                             capture_output=True, text=True, env=ENV, timeout=60)
        assert out.returncode == 0, out.stderr
        my_pid, writer_pid, status = out.stdout.split()
        assert my_pid == "1" and int(writer_pid) == os.getpid()   # really another namespace
        assert status == "SYNCHRONIZED"


def test_a_reader_in_another_pid_namespace_waits_for_a_write_in_progress(path):
    """A write found in progress: a reader asks whether the writer is gone (kill(pid, 0)) -- in
    another PID namespace the pid names no process, and the Python Client (the C++ reader, not
    the C header's) gave up at once and read UNKNOWN from a live writer (a review, 2026-12-05).
    It now waits for the write as a reader in the writer's namespace does."""
    import mmap
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True).returncode != 0:
        pytest.skip("unshare --pid cannot run here")
    flag = path + ".go"
    reader = textwrap.dedent(f"""
        import os, time
        from chronotick.shm import Client
        c = Client({path!r})
        print("ready", flush=True)
        while not os.path.exists({flag!r}):
            time.sleep(0.001)
        t0 = time.monotonic()
        b = c.now()
        print(os.getpid(), b.status.name, time.monotonic() - t0, flush=True)
    """)
    with _core.ClockPublisher(path) as pub:
        pub.publish(time.time_ns(), 1_000_000, 0.0, 50_000, 1.0, _core.CLOCK_SYNCHRONIZED, confidence=0.99)
        p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", reader],
                             stdout=subprocess.PIPE, text=True, env=ENV)
        try:
            assert p.stdout.readline().strip() == "ready"
            fd = os.open(path, os.O_RDWR)
            m = mmap.mmap(fd, 4096)
            seq = struct.unpack_from("<Q", m, 16)[0]
            struct.pack_into("<Q", m, 16, seq + 1)        # the live writer (this process) starts a write
            open(flag, "w").close()
            time.sleep(0.2)
            struct.pack_into("<Q", m, 16, seq)            # ... and finishes it, the data unchanged
            pid, status, took = p.stdout.read().split()
            m.close()
            os.close(fd)
        finally:
            p.wait(timeout=30)
    assert pid == "1" and status == "SYNCHRONIZED" and float(took) > 0.1


def test_a_file_the_publisher_may_not_write_is_checked_all_the_same():
    # An audit (2026-12-06): the checks (not a clock file -> refuse; a live publisher -> busy) ran
    # only when the file opened read-write, so a read-only CSV in a writable folder was renamed over.
    # Root may write anything: the publisher is made by an unprivileged child process then.
    import os
    import shutil
    import stat
    import tempfile
    from pathlib import Path
    d = Path(tempfile.mkdtemp(prefix="ct-shared-"))     # under /tmp: pytest's folders are root's alone
    os.chmod(d, 0o777)
    data = d / "data.csv"
    data.write_text("t,offset\n1,0.5\n")
    os.chmod(data, 0o444)

    def attempt() -> str:
        try:
            _core.ClockPublisher(str(data))
        except Exception as exc:        # noqa: BLE001 -- the message is what is checked
            return str(exc)
        return "created"

    if os.geteuid() != 0:
        said = attempt()
    else:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                    # the child: nobody, then one try, its message back
            try:
                os.close(r)
                os.setgid(65534)
                os.setuid(65534)
                os.write(w, attempt().encode())
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            said = f.read().decode()
        os.waitpid(pid, 0)
    try:
        assert "exists and is not a chronotick clock file" in said and "not replaced" in said, said
        assert data.read_text() == "t,offset\n1,0.5\n" and stat.S_IMODE(data.stat().st_mode) == 0o444
        assert sorted(p.name for p in d.iterdir()) == ["data.csv"]      # no temporary file left
    finally:
        shutil.rmtree(d)
