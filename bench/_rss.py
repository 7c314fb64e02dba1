"""Run one command and measure what it costs: wall time, peak RSS, and where the peak was.

The peak RSS is the kernel's own high-water mark of the command (``RUSAGE_CHILDREN``'s
``ru_maxrss``; for a command that starts its own workers it is the largest single process). It is
read by a small launcher interpreter that starts the command: Linux carries the high-water mark
of the forking process into the child across ``exec``, so a child forked straight from a bench
that holds a multi-GB checkpoint would report the bench's peak, not its own. Beside it, ``/proc/PID/status`` of the child is sampled every
``interval`` seconds for the anonymous and file-backed parts of its RSS (file-backed =
memory-mapped checkpoint pages the kernel may drop; anonymous = real allocations), and every
stderr line the command prints that starts with ``[phonelm-export]`` opens a new *stage*: the
result says which stage held the peak, which is what one needs to know to lower it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

STAGE_PREFIX = "[phonelm-export] "
# runs the command, publishes its pid, and reports its exit status and peak RSS as JSON
LAUNCHER = (
    "import json, os, resource, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[2:])\n"
    "open(sys.argv[1] + '.pid', 'w').write(str(p.pid))\n"
    "rc = p.wait()\n"
    "json.dump({'rc': rc, 'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, open(sys.argv[1], 'w'))\n"
    "sys.exit(0)\n"
)


@dataclass
class Measured:
    returncode: int
    seconds: float
    peak_rss: int  # bytes, ru_maxrss
    peak_anon: int  # bytes, largest sampled RssAnon
    peak_file: int  # bytes, largest sampled RssFile
    stages: list[dict] = field(default_factory=list)  # {"stage", "start_s", "peak_rss", "peak_anon"}
    stdout: str = ""
    stderr_tail: str = ""

    @property
    def peak_stage(self) -> str | None:
        return max(self.stages, key=lambda s: s["peak_rss"])["stage"] if self.stages else None


def _status(pid: int) -> tuple[int, int, int] | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            vals = {}
            for line in fh:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile"):
                    vals[k] = int(v.split()[0]) * 1024
            return vals.get("VmRSS", 0), vals.get("RssAnon", 0), vals.get("RssFile", 0)
    except (OSError, ValueError):
        return None


def measure(cmd: list[str], *, env: dict | None = None, interval: float = 0.1, echo: bool = False,
            cwd: str | None = None) -> Measured:
    """Run ``cmd`` to completion; stdout is captured, stderr is scanned for stages (and echoed
    to our stderr with ``echo``)."""
    import json
    import tempfile

    fd, result = tempfile.mkstemp(prefix="bench-rss-", suffix=".json")
    os.close(fd)
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", LAUNCHER, result, *cmd], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env, cwd=cwd, bufsize=1)
    stages = [{"stage": "start", "start_s": 0.0, "peak_rss": 0, "peak_anon": 0}]
    peaks = {"anon": 0, "file": 0}
    lock = threading.Lock()
    done = threading.Event()
    tail: list[str] = []
    out_chunks: list[str] = []
    target: list[int] = []

    def sample():
        while not done.is_set():
            if not target:
                try:
                    target.append(int(open(result + ".pid").read()))
                except (OSError, ValueError):
                    done.wait(interval)
                    continue
            s = _status(target[0])
            if s:
                rss, anon, file_ = s
                with lock:
                    cur = stages[-1]
                    cur["peak_rss"] = max(cur["peak_rss"], rss)
                    cur["peak_anon"] = max(cur["peak_anon"], anon)
                    peaks["anon"] = max(peaks["anon"], anon)
                    peaks["file"] = max(peaks["file"], file_)
            done.wait(interval)

    def read_err():
        for line in p.stderr:
            if echo:
                sys.stderr.write(line)
            tail.append(line)
            del tail[:-40]
            # tqdm bars redraw with \r; a stage line is a whole printed line of its own
            text = line.rsplit("\r", 1)[-1].strip()
            if text.startswith(STAGE_PREFIX):
                with lock:
                    stages.append({"stage": text[len(STAGE_PREFIX):][:80], "start_s": time.perf_counter() - t0,
                                   "peak_rss": 0, "peak_anon": 0})

    def read_out():
        out_chunks.append(p.stdout.read())

    threads = [threading.Thread(target=f, daemon=True) for f in (sample, read_err, read_out)]
    for t in threads:
        t.start()
    p.wait()
    seconds = time.perf_counter() - t0
    done.set()
    for t in threads:
        t.join(timeout=5)
    try:
        res = json.loads(open(result).read())
    finally:
        for f in (result, result + ".pid"):
            if os.path.exists(f):
                os.unlink(f)
    return Measured(returncode=res["rc"], seconds=seconds, peak_rss=res["maxrss_kb"] * 1024,
                    peak_anon=peaks["anon"], peak_file=peaks["file"], stages=[s for s in stages if s["peak_rss"]],
                    stdout="".join(out_chunks), stderr_tail="".join(tail)[-3000:])


def available_bytes() -> int:
    """MemAvailable: what a new process may allocate without pushing others out."""
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


GiB = 2**30
