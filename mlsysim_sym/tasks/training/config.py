"""The knobs of a training step, checked once: :class:`TrainConfig`.

:func:`~mlsysim_sym.tasks.training.train` takes its knobs as keywords and routes them through a
``TrainConfig``; ``uncertainty=True`` re-runs the same config with other efficiencies
(``dataclasses.replace``). What a knob means for the step's inputs that needs no model or
machine is decided here too: recomputation fractions, the bytes each training state takes at a
precision (from :mod:`mlsysim_sym.vocabulary`), the loss kernel's bytes per logit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import checks, vocabulary
from ...vocabulary import ZERO_STAGES
from .efficiency import attention_variant
from .recompute import (NAMED_PLACEMENTS, PLACEMENT_NAMES, PLACEMENTS, RECOMPUTE,  # noqa: F401
                        checked_modules)
from .states import (FP8_RECIPES, LOSS_BYTES, LOSS_TRAFFIC, STATE_CLASSES, StateBytes,
                     largest_tensors, state_bytes, state_dtype_map)

__all__ = ["TrainConfig", "RECOMPUTE", "NAMED_PLACEMENTS", "LOSS_BYTES", "LOSS_TRAFFIC",
           "FP8_RECIPES", "StateBytes", "state_bytes", "TOKEN_DISPATCHERS", "STATE_CLASSES",
           "largest_tensors"]

#: bandwidth of a device's host link, one direction: PCIe 4.0 x16, 16 GT/s x 16 lanes x 128/130
#: (PCI-SIG, PCI Express Base Specification 4.0). Assumed for every chip: the registry holds no
#: host-link field, and TPU v5e/v5p/v6e hosts are not documented at the link level.
HOST_LINK_GBPS = 31.5
#: how an MoE layer routes its tokens (Megatron-Core's AlltoAll and flex dispatchers, GShard's
#: one-hot einsums)
TOKEN_DISPATCHERS = ("alltoall", "flex", "einsum")
#: what train() accepts (fp64 has no training recipe here)
PRECISIONS = tuple(p for p in vocabulary.PRECISION_BITS if p in vocabulary.TRAINING_PRECISIONS)


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _counts(*named):
    return tuple(checks.count(name, value, 1, None) for name, value in named)


@dataclass(frozen=True, eq=False)
class TrainConfig:
    """The knobs of one :func:`~mlsysim_sym.tasks.training.train` call, checked when made.

    The fields are train()'s keywords. Whole-number knobs are stored checked (floats, or float
    arrays for a sweep), the precision by its canonical name, the rest as given; knobs may be
    numpy arrays, so configs compare by identity. What needs the model or the machine (the
    layout, the batch split, the efficiencies) is checked by ``train`` when it resolves them.

    Parameters
    ----------
    model : str or Model
        Registry name or a Model (e.g. ``Model.from_hf_config(path)``).
    cluster : str, Cluster or Hardware
        A registry cluster, or an accelerator with ``devices=N`` (standard nodes of that chip).
    devices : int, optional
        Accelerators used (default: the whole cluster).
    tp, pp, dp, cp, ep : int or array of int
        Tensor, pipeline, data, context and expert parallel degrees; ``dp`` defaults to
        devices / (tp pp cp). Arrays broadcast (tp, pp, dp).
    micro_batch, global_batch : int or array of int
        Sequences per micro-batch and per optimizer step.
    seq_len : int or array of int
        Tokens per sequence (the maximum, when sequences vary in length).
    sequence_fill : float
        Mean computed length of a sequence over ``seq_len``, in (0, 1]; default 1 (fixed-length
        or packed sequences). A loader that pads each batch only to its longest sequence
        (NVIDIA LDDL's sequence binning) computes the mean padded length: FLOPs, bytes,
        messages and ``tokens_per_s`` (padding included) are at ``sequence_fill x seq_len``,
        memory holds the longest batch (``seq_len``); sequences/s = tokens_per_s / that length.
    head_token_fraction : float
        Share of a sequence's tokens the output layer and its loss run on, in (0, 1]; default 1
        (a causal LM). A masked-LM head gathered to the masked positions (NVIDIA's BERT, dense
        sequence output: 20/128, 80/512) scales the head's FLOPs, loss bytes and logits.
    precision : str
        Compute precision (peak FLOP/s); storage follows mixed-precision Adam.
    recompute : {"none", "selective", "full", "op", "dots", "nothing_saveable"}, float or dict
        Activation recomputation; a float in [0, 1] is the fraction of layers fully recomputed.
        "selective" is Korthikanti et al.'s (the attention core); "op" is torchtitan's
        op-level selective checkpointing (its ``selective_ac_option = "op"``: the attention
        output and every other matmul output are saved, the other matmuls recomputed);
        "dots" is JAX's ``checkpoint_dots_with_no_batch_dims`` (MaxText ``remat_policy:
        minimal``): the layer input and the weight matmuls' outputs the backward needs (Q, K,
        V, the attention projection, the FFN up-projections) are saved, the attention core,
        norms and activations recomputed. A dict ``{class: "remat" | "device" | "offload"}``
        over :data:`PLACEMENT_NAMES` is a per-tensor placement (JAX's
        ``save_and_offload_only_these_names``, MaxText ``remat_policy: custom``): "device" keeps
        the tensor in HBM, "offload" saves it in host memory (off HBM; out and back over the
        host link each step, PCIe 4.0 x16 assumed, hidden up to the compute time), "remat"
        recomputes its weight GEMM; unnamed classes follow base.yml (layer input on device,
        the rest recomputed). "nothing_saveable" is JAX's policy of that name (MaxText
        ``remat_policy: full``): the placement with every class recomputed, the layer input
        kept; unlike "full" (Megatron / PyTorch: the whole layer forward re-run) it does not
        re-run a GEMM whose output only feeds a residual add (the down-projection, and in a
        parallel block the attention projection), since JAX recomputes only the residuals
        the backward consumes.
    zero_stage : {0, 1, 2, 3}
        ZeRO / distributed-optimizer sharding over the data-parallel ranks. Stages 0-1 reduce
        the accumulated gradients once per step; 2-3 keep only a gradient shard, so every
        micro-batch reduce-scatters, and 3 also gathers the weights for every micro-batch's
        forward and backward (PyTorch FSDP without ``no_sync``, DeepSpeed ZeRO-3).
    sequence_parallel, flash_attention : bool
    attention_kernel : {None, "fused", "fa2", "eager"}
        Which attention kernel's efficiency applies: the generation's fused kernel (default),
        FlashAttention-2 (its published utilization: ``attention_efficiency[<gen>-fa2]``) or
        unfused "eager" attention (same as ``flash_attention=False``).
    interleave : int
        Model chunks per pipeline stage (interleaved 1F1B).
    even_layer_split : bool
        Every stage gets L/pp layers and the last also runs the LM head (Megatron-LM's split
        unless ``--account-for-loss-in-pipeline-split``; Megatron-DeepSpeed). Default False:
        balanced stages (Llama 3's one layer fewer on the last), as the calibration assumes.
    overlap : float
        Fraction of the compute that hides data-parallel communication: the last micro-batch's
        backward (stages 0-1), every backward (2) or every forward and backward (3).
    model_parallel_overlap : float in [0, 1], optional
        Sets ``tp_overlap``, ``pp_overlap`` and ``ep_overlap`` at once (a class's own keyword
        wins); 0 for a framework that overlaps none (Megatron-LM 2022, Megatron-DeepSpeed).
    tp_overlap, pp_overlap : float in [0, 1], optional
        Fraction of the tensor-parallel collectives (pipeline sends and receives) hidden behind
        compute. Default: the calibrated ``tensor_parallel_overlap``
        (``pipeline_parallel_overlap``) of ``defaults.yaml``, the value the fit used; set
        ``tp_overlap=0`` for a framework without TP overlap (torchtitan without AsyncTP).
    tokens : quantity, str or float, optional
        Training tokens, for ``time_to_train`` and the ops results.
    datacenter : str or Datacenter, optional
        For energy, carbon and water (default: the cluster's).
    efficiency : float or dict, optional
        Compute (GEMM) efficiency, or a dict with any of ``compute``, ``memory``,
        ``communication`` (scale-up links), ``scale_out`` (NIC links), ``attention``
        (fractions in (0, 1]), ``step_overhead`` and ``layer_overhead`` (times); values may
        be arrays. Defaults: the
        calibrated values in ``defaults.yaml`` (with their fit provenance).
    lora_rank : int, optional
        Train LoRA adapters of this rank on ``lora_targets`` (q, k, v, o, up, gate, down).
    allow_cross_node_tp : bool
        Allow tp larger than a node (TP collectives then use the scale-out fabric).
    ops : dict, optional
        Inputs of walls 15, 17, 18, 19 (device_mtbf, node_component_mtbf, recovery_time,
        storage_write_bandwidth, checkpoint_interval, cloud_price, device_peak_power, ...).
    loss : {None, "fused", "unfused", "xla"}
        How the loss holds the logits: "fused" is Megatron-Core's vocab-parallel cross-entropy
        (16-bit logits plus one fp32 copy softmaxed in place: 6 bytes per logit); "unfused" is
        PyTorch ``cross_entropy`` on an fp32 upcast, as torchtitan (12 bytes per logit at the
        backward of log-softmax); "xla" is MaxText's cross-entropy fused by XLA (the 16-bit
        logits and their 16-bit gradient: 4 bytes). None (default): "xla" on a TPU, "fused"
        elsewhere. Logits are split over tp (vocab) and cp (sequence).
    vocab_tiles : int
        Chunks the loss's tokens are split into (MaxText ``num_vocab_tiling``,
        ``vocabulary_tiling.py``): one chunk's logits are live at a time, so the logits' memory
        is divided by it, and the backward recomputes each chunk's logits (one more LM-head
        forward per token). Default 1: the whole micro-batch's logits at once.
    dropout : bool
        The model trains with dropout, so its masks are stored (Korthikanti et al.'s GPT);
        default False, as Llama, MPT and most current pretraining.
    memory_kernels : {"fused", "unfused"}
        The memory-bound kernel set, whose bytes set their time: "fused" is Megatron-LM /
        Transformer Engine (bias-dropout-add, bias-GeLU / SwiGLU, RoPE, scale-mask-softmax
        each one kernel); "unfused" is PyTorch eager (one kernel per elementwise op).
    workspace : quantity or str, optional
        Framework memory beyond the modelled tensors (communication buffers, library
        workspaces, allocator fragmentation); default ``framework_workspace`` of
        ``defaults.yaml``.
    fp8_recipe : {"transformer_engine", "torchao", "transformer_engine_mxfp8", "transformer_engine_mxfp8_unfused", "transformer_engine_mxfp8_unfused_swizzle"}
        At precisions narrower than 16 bits, how the linear layers keep their inputs for the
        backward: Transformer Engine (Megatron-Core, NeMo) saves the FP8 cast (1 byte per
        element); torchao's Float8Linear (torchtitan) saves the 16-bit input. The MXFP8
        recipes are Transformer Engine's 1x32-block scaling (Blackwell; ``--fp8-recipe
        mxfp8``): the host issues the block scales' kernels too, one swizzle per GEMM since
        TE's fused scale allocation and swizzle (``"transformer_engine_mxfp8"``, the default
        since TE PRs 1793 / 2019), two zero-filled scale tensors per quantisation and a
        swizzle per GEMM operand before them (``"..._unfused"``; Yao et al. 2025 Sec. 2.1.2-
        2.1.3; ``tasks/training/host.py``; ``"..._unfused_swizzle"``: between the two).
    capacity_factor : float, optional
        A dropping MoE's expert capacity factor (>= 1): each expert runs on a buffer of c_f x its
        share of the routed tokens, so the expert GEMMs cost c_f x the routed rows (and the
        all-to-alls carry the buffers). Default None: dropless (c_f = 1).
    token_dispatcher : {"alltoall", "flex", "einsum"}
        How an MoE layer routes tokens. "alltoall" is Megatron-Core's AlltoAll dispatcher (a
        global permute before the all-to-all and a local sort after it, the reverse after the
        combine: 4 token permutes per forward under expert parallelism, 2 without); "flex" is
        DeepEP / HybridEP (the global permute fused into the communication: 2); "einsum" is
        GShard's one-hot dispatch and combine einsums over each sequence's capacity slots
        (MaxText's dense_matmul: no permutes, 2 h c_f k S FLOPs per token and einsum).
    ep_overlap : float in [0, 1], optional
        Fraction of the expert-parallel all-to-alls hidden. Default: the calibrated
        ``expert_parallel_overlap``; 0 for a dispatcher on the compute stream, 1 for
        DeepSeek-V3's DualPipe (its report, Sec. 3.2.1).
    cuda_graphs : bool
        The layers' static parts replay as CUDA graphs (Transformer Engine's
        ``make_graphed_callables``; Megatron-Core ``--cuda-graph-impl transformer_engine``):
        each captured region costs the host one launch instead of one per operation (an MoE
        layer's routed experts stay eager). Default False (eager, ``--cuda-graph-impl
        none``). Sets ``host_ops_per_layer`` (``tasks/training/host.py``).
    recompute_modules, cpu_binding, stage_layers : tuple of str; bool; float
        With ``recompute="selective"``, Megatron-Core's ``--recompute-modules`` for the
        attention core (``training/recompute.py``; the memory they free is not subtracted).
        Processes bound to their GPU's NUMA node (default; unbound: ``training/host.py``).
        Layers on the busiest pipeline rank (a layout's; default L/pp, an even split).
    uncertainty : bool or int
        Also compute p10/p50/p90 bands (``result.bands``) of the step time, MFU, tokens/s (and
        time to train) by Monte Carlo over the calibrated efficiencies' spreads and the
        model's residual training error (``True``: 2000 draws); scalar knobs only.
    """

    model: Any
    cluster: Any
    global_batch: Any
    devices: Any = None
    tp: Any = 1
    pp: Any = 1
    dp: Any = None
    cp: Any = 1
    ep: Any = 1
    micro_batch: Any = 1
    seq_len: Any = 2048
    precision: str = "bf16"
    recompute: Any = "none"
    zero_stage: int = 0
    sequence_parallel: bool = False
    interleave: Any = 1
    overlap: Any = 1.0
    tokens: Any = None
    datacenter: Any = None
    efficiency: Any = None
    flash_attention: bool = True
    model_parallel_overlap: Any = None
    lora_rank: Any = None
    lora_targets: tuple = ("q", "v")
    attention_kernel: Any = None
    even_layer_split: bool = False
    allow_cross_node_tp: bool = False
    ops: Any = None
    uncertainty: Any = False
    loss: Any = None
    workspace: Any = None
    dropout: bool = False
    memory_kernels: str = "fused"
    fp8_recipe: str = "transformer_engine"
    capacity_factor: Any = None
    token_dispatcher: str = "alltoall"
    ep_overlap: Any = None
    tp_overlap: Any = None
    pp_overlap: Any = None
    state_dtypes: Any = None
    cuda_graphs: bool = False
    vocab_tiles: Any = 1
    sequence_fill: Any = 1.0
    head_token_fraction: Any = 1.0
    recompute_modules: Any = None
    cpu_binding: bool = True
    stage_layers: Any = None

    def __post_init__(self):
        put = object.__setattr__
        put(self, "precision", vocabulary.precision(self.precision, PRECISIONS).name)
        if self.devices is not None:
            # at most 2^24 (16.8 million) accelerators: beyond any fleet built or planned
            put(self, "devices", int(checks.number("devices", self.devices, low=1,
                                                   high=2 ** 24, integer=True)))
        for name, value in zip(("tp", "pp", "cp", "ep", "interleave"), _counts(
                ("tp", self.tp), ("pp", self.pp), ("cp", self.cp), ("ep", self.ep),
                ("interleave", self.interleave))):
            put(self, name, value)
        if np.ndim(self.cp) or np.ndim(self.ep) or np.ndim(self.interleave):
            raise ValueError("cp, ep and interleave must be scalars")
        for name, value in zip(("micro_batch", "global_batch", "seq_len"), _counts(
                ("micro_batch", self.micro_batch), ("global_batch", self.global_batch),
                ("seq_len", self.seq_len))):
            put(self, name, value)
        put(self, "vocab_tiles", float(checks.count("vocab_tiles", self.vocab_tiles, 1, None)))
        for name, low in (("sequence_fill", 0.01), ("head_token_fraction", 0.001)):
            v = checks.number(f"{name} (a share of the sequence)", getattr(self, name), low=low,
                              high=1.0)
            if isinstance(v, np.ndarray):
                raise ValueError(f"{name} must be one number in [{low}, 1]")
            put(self, name, float(v))
        _flag("dropout", self.dropout)
        _flag("even_layer_split", self.even_layer_split)
        _flag("cuda_graphs", self.cuda_graphs)
        _flag("cpu_binding", self.cpu_binding)
        if self.recompute_modules is not None:
            put(self, "recompute_modules", checked_modules(self.recompute_modules, self.recompute))
        z = self.zero_stage
        if isinstance(z, (bool, np.bool_)) or not isinstance(z, (int, np.integer)) \
                or z not in ZERO_STAGES:
            raise ValueError(f"zero_stage must be 0, 1, 2 or 3, got {z!r:.60}")
        if isinstance(self.recompute, dict):
            put(self, "recompute", tuple(sorted(self.recompute.items())))
        dtypes = state_dtype_map(self.state_dtypes)
        put(self, "state_dtypes", tuple(sorted(dtypes.items())) or None)
        self.recompute_fractions  # noqa: B018  (checks recompute)
        attention_variant(self.flash_attention, self.attention_kernel)
        if self.loss is not None and (not isinstance(self.loss, str)
                                      or self.loss not in LOSS_BYTES):
            raise ValueError(f"loss must be None (the device's default), 'fused', 'unfused' or "
                             f"'xla', got {self.loss!r:.60}")
        if not isinstance(self.memory_kernels, str) \
                or self.memory_kernels not in ("fused", "unfused"):
            raise ValueError("memory_kernels must be 'fused' (Megatron-LM / Transformer "
                             "Engine) or 'unfused' (PyTorch eager), got "
                             f"{self.memory_kernels!r:.60}")
        if self.capacity_factor is not None:
            put(self, "capacity_factor", float(checks.number(
                "capacity_factor (>= 1: a capacity below the routed load drops tokens, which "
                "this model does not count)", self.capacity_factor, low=1.0, high=100.0)))
        if not isinstance(self.token_dispatcher, str) \
                or self.token_dispatcher not in TOKEN_DISPATCHERS:
            raise ValueError(f"token_dispatcher must be one of {', '.join(TOKEN_DISPATCHERS)}, "
                             f"got {self.token_dispatcher!r:.60}")
        if self.token_dispatcher == "einsum" and self.capacity_factor is None:
            raise ValueError("token_dispatcher='einsum' needs a capacity_factor: the one-hot "
                             "dispatch einsums run over each expert's capacity slots")
        if not isinstance(self.fp8_recipe, str) or self.fp8_recipe not in FP8_RECIPES:
            raise ValueError(f"fp8_recipe must be one of {', '.join(FP8_RECIPES)}, got "
                             f"{self.fp8_recipe!r:.60}")

    @property
    def recompute_fractions(self) -> tuple:
        """(whole layers, attention cores, op-level layers, dots-saved layers) recomputed: a
        named choice, one fraction of whole layers, or a placement policy (its attention core
        recomputed unless ``context`` is saved)."""
        if self.placement:
            return 0.0, float(self.placement["context"] == "remat"), 0.0, 0.0
        if isinstance(self.recompute, str):
            if self.recompute not in RECOMPUTE:
                raise ValueError(f"recompute must be one of "
                                 f"{', '.join((*RECOMPUTE, *NAMED_PLACEMENTS))}, a "
                                 "fraction or a placement {class: remat | device | offload}")
            if self.recompute_modules is not None:   # selective by module
                return 0.0, float("core_attn" in self.recompute_modules), 0.0, 0.0
            return RECOMPUTE[self.recompute]
        r = checks.number(f"recompute (one of {', '.join(RECOMPUTE)}, or a fraction)",
                          self.recompute, low=0.0, high=1.0)
        if isinstance(r, np.ndarray):
            raise checks.InputError("recompute must be one fraction in [0, 1] or one of "
                                    + ", ".join(RECOMPUTE))
        return r, r, 0.0, 0.0

    @property
    def modules(self) -> tuple:
        """``recompute_modules`` but "core_attn"."""
        return tuple(x for x in (self.recompute_modules or ()) if x != "core_attn")

    @property
    def placement(self) -> dict:
        """{class: "remat" | "device" | "offload"} of a placement policy (every class of
        :data:`PLACEMENT_NAMES`; unnamed ones "remat"), or {} for the other policies."""
        if isinstance(self.recompute, str) and self.recompute in NAMED_PLACEMENTS:
            given = NAMED_PLACEMENTS[self.recompute]
        elif not isinstance(self.recompute, (dict, tuple)):
            return {}
        else:
            given = dict(self.recompute)
        bad = [k for k in given if k not in PLACEMENT_NAMES]
        if bad:
            raise ValueError(f"recompute placement classes must be among "
                             f"{', '.join(PLACEMENT_NAMES)}; got {bad[0]!r:.60}")
        wrong = [k for k, v in given.items() if not isinstance(v, str) or v not in PLACEMENTS]
        if wrong:
            raise ValueError(f"recompute placement of {wrong[0]!r} must be one of "
                             f"{', '.join(PLACEMENTS)}, got {given[wrong[0]]!r:.60}")
        # MaxText base.yml: decoder_layer_input defaults to "device", every other name "remat"
        return {k: given.get(k, "device" if k == "layer_input" else "remat")
                for k in PLACEMENT_NAMES}

    @property
    def kernel(self):
        """The attention-efficiency variant: "eager", "fa2" or None (the fused kernel)."""
        return attention_variant(self.flash_attention, self.attention_kernel)

    @property
    def mode(self) -> str:
        """"full" training or "lora" adapters."""
        return "full" if self.lora_rank is None else "lora"

    @property
    def state_bytes(self) -> StateBytes:
        return state_bytes(self.precision, self.fp8_recipe, self.state_dtypes)

