"""The registry's sliding-window fields: ``sliding_window`` (a quantity in tokens) and
``windowed_layer_share`` (the share of the layers that are windowed), each with provenance,
checked on load; ``Model.from_hf_config`` reads Mistral's and Gemma 2's ``sliding_window``."""

from __future__ import annotations

import json

import pytest

from mlsysim_sym.registry import Model, RegistryError
from mlsysim_sym.registry.loader import build_entry
from mlsysim_sym.registry.schema import Source

from .conftest import SOURCES, tiny_model

SOURCE = {"doe-2025-tiny": Source.model_validate({**SOURCES["doe-2025-tiny"],
                                                  "id": "doe-2025-tiny"})}


def test_a_window_on_every_layer_by_default_with_its_provenance():
    m = build_entry("model", tiny_model(sliding_window={
        "value": "256 token", "locator": "Table 1: window 256", "basis": "paper"}), SOURCE)
    assert m.sliding_window.to("token").magnitude == 256
    assert m.windowed_layer_share == 1.0
    assert m.provenance("sliding_window").locator == "Table 1: window 256"
    plain = build_entry("model", tiny_model(), SOURCE)
    assert plain.sliding_window is None and plain.windowed_layer_share is None


def test_a_share_of_the_layers():
    m = build_entry("model", tiny_model(sliding_window="256 token", windowed_layer_share="0.5"),
                    SOURCE)
    assert m.windowed_layer_share == 0.5
    assert m.provenance("windowed_layer_share").source == "doe-2025-tiny"


@pytest.mark.parametrize("changes, field, message", [
    ({"windowed_layer_share": "0.5"}, "windowed_layer_share", "needs sliding_window"),
    ({"sliding_window": "256 token", "windowed_layer_share": "1.5"}, "windowed_layer_share",
     "at most 1"),
    ({"sliding_window": "256 token", "windowed_layer_share": "0"}, "windowed_layer_share",
     "greater than 0"),
    ({"sliding_window": "256 GB"}, "sliding_window", "token"),
    ({"sliding_window": 256}, "sliding_window", "bare number"),
])
def test_bad_windows_are_refused_with_the_field(changes, field, message):
    with pytest.raises(RegistryError) as info:
        build_entry("model", tiny_model(**changes), SOURCE)
    assert info.value.field.startswith(field) and message in str(info.value)


def test_only_language_models_have_a_window():
    entry = {**tiny_model("cnn-a", family="cnn"), "architecture": None,
             "published_params": "25.6e6 param", "sliding_window": "256 token"}
    with pytest.raises(RegistryError) as info:
        build_entry("model", entry, SOURCE)
    assert info.value.field == "sliding_window"


def _from_config(tmp_path, cfg):
    folder = tmp_path / cfg["model_type"]
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    return Model.from_hf_config(folder / "config.json")


MISTRAL_7B = {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336,
              "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
              "vocab_size": 32000, "max_position_embeddings": 32768, "sliding_window": 4096,
              "tie_word_embeddings": False}
GEMMA_2_9B = {"model_type": "gemma2", "hidden_size": 3584, "intermediate_size": 14336,
              "num_hidden_layers": 42, "num_attention_heads": 16, "num_key_value_heads": 8,
              "head_dim": 256, "vocab_size": 256000, "max_position_embeddings": 8192,
              "sliding_window": 4096}


def test_hf_configs_carry_their_window(tmp_path):
    mistral = _from_config(tmp_path, MISTRAL_7B)
    assert mistral.sliding_window.to("token").magnitude == 4096
    assert mistral.windowed_layer_share == 1.0
    gemma = _from_config(tmp_path, GEMMA_2_9B)
    assert gemma.windowed_layer_share == 0.5       # 21 of 42 layers (even layer indices)
    later = _from_config(tmp_path, {**MISTRAL_7B, "model_type": "mixtral",
                                    "num_local_experts": 8, "num_experts_per_tok": 2,
                                    "sliding_window": None})
    assert later.sliding_window is None
