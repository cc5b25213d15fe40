"""The bench's child processes: starting and stopping them, CPU pinning, the proxy worker's memory,
and py-spy profiles of the proxy."""

from __future__ import annotations

import contextlib
import http.client
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.settings import REPO


class BenchError(Exception):
    """A run that cannot produce trustworthy numbers; the message says why and what to look at."""


def python_path(source: Path, env: dict[str, str] | None = None) -> str:
    """``PYTHONPATH`` for a child process that imports the tree ``source`` first, then what ``env`` (default: this
    process's environment) already had."""
    rest = (os.environ if env is None else env).get("PYTHONPATH", "")
    return os.pathsep.join(p for p in (str(source), rest) if p)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_split(pin: bool) -> tuple[set[int] | None, set[int] | None]:
    """(CPUs for the proxy, CPUs for stub and load generator), or (None, None) when not pinning."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None, None
    return {cpus[-1]}, set(cpus[:-1])


class Proc:
    """A child process whose output goes to a log file, so a failure can show its tail."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None,
                 cpus: set[int] | None = None, cwd: Path = REPO) -> None:
        self.name, self.argv, self.log = name, argv, log
        self._out = open(log, "wb")  # noqa: SIM115 - lives as long as the process
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.popen = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                      preexec_fn=pin, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            # the whole session: a server that forked workers takes them down with it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, 15)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, 9)
                self.popen.wait(5)
        self._out.close()


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_ready(proc: Proc, port: int, path: str, timeout: float) -> None:
    """Wait until ``proc`` answers ``GET path`` with 200; otherwise stop it and raise BenchError with its log's tail
    (a process that never became ready is of no use, and must not outlive the run)."""
    try:
        _wait_ready(proc, port, path, timeout)
    except BenchError:
        proc.stop()
        raise


def _wait_ready(proc: Proc, port: int, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise BenchError(f"{proc.name} exited with status {proc.popen.returncode} before answering "
                             f"GET {path}.\nCommand: {shlex.join(proc.argv)}\nLast lines of {proc.log}:\n"
                             f"{proc.tail()}")
        try:
            status, _ = http_get(port, path, timeout=1.0)
            if status == 200:
                return
            last = f"HTTP {status}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise BenchError(f"{proc.name} did not answer GET {path} with 200 within {timeout:.0f}s (last: {last}).\n"
                     f"Command: {shlex.join(proc.argv)}\nLast lines of {proc.log}:\n{proc.tail()}")


# --- RSS and CPU of the proxy -------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # the command name may contain spaces and parentheses: the ppid follows the last ')'
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_kib(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def cpu_seconds(root: int) -> float:
    """User and system CPU time the process tree of ``root`` has used so far (``/proc/PID/stat``), in seconds:
    the difference over a run, divided by the requests it served, is the CPU each request cost."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def serving_pids(pids: list[int], port: int) -> list[int]:
    """Those of ``pids`` holding an established connection on local ``port``: the worker(s)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                f = line.split()
                if int(f[1].rsplit(":", 1)[1], 16) == port and f[3] == "01":
                    inodes.add(f[9])
    found = []
    for pid in pids:
        with contextlib.suppress(OSError):
            fds = Path(f"/proc/{pid}/fd")
            for fd in fds.iterdir():
                with contextlib.suppress(OSError):
                    link = os.readlink(fd)
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        found.append(pid)
                        break
    return found


@dataclass
class RssSampler:
    """Max RSS per process of the proxy's tree; the worker is the one serving connections under load."""

    root: int
    port: int
    peak_kib: dict[int, int] = field(default_factory=dict)
    worker: int | None = None
    idle_kib: int | None = None

    def sample(self) -> None:
        pids = process_tree(self.root)
        for pid in pids:
            kib = rss_kib(pid)
            if kib is not None:
                self.peak_kib[pid] = max(kib, self.peak_kib.get(pid, 0))
        if self.worker is None:
            serving = serving_pids(pids, self.port)
            if serving:
                self.worker = serving[0]

    def worker_peak_mb(self) -> float | None:
        pid = self.worker if self.worker is not None else max(self.peak_kib, key=self.peak_kib.__getitem__,
                                                              default=None)
        return self.peak_kib[pid] / 1024 if pid is not None else None


class Profiler:
    """``py-spy`` on the proxy during an extra, unreported run: the measured runs stay unperturbed."""

    def __init__(self, pid: int, out: Path, start_after: float, seconds: float) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(exe).exists():
            raise BenchError("--profile needs py-spy: .venv/bin/pip install py-spy")
        # --gil: only samples holding the GIL, i.e. Python work, not threads waiting on a queue or socket
        self.argv = [exe, "record", "-p", str(pid), "--subprocesses", "--gil", "--nonblocking", "-r", "100",
                     "-d", str(max(1, int(seconds))), "-f", "raw", "-o", str(out)]
        self.out, self.begin, self.start_after = out, time.monotonic(), start_after
        self.proc: subprocess.Popen[bytes] | None = None

    def tick(self) -> None:
        if self.proc is None and time.monotonic() - self.begin >= self.start_after:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def summary(self, title: str, inclusive: tuple[str, ...] = ()) -> str:
        """Self time by package and function; ``inclusive``: also the share of samples with a frame of each
        of these functions (qualified names, e.g. ``RuleCompiler.compile``) anywhere on the stack."""
        if self.proc is not None:
            self.proc.wait(60)
        by_pkg: dict[str, int] = {}
        by_fn: dict[str, int] = {}
        within = dict.fromkeys(inclusive, 0)
        total = 0
        with contextlib.suppress(OSError):
            for line in self.out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                # self time: the innermost frame, "function (path/file.py:line)"
                leaf = stack.rsplit(";", 1)[-1]
                fn, _, where = leaf.rpartition(" (")
                if not fn or leaf.startswith(("process ", "thread ")):
                    continue  # a process or thread marker without a Python frame
                path = where.rsplit(":", 1)[0]
                pkg = path.split("site-packages/")[-1].split("/")[0] if "/" in path else path
                n = int(count)
                total += n
                by_pkg[pkg] = by_pkg.get(pkg, 0) + n
                key = f"{fn} ({path.split('site-packages/')[-1]})"
                by_fn[key] = by_fn.get(key, 0) + n
                frames = {f.rpartition(" (")[0] for f in stack.split(";")}
                for name in inclusive:
                    if name in frames:
                        within[name] += n
        if not total:
            return f"### {title}\n\npy-spy recorded no samples."
        top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:10]
        fns = sorted(by_fn.items(), key=lambda kv: -kv[1])[:12]
        head = f"{total:,} samples holding the GIL; share by innermost frame (self time)."
        return "\n".join([f"### {title}", "", head, "",
                          "| Package or module | Self |", "|---|---|",
                          *(f"| `{k}` | {100 * v / total:.1f}% |" for k, v in top), "",
                          "| Function | Self |", "|---|---|",
                          *(f"| `{k}` | {100 * v / total:.1f}% |" for k, v in fns),
                          *(["", "| Function, with what it calls | Inclusive |", "|---|---|"] if within else []),
                          *(f"| `{k}` | {100 * v / total:.1f}% |" for k, v in within.items())])

