"""MCP server: mlsysim_sym's tasks as tools for AI agents (``mlsysim-sym mcp``).

Needs the optional extra: ``pip install "mlsysim_sym[mcp]"`` (the official ``mcp`` Python SDK,
2.x). ``import mlsysim_sym`` never imports this module.

Every tool calls a public task function of the library (``predict``, ``train``, ``serve``,
``size_fleet``, ``synthesize``, ``sensitivity``, ``best_parallelism``, the registry) and returns
its result's ``to_dict()``: the numbers, units and bottleneck the library computes, as JSON
(structured content, and the same JSON as text). Nothing here computes physics or formats
numbers of its own.

Safety and bounds:

- nothing a client sends is evaluated: names go to the registry, quantities (``"20 ms"``) to the
  library's strict parser, YAML to the registry's strict safe loader;
- bad input is a tool error (``isError``) carrying the library's one-line message;
- work per call is bounded: a sweep (a list of batch / seq_len / tp values) has at most
  ``MAX_SWEEP`` points, texts at most ``MAX_TEXT`` characters, a fleet search at most
  ``MAX_CANDIDATES`` chips, a session at most ``MAX_LOADS`` loaded texts; and every call runs
  in a worker thread under a ``CALL_TIMEOUT`` second limit (a call that exceeds it answers
  with a tool error).

Entries loaded with ``load_hardware`` / ``load_model`` are kept in the registry of the server
process for the rest of the session, so later calls can name them (an HTTP server's clients
share them).
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
import threading
from typing import Annotated, Any, Literal, Optional, Union

import anyio
from pydantic import Field

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.resources import FunctionResource

import mlsysim_sym as ms
from mlsysim_sym import registry
from mlsysim_sym.registry.loader import parse_yaml

__all__ = ["build_server", "main", "MAX_SWEEP", "MAX_TEXT", "MAX_CANDIDATES", "MAX_LOADS",
           "MAX_DEVICES", "MAX_GLOBAL_BATCH", "CALL_TIMEOUT", "call_timeout"]

#: Most points of one sweep (a list-valued batch, seq_len or tp).
MAX_SWEEP = 64
#: Most characters of a YAML / config.json text.
MAX_TEXT = 200_000
#: Most candidate chips (and grid regions) of one size_fleet call.
MAX_CANDIDATES = 16
#: Most load_hardware / load_model calls per server process.
MAX_LOADS = 200
#: Seconds a tool call may run before it answers with an error (``$MLSYSIM_MCP_TIMEOUT``
#: overrides it, e.g. on a loaded machine).
DEFAULT_CALL_TIMEOUT = 10.0


def call_timeout(environ=None) -> float:
    """The tool-call limit: ``$MLSYSIM_MCP_TIMEOUT`` seconds when set, else 10."""
    text = (os.environ if environ is None else environ).get("MLSYSIM_MCP_TIMEOUT", "").strip()
    if not text:
        return DEFAULT_CALL_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"MLSYSIM_MCP_TIMEOUT must be a positive number of seconds, got "
                         f"{text[:40]!r}")
    return value


CALL_TIMEOUT = call_timeout()
#: Most devices of a train or best_parallelism call, and most sequences per step.
MAX_DEVICES = 1_048_576
MAX_GLOBAL_BATCH = 1_048_576

_ERRORS = (ValueError, LookupError, TypeError, ArithmeticError, AttributeError)
_KINDS = ("hardware", "model", "datacenter", "cluster", "node", "fabric")
_loads_lock = threading.Lock()
_load_count = 0

INSTRUCTIONS = """\
mlsysim-sym: an analytical, unit-checked model of ML systems (the 22 walls as equations, a
registry of accelerators and models with a source for every number, calibrated efficiencies).
Typical loop: registry_search / registry_show to find a chip and a model (or load_hardware with
your own YAML accelerator, marked basis: assumption); predict (one chip serving a model: latency,
throughput, memory, and the bottleneck: Compute, Memory bandwidth, or Memory when it does not
fit); read `bottleneck`, `bottleneck_detail` and `reason` (what does not fit and by how much);
change the design (batch, tp, precision such as
fp8, another chip) and predict again. train / best_parallelism for training, serve / size_fleet
for a fleet under load, synthesize for the chip a latency target needs, sensitivity for what
moves an output, explain for the equations with the numbers. Quantities are strings with units
("20 ms", "1e12 token"); every result gives each number as {"value", "unit"}."""


# ---- plumbing ------------------------------------------------------------------------------------

def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def _clean(obj):
    """JSON-safe copy: non-finite floats become None, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, (str, int)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):  # numpy scalar
        return _clean(obj.item())
    return str(obj)


def _tool(fn):
    """Run ``fn`` in a worker thread under the time limit; library errors become tool errors.

    The wrapper keeps ``fn``'s signature, so the SDK derives the input schema from it.
    """
    @functools.wraps(fn)
    async def wrapper(**kwargs):
        try:
            with anyio.fail_after(CALL_TIMEOUT):
                result = await anyio.to_thread.run_sync(
                    functools.partial(fn, **kwargs), abandon_on_cancel=True)
        except TimeoutError:
            raise ToolError(f"the call took longer than {CALL_TIMEOUT:g} s and was stopped: "
                            "ask for less (fewer sweep points, a narrower search)") from None
        except ToolError:
            raise
        except _ERRORS as exc:
            raise ToolError(_message(exc)) from None
        return _clean(result)
    return wrapper


def _knob(name: str, value):
    """A scalar knob, or a list of at most MAX_SWEEP values for a sweep."""
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{name} is an empty list; give a number or 1 to {MAX_SWEEP} values")
        if len(value) > MAX_SWEEP:
            raise ValueError(f"{name} has {len(value)} values; a sweep here has at most "
                             f"{MAX_SWEEP} points (split it into several calls)")
        import numpy as np
        return np.asarray(value, dtype=float)
    return value


def _sweep(**knobs):
    """Validate list-valued knobs (same length when several are lists)."""
    out = {k: _knob(k, v) for k, v in knobs.items()}
    lengths = {k: len(v) for k, v in knobs.items() if isinstance(v, list)}
    if len(set(lengths.values())) > 1:
        raise ValueError("list-valued knobs are paired point by point and must have the same "
                         "length; got " + ", ".join(f"{k}: {n}" for k, n in lengths.items()))
    return out


def _check_scale(devices, global_batch) -> None:
    if devices is not None and not 1 <= devices <= MAX_DEVICES:
        raise ValueError(f"devices must be between 1 and {MAX_DEVICES}, got {devices}")
    if not 1 <= global_batch <= MAX_GLOBAL_BATCH:
        raise ValueError(f"global_batch must be between 1 and {MAX_GLOBAL_BATCH}, got "
                         f"{global_batch}")


def _prediction_dict(r) -> dict:
    d = r.to_dict()
    detail = getattr(r, "bottleneck_detail", None)
    if detail is not None:
        d["bottleneck_detail"] = detail
    return d


# ---- argument types ------------------------------------------------------------------------------

ModelName = Annotated[str, Field(description="model name or alias from the registry "
                                             "(e.g. llama-3-8b), or one you loaded")]
ChipName = Annotated[str, Field(description="accelerator name or alias (e.g. h100), or one "
                                            "you loaded")]
Sweepable = Union[int, list[int]]
Batch = Annotated[Sweepable, Field(description=f"sequences per batch, 1..1e6; a list of up to "
                                               f"{MAX_SWEEP} values sweeps")]
SeqLen = Annotated[Sweepable, Field(description="prompt length (prefill) / KV-cache context "
                                                "(decode) in tokens; a list sweeps")]
TP = Annotated[Sweepable, Field(description="tensor-parallel chips serving as one device; a "
                                            "list sweeps")]
Precision = Annotated[Optional[str], Field(
    description="fp32, tf32, bf16, fp16, fp8, int8, fp6, fp4, int4 (default fp16; TinyML "
                "models default to their deployment precision)")]
Phase = Annotated[Literal["decode", "prefill"], Field(
    description="which phase latency and throughput refer to (both are always computed)")]
Quantity = Annotated[str, Field(description="a number with its unit, e.g. \"20 ms\"")]


# ---- tools ---------------------------------------------------------------------------------------

def predict(model: ModelName, hardware: ChipName, batch: Batch = 1, seq_len: SeqLen = 2048,
            precision: Precision = None, phase: Phase = "decode", tp: TP = 1,
            weight_bits: Annotated[Optional[float], Field(
                description="storage bits per weight when they differ from precision (4.5 = "
                            "llama.cpp Q4_0)")] = None,
            stack: Annotated[Optional[str], Field(
                description="serving engine for its calibrated overhead: trt_llm, vllm, nim, "
                            "llama.cpp")] = None,
            efficiency: Annotated[Optional[float], Field(
                description="achieved fraction of peak for compute and memory, (0, 1] "
                            "(default: calibrated)")] = None,
            uncertainty: Annotated[bool, Field(
                description="add p10/p50/p90 bands from the calibrated spreads (scalar "
                            "knobs only)")] = False) -> dict[str, Any]:
    """Serve a model on one chip (or a tensor-parallel group): TTFT, time per output token,
    throughput, memory footprint (weights, KV cache, activations) against capacity, whether it
    fits (`feasible`, and `reason`: what does not fit and by how much) and the `bottleneck`
    (Compute, Memory bandwidth, or Memory when it does not fit) with `bottleneck_detail`.
    Every number is {"value", "unit"}; list-valued knobs give lists."""
    k = _sweep(batch=batch, seq_len=seq_len, tp=tp)
    r = ms.predict(model, hardware, batch=k["batch"], seq_len=k["seq_len"], precision=precision,
                   phase=phase, tp=k["tp"], weight_bits=weight_bits, stack=stack,
                   efficiency=efficiency, uncertainty=uncertainty)
    return _prediction_dict(r)


def train(model: ModelName,
          cluster: Annotated[str, Field(description="a registry cluster, or a chip name with "
                                                    "devices=N")],
          global_batch: Annotated[int, Field(description="sequences per optimizer step")],
          devices: Annotated[Optional[int], Field(description="accelerators used (default: the "
                                                               "whole cluster)")] = None,
          tp: int = 1, pp: int = 1,
          dp: Annotated[Optional[int], Field(description="default devices / (tp pp cp)")] = None,
          cp: int = 1, ep: int = 1, micro_batch: int = 1, seq_len: int = 2048,
          precision: str = "bf16",
          recompute: Literal["none", "selective", "full", "op", "dots",
                             "nothing_saveable"] = "none",
          zero_stage: Annotated[int, Field(description="ZeRO stage 0-3")] = 0,
          sequence_parallel: bool = False, flash_attention: bool = True,
          even_layer_split: bool = False,
          cuda_graphs: Annotated[bool, Field(
              description="CUDA graphs capture the step's kernels (host issue time per "
                          "captured region, not per kernel)")] = False,
          vocab_tiles: Annotated[int, Field(
              ge=1, description="chunks the loss's logits are computed in (MaxText "
                                "num_vocab_tiling): 1/n of the logits live at once")] = 1,
          tp_overlap: Annotated[Optional[float], Field(
              ge=0, le=1, description="share of the tensor-parallel traffic hidden by compute "
                                      "(default: calibrated)")] = None,
          pp_overlap: Annotated[Optional[float], Field(
              ge=0, le=1, description="share of the pipeline sends hidden (default: "
                                      "calibrated)")] = None,
          ep_overlap: Annotated[Optional[float], Field(
              ge=0, le=1, description="share of the expert all-to-alls hidden (default: "
                                      "calibrated)")] = None,
          sequence_fill: Annotated[float, Field(
              ge=0.01, le=1, description="mean padded length over seq_len (memory stays at "
                                         "seq_len)")] = 1.0,
          head_token_fraction: Annotated[float, Field(
              ge=0.001, le=1, description="share of tokens the output layer and loss run "
                                          "on")] = 1.0,
          recompute_modules: Annotated[Optional[list[Literal[
              "core_attn", "mla_up_proj", "mlp", "moe_act"]]], Field(
              description="with recompute=\"selective\": Megatron-Core's "
                          "--recompute-modules")] = None,
          cpu_binding: Annotated[bool, Field(
              description="processes bound to their GPU's NUMA node")] = True,
          stage_layers: Annotated[Optional[float], Field(
              gt=0, description="layers on the busiest pipeline rank (default: "
                                "layers / pp)")] = None,
          tokens: Annotated[Optional[str], Field(
              description="training tokens for time_to_train, e.g. \"2e12 token\"")] = None,
          uncertainty: bool = False) -> dict[str, Any]:
    """One training step of a model on a cluster: step time and its breakdown (compute,
    tensor/pipeline/data-parallel communication, bubble, optimizer), MFU/HFU, tokens/s, memory
    per device against capacity, `feasible`, the `bottleneck` wall and the `binding_term`."""
    _check_scale(devices, global_batch)
    r = ms.train(model, cluster, devices=devices, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep,
                 micro_batch=micro_batch, global_batch=global_batch, seq_len=seq_len,
                 precision=precision, recompute=recompute, zero_stage=zero_stage,
                 sequence_parallel=sequence_parallel, flash_attention=flash_attention,
                 even_layer_split=even_layer_split, cuda_graphs=cuda_graphs,
                 vocab_tiles=vocab_tiles, tp_overlap=tp_overlap, pp_overlap=pp_overlap,
                 ep_overlap=ep_overlap, sequence_fill=sequence_fill,
                 head_token_fraction=head_token_fraction, cpu_binding=cpu_binding,
                 recompute_modules=None if recompute_modules is None else tuple(
                     recompute_modules), stage_layers=stage_layers, tokens=tokens,
                 uncertainty=uncertainty)
    return r.to_dict()


def serve(model: ModelName, hardware: ChipName,
          qps: Annotated[float, Field(description="mean request rate over the fleet [request/s]")],
          input_tokens: int = 1024, output_tokens: int = 256, replicas: int = 1, tp: int = 1,
          batch: Annotated[Optional[int], Field(
              description="request slots per replica (default: the most whose KV caches "
                          "fit)")] = None,
          percentile: float = 0.99, precision: str = "fp16",
          datacenter: Annotated[Optional[str], Field(description="grid region for the carbon "
                                                                  "figure")] = None,
          cloud_price: Annotated[Optional[str], Field(
              description="price per device-hour, e.g. \"2.5 USD/h\"")] = None) -> dict[str, Any]:
    """A serving fleet (replicas x tp chips) at a request rate: percentile TTFT with queueing,
    time per output token, capacity, utilisation, cost, carbon, `feasible` and `bottleneck`."""
    return ms.serve(model, hardware, qps=qps, input_tokens=input_tokens,
                    output_tokens=output_tokens, replicas=replicas, tp=tp, batch=batch,
                    percentile=percentile, precision=precision, datacenter=datacenter,
                    cloud_price=cloud_price).to_dict()


def size_fleet(model: ModelName,
               hardware: Annotated[list[str], Field(description="candidate chips")],
               qps: Annotated[float, Field(description="request rate [request/s]")],
               input_tokens: int = 1024, output_tokens: int = 256,
               ttft: Quantity = "500 ms", tpot: Quantity = "50 ms", percentile: float = 0.99,
               precision: str = "fp16",
               budget: Annotated[Optional[str], Field(
                   description="upper bound on cost, e.g. \"2e6 USD\" or \"500 USD/h\"")] = None,
               carbon_cap: Annotated[Optional[str], Field(
                   description="upper bound on operational carbon, e.g. \"100 tCO2e/yr\"")] = None,
               datacenter: Annotated[Optional[list[str]], Field(
                   description="grid regions; the lowest-carbon one meeting the caps is "
                               "chosen")] = None,
               objective: Literal["devices", "cost", "carbon"] = "devices") -> dict[str, Any]:
    """The minimum serving fleet that meets a TTFT / time-per-output-token SLO at a request
    rate, over candidate chips: devices, replicas x tp, batch, bottleneck, cost and carbon, and
    each candidate's best layout or why it has none."""
    if not hardware:
        raise ValueError("hardware is an empty list: give at least one candidate chip")
    if len(hardware) > MAX_CANDIDATES or len(datacenter or ()) > MAX_CANDIDATES:
        raise ValueError(f"at most {MAX_CANDIDATES} candidate chips and regions per call")
    return ms.size_fleet(model, list(hardware), qps=qps, input_tokens=input_tokens,
                         output_tokens=output_tokens, slo={"ttft": ttft, "tpot": tpot},
                         percentile=percentile, precision=precision, budget=budget,
                         carbon_cap=carbon_cap, datacenter=datacenter,
                         objective=objective).to_dict()


def synthesize(model: ModelName,
               targets: Annotated[dict[str, str], Field(
                   description="latency targets: {\"tpot\": \"20 ms\", \"ttft\": \"500 ms\"} "
                               "(time_per_output_token and/or ttft)")],
               unknowns: list[Literal["peak_flops", "memory_bandwidth", "memory_capacity"]] = [
                   "peak_flops", "memory_bandwidth", "memory_capacity"],
               batch: int = 1, seq_len: int = 2048, precision: str = "fp16") -> dict[str, Any]:
    """Inverse roofline: the minimum chip specs (peak FLOP/s, memory bandwidth, capacity) that
    meet latency targets for a model, which target binds each, and how every registry chip
    compares (ratio of its value to the requirement; >= 1 meets it)."""
    return ms.synthesize(model, targets=dict(targets), unknowns=list(unknowns), batch=batch,
                         seq_len=seq_len, precision=precision).to_dict()


def sensitivity(model: ModelName, hardware: ChipName,
                output: Annotated[str, Field(
                    description="an output of predict: time_per_output_token, ttft, "
                                "decode_throughput, memory_footprint, ...")] =
                "time_per_output_token",
                batch: int = 1, seq_len: int = 2048, precision: Precision = None, tp: int = 1
                ) -> dict[str, Any]:
    """Elasticities d ln(output) / d ln(input) of a prediction's output with respect to every
    input (chip specs, model shape, efficiencies, knobs), largest first, in closed form; both
    one-sided values where the point sits on a roofline kink."""
    r = ms.predict(model, hardware, batch=batch, seq_len=seq_len, precision=precision, tp=tp)
    return ms.sensitivity(r, output).to_dict()


def best_parallelism(model: ModelName,
                     cluster: Annotated[str, Field(description="a registry cluster, or a chip "
                                                               "name with devices=N")],
                     global_batch: Annotated[int, Field(description="sequences per step")],
                     devices: Optional[int] = None, seq_len: int = 2048,
                     precision: str = "bf16",
                     objective: Literal["step_time", "mfu", "memory", "tokens_per_s"] =
                     "step_time",
                     top: Annotated[int, Field(description="rows to return (1-50)")] = 10
                     ) -> dict[str, Any]:
    """Every valid TP x PP x DP x micro-batch layout (x recompute x ZeRO stage) of a training
    job, evaluated and ranked by the objective; the best `top` rows."""
    if not isinstance(top, int) or not 1 <= top <= 50:
        raise ValueError(f"top must be between 1 and 50, got {top!r}")
    _check_scale(devices, global_batch)
    return ms.best_parallelism(model, cluster, global_batch, devices=devices, seq_len=seq_len,
                               precision=precision, objective=objective, top=top).to_dict()


def explain(model: ModelName, hardware: ChipName, batch: int = 1, seq_len: int = 2048,
            precision: Precision = None, phase: Phase = "decode", tp: int = 1
            ) -> dict[str, Any]:
    """The equations behind a prediction (decoder and MoE LLMs): each symbolically, then with
    the numbers substituted, then its value, with its citation; the inputs used, the calibrated
    defaults and the bottleneck."""
    from mlsysim_sym.analysis.explain import explain_data
    r = ms.predict(model, hardware, batch=batch, seq_len=seq_len, precision=precision,
                   phase=phase, tp=tp)
    return explain_data(r)


def registry_search(query: Annotated[str, Field(description="words of a name, alias, vendor "
                                                            "or family")],
                    kind: Optional[Literal["hardware", "model", "datacenter", "cluster", "node",
                                           "fabric"]] = None,
                    limit: Annotated[int, Field(description="at most this many (1-100)")] = 20
                    ) -> dict[str, Any]:
    """Registry entries matching a text, best first, each with its key values as written
    (peaks per precision, memory, power, price for chips; parameters for models)."""
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ValueError(f"limit must be between 1 and 100, got {limit!r}")
    if len(query) > 200:
        raise ValueError("query is longer than 200 characters")
    hits = [o for o in registry.search(query) if kind is None or o.entry_kind == kind]
    return {"query": query, "count": len(hits),
            "results": [o.to_dict(brief=True) for o in hits[:limit]]}


def registry_show(name: Annotated[str, Field(description="any registry name or alias")]
                  ) -> dict[str, Any]:
    """One registry entry in full: every value with its unit and its source (id, locator,
    basis, note), its other fields, derived quantities and the source records."""
    return registry.get_registry().find(name).to_dict()


def _check_text(text: str, what: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{what} has {len(text)} characters; at most {MAX_TEXT}")


def _load(text: str, tool: str, override: bool, kind: str | None) -> list:
    global _load_count
    with _loads_lock:
        if _load_count >= MAX_LOADS:
            raise ValueError(f"this session already loaded {MAX_LOADS} texts; start a new "
                             "server for more")
        _load_count += 1
        label = f"{tool}#{_load_count}"
    return registry.load_text(text, name=label, override=override, kind=kind)


def _loaded(objs) -> dict:
    for obj in objs:
        _add_entry_resource(obj)
    return {"loaded": [{"name": o.name, "kind": o.entry_kind, "aliases": list(o.aliases),
                        "file": o.file, "resource": f"mlsysim://{o.entry_kind}/{o.name}"}
                       for o in objs]}


def load_hardware(yaml_text: Annotated[str, Field(
                      description="registry YAML: {kind: hardware, sources: {...}, entries: "
                                  "[...]} (or kind: system for nodes, fabrics, clusters)")],
                  override: Annotated[bool, Field(
                      description="replace an existing entry of the same name or alias")] = False
                  ) -> dict[str, Any]:
    """Add your own accelerator(s) (or nodes, fabrics, clusters of them) for this session, from
    YAML in the registry's format (docs/registry-format.md): quantities as strings with units
    ("4 TB/s"), every value with provenance (source id, locator, retrieved date, basis; basis
    "assumption" with a note for a speculative design). Validated by the same strict loader as
    the shipped data; later calls name the entries."""
    _check_text(yaml_text, "yaml_text")
    data = parse_yaml(yaml_text, "load_hardware text")
    if isinstance(data, dict) and data.get("kind") in ("model", "models", "datacenter",
                                                       "datacenters"):
        raise ValueError(f"load_hardware takes kind hardware or system, got kind "
                         f"{data['kind']!r}: use load_model for models")
    return _loaded(_load(yaml_text, "load_hardware", override, "hardware"))


_HF_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def load_model(text: Annotated[str, Field(
                   description="registry YAML ({kind: model, entries: [...]}) or the text of a "
                               "Hugging Face config.json")],
               name: Annotated[Optional[str], Field(
                   description="name of a model given as config.json (default: from its "
                               "_name_or_path)")] = None,
               source_url: Annotated[Optional[str], Field(
                   description="where a config.json comes from, e.g. https://huggingface.co/"
                               "org/model/blob/main/config.json (default: from its "
                               "_name_or_path)")] = None,
               override: bool = False) -> dict[str, Any]:
    """Add your own model for this session: registry YAML (docs/registry-format.md), or a
    Hugging Face config.json given as text (model_type llama, mistral, qwen2, gemma, gemma2,
    gpt2, gpt_neox, mixtral, deepseek_v2, deepseek_v3), translated to a registry entry and
    validated by the same strict loader. Later calls name the model."""
    _check_text(text, "text")
    if text.lstrip().startswith("{"):
        try:
            cfg = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"text starts like a config.json but is not valid JSON: {exc}") \
                from None
        if isinstance(cfg, dict) and "model_type" in cfg:
            return _loaded(_load(_hf_yaml(cfg, name, source_url), "load_model", override,
                                 "model"))
    data = parse_yaml(text, "load_model text")
    if isinstance(data, dict) and data.get("kind") not in (None, "model", "models"):
        raise ValueError(f"load_model takes kind model, got kind {data['kind']!r}: use "
                         "load_hardware for hardware and systems")
    return _loaded(_load(text, "load_model", override, "model"))


def _hf_yaml(cfg: dict, name: str | None, url: str | None) -> str:
    """Registry YAML of a parsed HF config.json (the library's translation)."""
    import yaml
    from mlsysim_sym.registry.objects import hf_config_entry
    from mlsysim_sym.registry.params import architecture_from_hf_config
    architecture_from_hf_config(cfg)  # an unsupported model_type says so first
    repo = cfg.get("_name_or_path")
    repo = repo if isinstance(repo, str) and _HF_NAME.match(repo) else None
    if name is None:
        if repo is None:
            raise ValueError("give name= for a config.json without an _name_or_path such as "
                             "org/model")
        name = re.sub(r"[^a-z0-9._+-]+", "-", repo.split("/")[1].lower()).strip("-._+")
    if url is None:
        if repo is None:
            raise ValueError("give source_url= (where this config.json comes from) for a "
                             "config.json without an _name_or_path such as org/model")
        url = f"https://huggingface.co/{repo}/blob/main/config.json"
    sid = "hf-config-" + re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    raw, records = hf_config_entry(cfg, name, title=f"Hugging Face config.json of {name}",
                                   locator="config.json (given as text to load_model)", url=url,
                                   publisher="Hugging Face", source_id=sid)
    return yaml.safe_dump({"kind": "model", "sources": records, "entries": [raw]},
                          sort_keys=False)


def equations(wall: Annotated[Optional[str], Field(
        description="wall name or number (serving, 4, communication, ...) or workload record "
                    "(training_step, moe, diffusion, tinyml, encoders); default: the list")] =
        None) -> dict[str, Any]:
    """The LaTeX of a wall: its equations (each with citation), constraints and symbol table;
    without a wall, the list of walls and workload records."""
    from mlsysim_sym.equations import walls, workloads
    from mlsysim_sym.report import latex_expr
    from mlsysim_sym.symbols import info
    if wall is None:
        return {"walls": [{"number": w.number, "key": w.key, "name": w.name, "kind": w.kind,
                           "summary": w.summary} for w in (*walls, *workloads)]}
    w = _wall(wall)
    return {"number": w.number, "key": w.key, "name": w.name, "kind": w.kind,
            "summary": w.summary, "regime": w.regime,
            "equations": [{"name": eq.name, "latex": f"{info(eq.lhs).latex} = "
                                                     f"{latex_expr(eq.rhs)}",
                           "cite": eq.cite, "locator": eq.locator} for eq in w.equations],
            "latex": w.latex()}


def _wall(key: str):
    from mlsysim_sym.equations import walls, workloads
    text = str(key).strip()
    if text.isdigit():
        return walls[int(text)]
    norm = text.lower().replace(" ", "_").replace("-", "_")
    for w in workloads:
        if w.key == norm:
            return w
    return walls[text]


TOOLS = (predict, train, serve, size_fleet, synthesize, sensitivity, best_parallelism, explain,
         registry_search, registry_show, load_hardware, load_model, equations)

_SERVER: Optional[MCPServer] = None
_RESOURCE_LOCK = threading.Lock()


# ---- resources -----------------------------------------------------------------------------------

def _entry_json(kind: str, name: str) -> str:
    try:
        obj = registry.get_registry().get(kind, name)
    except _ERRORS as exc:
        raise ResourceError(_message(exc)) from None
    return json.dumps(_clean(obj.to_dict()), indent=1)


def _wall_markdown(key: str) -> str:
    from mlsysim_sym.report import wall_page
    try:
        return wall_page(_wall(key))
    except _ERRORS as exc:
        raise ResourceError(_message(exc)) from None


def _add_entry_resource(obj) -> None:
    if _SERVER is None:
        return
    uri = f"mlsysim://{obj.entry_kind}/{obj.name}"
    with _RESOURCE_LOCK:
        _SERVER.add_resource(FunctionResource.from_function(
            fn=functools.partial(_entry_json, obj.entry_kind, obj.name), uri=uri, name=obj.name,
            title=obj.display_name, description=f"{obj.entry_kind} {obj.name}: every value with "
                                                "its unit and source",
            mime_type="application/json"))


def _registry_index() -> str:
    reg = registry.get_registry()
    return json.dumps({kind: [o.name for o in reg.objects(kind)] for kind in _KINDS}, indent=1)


def _walls_index() -> str:
    return json.dumps(equations(None), indent=1)


def _register_resources(server: MCPServer) -> None:
    from mlsysim_sym.equations import walls, workloads
    server.resource("mlsysim://registry", name="registry", mime_type="application/json",
                    description="names of every registry entry, by kind")(_registry_index)
    server.resource("mlsysim://walls", name="walls", mime_type="application/json",
                    description="the walls and workload records")(_walls_index)
    for kind in _KINDS:
        server.resource(f"mlsysim://{kind}/{{name}}", name=f"{kind}", mime_type="application/json",
                        description=f"a {kind} entry by name or alias: every value with its "
                                    "unit and source")(_template(kind))
    for w in (*walls, *workloads):
        server.add_resource(FunctionResource.from_function(
            fn=functools.partial(_wall_markdown, w.key), uri=f"mlsysim://wall/{w.key}",
            name=f"wall-{w.key}", title=(f"Wall {w.number}: {w.name}" if w.kind == "wall"
                                          else f"Workload: {w.name}"),
            description=w.summary, mime_type="text/markdown"))
    server.resource("mlsysim://wall/{key}", name="wall", mime_type="text/markdown",
                    description="a wall page (equations in LaTeX, regime, symbols, references) "
                                "by name or number")(_wall_markdown)
    reg = registry.get_registry()
    for kind in _KINDS:
        for obj in reg.objects(kind):
            _add_entry_resource(obj)


def _template(kind: str):
    def read(name: str) -> str:
        return _entry_json(kind, name)
    read.__name__ = f"read_{kind}"
    read.__doc__ = f"A {kind} entry by name or alias."
    return read


# ---- server --------------------------------------------------------------------------------------

def _warm() -> None:
    """Load the registry and compile the serving and training kernels once, so the first tool
    calls answer as fast as the later ones."""
    try:
        ms.predict("llama-3-8b", "h100")
        ms.train("llama-3-8b", "h100", devices=8, global_batch=8)
    except Exception:  # noqa: BLE001 - a warm-up problem surfaces in the first real call
        pass


def build_server() -> MCPServer:
    """The MCP server with every tool and resource registered (not started)."""
    global _SERVER
    server = MCPServer("mlsysim-sym", version=ms.__version__, instructions=INSTRUCTIONS,
                       warn_on_duplicate_resources=False, log_level="WARNING")
    _SERVER = server
    for fn in TOOLS:
        server.add_tool(_tool(fn), name=fn.__name__, structured_output=True)
    _register_resources(server)
    return server


def main(http_port: int | None = None) -> int:
    """Serve on stdio, or streamable HTTP on 127.0.0.1:``http_port``."""
    server = build_server()
    threading.Thread(target=_warm, name="mlsysim-warm", daemon=True).start()
    if http_port is None:
        server.run("stdio")
    else:
        print(f"mlsysim-sym MCP server on http://127.0.0.1:{http_port}/mcp", file=sys.stderr)
        server.run("streamable-http", host="127.0.0.1", port=http_port)
    return 0
