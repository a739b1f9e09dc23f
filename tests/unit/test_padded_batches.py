"""Variable-length sequences padded per batch (sequence_fill) and a masked-LM head that runs on
the masked positions only (head_token_fraction): BERT pre-training as NVIDIA's recipe runs it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsysim_sym import registry
from mlsysim_sym.tasks.training import train

# NVIDIA DeepLearningExamples BERT (PyTorch, 21.11): phase 2, 8 x A100 80GB, batch 32 per GPU
# at seq 512; LDDL pads each batch to its longest sequence (Tools/lddl/lddl/torch/bert.py)
KW = dict(devices=8, micro_batch=32, global_batch=8 * 32 * 4, seq_len=512, precision="fp16",
          flash_attention=False, dropout=True,
          efficiency={"compute": 0.8, "attention": 0.6, "memory": 0.8})


def _run(**kw):
    return train("bert-large", "nvidia-a100-80gb-sxm", **{**KW, **kw})


def test_time_runs_at_the_mean_padded_length_memory_holds_the_longest_batch():
    # a fill of 0.5 computes 256 tokens of each 512-token sequence: every time term is the
    # step's at seq_len 256, while the activations, scores and logits are the 512-token batch's
    half = _run(sequence_fill=0.5)
    short = _run(seq_len=256)
    full = _run()
    assert half.value("step_time") == pytest.approx(short.value("step_time"), rel=1e-9)
    assert half.value("tokens_per_s") == pytest.approx(short.value("tokens_per_s"), rel=1e-9)
    assert half.value("activation_bytes") == pytest.approx(full.value("activation_bytes"),
                                                           rel=1e-9)
    assert half.value("logits_bytes") == pytest.approx(full.value("logits_bytes"), rel=1e-9)
    assert half.value("step_time") < 0.6 * full.value("step_time")


def test_fill_of_one_changes_nothing():
    assert _run(sequence_fill=1.0).value("step_time") == pytest.approx(
        _run().value("step_time"), rel=1e-12)


def test_masked_lm_head_runs_on_the_masked_share():
    # run_pretraining.py (dense sequence output) runs the masked-LM head on the
    # max_predictions_per_seq = 80 of 512 positions: 6 V h FLOPs per predicted token, so the
    # model FLOPs per token of the sequence drop by 6 V h (1 - 80/512) (PaLM App. B: 2 V h
    # forward, twice that backward); the logits held for the loss by the same share
    m = registry.model("bert-large")
    V, h = m.vocab, m.hidden
    share = 80 / 512
    whole, masked = _run(), _run(head_token_fraction=share)
    assert whole.value("model_flops_per_token") - masked.value("model_flops_per_token") == \
        pytest.approx(6 * V * h * (1 - share), rel=1e-9)
    assert masked.value("logits_bytes") == pytest.approx(whole.value("logits_bytes") * share,
                                                         rel=1e-9)
    assert masked.value("step_time") < whole.value("step_time")


@pytest.mark.parametrize("name, value", [("sequence_fill", 0.0), ("sequence_fill", 1.5),
                                         ("head_token_fraction", 0.0),
                                         ("head_token_fraction", 2.0),
                                         ("sequence_fill", "half")])
def test_out_of_range_is_a_clear_error(name, value):
    with pytest.raises(ValueError, match=name):
        _run(**{name: value})


@settings(max_examples=15, deadline=None)
@given(st.floats(0.2, 1.0))
def test_memory_does_not_depend_on_the_fill(fill):
    full = _run()
    assert _run(sequence_fill=fill).value("memory_per_device") == pytest.approx(
        full.value("memory_per_device"), rel=1e-9)


def test_a_case_counts_sequences_at_their_computed_length():
    # the DLE BERT phase-2 case: sequences/s = the tokens computed per second over the mean
    # padded length sequence_fill x seq_len (cases.yaml: 0.55 x 512)
    from mlsysim_sym.calibration import shipped_measurements
    from mlsysim_sym.calibration.cases import build_cases
    meas = [m for m in shipped_measurements()
            if m.id == "train-dle-bert-large-a100-8gpu-s512-amp"]
    (case,), _ = build_cases(meas)
    spec = meas[0].spec
    assert spec["sequence_fill"] == pytest.approx(0.55)
    r = train("bert-large", "nvidia-a100-80gb-sxm", devices=8, micro_batch=32,
              global_batch=spec["global_batch"], seq_len=512, precision="fp16",
              flash_attention=False, dropout=True, memory_kernels="unfused",
              sequence_fill=0.55, head_token_fraction=80 / 512)
    assert float(case.predict({})) == pytest.approx(
        r.value("tokens_per_s") / (0.55 * 512), rel=1e-6)
