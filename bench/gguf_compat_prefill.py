"""compat vs dense prefill on the newer, stock llama.cpp (Debian sid's 0.7.0 llama-bench).

    python -m bench.gguf_compat_prefill [--hidden 1024 --ffn 2816 --layers 8 --heads 16]
                                        [--types f16 q8_0 q4_0] [--prompt 256] [--decode 32]

Issue 15 part 6: the compat encoding (smallthinker, one always-on expert) prefills at ~0.70x a
dense graph on the pinned llama.cpp (bench/gguf_speed.py). This measures the same on the newer
llama.cpp users get from their distribution, with every layout the GGUF format allows that stock
llama.cpp computes as PhoneLM, against a dense ``llama``-labelled file of the same weights (same
cost, gated SiLU: what PhoneLM would get if llama.cpp knew it):

* ``compat``      — what ``phonelm-export gguf`` writes: ffn_*_exps [1, ...], expert_count 1;
* ``compat-splitN`` — the same FFN cut into N experts of n_ff/N rows, all always used, each
  weighted 1/N by the softmax of a zero router, so ffn_down_exps carries N x the weights: exactly
  the same function for N a power of two (bundled model: perplexity 2.8921 for N = 2, 4, 8 vs
  2.8922 for N = 1), but smaller expert matrices (measured: they help the repacked 4-bit types,
  hurt q4_K; see the README numbers);
* every file with llama.cpp's CPU weight repacking on (its default) and off (``--repack 0``):
  the repacked expert matmul multiplies one token row at a time (a gemv per row) where the dense
  one runs blocked gemm, so repacking shows where the gap comes from.

Two metrics: ``--metric wall`` (default; run it on an idle machine) is llama-bench's tokens/s at
``--threads`` (2), prefill and decode; ``--metric cpu`` is single-thread prefill tokens per CPU-second
(the CPU time of a 512-token llama-bench minus that of a 32-token one, from the kernel's rusage), which
other processes on a shared machine barely disturb — one thread has no barrier to spin at.

Every file is quantized from one f16 export by the same (Debian) llama-quantize, and all files of
one type are timed in one llama-bench process, interleaved, ``--rounds`` times (the best of the
rounds counts: the least disturbed on a shared machine), so the printed ratios compare like with
like. Tests never time anything; this never runs in the suite. Needs the chroot that
``.ci/setup.d/30-llamacpp-sid.sh`` builds (and root for chroot).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench._machine import busy_warning

MOUNT = "/phonelm-work"
ENTER = ('root=$1; work=$2; shift 2; mount -t proc proc "$root/proc" && '
         'mount --bind "$work" "$root' + MOUNT + '" && exec chroot "$root" "$@"')


def sid_root() -> Path:
    from phonelm_export.backends.gguf.native import cache_root

    return cache_root() / "sid-chroot"


def cpu_seconds(work: Path, tool: str, *args: str) -> float:
    """User + system CPU time of one tool run in the chroot (the unshare/sh/chroot chain execs into
    the tool, so the waited-for child is the tool itself)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    in_sid(work, tool, *args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def in_sid(work: Path, tool: str, *args: str, timeout: float = 3600) -> str:
    """Run a Debian sid llama.cpp tool with ``work`` bound at MOUNT (private mount namespace)."""
    root = sid_root()
    (root / MOUNT.lstrip("/")).mkdir(exist_ok=True)
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", ENTER, "sh",
                        str(root), str(work), tool, *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        raise SystemExit(f"{tool} failed ({r.returncode}): {(r.stdout + r.stderr)[-1500:]}")
    return r.stdout


def split_experts(src: Path, dst: Path, n_split: int = 2) -> None:
    """Rewrite a compat GGUF with its single expert cut into ``n_split`` always-used experts."""
    import gguf

    reader = gguf.GGUFReader(str(src))
    arch = reader.fields["general.architecture"].contents()
    w = gguf.GGUFWriter(str(dst), arch)
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        value = field.contents()
        if name in (f"{arch}.expert_count", f"{arch}.expert_used_count"):
            value = n_split
        elif name == f"{arch}.expert_feed_forward_length":
            value = value // n_split
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_array(name, value)
        else:
            w.add_key_value(name, value, vtype)
    for t in reader.tensors:
        data = np.array(t.data)
        if t.tensor_type != gguf.GGMLQuantizationType.F32 and t.tensor_type != gguf.GGMLQuantizationType.F16:
            raise SystemExit("split_experts works on f16/f32 files (quantize afterwards)")
        if t.name.endswith(("ffn_gate_exps.weight", "ffn_up_exps.weight")):
            _, ff, h = data.shape  # [1, n_ff, n_embd]
            data = data.reshape(n_split, ff // n_split, h)
        elif t.name.endswith("ffn_down_exps.weight"):
            _, h, ff = data.shape  # [1, n_embd, n_ff]
            parts = data.reshape(h, n_split, ff // n_split).transpose(1, 0, 2)
            data = (parts.astype(np.float32) * n_split).astype(data.dtype)  # the router weighs each 1/n
        elif t.name.endswith("ffn_gate_inp.weight"):
            data = np.zeros((n_split, data.shape[-1]), dtype=np.float32)
        w.add_tensor(t.name, np.ascontiguousarray(data), raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def make_files(args, d: Path) -> dict[str, dict[str, Path]]:
    from phonelm_export.backends.gguf.writer import write_gguf
    from phonelm_export.checkpoint import open_checkpoint
    from phonelm_export.random_model import make_random_checkpoint

    ckpt = open_checkpoint(make_random_checkpoint(
        d / "ckpt", hidden_size=args.hidden, intermediate_size=args.ffn, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, vocab_size=args.vocab, max_position_embeddings=2048, seed=5))
    f16 = lambda p: "f16" if p.is_matrix and p.source is not None else "f32"  # noqa: E731
    base = {
        "compat": d / "compat-f16.gguf",
        "llama": d / "llama-f16.gguf",
    }
    write_gguf(ckpt, base["compat"], encoding="compat", file_type="f16", type_for=f16)
    write_gguf(ckpt, base["llama"], encoding="native", arch_name="llama", file_type="f16", type_for=f16)
    for n in args.splits:
        base[f"compat-split{n}"] = d / f"compat-split{n}-f16.gguf"
        split_experts(base["compat"], base[f"compat-split{n}"], n)
    files: dict[str, dict[str, Path]] = {}
    for q in args.types:
        files[q] = {}
        for label, src in base.items():
            if q == "f16":
                files[q][label] = src
                continue
            out = d / f"{label}-{q}.gguf"
            in_sid(d, "llama-quantize", f"{MOUNT}/{src.name}", f"{MOUNT}/{out.name}", q, "2")
            files[q][label] = out
    return files


def bench_type(d: Path, files: dict[str, Path], args) -> dict[str, dict[str, float]]:
    """{"label repackN": {"pp": tok/s, "tg": tok/s}}, best of the interleaved rounds."""
    models = []
    for _ in range(args.rounds):
        models += [a for p in files.values() for a in ("-m", f"{MOUNT}/{p.name}")]
    out = in_sid(d, "llama-bench", *models, "-p", str(args.prompt), "-n", str(args.decode), "-t", str(args.threads),
                 "-r", str(args.repeats), "--repack", "1,0", "-o", "json")
    by_path = {f"{MOUNT}/{p.name}": label for label, p in files.items()}
    best: dict[str, dict[str, float]] = {}
    for row in json.loads(out):
        key = f"{by_path[row['model_filename']]} repack{int(row.get('repack', 1))}"
        kind = "pp" if row["n_prompt"] and not row["n_gen"] else "tg"
        cur = best.setdefault(key, {})
        cur[kind] = max(cur.get(kind, 0.0), float(row["avg_ts"]))
    return best


def bench_type_cpu(d: Path, files: dict[str, Path], args) -> dict[str, dict[str, float]]:
    """{"label repack1": {"pp": prefill tokens per CPU-second, 1 thread}}, best of the rounds."""
    long, short, reps = 512, 32, 3
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.rounds):
        for label, p in files.items():
            run = lambda n: cpu_seconds(d, "llama-bench", "-m", f"{MOUNT}/{p.name}", "-p", str(n), "-n", "0",  # noqa: E731
                                        "-r", str(reps), "-t", "1")
            per_token = (run(long) - run(short)) / (reps * (long - short))
            cur = best.setdefault(f"{label} repack1", {"pp": 0.0})
            cur["pp"] = max(cur["pp"], 1.0 / per_token)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--ffn", type=int, default=2816)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=384)
    ap.add_argument("--types", nargs="+", default=["f16", "q8_0", "q4_k_m", "q4_0", "iq4_nl"],
                    help="f16 and llama-quantize type names (the recipes' bases: f16, q8_0, q4_k_m, iq4_nl)")
    ap.add_argument("--prompt", type=int, default=256)
    ap.add_argument("--decode", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--splits", nargs="*", type=int, default=[2, 4],
                    help="also time the FFN cut into N always-used experts (exact for powers of two)")
    ap.add_argument("--metric", choices=["wall", "cpu"], default="wall",
                    help="wall: llama-bench tok/s at --threads (idle machine); cpu: 1-thread prefill tok per CPU-second")
    ap.add_argument("--json", dest="json_out")
    a = ap.parse_args(argv)
    marker = sid_root() / ".phonelm-sid-ready"
    if not marker.is_file() or os.geteuid() != 0:
        print(f"needs the Debian sid llama.cpp chroot ({marker}; bash .ci/setup.d/30-llamacpp-sid.sh) and root")
        return 1
    busy_warning()
    version = marker.read_text().strip()
    result = {"llama.cpp": version, "load_average": os.getloadavg(), "types": {}}
    with tempfile.TemporaryDirectory(prefix="gguf-compat-prefill-", dir=os.environ.get("TMPDIR")) as tmp:
        d = Path(tmp)
        files = make_files(a, d)
        if a.metric == "cpu":
            print(f"{version} (Debian sid), llama-bench, 1 thread, prefill tokens per CPU-second (512-token minus "
                  f"32-token run); shape hidden {a.hidden}, ffn {a.ffn}, layers {a.layers}; best of {a.rounds} rounds")
            print(f"{'type':6s} {'file':14s} {'prefill t/CPU-s':>16s} {'pre/llama':>10s}")
        else:
            print(f"{version} (Debian sid), llama-bench, {a.threads} threads; shape hidden {a.hidden}, ffn {a.ffn}, "
                  f"layers {a.layers}; prompt {a.prompt} tokens, decode {a.decode}; best of {a.rounds} interleaved rounds")
            print(f"{'type':6s} {'file':14s} {'repack':>6s} {'prefill t/s':>12s} {'decode t/s':>11s} {'pre/llama':>10s} {'dec/llama':>10s}")
        for q in a.types:
            best = bench_type_cpu(d, files[q], a) if a.metric == "cpu" else bench_type(d, files[q], a)
            result["types"][q] = best
            for key, s in best.items():
                label, rp = key.split(" ")
                ref = best[f"llama {rp}"]
                if a.metric == "cpu":
                    print(f"{q:6s} {label:14s} {s['pp']:16.1f} {s['pp'] / ref['pp']:9.2f}x", flush=True)
                else:
                    print(f"{q:6s} {label:14s} {rp[-1]:>6s} {s['pp']:12.1f} {s['tg']:11.1f} "
                          f"{s['pp'] / ref['pp']:9.2f}x {s['tg'] / ref['tg']:9.2f}x", flush=True)
    print(f"load average {result['load_average'][0]:.1f} at start")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
