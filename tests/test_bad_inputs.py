"""Bad input, as a new user hands it to the CLI: each case ends in exactly one ``error:`` line on
stderr, the documented exit status (2; 1 only for a failed verify gate), no traceback, and
nothing new (and nothing changed) near the input or the output.

The cases are the classes of issue 12: corrupt or contradictory checkpoints, usage errors,
outputs that cannot or must not be written, text that is not UTF-8, model outputs (calls) that
are hostile. Most fail before any work, so the suite is fast; the export-path cases use the tiny
session checkpoint and the f32 GGUF recipe (gguf-py only, a second at most).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from phonelm_export.cli import main


# -- the contract every case checks ---------------------------------------------------------

def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` with its type, size, mtime and mode (symlinks not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def fails(args: list[str], *, near: Path, status: int = 2, match: str | None = None,
          input: str | bytes | None = None) -> str:
    """Run the CLI; assert the one-error-line contract; return the error line."""
    before = snapshot(near)
    r = CliRunner().invoke(main, [str(a) for a in args], input=input, prog_name="phonelm-export")
    out, err = r.stdout, r.stderr
    assert r.exception is None or isinstance(r.exception, SystemExit), f"escaped: {r.exception!r}"
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, f"expected one error: line, stderr was:\n{err}"
    assert "Traceback" not in err + out
    assert r.exit_code == status, f"exit {r.exit_code}, expected {status}: {errors[0]}"
    assert snapshot(near) == before, "the case changed or left files near its input/output"
    if match:
        assert re.search(match, errors[0]), f"{errors[0]!r} does not match {match!r}"
    return errors[0]


# -- checkpoints ----------------------------------------------------------------------------

def _config(**changes):
    def edit(d: Path):
        cfg = json.loads((d / "config.json").read_text())
        cfg.update(changes)
        (d / "config.json").write_text(json.dumps(cfg))
    return edit


def _write(name: str, content: str | bytes):
    def edit(d: Path):
        p = d / name
        if p.is_symlink() or p.is_file():
            p.unlink()
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return edit


def _header(header) -> Callable[[Path], None]:
    """Replace model.safetensors with a file whose header is ``header`` (any JSON value)."""
    def edit(d: Path):
        raw = json.dumps(header).encode()
        (d / "model.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 64)
    return edit


def _weights_dir(d: Path):
    (d / "model.safetensors").unlink()
    (d / "model.safetensors").mkdir()
    (d / "model.safetensors" / "x").write_text("not weights")


def _symlink_loop(d: Path):
    (d / "model.safetensors").unlink()
    os.symlink("loop-b", d / "model.safetensors")
    os.symlink("model.safetensors", d / "loop-b")


def _broken_link(d: Path):
    (d / "model.safetensors").unlink()
    os.symlink("nowhere.safetensors", d / "model.safetensors")


def _sharded(weight_map):
    def edit(d: Path):
        (d / "model.safetensors").rename(d / "model-00001-of-00001.safetensors")
        (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return edit


def _truncate(d: Path):
    p = d / "model.safetensors"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _nan_weight(d: Path):
    from safetensors.torch import load_file, save_file

    sd = load_file(d / "model.safetensors")
    sd["model.norm.weight"][3] = float("nan")
    save_file(sd, d / "model.safetensors")


def _pickle(malicious: bool):
    def edit(d: Path):
        import torch
        from safetensors.torch import load_file

        sd = load_file(d / "model.safetensors")
        (d / "model.safetensors").unlink()
        if malicious:
            class Evil:
                def __reduce__(self):
                    return (os.system, ("touch PWNED",))
            torch.save({"model.embed_tokens.weight": Evil()}, d / "pytorch_model.bin")
        else:
            torch.save(sd, d / "pytorch_model.bin")
    return edit


def _tokenizer_config(value):
    def edit(d: Path):
        (d / "tokenizer_config.json").write_text(json.dumps(value))
        (d / "chat_template.jinja").unlink(missing_ok=True)
    return edit


CHECKPOINT_CASES = {
    # config.json: types, ranges, nulls (issue 12: each was a traceback)
    "config max_position_embeddings null": (_config(max_position_embeddings=None), r"config\.json: max_position_embeddings: expected a positive integer.*got null"),
    "config rms_norm_eps string": (_config(rms_norm_eps="1e-6x"), r"rms_norm_eps: expected a number.*got \"1e-6x\""),
    "config rope_scaling string": (_config(rope_scaling="linear"), r"rope_scaling: expected an object or null, got \"linear\""),
    "config rope_theta negative": (_config(rope_theta=-1), r"rope_theta: expected a positive number"),
    "config heads boolean": (_config(num_attention_heads=True), r"num_attention_heads: expected a positive integer"),
    "config heads zero": (_config(num_attention_heads=0), r"num_attention_heads: expected a positive integer"),
    "config eos list of strings": (_config(eos_token_id=["</s>"]), r"eos_token_id: expected a token id"),
    "config 5.x rope_parameters string": (_config(rope_parameters="default"), r"rope_parameters: expected an object or null"),
    "config 5.x rope_theta string": (_config(rope_parameters={"rope_theta": "1e4"}), r"rope_parameters\.rope_theta: expected a positive number"),
    "config bias as string": (_config(attention_bias="no"), r"attention_bias: expected true or false"),
    "config silu": (_config(hidden_act="silu"), r"hidden_act is 'silu'"),
    "config untied": (_config(tie_word_embeddings=False), r"tie_word_embeddings is false"),
    "config rope scaling used": (_config(rope_scaling={"rope_type": "linear", "factor": 2.0}), r"rope scaling 'linear' is not supported"),
    "config contradicts shapes": (_config(hidden_size=1024), r"contradicts the weights: hidden_size=1024"),
    "config not JSON": (_write("config.json", "{\"model_type\": "), r"config\.json: not valid JSON"),
    "config a list": (_write("config.json", "[1, 2]"), r"config\.json: expected a JSON object, got list"),
    "config invalid UTF-8": (_write("config.json", b"{\"model_type\": \"phonelm\xff\"}"), r"config\.json: not valid UTF-8 text \(byte 0xff"),
    # safetensors header
    "header is a JSON list": (_header([1, 2, 3]), r"safetensors header \(expected a JSON object, got list\)"),
    "header entry is a number": (_header({"model.embed_tokens.weight": 5}), r"tensor model\.embed_tokens\.weight: expected an object"),
    "header shape is a string": (_header({"w": {"dtype": "F32", "shape": "2x2", "data_offsets": [0, 16]}}), r"tensor w: shape: expected a list of non-negative integers"),
    "header offsets reversed": (_header({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}), r"tensor w: data_offsets: expected \[begin, end\] with begin <= end"),
    "header bytes do not fit shape": (_header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}), r"tensor w: shape \[4\] of F32 needs 16 bytes"),
    "header past end of file": (_header({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}), r"truncated safetensors file"),
    "header not JSON": (_write("model.safetensors", struct.pack("<Q", 4) + b"{{{{"), r"corrupt safetensors header \(not JSON\)"),
    "header length absurd": (_write("model.safetensors", struct.pack("<Q", 1 << 62) + b"{}"), r"corrupt safetensors header \(claims"),
    "weights truncated": (_truncate, r"truncated safetensors file"),
    "weights empty file": (_write("model.safetensors", b""), r"truncated safetensors file \(0 bytes\)"),
    "weights NaN": (_nan_weight, r"model\.norm\.weight has 1 NaN/Inf values"),
    "weights is a directory": (_weights_dir, r"model\.safetensors: is a directory, expected the weights file"),
    "weights symlink loop": (_symlink_loop, r"model\.safetensors: cannot be read .*symlink loop"),
    "weights broken symlink": (_broken_link, r"a broken symbolic link"),
    # shard index
    "index weight_map a list": (_sharded(["model-00001-of-00001.safetensors"]), r"index\.json: weight_map: expected an object mapping tensor names"),
    "index escapes the directory": (_sharded({"model.embed_tokens.weight": "../../etc/passwd"}), r"shard file names without path separators"),
    "index shard missing": (_sharded({"model.embed_tokens.weight": "model-00009-of-00009.safetensors"}), r"shard model-00009-of-00009\.safetensors listed in .* is missing"),
    # tokenizer files and templates
    "tokenizer.json a list": (_write("tokenizer.json", "[]"), r"tokenizer\.json: expected a JSON object, got list"),
    "tokenizer.json model a string": (_write("tokenizer.json", "{\"model\": \"BPE\"}"), r"tokenizer\.json: model: expected an object"),
    "tokenizer.json not JSON": (_write("tokenizer.json", "{"), r"tokenizer\.json: not valid JSON"),
    "tokenizer_config a list": (_tokenizer_config([1]), r"tokenizer_config\.json: expected a JSON object"),
    "chat_template a number": (_tokenizer_config({"chat_template": 5}), r"chat_template: expected a string"),
    "chat_template broken syntax": (_tokenizer_config({"chat_template": "{% for m in messages %}{{ m.content }"}), r"chat_template: invalid template \(line 1"),
    # pickles
    "pickle refused": (_pickle(False), r"is a pickle, which can run code when loaded; convert it to safetensors or pass --allow-pickle$"),
}


@pytest.fixture
def ckdir(random_checkpoint, tmp_path):
    d = tmp_path / "ck"
    shutil.copytree(random_checkpoint, d)
    return d


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_a_broken_checkpoint_is_one_error_line(case, ckdir):
    edit, match = CHECKPOINT_CASES[case]
    edit(ckdir)
    fails(["info", ckdir], near=ckdir.parent, match=match)


def test_a_malicious_pickle_is_refused_with_the_real_reason(ckdir, monkeypatch):
    _pickle(True)(ckdir)
    monkeypatch.chdir(ckdir)
    line = fails(["info", ckdir, "--allow-pickle"], near=ckdir.parent, match=r"weights_only=True \(.*(system|posix)")
    assert "do those steps only if" not in line
    assert not (ckdir / "PWNED").exists()


def test_a_sandbox_violating_chat_template_is_one_error_line(ckdir):
    _tokenizer_config({"chat_template": "{{ ''.__class__.__mro__[1].__subclasses__() }}"})(ckdir)
    fails(["chat", ckdir, "-p", "hi", "--max-new-tokens", "1"], near=ckdir.parent,
          match=r"the chat template was stopped by the sandbox")


def test_a_missing_checkpoint_is_one_error_line(tmp_path):
    fails(["info", tmp_path / "nope"], near=tmp_path, match=r"no such checkpoint directory or file")


# -- usage errors: click's, in the same one-line format -------------------------------------

USAGE_CASES = {
    "unknown option": (["info", "--bogus"], r"No such option '--bogus'.*see 'phonelm-export info --help'"),
    "unknown command": (["exprot"], r"No such command 'exprot'"),
    "bad choice": (["call", "--split", "sideways", "x"], r"Invalid value for '--split'"),
    "not an integer": (["call", "-k", "many", "x"], r"Invalid value for '-k'"),
    "missing option value": (["call", "--map"], r"Option '--map' requires an argument"),
}


@pytest.mark.parametrize("case", list(USAGE_CASES))
def test_a_usage_error_is_one_line_not_a_usage_block(case, tmp_path):
    args, match = USAGE_CASES[case]
    fails(args, near=tmp_path, match=match)


# -- model outputs handed to `call --map`: the parser and mapper bound what they accept ------

CALL_CASES = {
    "5000-digit integer": ('ACTION_SET_ALARM(EXTRA_HOUR=' + "9" * 5000 + ', EXTRA_MINUTES=0)', r"number out of range"),
    "nested 100 deep": ('web_search(query=' + "[" * 100 + "]" * 100 + ')', r"nested deeper than 32"),
    "unterminated string": ('dial(phone_number="123)', r"unterminated string"),
    "eval attempt": ('__import__("os").system("touch PWNED")', r"line 1, column"),
    "positional argument": ('dial("123")', r"positional arguments are not accepted"),
}


@pytest.mark.parametrize("case", list(CALL_CASES))
def test_a_hostile_model_output_is_reported_as_a_parse_error(case, tmp_path, monkeypatch):
    """`call --map` reports what the model wrote: an output that does not parse is a result
    (exit 0, "parse_error"), never a crash, and nothing in it is executed."""
    text, match = CALL_CASES[case]
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(main, ["call", "--map", text, "--json"])
    assert r.exit_code == 0 and "Traceback" not in r.stderr, r.stderr
    assert re.search(match, json.loads(r.stdout)["parse_error"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("duration", ["9" * 400 + " hours", "1" + "0" * 400 + " seconds", "99999999999999999999999 minutes"])
def test_an_absurd_timer_duration_is_a_mapping_error_not_a_crash(duration):
    r = CliRunner().invoke(main, ["call", "--map", f'ACTION_SET_TIMER(duration="{duration}")', "--json"])
    assert r.exit_code == 0 and "Traceback" not in r.stderr, r.stderr
    (step,) = json.loads(r.stdout)["intents"]
    assert step["error"]["code"] == "bad_value" and "must be 1 second to 24 hours" in step["error"]["message"]


# -- text that is not UTF-8 ---------------------------------------------------------------

def test_invalid_utf8_on_the_command_line_is_one_error_line(tmp_path):
    # what Python makes of the argv bytes b"set a timer \xff" (surrogateescape)
    arg = b"set a timer \xff".decode("utf-8", "surrogateescape")
    fails(["call", "--map", arg], near=tmp_path, match=r"argument 3 is not valid UTF-8 text \(byte 0xff")


def test_invalid_utf8_on_stdin_is_one_error_line(tmp_path):
    fails(["call", "--map", "-"], near=tmp_path, input=b"dial(phone_number=\"\xff\")\n",
          match=r"not valid UTF-8")


def test_invalid_utf8_text_file_is_one_error_line(tmp_path):
    text = tmp_path / "heldout.txt"
    text.write_bytes(b"fine text \xc3\x28 broken")
    out = tmp_path / "report"
    fails(["verify", "--backends", "none", "--text", text, "-o", out], near=tmp_path, match=r"not valid UTF-8")


# -- outputs: checked before any work; --force replaces only what is ours ----------------------

def _export(backend: str, out, *extra):
    recipe = {"gguf": "f32", "executorch": "fp32", "mlc": "q0f32"}[backend]
    return [backend, "--recipe", recipe, "-o", out, "-q", *extra]


@pytest.fixture
def user_dir(tmp_path):
    """A directory of the user's own files (the data-loss case of issue 12)."""
    d = tmp_path / "work"
    d.mkdir()
    (d / "thesis.docx").write_text("years of work")
    (d / "notes").mkdir()
    (d / "notes" / "todo.txt").write_text("buy milk")
    return d


def test_force_never_replaces_the_current_directory(user_dir, monkeypatch):
    monkeypatch.chdir(user_dir)
    fails(_export("mlc", ".", "--force"), near=user_dir.parent, match=r"is the current directory; refusing to replace it even with --force")


def test_force_never_replaces_a_directory_of_user_files(user_dir):
    fails(_export("mlc", user_dir, "--force"), near=user_dir.parent,
          match=r"holds files that are not a previous .*\(notes\); refusing to replace it with --force")


@pytest.mark.parametrize("where", ["home", "parent of cwd"])
def test_force_never_replaces_home_or_a_parent(where, user_dir, monkeypatch):
    monkeypatch.chdir(user_dir / "notes")
    monkeypatch.setenv("HOME", str(user_dir))
    target = user_dir if where == "home" else user_dir.parent
    fails(_export("mlc", target, "--force"), near=user_dir.parent, match=r"refusing to replace it even with --force")


@pytest.mark.parametrize("backend", ["gguf", "executorch", "mlc"])
def test_a_missing_output_directory_fails_before_any_work(backend, tmp_path):
    fails(_export(backend, tmp_path / "missing_dir" / "model.out"), near=tmp_path,
          match=r"missing_dir: output directory does not exist")


def test_an_output_under_a_file_is_one_error_line(tmp_path):
    (tmp_path / "file").write_text("x")
    fails(_export("gguf", tmp_path / "file" / "m.gguf"), near=tmp_path, match=r"output directory is not a directory")


def test_an_existing_output_needs_force(tmp_path):
    (tmp_path / "m.gguf").write_bytes(b"GGUF old")
    fails(_export("gguf", tmp_path / "m.gguf"), near=tmp_path, match=r"exists; pass --force to overwrite it")


def test_a_directory_as_a_file_output_is_one_line_not_a_usage_block(tmp_path):
    (tmp_path / "out").mkdir()
    line = fails(_export("gguf", tmp_path / "out"), near=tmp_path, match=r"is a directory")
    assert "Usage:" not in line


def test_a_prompt_longer_than_the_context_is_refused_by_the_reference(tmp_path):
    """The bundled model holds 1,024 tokens; a 3,000-word prompt used to run for a minute and
    print garbage through the PyTorch reference (the GGUF runner refused it)."""
    fails(["chat", "-p", "word " * 3000, "--max-new-tokens", "2"], near=tmp_path,
          match=r"the prompt is \d+ tokens but the model's context holds 1024")


def _run_cli(args, **kw):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "phonelm_export", *map(str, args)], capture_output=True, text=True,
                          timeout=600, **kw)


def _one_error(p, status=2) -> str:
    errors = [ln for ln in p.stderr.splitlines() if ln.startswith("error:")]
    assert p.returncode == status and len(errors) == 1 and "Traceback" not in p.stderr, p.stderr
    return errors[0]


def test_a_read_only_directory_is_one_error_line_without_root_privileges(tmp_path):
    """Root ignores permission bits, so the check runs with CAP_DAC_OVERRIDE dropped."""
    import shlex
    import sys

    if os.geteuid() != 0:
        prefix: list[str] = []  # an ordinary user: permission bits apply anyway
    elif shutil.which("setpriv"):
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    elif shutil.which("capsh"):
        prefix = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c"]
    else:
        pytest.skip("neither setpriv nor capsh is installed to drop the capabilities that bypass permissions")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    argv = [sys.executable, "-m", "phonelm_export", *map(str, _export("gguf", str(ro / "m.gguf")))]
    p = _run_cli_shell(prefix + ([shlex.join(argv)] if prefix[:1] == ["capsh"] else argv))
    assert re.search(r"ro: cannot write the output here \(permission denied\)", _one_error(p))
    assert list(ro.iterdir()) == []


def _run_cli_shell(argv):
    import subprocess

    return subprocess.run(argv, capture_output=True, text=True, timeout=600)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 4 MB tmpfs (the f32 GGUF of the test checkpoint is larger), when this machine lets the
    test mount one."""
    import subprocess

    mnt = tmp_path / "full"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_is_one_error_line_and_leaves_nothing(small_tmpfs, random_checkpoint):
    big = random_checkpoint.parent / "big"
    if not big.exists():
        from phonelm_export.random_model import make_random_checkpoint

        make_random_checkpoint(big, hidden_size=256, intermediate_size=512, num_hidden_layers=4, seed=3)
    p = _run_cli([*_export("gguf", small_tmpfs / "m.gguf"), big])
    assert re.search(r"m\.gguf: no space left on the device holding .*; nothing was written", _one_error(p))
    assert list(small_tmpfs.iterdir()) == []


# -- the boundary's switches ----------------------------------------------------------------

def test_debug_shows_the_traceback_and_still_one_error_line(tmp_path):
    for p in (_run_cli(["info", tmp_path / "nope", "--debug"]),
              _run_cli(["info", tmp_path / "nope"], env={**os.environ, "PHONELM_EXPORT_DEBUG": "1"})):
        assert p.returncode == 2 and "Traceback" in p.stderr
        assert [ln for ln in p.stderr.splitlines() if ln.startswith("error:")] == [
            f"error: {tmp_path / 'nope'}: no such checkpoint directory or file"]


def test_an_unexpected_exception_is_an_internal_error_line(monkeypatch, tmp_path):
    import phonelm_export.checkpoint as ck

    def broken(*a, **k):
        raise ZeroDivisionError("division by zero in a place nobody expected")

    monkeypatch.setattr(ck, "open_checkpoint", broken)
    fails(["info"], near=tmp_path, match=r"^error: internal error, please report: ZeroDivisionError: division by zero")


def test_third_party_warnings_are_quiet_unless_verbose():
    """Reference chat prints transformers' deprecation warnings a user cannot act on."""
    quiet = _run_cli(["chat", "-p", "hi", "--max-new-tokens", "2"])
    assert quiet.returncode == 0, quiet.stderr
    assert "Warning" not in quiet.stderr and "deprecated" not in quiet.stderr, quiet.stderr
    loud = _run_cli(["chat", "-p", "hi", "--max-new-tokens", "2", "--verbose"])
    assert loud.returncode == 0 and "deprecated" in loud.stderr, "--verbose shows them (if this fails, transformers stopped warning: drop the second half)"


# -- recipes and export options: refused before llama.cpp (or any backend) is called ----------

RECIPE_CASES = {
    "invalid UTF-8": (b'purpose = "x\xff"\nfamily = "balanced"\nbase = "q4_0"\n', r"not (valid )?UTF-8"),
    "invalid TOML": (b'purpose = "x\nfamily = balanced\n', r"(invalid TOML|TOML)"),
    "q8_k is not a storage type": (b'purpose = "x"\nfamily = "balanced"\nbase = "q4_0"\n[types]\n"token_embd" = "q8_k"\n', r"q8_k"),
    "incompatible a number": (b'purpose = "x"\nfamily = "balanced"\nbase = "q4_k_m"\nincompatible = 5\n', r"incompatible: expected a string, got 5"),
    "calibration_tokens a string": (b'purpose = "x"\nfamily = "balanced"\nbase = "q4_k_m"\nimatrix = true\ncalibration_tokens = "lots"\n', r"calibration_tokens: expected an integer"),
    "unknown key": (b'purpose = "x"\nfamily = "balanced"\nbase = "q4_0"\nbsae = "q8_0"\n', r"bsae"),
    "unknown family": (b'purpose = "x"\nfamily = "tiny"\nbase = "q4_0"\n', r"family"),
    "unknown base type": (b'purpose = "x"\nfamily = "balanced"\nbase = "q3_z"\n', r"q3_z"),
}


@pytest.mark.gguf
@pytest.mark.parametrize("case", list(RECIPE_CASES))
def test_a_bad_recipe_is_one_error_line_before_any_work(case, tmp_path):
    pytest.importorskip("gguf")
    body, match = RECIPE_CASES[case]
    recipe = tmp_path / "r.toml"
    recipe.write_bytes(body)
    fails(["gguf", "--recipe", recipe, "-o", tmp_path / "m.gguf"], near=tmp_path, match=match)


def test_an_unknown_recipe_name_is_one_error_line(tmp_path):
    fails(["gguf", "--recipe", "q4_quantum", "-o", tmp_path / "m.gguf"], near=tmp_path, match=r"q4_quantum")


@pytest.mark.parametrize("option, match", [("force=true", r"--export-option force: not an export option"),
                                           ("encodng=native", r"unknown GGUF export option 'encodng'"),
                                           ("noequals", r"KEY=VALUE")])
def test_a_bad_export_option_is_one_error_line(option, match, tmp_path):
    pytest.importorskip("gguf")
    fails(["android", "--engine", "gguf", "--export-option", option, "-o", tmp_path / "app"], near=tmp_path, match=match)


@pytest.mark.parametrize("args", [[], ["backends"]])
def test_a_group_without_a_command_shows_its_help_not_an_error(args):
    r = CliRunner().invoke(main, args, prog_name="phonelm-export")
    text = r.stdout + r.stderr
    assert "Usage: phonelm-export" in text and "Commands:" in text and "error:" not in text


@pytest.mark.parametrize("args", [["--help"], ["gguf", "--help"], ["--version"]])
def test_help_and_version_exit_0(args):
    r = CliRunner().invoke(main, args, prog_name="phonelm-export")
    assert r.exit_code == 0 and "error:" not in r.stderr


# -- operating-system errors the boundary explains (whatever raised them) -----------------------

@pytest.mark.parametrize("err, words", [
    ("ENOSPC", "no space left on the device"), ("EDQUOT", "disk quota exceeded"), ("EACCES", "permission denied"),
    ("EROFS", "read-only file system"), ("EISDIR", "is a directory"), ("ENOTDIR", "a part of the path is not a directory"),
    ("ELOOP", "symlink loop"), ("EIO", "input/output error"), ("EMFILE", "too many open files"),
])
def test_an_os_error_escaping_a_command_is_one_line(err, words, monkeypatch, tmp_path):
    import errno as errno_mod

    import phonelm_export.checkpoint as ck

    def fail(*a, **k):
        code = getattr(errno_mod, err)
        raise OSError(code, os.strerror(code), "/data/model.safetensors")

    monkeypatch.setattr(ck, "open_checkpoint", fail)
    line = fails(["info"], near=tmp_path, match=rf"^error: /data/model\.safetensors: .*{re.escape(words)}")
    assert "internal error" not in line


def test_a_short_write_is_explained_as_a_full_disk(monkeypatch, tmp_path):
    import phonelm_export.checkpoint as ck

    def fail(*a, **k):
        raise OSError("131072 requested and 97104 written")

    monkeypatch.setattr(ck, "open_checkpoint", fail)
    fails(["info"], near=tmp_path, match=r"short write \(131072 requested and 97104 written\); is the disk full\?")


def test_a_read_only_mount_is_named(tmp_path):
    import subprocess

    mnt = tmp_path / "ro"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        fails(_export("gguf", mnt / "m.gguf"), near=tmp_path, match=r"ro: cannot write the output here \(read-only file system\)")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
