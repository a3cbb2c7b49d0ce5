"""Wall time, CPU time and peak memory of one benchmark step, run as its own subprocess.

CPU time is the child's user + system seconds (``os.wait4`` rusage, the child and every
descendant it waited for): the work done, less sensitive than wall time to other tenants of a
shared machine, and the difference tells waiting (I/O, spill reads) from computing.

Peak memory is the larger of
* the kernel's high-water mark of the child (``os.wait4`` rusage ``ru_maxrss``: the largest RSS
  of the child or of any descendant it waited for), and
* the peak of the summed RSS of the whole process tree, polled from ``/proc`` every 50 ms
  (catches several concurrent processes, e.g. dbt threads spawning helpers).
No psutil needed (Linux /proc only; elsewhere only the rusage figure is used).
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    cpu_seconds: float | None = None  # user + system
    cmd: list[str] = field(default_factory=list)
    log: str | None = None
    timed_out: bool = False  # killed at the step's time limit: seconds is a lower bound

    def as_dict(self) -> dict:
        return asdict(self)


def _children(pid: int) -> list[int]:
    try:
        out: list[int] = []
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    out.extend(int(x) for x in fh.read().split())
            except OSError:
                pass
        return out
    except OSError:
        return []


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def _tree_pids(root: int) -> list[int]:
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid not in out:
            out.append(pid)
            stack.extend(_children(pid))
    return out


def tree_rss_bytes(root: int) -> int:
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_bytes(pid)
        stack.extend(_children(pid))
    return total


def run_measured(name: str, cmd: list[str], *, env: dict | None = None, cwd: str | os.PathLike | None = None,
                 log_path: str | os.PathLike | None = None, poll_s: float = 0.05,
                 check: bool = True, timeout_s: float | None = None) -> Measurement:
    """Run ``cmd`` to completion; return its wall and CPU seconds and peak RSS (MB, 10^6 bytes).
    With ``timeout_s``, the process tree is killed at that age (Measurement.timed_out)."""
    log_fh = open(log_path, "w") if log_path else subprocess.DEVNULL
    peak = [0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log_fh, stderr=subprocess.STDOUT)
    stop = threading.Event()

    timed_out = [False]

    def poll() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_rss_bytes(proc.pid))
            if timeout_s is not None and time.perf_counter() - t0 > timeout_s and not timed_out[0]:
                timed_out[0] = True
                for pid in _tree_pids(proc.pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            stop.wait(poll_s)

    th = threading.Thread(target=poll, daemon=True)
    if Path("/proc").is_dir():
        th.start()
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    finally:
        seconds = time.perf_counter() - t0
        stop.set()
        if th.is_alive():
            th.join()
        if log_path:
            log_fh.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss = ru.ru_maxrss * 1024  # KiB on Linux
    m = Measurement(name=name, seconds=round(seconds, 3),
                    peak_rss_mb=round(max(maxrss, peak[0]) / 1e6, 1),
                    cpu_seconds=round(ru.ru_utime + ru.ru_stime, 3),
                    returncode=proc.returncode, cmd=[str(c) for c in cmd],
                    log=str(log_path) if log_path else None, timed_out=timed_out[0])
    if check and proc.returncode != 0:
        tail = ""
        if log_path:
            tail = "\n".join(Path(log_path).read_text(errors="replace").splitlines()[-25:])
        raise StepFailed(f"step {name!r} failed with exit code {proc.returncode} (log {log_path})\n{tail}", m)
    return m


class StepFailed(RuntimeError):
    def __init__(self, message: str, measurement: Measurement):
        super().__init__(message)
        self.measurement = measurement
