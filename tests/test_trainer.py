"""The thin trainer writes real PhoneLM checkpoints, learns, is deterministic and resumes exactly."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from phonelm_export.checkpoint import open_checkpoint
from phonelm_export.model import PhoneLMForCausalLM
from phonelm_export.random_model import sample_corpus
from phonelm_export.tokenizer import PhoneLMTokenizer
from phonelm_export.train.data import IGNORE, sft_example

PHONELM_CONFIG_KEYS = {
    "model_type", "architectures", "auto_map", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "hidden_act", "rms_norm_eps", "rope_theta", "rope_scaling",
    "max_position_embeddings", "vocab_size", "tie_word_embeddings", "bos_token_id", "eos_token_id",
    "attention_bias", "pretraining_tp", "torch_dtype",
}
TINY = ["--vocab-size", "320", "--hidden-size", "32", "--intermediate-size", "64", "--layers", "2", "--heads", "2",
        "--seq-len", "32", "--batch-size", "4", "--warmup", "5", "-q"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    (d / "text.txt").write_text("\n\n".join(sample_corpus(60)))
    rows = [
        {"messages": [{"role": "user", "content": f"what is {a} plus {b}?"}, {"role": "assistant", "content": f"{a + b}"}]}
        for a in range(12) for b in range(12)
    ]
    (d / "sft.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return d


def run_train(out, *args):
    cmd = [sys.executable, "-m", "phonelm_export", "train", "-o", str(out), *TINY, *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-2000:]
    return p


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("run") / "model"
    run_train(out, "--data", data / "text.txt", "--sft", data / "sft.jsonl", "--pretrain-steps", 40, "--sft-steps", 20, "--seed", 3)
    return out


def test_writes_a_phonelm_format_checkpoint(trained):
    cfg = json.loads((trained / "config.json").read_text())
    assert PHONELM_CONFIG_KEYS <= set(cfg)
    assert cfg["model_type"] == "phonelm" and cfg["architectures"] == ["PhoneLMForCausalLM"]
    assert cfg["hidden_act"] == "relu" and cfg["tie_word_embeddings"] is True
    assert (cfg["bos_token_id"], cfg["eos_token_id"]) == (1, 2)
    with safe_open(str(trained / "model.safetensors"), "pt") as f:
        assert "lm_head.weight" not in f.keys()
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"):
        assert (trained / name).is_file()
    # as readable as any file the user creates (safetensors alone writes 0600)
    umask = os.umask(0)
    os.umask(umask)
    assert (trained / "model.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask
    tok = PhoneLMTokenizer.from_file(trained)
    assert [tok.token_to_id(t) for t in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")] == [0, 1, 2]
    assert tok.vocab_size == cfg["vocab_size"]


def test_checkpoint_round_trips_through_from_pretrained(trained):
    m = AutoModelForCausalLM.from_pretrained(trained)
    assert isinstance(m, PhoneLMForCausalLM)
    ids = torch.arange(3, 20)[None]
    assert torch.equal(m(ids).logits, open_checkpoint(trained).reference_model()(ids).logits)


def test_training_reduces_the_loss(trained):
    log = json.loads((trained / "training_log.json").read_text())["log"]
    pre = [r["loss"] for r in log if r["stage"] == "pretrain"]
    assert pre[-1] < pre[0] - 0.5


def test_same_seed_same_weights(tmp_path, data, trained):
    out = tmp_path / "again"
    run_train(out, "--data", data / "text.txt", "--sft", data / "sft.jsonl", "--pretrain-steps", 40, "--sft-steps", 20, "--seed", 3)
    a, b = load_file(trained / "model.safetensors"), load_file(out / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_continues_the_exact_run(tmp_path, data):
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    args = ["--data", data / "text.txt", "--pretrain-steps", 20, "--save-every", 10, "--seed", 5]
    run_train(full, *args)
    run_train(resumed, *args)
    # pretend the second run died after step 10: drop what came later, then resume
    shutil.rmtree(resumed)
    shutil.rmtree(resumed.with_name("resumed.checkpoints") / "checkpoint-20")
    run_train(resumed, *args, "--resume")
    a, b = load_file(full / "model.safetensors"), load_file(resumed / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sft_loss_covers_only_assistant_replies(trained):
    tok = PhoneLMTokenizer.from_file(trained)
    msgs = [{"role": "user", "content": "what is 2 plus 3?"}, {"role": "assistant", "content": "5"}]
    ex = sft_example(msgs, tok.encode)
    assert ex.ids == tok.encode(tok.render_chat(msgs, add_generation_prompt=False))
    learned = [i for i, l in zip(ex.ids, ex.labels) if l != IGNORE]
    assert tok.decode(learned) == "5<|im_end|>"


def test_existing_output_needs_force(trained):
    p = subprocess.run([sys.executable, "-m", "phonelm_export", "train", "-o", str(trained), "--pretrain-steps", "1",
                        "--data", "x.txt"], capture_output=True, text=True)
    assert p.returncode == 2 and "--force" in p.stderr


def test_grown_model_starts_from_exactly_the_init_models_outputs(trained):
    from dataclasses import replace

    from phonelm_export.train.loop import build_model

    base = open_checkpoint(trained)
    grown = build_model(replace(base.dims, num_hidden_layers=5), trained).eval()
    ids = torch.randint(0, base.dims.vocab_size, (2, 24), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(grown(ids).logits, base.reference_model(torch.float32).eval()(ids).logits)
    # the copies differ from the originals only in their zeroed output projections
    layers = grown.model.layers
    assert len(layers) == 5 and [l.self_attn.layer_idx for l in layers] == list(range(5))
    assert torch.equal(layers[1].mlp.gate_proj.weight, layers[0].mlp.gate_proj.weight)
    assert not layers[1].self_attn.o_proj.weight.any() and not layers[1].mlp.down_proj.weight.any()
    assert layers[0].self_attn.o_proj.weight.any()


def test_grow_layers_trains_a_deeper_checkpoint(tmp_path, data, trained):
    out = tmp_path / "deeper"
    run_train(out, "--init", trained, "--grow-layers", 4, "--sft", data / "sft.jsonl", "--sft-steps", 3)
    assert json.loads((out / "config.json").read_text())["num_hidden_layers"] == 4
    assert len(AutoModelForCausalLM.from_pretrained(out).model.layers) == 4


@pytest.mark.parametrize("args, message", [
    (["--grow-layers", "4"], "--grow-layers needs --init"),
    (["--grow-layers", "1", "--init", "TRAINED"], "already has 2 layers"),
])
def test_grow_layers_refuses_what_it_cannot_do(tmp_path, data, trained, args, message):
    args = [str(trained) if a == "TRAINED" else a for a in args]
    cmd = [sys.executable, "-m", "phonelm_export", "train", "-o", str(tmp_path / "x"), *args,
           "--sft", str(data / "sft.jsonl"), "--sft-steps", "1"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode != 0 and message in p.stderr and "Traceback" not in p.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_ddp_with_two_cpu_processes(tmp_path, data):
    out = tmp_path / "ddp"
    cmd = ["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "phonelm_export.cli", "train", "-o", str(out),
           *TINY, "--threads", "1", "--data", str(data / "text.txt"), "--pretrain-steps", "10"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    log = json.loads((out / "training_log.json").read_text())
    assert log["world_size"] == 2
    open_checkpoint(out)
