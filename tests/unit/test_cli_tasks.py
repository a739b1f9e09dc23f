"""The task commands of the command line (train, serve, size, plan, cite, completion, ...):
each prints its result's own to_dict(), with --json as one JSON object."""

import json
import subprocess
import sys

import pytest

from mlsysim_sym.cli import format_table, main

_TINY_LLAMA = dict(model_type="llama", hidden_size=2048, intermediate_size=5632,
                   num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                   vocab_size=32000, max_position_embeddings=2048, tie_word_embeddings=False)


def _json(capsys, argv):
    assert main(argv) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_train_json_the_issue_command(capsys):
    d = _json(capsys, ["train", "llama-3-70b", "h100", "--devices", "64", "--tp", "8", "--pp",
                       "8", "--global-batch", "256", "--seq-len", "4096", "--json"])
    assert d["model"] == "llama-3-70b" and d["hardware"] == "nvidia-h100-sxm"
    assert d["feasible"] is True and 0 < d["mfu"]["value"] < 1
    assert d["step_time"]["unit"] == "s" and d["step_time"]["value"] > 0
    # the same to_dict() as text: one row per scalar entry
    assert main(["train", "llama-3-70b", "h100", "--devices", "64", "--tp", "8", "--pp", "8",
                 "--global-batch", "256", "--seq-len", "4096"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TrainResult(llama-3-70b") and "  step time" in out and "nan" not in out


#: DeepSeek-V3 on 256 GB200 in the calibration case's layout, eager: a host-bound step
DSV3_GB200_ARGV = ("train", "deepseek-v3", "gb200", "--devices", "256", "--global-batch", "256",
                   "--seq-len", "4096", "--ep", "32", "--pp", "8", "--precision", "fp8", "--json")
DSV3_GB200_KW = dict(devices=256, global_batch=256, seq_len=4096, ep=32, pp=8, precision="fp8")


def test_train_cuda_graphs_flag_is_the_library_option(capsys):
    # DeepSeek-V3 on 256 GB200 (the calibration case's layout): eager launches leave the step
    # host-bound (tasks/training/host.py); --cuda-graphs is train(cuda_graphs=True)
    import mlsysim_sym as ms
    argv = list(DSV3_GB200_ARGV)
    eager, graphed = _json(capsys, argv), _json(capsys, argv + ["--cuda-graphs"])
    lib = ms.train("deepseek-v3", "gb200", **DSV3_GB200_KW, cuda_graphs=True)
    assert graphed["step_time"]["value"] == pytest.approx(lib.step_time.to("s").magnitude,
                                                          rel=1e-9)
    assert graphed["step_time"]["value"] < eager["step_time"]["value"]
    assert eager["host_wait"]["value"] > graphed["host_wait"]["value"] >= 0


def test_train_vocab_tiles_flag_is_the_library_option(capsys):
    # the tpu-recipes Llama 3.1 405B v5p layout's num_vocab_tiling=4: a quarter of the loss's
    # logits live at once, the LM head's forward re-run in the backward (at XLA's 4 bytes per
    # logit the 4.2 GB of logits are below the gradients plus the recomputed layer, so the
    # peak itself does not move: the logits' term shows the quarter)
    import mlsysim_sym as ms
    argv = ["train", "llama-3-1-405b", "tpu-v5p", "--devices", "512", "--global-batch", "512",
            "--seq-len", "8192", "--zero-stage", "3", "--recompute", "full", "--json"]
    whole, tiled = _json(capsys, argv), _json(capsys, argv + ["--vocab-tiles", "4"])
    lib = ms.train("llama-3-1-405b", "tpu-v5p", devices=512, global_batch=512, seq_len=8192,
                   zero_stage=3, recompute="full", vocab_tiles=4)
    assert tiled["memory_per_device"]["value"] == pytest.approx(
        lib.memory_per_device.to(tiled["memory_per_device"]["unit"]).magnitude, rel=1e-9)
    assert tiled["logits_memory"]["value"] == pytest.approx(whole["logits_memory"]["value"] / 4)
    assert tiled["memory_per_device"]["value"] <= whole["memory_per_device"]["value"]
    assert tiled["step_time"]["value"] > whole["step_time"]["value"]


def test_train_overlap_padding_and_layout_flags_are_the_library_options(capsys):
    # each flag reaches train() as its keyword: the JSON equals the library's result, and each
    # moves its own term the way the physics says
    import mlsysim_sym as ms
    argv = ["train", "llama-3-70b", "h100", "--devices", "64", "--tp", "8", "--pp", "4",
            "--global-batch", "256", "--seq-len", "4096", "--json"]
    base = _json(capsys, argv)
    flags = ["--tp-overlap", "0", "--pp-overlap", "1", "--sequence-fill", "0.5",
             "--head-token-fraction", "0.25", "--stage-layers", "21",
             "--recompute", "selective", "--recompute-modules", "core_attn,mlp"]
    d = _json(capsys, argv + flags)
    lib = ms.train("llama-3-70b", "h100", devices=64, tp=8, pp=4, global_batch=256,
                   seq_len=4096, tp_overlap=0, pp_overlap=1, sequence_fill=0.5,
                   head_token_fraction=0.25, stage_layers=21, recompute="selective",
                   recompute_modules=("core_attn", "mlp"))
    assert d["step_time"]["value"] == pytest.approx(
        lib.step_time.to(d["step_time"]["unit"]).magnitude, rel=1e-9)
    # half the tokens computed per step outweighs the other flags' added time
    assert d["step_time"]["value"] < base["step_time"]["value"]
    # DeepSeek-V3 on 256 GB200, eager (host-bound): unbound Grace processes issue slower
    argv = list(DSV3_GB200_ARGV)
    bound, unbound = _json(capsys, argv), _json(capsys, argv + ["--no-cpu-binding"])
    lib = ms.train("deepseek-v3", "gb200", **DSV3_GB200_KW, cpu_binding=False)
    assert unbound["step_time"]["value"] == pytest.approx(lib.step_time.to("s").magnitude,
                                                          rel=1e-9)
    assert unbound["step_time"]["value"] > bound["step_time"]["value"]


def test_train_bad_recompute_modules_is_a_clear_error(capsys):
    assert main(["train", "llama-3-8b", "h100", "--devices", "8", "--global-batch", "64",
                 "--recompute", "selective", "--recompute-modules", "everything"]) != 0
    err = capsys.readouterr().err
    assert "recompute_modules" in err and "mla_up_proj" in err and "Traceback" not in err


def test_train_on_a_cluster_needs_no_devices(capsys):
    from mlsysim_sym import registry
    cluster = registry.list_clusters()[0]
    d = _json(capsys, ["train", "llama-3-8b", cluster.name, "--global-batch",
                       str(cluster.devices * 2), "--json"])
    assert d["model"] == "llama-3-8b" and "step_time" in d


def test_serve_json(capsys):
    d = _json(capsys, ["serve", "llama-3-8b", "h100", "--qps", "20", "--replicas", "2",
                       "--json"])
    assert d["replicas"] == 2 and d["devices"] == 2 and d["ttft"]["unit"] == "ms"
    assert isinstance(d["feasible"], bool) and d["capacity"]["value"] > 0


def test_serve_and_size_take_the_prefix_cache_and_speculation(capsys):
    base = _json(capsys, ["serve", "llama-3-8b", "h100", "--qps", "5", "--input-tokens", "4096",
                          "--output-tokens", "128", "--json"])
    warm = _json(capsys, ["serve", "llama-3-8b", "h100", "--qps", "5", "--input-tokens", "4096",
                          "--output-tokens", "128", "--prefix-cache-hit-rate", "0.5", "--json"])
    assert warm["capacity"]["value"] > 1.5 * base["capacity"]["value"]
    spec = _json(capsys, ["serve", "llama-3-70b", "h100", "--tp", "4", "--qps", "0.5",
                          "--speculative", "llama-3.2-1b,4,0.7", "--json"])
    plain = _json(capsys, ["serve", "llama-3-70b", "h100", "--tp", "4", "--qps", "0.5", "--json"])
    assert spec["time_per_output_token"]["value"] < plain["time_per_output_token"]["value"]
    assert any("speculative decoding" in n for n in spec["notes"])
    d = _json(capsys, ["size", "llama-3-8b", "h100", "--qps", "20", "--speculative",
                       "0.05,3,0.8", "--prefix-cache-hit-rate", "0.25", "--json"])
    assert d["feasible"] is True
    for bad, needle in (("llama-3.2-1b,4", "DRAFT,TOKENS,ACCEPTANCE"),
                        ("llama-3.2-1b,4,1.0", "acceptance"), ("llama-3.2-1b,four,0.7", "numbers")):
        assert main(["serve", "llama-3-8b", "h100", "--qps", "2", "--speculative", bad]) == 2
        assert needle in capsys.readouterr().err


def test_size_json_and_table(capsys):
    d = _json(capsys, ["size", "llama-3-8b", "h100", "mi300x", "--qps", "50", "--tp", "1",
                       "--tp", "2", "--objective", "cost", "--json"])
    assert d["feasible"] is True and len(d["candidates"]) == 2
    assert main(["size", "llama-3-8b", "h100", "mi300x", "--qps", "50"]) == 0
    out = capsys.readouterr().out
    assert "candidates:" in out and "nvidia-h100-sxm" in out and "amd-mi300x" in out


def test_plan_json(capsys):
    d = _json(capsys, ["plan", "llama-3-8b", "h100", "--devices", "16", "--global-batch", "64",
                       "--recompute", "none", "--zero-stage", "1", "--top", "3", "--json"])
    assert d["objective"] == "step_time" and 1 <= len(d["table"]) <= 3
    steps = [row["step_time"]["value"] for row in d["table"]]
    assert steps == sorted(steps)
    assert all(row["tp"] * row["pp"] * row["dp"] == 16 for row in d["table"])


def test_hf_config_as_the_model_argument_and_as_model_file(capsys, tmp_path):
    folder = tmp_path / "tiny-llama"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(_TINY_LLAMA))
    d = _json(capsys, ["predict", str(folder / "config.json"), "h100", "--json"])
    assert d["model"] == "tiny-llama" and d["time_per_output_token"]["value"] > 0
    d = _json(capsys, ["train", "my-tiny", "a100", "--model-file", str(folder / "config.json"),
                       "--devices", "8", "--micro-batch", "4", "--global-batch", "64", "--json"])
    assert d["model"] == "my-tiny" and d["feasible"] is True
    assert main(["predict", str(tmp_path / "nothing" / "config.json"), "h100"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_weight_only_quantisation(capsys):
    full = _json(capsys, ["predict", "llama-3-8b", "h100", "--json"])
    q4 = _json(capsys, ["predict", "llama-3-8b", "h100", "--weight-bits", "4.5", "--json"])
    assert q4["weight_bytes"]["value"] == pytest.approx(
        full["weight_bytes"]["value"] * 4.5 / 16, rel=1e-3)
    assert q4["precision"] == full["precision"] == "fp16"  # compute stays at --precision


def test_cite_an_entry_and_a_prediction(capsys):
    assert main(["cite", "h100"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("@") and "hw-nvidia-h100-page" in out
    assert main(["cite", "llama-3-8b", "h100"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n@") >= 3 and "williams2009roofline" in out


def test_version_and_help_shows_defaults(capsys):
    from mlsysim_sym import __version__
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mlsysim-sym {__version__}"
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "[default: 2048]" in out and "[default: bf16]" in out and "--global-batch" in out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("predict", "train", "serve", "size", "plan", "synthesize", "sensitivity",
                    "cite", "completion"):
        assert command in out


@pytest.mark.parametrize("shell,needle", [("bash", "_MLSYSIM_SYM_COMPLETE"),
                                          ("zsh", "compdef"), ("fish", "complete")])
def test_completion_script(capsys, shell, needle):
    assert main(["completion", shell]) == 0
    assert needle in capsys.readouterr().out


def test_completion_offers_registry_names():
    from click.shell_completion import ShellComplete
    from mlsysim_sym.cli import cli
    comp = ShellComplete(cli, {}, "mlsysim-sym", "_MLSYSIM_SYM_COMPLETE")
    names = [c.value for c in comp.get_completions(["train", "llama-3-8b"], "nvidia-h1")]
    assert "nvidia-h100-sxm" in names
    names = [c.value for c in comp.get_completions(["predict"], "llama-3-8")]
    assert "llama-3-8b" in names


def test_registry_list_hardware_is_a_table_of_key_specs(capsys):
    assert main(["registry", "list", "hardware", "--vendor", "nvidia"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = lines[0]
    for column in ("name", "bf16 [TFLOP/s]", "fp8 [TFLOP/s]", "memory [GB]",
                   "bandwidth [GB/s]", "cloud price [USD/h]"):
        assert column in head, column
    h100 = next(line for line in lines if line.startswith("nvidia-h100-sxm "))
    # 80 GiB (= 85.9 GB; nvidia-smi: 81,559 MiB) HBM3 at 3.35 TB/s (the registry's datasheet)
    assert "85.9" in h100 and "3350" in h100
    rows = _json_list(capsys, ["registry", "list", "hardware", "--vendor", "nvidia", "--json"])
    row = next(r for r in rows if r["name"] == "nvidia-h100-sxm")
    assert row["memory"] == {"value": pytest.approx(80 * 2**30 / 1e9), "unit": "GB"}


def _json_list(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_format_table_prints_any_rows():
    text = format_table([{"a": 1, "b": {"value": 2.5, "unit": "ms"}}, {"a": 22, "c": None}])
    lines = text.splitlines()
    assert lines[0].split() == ["a", "b", "c"] and lines[2].split() == ["1", "2.5", "ms", "-"]
    assert lines[3].split() == ["22", "-", "-"]


@pytest.mark.parametrize("argv,needle", [
    (["train", "llama-3-70b", "h1000", "--devices", "8", "--global-batch", "8"],
     "unknown hardware 'h1000'"),
    (["plan", "llama-3-7b", "h100", "--devices", "8", "--global-batch", "8"], "unknown model"),
    (["serve", "llama-3-8b", "h100", "--qps", "2", "--precision", "fp3"], "unknown precision"),
])
def test_task_commands_answer_wrong_names_fast(argv, needle):
    code = ("import sys\nfrom mlsysim_sym.cli import main\nrc = main(%r)\n"
            "print(rc, ','.join(m for m in ('sympy', 'pint', 'numpy') if m in sys.modules) or '-')"
            % (argv,))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.split() == ["2", "-"], (p.stdout, p.stderr)
    assert needle in p.stderr and p.stderr.count("\n") == 1


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "llama-3-8b", "h100", "--devices", "8"])  # no --global-batch
    assert e.value.code == 2 and "--global-batch" in capsys.readouterr().err


def test_train_plot_and_token_count(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "step.png"
    d = _json(capsys, ["train", "llama-3-8b", "h100", "--devices", "8", "--global-batch", "64",
                       "--zero-stage", "3", "--tokens", "15e12", "--json", "--plot", str(path)])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert d["time_to_train"]["value"] > 0 and d["feasible"] is True


def test_completion_through_the_environment_variable_as_a_shell_calls_it():
    import os
    env = dict(os.environ, _MLSYSIM_SYM_COMPLETE="bash_complete",
               COMP_WORDS="mlsysim-sym predict llama-3-8", COMP_CWORD="2")
    p = subprocess.run([sys.executable, "-m", "mlsysim_sym.cli"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 and "plain,llama-3-8b" in p.stdout.splitlines()
