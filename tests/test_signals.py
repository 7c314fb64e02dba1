"""Ctrl-C (SIGINT) and SIGTERM (timeout, CI cancellation, docker stop) in the middle of an export
of a ~100 MB checkpoint: exit 130 / 143 with one ``error:`` line that does not share the progress
bar's line, no temporary file left beside the output, no output, and no llama.cpp worker left
running (it is stopped at once, not when llama.cpp finishes).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.gguf]


@pytest.fixture(scope="module")
def big_checkpoint(tmp_path_factory) -> Path:
    """~100 MB of f32 weights: 8 layers, hidden 512, ffn 1,376 (25 M parameters)."""
    from phonelm_export.random_model import make_random_checkpoint

    d = make_random_checkpoint(tmp_path_factory.mktemp("big") / "ckpt", hidden_size=512, intermediate_size=1376,
                               num_hidden_layers=8, seed=5)
    size = (d / "model.safetensors").stat().st_size
    assert 90e6 < size < 120e6, size
    return d


def _start(args, cwd: Path) -> subprocess.Popen:
    # a session of its own, as a shell gives a foreground job: killpg reaches what Ctrl-C reaches
    return subprocess.Popen([sys.executable, "-m", "phonelm_export", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(cond, proc: subprocess.Popen, what: str, timeout: float = 300) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"the export ended before {what}: {proc.communicate()[1][-2000:]}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def _temporaries(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if ".tmp-" in p.name or p.name.startswith((".gguf-work-", ".")))


def _visible_lines(stderr: str) -> list[str]:
    """What a terminal shows: a carriage return starts the line over."""
    return [ln.split("\r")[-1] for ln in stderr.split("\n")]


def _assert_one_error_line(stderr: str, expected: str) -> None:
    assert "Traceback" not in stderr
    raw = [ln for ln in stderr.split("\n") if "error:" in ln]
    assert len(raw) == 1, stderr[-2000:]
    shown = [ln for ln in _visible_lines(stderr) if "error:" in ln]
    assert shown == [f"error: {expected}"], f"the error shares a line with something else: {shown!r}"


@pytest.mark.parametrize("sig, status, words", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                (signal.SIGINT, 130, "interrupted (SIGINT)")])
def test_a_signal_mid_write_cleans_up_and_exits_with_its_status(sig, status, words, big_checkpoint, tmp_path):
    out = tmp_path / "m.gguf"
    p = _start(["gguf", big_checkpoint, "--recipe", "f32", "-o", out], tmp_path)

    def writing():
        return any(f.name.startswith(".m.gguf.tmp-") and f.stat().st_size > 1_000_000 for f in tmp_path.iterdir())

    _wait_for(writing, p, "the GGUF was half written")
    os.killpg(p.pid, sig)
    _, err = p.communicate(timeout=120)
    assert p.returncode == status, err[-2000:]
    _assert_one_error_line(err, words)
    assert list(tmp_path.iterdir()) == [], "nothing may be left: no output, no temporary"


def _worker_of(pid: int) -> int | None:
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().split(b"\0")
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"phonelm_export.backends.gguf.worker" in cmd:
            return int(d.name)
    return None


@pytest.mark.parametrize("sig, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_llama_cpp_quantization_stops_the_worker_at_once(sig, status, big_checkpoint, tmp_path):
    pytest.importorskip("llama_cpp")
    recipe = tmp_path / "q.toml"
    recipe.write_text('purpose = "test"\nfamily = "smallest"\nbase = "q4_0"\n')
    work = tmp_path / "work"
    work.mkdir()
    p = _start(["gguf", big_checkpoint, "--recipe", recipe, "-o", work / "m.gguf"], work)
    found: list[int] = []

    def worker_running():
        w = _worker_of(p.pid)
        if w:
            found.append(w)
        return bool(w)

    _wait_for(worker_running, p, "llama.cpp's worker started")
    t0 = time.monotonic()
    os.killpg(p.pid, sig)
    _, err = p.communicate(timeout=60)
    seconds = time.monotonic() - t0
    assert p.returncode == status, err[-2000:]
    _assert_one_error_line(err, "interrupted (SIGINT)" if sig == signal.SIGINT else "terminated (SIGTERM)")
    assert not Path(f"/proc/{found[0]}").exists() or "Z" in Path(f"/proc/{found[0]}/stat").read_text().split()[2], \
        "the llama.cpp worker outlived the CLI"
    # a hang guard, not a benchmark: waiting for llama.cpp to finish took ~11 s before
    assert seconds < 5, f"took {seconds:.1f} s to stop"
    assert list(work.iterdir()) == []


def test_llama_cpp_output_never_reaches_the_result_channel():
    """llama.cpp prints to stdout and stderr (its asserts did, corrupting the JSON answers): the
    worker's fd 1 and 2 are the log file, and results travel on a pipe of their own."""
    pytest.importorskip("llama_cpp")
    from phonelm_export.backends.gguf.llama_worker import LlamaWorker

    with LlamaWorker() as w:
        pid = w.proc.pid
        stdout, stderr = (os.readlink(f"/proc/{pid}/fd/{n}") for n in (1, 2))
        assert stdout == stderr and not stdout.startswith("pipe:"), (stdout, stderr)
        with open(f"/proc/{pid}/fd/1", "w") as fh:  # what a C printf in the worker would do
            fh.write('{"ok": false, "error": "not a result"}\n')
        head, _ = w.call({"op": "ping"}, "pinging")
        assert head["ok"] and head["pid"] == pid


def test_on_a_terminal_the_error_does_not_land_on_the_progress_bar(big_checkpoint, tmp_path):
    """Issue 12: after Ctrl-C, `interrupted` was printed on the progress bar's line."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child: a 100-column terminal, as a user's
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "phonelm_export", "gguf", str(big_checkpoint), "--recipe", "f32",
                                  "-o", str(tmp_path / "m.gguf")])
    out, sent, t0 = b"", False, time.monotonic()
    while time.monotonic() - t0 < 300:
        if select.select([fd], [], [], 0.02)[0]:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        half_written = any(f.name.startswith(".m.gguf.tmp-") and f.stat().st_size > 1_000_000 for f in tmp_path.iterdir())
        if not sent and b"%|" in out and half_written:  # the bar is on the screen, the file half written
            os.kill(pid, signal.SIGINT)
            sent = True
    _, status = os.waitpid(pid, 0)
    assert sent and os.waitstatus_to_exitcode(status) == 130, out[-500:]
    screen = [ln.rstrip("\r").split("\r")[-1] for ln in out.decode("utf-8", "replace").split("\n")]  # the pty adds \r to \n
    shown = [ln for ln in screen if "error:" in ln]
    # the line was cleared (ESC [K) before the message
    assert [ln.replace("\x1b[K", "") for ln in shown] == ["error: interrupted (SIGINT)"], shown
    assert "%|" not in shown[0]
    assert list(tmp_path.iterdir()) == []


def test_a_signal_whose_exception_a_library_swallowed_is_still_reported():
    """Native code called back into Python may eat the exception a signal raised; the CLI still
    stops with the signal's status (and a library that swallows it entirely still exits 143)."""
    code = (
        "import os, signal, time\n"
        "from phonelm_export.cli import main\n"
        "@main.command('swallow')\n"
        "def swallow():\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(0.5)\n"
        "    except BaseException:\n"
        "        pass\n"
        "main(['swallow'])\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 143, p.stderr
    _assert_one_error_line(p.stderr, "terminated (SIGTERM)")
