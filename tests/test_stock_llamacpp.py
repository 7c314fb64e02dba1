"""Our GGUFs in a llama.cpp nobody on this project built: Debian sid's own ``llama.cpp-tools``.

Every other GGUF test runs the pinned llama-cpp-python (0.3.36). A user runs whatever llama.cpp
their distribution or app ships, so this module drives a second, newer one — Debian's 0.7.0
(build 11669) in the debootstrap chroot that ``.ci/setup.d/30-llamacpp-sid.sh`` caches — through
its command-line tools and its HTTP server, exactly as a user would, on files our exporter writes
from the bundled model (default ``--arch compat``):

* the f32 file loads and its greedy tokens equal the PyTorch reference's;
* ``llama-perplexity`` of the f16 file is within 0.1 % of the reference on the same windows;
* ``llama-tokenize`` gives HF ``tokenizers``' ids on mixed text, for the bundled and the real
  49,152-token vocabulary;
* ``llama-server`` renders the ChatML template embedded in the file exactly as we do, and replies;
* ``llama-quantize`` requantizes our f16 file to q8_0 and q4_0, which load and keep perplexity;
* ``--arch native`` files are refused with llama.cpp's "unknown model architecture" error;
* and two documented llama.cpp behaviours hold exactly: the tool's escape processing of its input, and
  its end-of-generation set (``<reponame>`` included, by llama.cpp's own text heuristics).

The tools run in a private mount namespace (``unshare``) with the test's directory bound in, so no
mount outlives a test; ``llama-server`` listens on 127.0.0.1 only and is always shut down.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gguf, pytest.mark.slow]

SETUP_SCRIPT = ".ci/setup.d/30-llamacpp-sid.sh"
MOUNT = "/phonelm-work"  # where the test's directory appears inside the chroot
SID_VERSION = "1:0.7.0+dfsg-2"  # the Debian version these tests were written against (build 11669)

# Mixed text: digits (PhoneLM splits each one), Unicode, code, tabs, CRLF, and special tokens —
# also right after "\r\n", where a tokenizer difference was reported (issue 15).
MIXED = [
    "Set an alarm for 7:30 tomorrow morning and call Alice at 555-0134.",
    "12345678901234567890 3.14159 1e-9 0x1F 2024-02-29T23:59:59Z",
    "Réveille-moi à 6h45 — ça marche? 東京 café naïve 😀 🇫🇷 Ωμέγα",
    "def add(a, b):\n    return a + b  # 42\n\n\tif x>=10 and y!=3: print(f'{x:05d}')",
    "   leading spaces, trailing   \n\n\nnewlines\r\nand CRLF",
    "first line\r\n<|endoftext|>",
    "\tindented\r\n\t<|im_end|>\r\n<|endoftext|>\r\n",
    "x \r\n<|endoftext|>y\r\n\r\n<|endoftext|>",
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|endoftext|>",
    "<repo_name>phonelm<file_sep>main.py<jupyter_code>x=1<empty_output>",
    "don't won't I'm we'll they've HELLO World ALLCAPS camelCaseWord snake_case_word",
]
MIXED.append("\r\n".join(MIXED))

CHAT = [{"role": "user", "content": "What can you do?"}]
PPL_CTX, PPL_CHUNKS = 256, 8  # verify's default window (256) and window count (8)


# --- the chroot ---------------------------------------------------------------------------------

def _sid_root() -> Path:
    from phonelm_export.backends.gguf.native import cache_root

    return cache_root() / "sid-chroot"


class SidLlama:
    """Debian sid's llama.cpp tools, run in the chroot with ``work`` bound at MOUNT."""

    _ENTER = (
        'root=$1; work=$2; shift 2; '
        'mount -t proc proc "$root/proc" && mount --bind "$work" "$root' + MOUNT + '" && exec chroot "$root" "$@"'
    )

    def __init__(self, root: Path, work: Path):
        self.root, self.work = root, work
        (root / MOUNT.lstrip("/")).mkdir(exist_ok=True)

    def inside(self, host_path: Path) -> str:
        return f"{MOUNT}/{Path(host_path).relative_to(self.work)}"

    def argv(self, tool: str, *args: str) -> list[str]:
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", self._ENTER, "sh",
                str(self.root), str(self.work), tool, *args]

    def run(self, tool: str, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(self.argv(tool, *args), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            pytest.fail(f"{tool} exited {r.returncode}:\n{(r.stdout + r.stderr)[-3000:]}")
        return r

    def tokenize(self, gguf: Path, text: str, *flags: str) -> list[int]:
        f = self.work / f"tok-{abs(hash((text, flags)))}.txt"
        f.write_bytes(text.encode("utf-8"))
        out = self.run("llama-tokenize", "-m", self.inside(gguf), "-f", self.inside(f), "--ids", "--log-disable", *flags).stdout
        return json.loads(out.strip().splitlines()[-1])

    def perplexity(self, gguf: Path, text_file: Path) -> float:
        """llama-perplexity's cumulative estimate after PPL_CHUNKS chunks of PPL_CTX tokens.

        Run over one chunk more and read the running value "[PPL_CHUNKS]x.xxxx" instead of the
        "Final estimate" line: Debian 0.7.0's tool loses its last log lines at exit in about half
        of the runs when its output is a pipe (its asynchronous logger is not drained), while a
        running value printed a whole chunk before the end is always there. The running value
        after chunk k is exp(NLL / count) over chunks 1..k, i.e. the 8-chunk perplexity."""
        r = self.run("llama-perplexity", "-m", self.inside(gguf), "-f", self.inside(text_file), "-c", str(PPL_CTX),
                     "-b", str(PPL_CTX), "--chunks", str(PPL_CHUNKS + 1), "-t", "2")
        out = r.stdout + r.stderr
        assert f"calculating perplexity over {PPL_CHUNKS + 1} chunks, n_ctx={PPL_CTX}" in out, out[-2000:]
        m = re.search(rf"\[{PPL_CHUNKS}\]([0-9.]+),", out)
        assert m, out[-2000:]
        return float(m.group(1))

    @contextlib.contextmanager
    def server(self, gguf: Path, n_ctx: int = 1024):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(self.work / f"server-{port}.log", "w+")
        # unshare/sh/chroot exec one another: the Popen pid IS llama-server
        proc = subprocess.Popen(self.argv("llama-server", "-m", self.inside(gguf), "--host", "127.0.0.1",
                                          "--port", str(port), "-c", str(n_ctx), "-t", "2", "--no-webui"),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"llama-server exited {proc.returncode}:\n{log.read()[-3000:]}")
                try:
                    with urllib.request.urlopen(url + "/health", timeout=5) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("llama-server did not become healthy within 120 s")
                time.sleep(0.3)
            yield Server(url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
            log.close()


class Server:
    def __init__(self, url: str):
        self.url = url

    def post(self, path: str, body: dict, timeout: float = 120) -> dict:
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r)

    def greedy(self, ids: list[int], n: int) -> dict:
        return self.post("/completion", {"prompt": ids, "n_predict": n, "temperature": 0, "top_k": 1,
                                         "return_tokens": True, "cache_prompt": False})


@pytest.fixture(scope="module")
def sid(tmp_path_factory):
    root = _sid_root()
    marker = root / ".phonelm-sid-ready"
    if os.geteuid() != 0:
        pytest.skip("the Debian sid llama.cpp runs in a chroot, which needs root (CI runs as root)")
    if not marker.is_file():
        pytest.fail(f"the Debian sid llama.cpp chroot is missing or incomplete ({marker} absent): "
                    f"`bash {SETUP_SCRIPT}` (run by tests/setup.sh) builds it")
    # which llama.cpp sid had when the chroot was built: the behaviours asserted below were checked on
    # SID_VERSION; a later one must still pass them (that is the point: drift shows up here first)
    assert marker.read_text().startswith("llama.cpp-tools "), marker.read_text()
    # a shared lock: setup scripts (which take it exclusively) cannot change the chroot under us
    lock = open(root.parent / "sid-chroot.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_SH)
    try:
        yield SidLlama(root, tmp_path_factory.mktemp("sid"))
    finally:
        lock.close()


# --- our files and the reference ----------------------------------------------------------------

def _export(ckpt, recipe: str, out: Path, encoding: str = "compat") -> Path:
    from phonelm_export.backends.gguf import BACKEND
    from phonelm_export.progress import Progress
    from phonelm_export.recipes import load_recipe

    return BACKEND.export(ckpt, load_recipe("gguf", recipe), out, encoding=encoding, progress=Progress(quiet=True)).path


@pytest.fixture(scope="module")
def bundled(bundled_checkpoint):
    from phonelm_export.checkpoint import open_checkpoint

    return open_checkpoint(bundled_checkpoint)


@pytest.fixture(scope="module")
def files(sid, bundled):
    return {
        "f32": _export(bundled, "f32", sid.work / "tiny-f32-compat.gguf"),
        "f16": _export(bundled, "f16", sid.work / "tiny-f16-compat.gguf"),
        "native": _export(bundled, "f32", sid.work / "tiny-f32-native.gguf", encoding="native"),
    }


@pytest.fixture(scope="module")
def reference(bundled):
    from phonelm_export.reference import ReferenceRunner

    return ReferenceRunner.from_checkpoint(bundled)


@pytest.fixture(scope="module")
def f32_server(sid, files):
    with sid.server(files["f32"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def ppl_text(sid):
    """verify's held-out conversations as plain text: llama-perplexity tokenizes without parsing
    special tokens, so the ChatML markers are dropped (the rest is what verify scores). No
    trailing newline (common's -f drops one) and no backslash (so escapes cannot matter)."""
    from phonelm_export.verify import heldout_text

    text = heldout_text(40).replace("<|im_start|>", "").replace("<|im_end|>", "").rstrip("\n")
    assert "\\" not in text
    path = sid.work / "heldout.txt"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def reference_ppl(reference, ppl_text) -> float:
    return reference_perplexity(reference, reference.tokenizer.encode(ppl_text.read_text(encoding="utf-8")))


def reference_perplexity(reference, ids: list[int]) -> float:
    """Perplexity on llama-perplexity's windows, computed as metrics.perplexity does (float64
    log-softmax of the reference's logits, summed NLL): chunks of PPL_CTX tokens from the start,
    each scored from an empty cache, the first PPL_CHUNKS of them; in each chunk only the
    predictions from position PPL_CTX/2 on count (positions 128..254 predict tokens 129..255),
    because llama-perplexity scores the second half only — verify's windows score every position."""
    from phonelm_export.metrics import log_softmax

    first, nll, count = PPL_CTX // 2, 0.0, 0
    for i in range(PPL_CHUNKS):
        w = ids[i * PPL_CTX:(i + 1) * PPL_CTX]
        lp = log_softmax(reference.logits(w))
        nll -= float(sum(lp[j, w[j + 1]] for j in range(first, PPL_CTX - 1)))
        count += PPL_CTX - 1 - first
    return math.exp(nll / count)


# --- the tests ----------------------------------------------------------------------------------

def test_f32_file_loads_and_greedy_tokens_equal_the_reference(f32_server, reference):
    tok = reference.tokenizer
    prompts = [
        tok.encode(tok.render_chat(CHAT)),
        tok.encode(tok.render_chat([{"role": "user", "content": "Wake me up at 6:45 on weekdays"}])),
        tok.encode("Name:\n    ACTION_SET_ALARM\nDescription:\n"),
    ]
    generated = 0
    for ids in prompts:
        want = reference.generate(ids, max_new_tokens=32)  # stops before <|im_end|>/<|endoftext|>
        got = f32_server.greedy(ids, 32)
        tokens = got["tokens"]
        if got["stop_type"] == "eos":  # an end-of-generation token ends the reply, as in ours
            tokens = [t for t in tokens if t not in reference.stop_ids]
        assert tokens == want, (tok.decode(tokens), tok.decode(want))
        generated += len(want)
    assert generated >= 40  # real continuations (a reply may end early at <|im_end|>), not stops


def test_f16_perplexity_within_0_1_percent_of_the_reference(sid, files, reference, ppl_text, reference_ppl):
    text = ppl_text.read_text(encoding="utf-8")
    ids = reference.tokenizer.encode(text)
    assert len(ids) >= PPL_CTX * (PPL_CHUNKS + 1)
    # llama-perplexity tokenizes the file itself: the windows match only if its ids are ours
    assert sid.tokenize(files["f16"], text, "--no-escape", "--no-parse-special")[: PPL_CTX * PPL_CHUNKS] == ids[: PPL_CTX * PPL_CHUNKS]
    want = reference_ppl
    got = sid.perplexity(files["f16"], ppl_text)
    # f16 weights move perplexity by ~0.005 % on this model (measured: 2.8922 vs 2.89218); 0.1 %
    # is the bound and far below what a wrong graph or tokenizer costs (many percent)
    assert abs(got / want - 1) < 1e-3, (got, want)


def _assert_tokenizes_like_hf(sid, gguf: Path, hf) -> None:
    for text in MIXED:
        assert sid.tokenize(gguf, text, "--no-escape") == hf.encode(text), repr(text)


def test_llama_tokenize_equals_hf_on_mixed_text_bundled_vocabulary(sid, files, reference):
    _assert_tokenizes_like_hf(sid, files["f32"], reference.tokenizer)


def test_llama_tokenize_equals_hf_on_mixed_text_real_vocabulary(sid, tmp_path):
    from phonelm_export.backends.gguf.realvocab import PACKAGE, real_tokenizer_json
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.errors import PhoneLMError
    from phonelm_export.random_model import make_random_checkpoint

    try:
        tokenizer_json = real_tokenizer_json()
    except PhoneLMError as e:  # the same honest skip as tests/test_gguf_tokenizer.py
        pytest.skip(f"the real PhoneLM vocabulary ({PACKAGE}) cannot be had here: {e}")
    ckpt = open_checkpoint(make_random_checkpoint(
        tmp_path / "ckpt", hidden_size=64, intermediate_size=128, num_hidden_layers=1, num_attention_heads=4,
        tokenizer_json=tokenizer_json, seed=3))
    assert ckpt.dims.vocab_size == 49152
    gguf = _export(ckpt, "f16", sid.work / "realvocab-f16-compat.gguf")
    _assert_tokenizes_like_hf(sid, gguf, ckpt.tokenizer())


def test_llama_tokenize_turns_backslash_escapes_into_control_characters_by_default(sid, files, reference):
    """Documented tool behaviour, not a tokenizer difference: llama-tokenize (like llama-cli) runs
    its input through common's escape processing unless --no-escape is given, so a literal
    backslash-n in the text is tokenized as a newline."""
    hf = reference.tokenizer
    raw = 'print("a\\tb\\n")\\r\\n'
    unescaped = 'print("a\tb\n")\r\n'
    assert sid.tokenize(files["f32"], raw) == hf.encode(unescaped) != hf.encode(raw)
    assert sid.tokenize(files["f32"], raw, "--no-escape") == hf.encode(raw)


def test_server_renders_the_embedded_chatml_template_as_we_do_and_replies(f32_server, reference):
    tok = reference.tokenizer
    assert f32_server.post("/apply-template", {"messages": CHAT})["prompt"] == tok.render_chat(CHAT)
    # the library's tokenizer (not the tool's input handling) on the same mixed text
    for text in MIXED[-2:]:
        assert f32_server.post("/tokenize", {"content": text, "parse_special": True})["tokens"] == tok.encode(text)
    reply = f32_server.post("/v1/chat/completions", {"messages": CHAT, "max_tokens": 32, "temperature": 0})
    content = reply["choices"][0]["message"]["content"]
    assert content.strip()
    # the f32 file's greedy reply through the template is the reference's greedy reply
    want = reference.generate(tok.encode(tok.render_chat(CHAT)), max_new_tokens=32)
    assert content == tok.decode(want)


def test_library_tokenizer_equals_hf_on_random_mixed_texts(f32_server, reference):
    """llama_tokenize itself (llama-server /tokenize: no tool input handling) on 300 seeded random
    texts around CR/LF, Unicode whitespace and special tokens — where issue 15 saw a difference."""
    import random

    pieces = ["\r\n", "\n", "\r", "\t", " ", "  ", "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<file_sep>",
              "a", "Hello", " world", "1", "2024", "é", "東京", "😀", "def f(x):", "'s", "\u00a0", "\u2028", "\x85"]
    rng = random.Random(15)
    tok = reference.tokenizer
    for _ in range(300):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        assert f32_server.post("/tokenize", {"content": text, "parse_special": True})["tokens"] == tok.encode(text), repr(text)


@pytest.mark.parametrize("qtype, tolerance", [("q8_0", 0.01), ("q4_0", 0.10)])
def test_llama_quantize_requantizes_our_f16_file(sid, files, ppl_text, reference_ppl, qtype, tolerance):
    from gguf import GGUFReader

    out = sid.work / f"tiny-{qtype}-compat.gguf"
    sid.run("llama-quantize", sid.inside(files["f16"]), sid.inside(out), qtype, "2")
    types = {t.name: t.tensor_type.name for t in GGUFReader(str(out)).tensors}
    assert types["blk.0.ffn_up_exps.weight"] == qtype.upper()
    assert types["blk.0.attn_q.weight"] == qtype.upper()
    want = reference_ppl
    got = sid.perplexity(out, ppl_text)
    # measured on the bundled model: q8_0 +0.12 %, q4_0 -0.8 %; a broken layout is off by 10x
    assert abs(got / want - 1) < tolerance, (got, want)


def test_native_file_is_refused_with_unknown_architecture(sid, files):
    r = sid.run("llama-completion", "-m", sid.inside(files["native"]), "-p", "hi", "-n", "1", "-no-cnv", check=False)
    assert r.returncode != 0
    assert "unknown model architecture: 'phonelm'" in r.stdout + r.stderr


def test_end_of_generation_set_is_ours_plus_reponame(sid, files, reference):
    """llama.cpp decides end-of-generation tokens by their text: <|endoftext|> and <|im_end|> (our
    stop ids) and also <reponame>, which it takes for a fill-in-the-middle repo token (Granite's
    spelling) — every FIM token ends generation there. Documented in the README; metadata cannot
    switch that heuristic off without lying about a FIM token."""
    r = sid.run("llama-completion", "-m", sid.inside(files["f32"]), "-p", "hi", "-n", "1", "-no-cnv", "-lv", "4")
    eog = sorted(int(m) for m in re.findall(r"EOG token\s+=\s+(\d+) ", r.stdout + r.stderr))
    assert eog == sorted({*reference.stop_ids, reference.tokenizer.token_to_id("<reponame>")}) == [0, 2, 4]
