"""The work folders of killed exports: `chronotick export` makes the model and its card in
.<out>.XXXXXXXX.export-tmp beside --out and holds export.lock in it while it runs; a SIGKILL
leaves the folder, and the next export to the same --out removes it (remove_dead_work_folders),
never a live export's, a symlink, another user's or one of another name.

Needs the `export` extra; skipped without it (CHRONOTICK_REQUIRE_EXPORT: fail instead).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import child_env, require_export_extra  # noqa: E402

require_export_extra()

from chronotick.models import export_bolt  # noqa: E402
from chronotick.models.export_bolt import (WORK_LOCK, export_chronos_bolt, remove_dead_work_folders,  # noqa: E402
                                           save_random_bolt)

ENV = child_env()
pytestmark = pytest.mark.skipif(export_bolt.fcntl is None, reason="no fcntl: leftovers are not cleaned up")

# makes a work folder as an export does (export_bolt._make_work_folder), prints it, then waits to be killed
HOLDER = ("import sys, time; from chronotick.models.export_bolt import _make_work_folder; "
          "print(_make_work_folder(sys.argv[1], sys.argv[2])[0], flush=True); time.sleep(120)")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp("leftovers")
    return save_random_bolt(str(d / "ckpt"), seed=1, context=64, d_model=32, d_ff=64, initializer_factor=0.1)


@pytest.fixture
def holders():
    """Start processes that hold a work folder: holders(dir, base) -> (process, folder)."""
    procs = []

    def start(directory, base="m.onnx"):
        p = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory), base], env=ENV,
                             stdout=subprocess.PIPE, text=True)
        procs.append(p)
        return p, p.stdout.readline().strip()
    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stdout.close()


def _work(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".export-tmp"))


def test_a_sigkilled_export_is_cleaned_up_by_the_next_one_and_a_live_one_is_kept(ckpt, tmp_path, holders):
    out = tmp_path / "m.onnx"
    proc = subprocess.Popen([sys.executable, "-m", "chronotick", "export", "chronos-bolt", "--checkpoint", ckpt,
                             "--context", "16", "--no-ort-fusions", "--out", str(out)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not any(
                os.path.exists(tmp_path / w / WORK_LOCK) for w in _work(tmp_path)):
            time.sleep(0.02)
        assert proc.poll() is None, "the export ended before it made its work folder"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    dead = _work(tmp_path)
    assert len(dead) == 1 and not out.exists()
    _, live = holders(tmp_path)               # a concurrent export, alive
    with open(os.path.join(live, "m.onnx"), "w") as f:
        f.write("half-made")
    logged = []
    export_chronos_bolt(ckpt, str(out), context=16, ort_fusions=False, log=logged.append)
    assert _work(tmp_path) == [os.path.basename(live)]
    assert sorted(os.listdir(live)) == [WORK_LOCK, "m.onnx"]
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(live), "m.json", "m.onnx"])
    assert [m for m in logged if m.startswith("removed")] == [
        f"removed {tmp_path / dead[0]}, the work folder of a killed export"]


def test_only_dead_folders_are_removed(tmp_path, holders):
    out = str(tmp_path / "m.onnx")
    killed, killed_dir = holders(tmp_path)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    with open(os.path.join(killed_dir, "m.onnx"), "w") as f:
        f.write("half-made")
    os.mkdir(os.path.join(killed_dir, "sub"))
    # an older chronotick's folder: no lock file
    old = tempfile.mkdtemp(prefix=".m.onnx.", suffix=".export-tmp", dir=tmp_path)
    with open(os.path.join(old, "m.json"), "w") as f:
        f.write("{}")
    _, live = holders(tmp_path)
    logged = []
    assert sorted(remove_dead_work_folders(out, log=logged.append)) == sorted([killed_dir, old])
    assert _work(tmp_path) == [os.path.basename(live)] and os.listdir(live) == [WORK_LOCK]
    assert len(logged) == 2 and all(m.startswith("removed ") for m in logged)
    assert remove_dead_work_folders(out, log=logged.append) == [] and len(logged) == 2


def test_symlinks_other_names_and_other_users_folders_are_never_touched(tmp_path, monkeypatch):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("mine")
    names = [".m.onnx.abc.export-tmp", ".m.onnx.abcdefghi.export-tmp", ".m.onnx.ABCDEFGH.export-tmp",
             ".m.onnx.abcdefgh.export-tmp.bak", "m.onnx.abcdefgh.export-tmp", ".xm.onnx.abcdefgh.export-tmp",
             ".n.onnx.abcdefgh.export-tmp", ".m.onnx.abcdefgh.export-tm", ".m.onnx.abcdefgh.onnx.abcdefgh.export-tmp"]
    for n in names:
        (tmp_path / n).mkdir()
    os.symlink(victim, tmp_path / ".m.onnx.linklink.export-tmp")
    (tmp_path / ".m.onnx.filefile.export-tmp").write_text("a file")
    logged = []
    assert remove_dead_work_folders(str(tmp_path / "m.onnx"), log=logged.append) == [] and logged == []
    theirs = tmp_path / ".m.onnx.theirsxx.export-tmp"      # another user's (os.getuid pretends)
    theirs.mkdir()
    uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: uid + 1)
    assert remove_dead_work_folders(str(tmp_path / "m.onnx"), log=logged.append) == [] and logged == []
    monkeypatch.undo()
    assert os.listdir(victim) == ["keep"] and (victim / "keep").read_text() == "mine"
    assert (tmp_path / ".m.onnx.filefile.export-tmp").read_text() == "a file"
    for n in names + [theirs.name]:
        assert os.listdir(tmp_path / n) == []                # not even a lock file made
    # the same folder, ours: removed
    assert remove_dead_work_folders(str(tmp_path / "m.onnx"), log=logged.append) == [str(theirs)]


def test_a_folder_that_cannot_be_removed_is_a_warning(tmp_path, monkeypatch):
    dead = tempfile.mkdtemp(prefix=".m.onnx.", suffix=".export-tmp", dir=tmp_path)

    def rmdir(path, *a, **k):
        raise OSError(16, "Device or resource busy", path)
    monkeypatch.setattr(os, "rmdir", rmdir)
    logged = []
    assert remove_dead_work_folders(str(tmp_path / "m.onnx"), log=logged.append) == []
    assert len(logged) == 1 and logged[0].startswith(f"warning: cannot remove {dead}") and "busy" in logged[0]


def test_a_work_folder_taken_before_its_lock_is_held_is_given_up(tmp_path, monkeypatch):
    # another export's clean-up held the new folder's lock first (it will remove it): make another
    real, calls = export_bolt.fcntl.flock, []

    def flock(fd, op):
        calls.append(op)
        if len(calls) == 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real(fd, op)
    monkeypatch.setattr(export_bolt.fcntl, "flock", flock)
    work, fd = export_bolt._make_work_folder(str(tmp_path), "m.onnx")
    try:
        given_up = [str(tmp_path / w) for w in _work(tmp_path) if str(tmp_path / w) != work]
        assert len(calls) == 2 and len(given_up) == 1
        assert os.path.dirname(work) == str(tmp_path) and os.listdir(work) == [WORK_LOCK]
        monkeypatch.undo()
        assert remove_dead_work_folders(str(tmp_path / "m.onnx"), log=lambda m: None) == given_up
        assert _work(tmp_path) == [os.path.basename(work)]
    finally:
        os.close(fd)
