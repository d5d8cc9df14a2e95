"""Run a real chronyd on loopback, for tests (Debian package `chrony`).

    with Chronyd() as c:                   # serves NTP on 127.0.0.1:c.port, local stratum 8
        NTPSource([c.address]).measure()
    with Chronyd(servers=[c.address], serve=False) as client:   # a chronyd that syncs to it
        client.wait_synchronised()
        ChronySource(socket=client.command_socket).measure()

chronyd runs in the foreground (-d) as a subprocess with everything in a
temporary directory (config, pid file, drift file, dump dir, command socket),
and never touches the system clock (-x). `available()` says whether chronyd
is installed; tests skip with its reason when not.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

DEFAULT_PORT = 11123


def available() -> tuple[bool, str]:
    """(True, path) when chronyd can be run, else (False, why not)."""
    exe = shutil.which("chronyd") or next((p for p in ("/usr/sbin/chronyd", "/sbin/chronyd")
                                           if os.access(p, os.X_OK)), None)
    if exe is None:
        return False, "chronyd not installed (Debian/Ubuntu: apt-get install chrony)"
    if shutil.which("chronyc") is None:
        return False, "chronyc not installed (Debian/Ubuntu: apt-get install chrony)"
    return True, exe


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_udp_port(preferred: int = DEFAULT_PORT) -> int:
    """`preferred` if nothing is bound to it on 127.0.0.1, else an ephemeral free port."""
    if preferred and _udp_port_free(preferred):
        return preferred
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Chronyd:
    """A chronyd subprocess on 127.0.0.1.

    serve: answer NTP on a free UDP port (`port`, preferring 11123) with
    `local stratum` as its reference. servers: 'host:port' NTP servers it
    synchronises to (polled every 2^poll seconds). extra: more config lines.
    """

    def __init__(self, serve: bool = True, local_stratum: int = 8, servers=(), poll: int = -4, extra=()):
        ok, what = available()
        if not ok:
            raise RuntimeError(what)
        self.exe = what
        self.serve = serve
        self.local_stratum = local_stratum
        self.servers = list(servers)
        self.poll = poll
        self.extra = list(extra)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.dir: str | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def command_socket(self) -> str:
        return os.path.join(self.dir, "run", "chronyd.sock")

    def config(self) -> str:
        d = self.dir
        lines = [f"port {self.port}", "bindaddress 127.0.0.1", "cmdport 0",
                 f"bindcmdaddress {self.command_socket}", f"pidfile {d}/chronyd.pid",
                 f"driftfile {d}/chronyd.drift", f"dumpdir {d}"]
        if self.serve:
            lines += ["allow 127.0.0.1", f"local stratum {self.local_stratum}"]
        for s in self.servers:
            host, _, port = s.rpartition(":")
            lines.append(f"server {host} port {port} iburst minpoll {self.poll} maxpoll {self.poll}")
        return "\n".join(lines + self.extra) + "\n"

    def start(self, timeout_s: float = 10.0) -> Chronyd:
        self.dir = tempfile.mkdtemp(prefix="chronotick-chronyd-")
        os.makedirs(os.path.join(self.dir, "run"), mode=0o700)    # chronyd refuses a world-accessible socket dir
        self.port = free_udp_port() if self.serve else 0
        conf = os.path.join(self.dir, "chronyd.conf")
        with open(conf, "w") as f:
            f.write(self.config())
        # Stay the current user (chronyd would switch to its compiled-in user and then
        # insist that user owns the socket directory); -U lets a non-root user start it.
        me = pwd.getpwuid(os.geteuid()).pw_name
        user = ["-u", me] if os.geteuid() == 0 else ["-U", "-u", me]
        self._log = open(os.path.join(self.dir, "chronyd.log"), "w")
        self.proc = subprocess.Popen([self.exe, "-x", "-d", *user, "-f", conf], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while not os.path.exists(self.command_socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self.log()
                self.stop()
                raise RuntimeError(f"chronyd did not start (exit {self.proc.returncode}):\n{log}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "chronyd.log")) as f:
                return f.read()
        except OSError:
            return ""

    def tracking(self) -> str:
        r = subprocess.run(["chronyc", "-c", "-n", "-h", self.command_socket, "tracking"], capture_output=True,
                           text=True, timeout=5, check=False)
        return r.stdout.strip()

    def wait_synchronised(self, timeout_s: float = 20.0) -> str:
        """Wait until `chronyc tracking` reports a reference; returns the CSV line."""
        deadline = time.monotonic() + timeout_s
        line = ""
        while time.monotonic() < deadline:
            line = self.tracking()
            if line and not line.startswith("00000000") and not line.endswith("Not synchronised"):
                return line
            time.sleep(0.2)
        raise TimeoutError(f"chronyd not synchronised after {timeout_s} s: {line!r}\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
