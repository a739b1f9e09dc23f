"""Read-only registry objects: what the rest of mlsysim_sym uses.

Each object wraps a validated schema entry (``obj.spec``) and the entry's values with their
resolved provenance; quantities are pint quantities from :data:`mlsysim_sym.units.Q_`. Objects are
immutable (attribute assignment raises). Field paths name a value the way the YAML does:
``peak.bf16``, ``memory.0.bandwidth``, ``links.scale_up.bandwidth``, ``published_params``;
attribute names work too (``memory_bandwidth``, ``tdp``, ``parameters``).

An object read from the on-disk cache (:meth:`RegistryObject.from_cache`) gets its attributes
and quantities at once and its schema objects (``spec``, each value's provenance, its source
records, a model's ``moe`` / ``mla`` / ``ssm`` / ``diffusion`` / ``input`` block) on first
access, so this module imports no pydantic.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Mapping, Optional

import pint

from .. import vocabulary
from ..units import Q_
from . import params as _params
from .errors import PrecisionError, RegistryLookupError
from .names import DERIVED_FAMILIES, PRECISIONS
from .value import Value

if TYPE_CHECKING:  # annotations only: the schema (pydantic) loads on first use
    from .schema import Provenance, Source

__all__ = ["RegistryObject", "Hardware", "MemoryTier", "Model", "Datacenter", "Fabric", "Node",
           "Cluster", "format_bibtex", "hf_config_entry", "describe_source", "OBJECT_CLASSES",
           "REFERENCE_FIELDS"]


class _OnFirstUse:
    """An attribute an object read from the cache builds on first access (``build(obj)``) and
    keeps; a validated object sets it in ``__init__`` (a non-data descriptor: the instance's
    own value wins)."""

    def __init__(self, build):
        self.build = build

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = self.build(obj)
        obj.__dict__[self.name] = value
        return value


def _spec_block(*path):
    """A schema block of the entry (``moe``, ``architecture.mla``) taken from ``spec``."""
    def build(obj):
        node = obj.spec
        for part in path:
            node = getattr(node, part) if node is not None else None
        return node
    return _OnFirstUse(build)


def _is_base_model(x) -> bool:
    from pydantic import BaseModel
    return isinstance(x, BaseModel)


class RegistryObject:
    """Base of all registry objects (immutable).

    Attributes
    ----------
    entry_kind : str
        ``hardware``, ``model``, ``datacenter``, ``fabric``, ``node`` or ``cluster``.
    name : str
        Canonical id.
    display_name : str
    aliases : tuple of str
    notes : str or None
    file : str
        The file the entry was read from.
    spec : pydantic model
        The validated entry as written.
    """

    entry_kind: ClassVar[str] = ""
    _ATTRIBUTE_PATHS: ClassVar[dict[str, str]] = {}
    _REFERENCES: ClassVar[tuple[str, ...]] = ()

    # set by __init__; built on first access for an object read from the cache (from_cache)
    spec = _OnFirstUse(lambda self: self._cached.spec())
    _values = _OnFirstUse(lambda self: self._cached.value_records(self._quantities))
    _sources = _OnFirstUse(lambda self: self._cached.sources())

    def __init__(self, spec, values: Mapping[str, Value], sources: Mapping[str, Source],
                 file: str, **references):
        own = {v.provenance.source for v in values.values()}
        if getattr(spec, "provenance", None) is not None:
            own.add(spec.provenance.source)
        _set = object.__setattr__
        _set(self, "spec", spec)
        _set(self, "_values", dict(values))
        _set(self, "_sources", {sid: sources[sid] for sid in sorted(own) if sid in sources})
        self._setup(spec, {path: v.quantity for path, v in values.items()}, file, **references)

    @classmethod
    def from_cache(cls, fields, quantities: Mapping[str, pint.Quantity], file: str, cached,
                   **references):
        """An object read from the registry's cache (:mod:`.store`, built by
        :class:`~.loader.Registry`), equal to the one validated from the YAML.

        Parameters
        ----------
        fields
            The entry's validated fields, read by attribute as from the schema object (the
            loader's view of the stored fields; a value is its quantity string).
        quantities : mapping of str to pint.Quantity
            Every value's quantity by field path, in the entry's order.
        file : str
        cached : loader.CachedEntry
            Builds ``spec``, the values' provenance and the source records on first access.
        **references
            A node's or cluster's referenced objects.
        """
        obj = cls.__new__(cls)
        object.__setattr__(obj, "_cached", cached)
        obj._setup(fields, quantities, file, **references)
        return obj

    def _setup(self, spec, quantities: Mapping[str, pint.Quantity], file: str) -> None:
        """Set the attributes from ``spec`` (the schema object, or the cache's view of its
        fields) and the values' ``quantities``; each kind adds its own."""
        _set = object.__setattr__
        _set(self, "_quantities", dict(quantities))
        _set(self, "file", file)
        _set(self, "name", spec.name)
        _set(self, "display_name", spec.display_name or spec.name)
        _set(self, "aliases", tuple(spec.aliases))
        _set(self, "notes", spec.notes)

    def _set_block(self, name: str, block) -> None:
        """A schema block attribute (``moe``, ``mla``, ...): None or the schema object now; a
        block of an object read from the cache on first access (``_spec_block``)."""
        if block is None or "_cached" not in self.__dict__:
            object.__setattr__(self, name, block)

    def __setattr__(self, key, value):
        raise AttributeError(f"{type(self).__name__} objects are read-only")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, note: str | None = None):
        """A what-if entry of this kind from a mapping written as in the registry YAML.

        The mapping goes through the same strict validator as the shipped files (quantities as
        strings with units, ``"4 TB/s"``; unknown fields and wrong units are errors). Without
        its own ``provenance`` the entry is marked a user assumption (``source: user``,
        ``basis: assumption``, ``note``), as is every value in it that does not name its own
        source. A node's ``accelerator`` and a cluster's ``node``, ``fabric`` and
        ``datacenter`` may be registry names or objects (other what-if objects too). The
        object is usable by every task but is not added to the registry (use
        :func:`mlsysim_sym.registry.load_text` for names).

        Examples
        --------
        >>> chip = Hardware.from_spec({"name": "my-chip", "vendor": "acme",
        ...     "tier": "datacenter", "peak": {"bf16": "2 PFLOP/s"},
        ...     "memory": [{"tier": "hbm", "capacity": "192 GB", "bandwidth": "8 TB/s"}]})
        """
        if not cls.entry_kind:
            raise TypeError("from_spec is called on a kind: Hardware, Model, Node, Cluster, "
                            "Fabric or Datacenter")
        from .loader import what_if_entry  # loader imports this module
        return what_if_entry(cls.entry_kind, spec, note=note)

    def __delattr__(self, key):
        raise AttributeError(f"{type(self).__name__} objects are read-only")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def _repr_html_(self) -> str:
        """Notebook display: every value with its source (``mlsysim_sym.display``)."""
        from ..display import registry_html
        return registry_html(self)

    # ---- values and provenance -------------------------------------------------------------------
    def _q(self, path: str) -> Optional[pint.Quantity]:
        return self._quantities.get(path)

    def quantities(self) -> dict[str, pint.Quantity]:
        """Every value of the entry by field path (``{"peak.bf16": <989.4 TFLOP/s>, ...}``)."""
        return dict(self._quantities)

    def _field_path(self, field_path: str) -> str:
        return self._ATTRIBUTE_PATHS.get(field_path, field_path)

    def value(self, field_path: str) -> Value:
        """The :class:`Value` (quantity and provenance) at ``field_path``."""
        path = self._field_path(field_path)
        if path not in self._values:
            raise self._unknown_path(field_path)
        return self._values[path]

    def provenance(self, field_path: str) -> Provenance:
        """Provenance of a value (``"peak.bf16"``, ``"memory.0.bandwidth"``, ``"tdp"``, ...).

        A field that is not a quantity (an architecture integer, a name) has the entry's
        provenance block. ``"accelerator.peak.bf16"`` on a node or cluster, ``"node.power"`` and
        ``"fabric.latency"`` on a cluster, reach into the referenced object.

        Raises
        ------
        RegistryLookupError
            If the entry has no such field; the message lists the valid paths.
        """
        head, _, rest = field_path.partition(".")
        if head in self._REFERENCES and rest:
            target = getattr(self, head)
            if target is None:
                raise self._unknown_path(field_path)
            return target.provenance(rest)
        path = self._field_path(field_path)
        if path in self._values:
            return self._values[path].provenance
        if self._has_field(path) and getattr(self.spec, "provenance", None) is not None:
            return self.spec.provenance
        raise self._unknown_path(field_path)

    def provenance_map(self) -> dict[str, Provenance]:
        """Provenance of every value of the entry, by field path."""
        return {path: v.provenance for path, v in self._values.items()}

    def _has_field(self, path: str) -> bool:
        node: Any = self.spec
        for part in path.split("."):
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, (list, tuple)):
                node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
            elif _is_base_model(node) and part in type(node).model_fields:
                node = getattr(node, part)
            else:
                return False
            if node is None:
                return False
        return True

    def _unknown_path(self, field_path: str) -> RegistryLookupError:
        valid = sorted(set(self._quantities) | set(self._ATTRIBUTE_PATHS))
        return RegistryLookupError(
            f"{self.entry_kind} '{self.name}' has no value at {field_path!r}; its values are: "
            f"{', '.join(valid) or '(none)'}", name=field_path, kind=self.entry_kind)

    # ---- description ------------------------------------------------------------------------------
    def _summary(self) -> list[tuple[str, Any]]:
        """Extra (label, value) lines for :meth:`describe` (derived quantities)."""
        return []

    def describe(self) -> str:
        """Multi-line text: identity, plain fields, every value with its source, derived values."""
        lines = [f"{self.name}: {self.display_name} ({self.entry_kind}, {self.file})"]
        if self.aliases:
            lines.append(f"  aliases: {', '.join(self.aliases)}")
        from pydantic import BaseModel
        skip = {"name", "display_name", "aliases", "notes", "provenance"}
        for key in type(self.spec).model_fields:
            val = getattr(self.spec, key)
            if key in skip or val is None or isinstance(val, (BaseModel, dict, list)):
                continue
            if not isinstance(val, (str, int, float, bool)):
                continue
            lines.append(f"  {key}: {val}")
        arch = getattr(self.spec, "architecture", None)
        if isinstance(arch, BaseModel):  # a model's block; a chip's is a plain name (above)
            shown = {k: v for k, v in arch.model_dump(exclude_none=True).items()
                     if not isinstance(v, dict)}
            lines.append("  architecture: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        for label, val in self._summary():
            lines.append(f"  {label}: {val:~P}" if isinstance(val, pint.Quantity)
                         else f"  {label}: {val}")
        width = max((len(p) for p in self._values), default=0)
        for path, v in self._values.items():
            p = v.provenance
            lines.append(f"  {path:<{width}}  {v.text:<18} [{p.source}; {p.basis}; {p.locator}]")
        if self.notes:
            lines.append(f"  notes: {self.notes}")
        return "\n".join(lines)

    def to_dict(self, brief: bool = False) -> dict:
        """JSON-ready dict of the entry.

        Always: ``name``, ``kind``, ``display_name``, ``aliases``, ``file``, ``fields`` (the
        entry's other fields as written: vendor, tier, family, ...; with ``brief`` only the
        plain ones, else also blocks such as architecture and provenance) and ``values``. With
        ``brief`` each value is its quantity string as written (``{"peak.bf16": "989.5
        TFLOP/s", ...}``); otherwise ``{"value", "unit", "text", "source", "locator", "basis",
        "note"}`` per value, plus derived quantities (``derived``), ``notes`` and the source
        records its values depend on (``sources``).
        """
        from pydantic import BaseModel
        from pydantic_core import PydanticSerializationError

        from ..units import quantity_json
        d = {"name": self.name, "kind": self.entry_kind, "display_name": self.display_name,
             "aliases": list(self.aliases), "file": self.file}
        fields = {}
        for key in type(self.spec).model_fields:
            val = getattr(self.spec, key)
            if key in d or key in ("aliases", "notes") or val is None:
                continue
            if isinstance(val, (str, int, float, bool)):
                fields[key] = val
            elif isinstance(val, BaseModel) and not brief:
                try:
                    fields[key] = val.model_dump(mode="json", exclude_none=True)
                except PydanticSerializationError:  # a block of quantities: they are in values
                    continue
        d["fields"] = fields
        if brief:
            d["values"] = {path: v.text for path, v in self._values.items()}
            return d
        values = {}
        for path, v in self._values.items():
            p = v.provenance
            values[path] = {**quantity_json(v.quantity), "text": v.text, "source": p.source,
                            "locator": p.locator, "basis": p.basis, "note": p.note}
        d["values"] = values
        d["derived"] = {label: (f"{val:~P}" if isinstance(val, pint.Quantity) else str(val))
                        for label, val in self._summary()}
        d["notes"] = self.notes
        d["sources"] = {sid: src.model_dump(mode="json", exclude_none=True)
                        for sid, src in self.sources.items()}
        return d

    def _referenced(self) -> list["RegistryObject"]:
        return [obj for obj in (getattr(self, r) for r in self._REFERENCES) if obj is not None]

    @property
    def sources(self) -> dict[str, Source]:
        """Source records this entry's values (and referenced entries) depend on, by id."""
        out = {}
        for obj in self._referenced():
            out.update(obj.sources)
        out.update(self._sources)
        return dict(sorted(out.items()))

    @property
    def source_ids(self) -> frozenset[str]:
        """Ids of the sources this entry (and the entries it references) depends on."""
        return frozenset(self.sources)


# ---- hardware --------------------------------------------------------------------------------

class MemoryTier:
    """One memory tier of an accelerator.

    Attributes
    ----------
    tier : str
        ``hbm``, ``gddr``, ``dram``, ``lpddr``, ``sram``, ``flash`` or ``unified``.
    name : str or None
    capacity : pint.Quantity
        [B]
    bandwidth : pint.Quantity or None
        [B/s]
    """

    __slots__ = ("tier", "name", "capacity", "bandwidth")

    def __init__(self, tier, name, capacity, bandwidth):
        for key, val in zip(self.__slots__, (tier, name, capacity, bandwidth)):
            object.__setattr__(self, key, val)

    def __setattr__(self, key, value):
        raise AttributeError("MemoryTier objects are read-only")

    def __repr__(self) -> str:
        return (f"MemoryTier(tier={self.tier!r}, name={self.name!r}, capacity={self.capacity}, "
                f"bandwidth={self.bandwidth})")


class Hardware(RegistryObject):
    """An accelerator.

    Attributes
    ----------
    vendor, tier : str
    architecture : str or None
        Micro-architecture generation as the vendor names it (``ampere``, ``hopper``, ...);
        calibrated efficiencies may differ per generation (``compute_efficiency[hopper]``).
    release_year, cores : int or None
    isa : str or None
    precisions : tuple of str
        Precisions with a dense peak rate, in the order fp64 fp32 tf32 bf16 fp16 fp8 fp6 fp4 int8 int4.
    sparse_precisions : tuple of str
        Precisions with a structured-sparsity peak (``peak_sparse``).
    memory_tiers : tuple of MemoryTier
        Fastest-largest first.
    memory_capacity : pint.Quantity
        Capacity of the main (first) tier [B].
    memory_bandwidth : pint.Quantity or None
        Bandwidth of the main tier [B/s].
    scale_up_bandwidth, scale_out_bandwidth : pint.Quantity or None
        Per direction, per device [B/s].
    scale_up_latency, scale_out_latency : pint.Quantity or None
        [s]
    scale_up_links : int or None
        Number of scale-up links (``links.scale_up.count``).
    scale_up_peer_access : bool or None
        ``links.scale_up.peer_access``: devices load/store their peers' memory over the
        scale-up links (serving engines' one-shot / two-shot all-reduce); None when not recorded
        (a node's scale-up fabric then decides).
    tdp : pint.Quantity or None
        [W]
    price : pint.Quantity or None
        Purchase / list price [USD] (its provenance carries ``currency_year``).
    cloud_price : pint.Quantity or None
        Published on-demand rental price per device-hour [USD/h]; the provenance names the
        provider, instance type, region and date (and ``currency_year``).
    clock : pint.Quantity or None
        [Hz]
    matmul_ceiling : pint.Quantity or None
        The best-shaped dense GEMM's measured rate over the datasheet peak (dimensionless;
        None when not measured: training and serving GEMMs then take the peak).
    matmul_ceiling_fp8 : pint.Quantity or None
        The same for FP8 GEMMs over the FP8 peak (None: FP8 GEMMs take ``matmul_ceiling``).
    multiprocessors : pint.Quantity or None
        Streaming multiprocessors (NVIDIA SMs; dimensionless count): the GEMM tiles one wave
        runs (None: not recorded; the training step then takes no tile or wave quantization).
    fp16_accumulate_peak : pint.Quantity or None
        Dense FP16 tensor-core rate of a GEMM accumulating in FP16 where it differs from
        ``peak.fp16`` (FP32 accumulate; GeForce parts: twice it) [FLOP/s]; None otherwise.
    lookup_notes : list of str
        Notes recorded by :meth:`peak_flops` when it substitutes a precision (fp16 -> bf16).
    """

    entry_kind = "hardware"
    _ATTRIBUTE_PATHS = {
        "memory_capacity": "memory.0.capacity", "memory_bandwidth": "memory.0.bandwidth",
        "scale_up_bandwidth": "links.scale_up.bandwidth", "scale_up_latency": "links.scale_up.latency",
        "scale_out_bandwidth": "links.scale_out.bandwidth",
        "scale_out_latency": "links.scale_out.latency",
        "tdp": "tdp", "price": "price", "cloud_price": "cloud_price", "clock": "clock",
        "matmul_ceiling": "matmul_ceiling", "matmul_ceiling_fp8": "matmul_ceiling_fp8",
        "multiprocessors": "multiprocessors",
        "fp16_accumulate_peak": "peak_fp16_accumulate",
        **{f"peak_flops.{p}": f"peak.{p}" for p in PRECISIONS},
    }

    def _setup(self, spec, quantities, file):
        super()._setup(spec, quantities, file)
        _set = object.__setattr__
        for key in ("vendor", "tier", "release_year", "architecture", "cores", "isa"):
            _set(self, key, getattr(spec, key))
        peak, sparse = spec.peak, spec.peak_sparse
        _set(self, "_peak", {p: quantities[f"peak.{p}"] for p in PRECISIONS if p in peak})
        _set(self, "_peak_sparse", {p: quantities[f"peak_sparse.{p}"] for p in PRECISIONS
                                    if sparse and p in sparse})
        _set(self, "precisions", tuple(self._peak))
        _set(self, "sparse_precisions", tuple(self._peak_sparse))
        _set(self, "memory_tiers", tuple(
            MemoryTier(m.tier, m.name, self._q(f"memory.{i}.capacity"),
                       self._q(f"memory.{i}.bandwidth")) for i, m in enumerate(spec.memory)))
        _set(self, "memory_capacity", self.memory_tiers[0].capacity)
        _set(self, "memory_bandwidth", self.memory_tiers[0].bandwidth)
        for attr, path in self._ATTRIBUTE_PATHS.items():
            if attr.startswith(("scale_", "tdp", "price", "cloud_price", "clock", "matmul_",
                                "multiprocessors", "fp16_")):
                _set(self, attr, self._q(path))
        links = spec.links
        _set(self, "scale_up_links", links.scale_up.count if links and links.scale_up else None)
        peer = links.scale_up.peer_access if links and links.scale_up else None
        _set(self, "scale_up_peer_access", None if peer is None else bool(peer.value))
        _set(self, "lookup_notes", [])

    @property
    def peaks(self) -> dict[str, pint.Quantity]:
        """Dense peak rates by precision [FLOP/s]."""
        return dict(self._peak)

    def resolve_precision(self, precision: str, sparse: bool = False) -> tuple[str, Optional[str]]:
        """The precision whose peak will be used for ``precision``, and a note if substituted.

        ``fp16`` falls back to ``bf16`` only when the chip lists bf16 and no fp16 (same width,
        same tensor-core rate on every chip that has both).

        Raises
        ------
        PrecisionError
            If ``precision`` is unknown, or the chip has no peak for it; the message lists the
            precisions the chip has.
        """
        p = str(precision).strip().lower()
        if p not in PRECISIONS:
            raise PrecisionError(f"unknown precision {precision!r}; precisions are: "
                                 f"{', '.join(PRECISIONS)}")
        table = self._peak_sparse if sparse else self._peak
        if p in table:
            return p, None
        if p == "fp16" and "bf16" in table:
            return "bf16", (f"{self.name} lists no fp16 peak; using its bf16 peak "
                            f"({table['bf16']:~P}) for fp16")
        kind = "sparse peak" if sparse else "peak"
        have = ", ".join(table) or "none"
        raise PrecisionError(f"{self.display_name} ({self.name}) has no {p} {kind}; it has: {have}")

    def peak_flops(self, precision: str = "fp16", sparse: bool = False) -> pint.Quantity:
        """Peak rate at ``precision`` [FLOP/s] (dense unless ``sparse``).

        A fp16 -> bf16 substitution is recorded in :attr:`lookup_notes` (never silent).
        """
        used, note = self.resolve_precision(precision, sparse)
        if note and note not in self.lookup_notes:
            self.lookup_notes.append(note)
        return (self._peak_sparse if sparse else self._peak)[used]

    def _field_path(self, field_path: str) -> str:
        path = super()._field_path(field_path)
        if path.startswith("peak.") and path not in self._quantities:
            used, _ = self.resolve_precision(path.split(".", 1)[1])
            return f"peak.{used}"
        return path


# ---- models ----------------------------------------------------------------------------------

_ARCH_FIELDS = ("layers", "hidden", "heads", "ffn", "ffn_gated", "parallel_block", "vocab", "tied_embeddings",
                "max_context", "norm", "attention_bias", "qkv_bias", "mlp_bias", "position",
                "type_vocab", "pooler", "mla", "ssm")
_ARCH_BLOCKS = ("mla", "ssm")


class Model(RegistryObject):
    """A model.

    Attributes
    ----------
    family : str
        ``decoder``, ``moe``, ``encoder``, ``cnn``, ``vit``, ``diffusion``, ``ssm`` or ``tinyml``.
    layers, hidden, heads, kv_heads, head_dim, ffn, vocab, max_context, type_vocab : int or None
        Architecture integers (None when not given). ``head_dim`` defaults to hidden / heads,
        ``kv_heads`` to heads (1 for MQA).
    ffn_gated, tied_embeddings, attention_bias, qkv_bias, mlp_bias, pooler : bool
    parallel_block : bool
        Attention and FFN read the same norm output and their sum joins the residual stream
        (GPT-J, PaLM, MaxText's 2023 synthetic decoder) instead of running one after the other.
    norm, position, attention : str
        ``attention`` defaults from kv_heads (mha / gqa / mqa).
    mla, ssm, moe, diffusion, input : schema blocks or None
    experts, experts_per_token, shared_experts, expert_ffn, moe_layers : int or None
        MoE layout (None for dense models); ``moe_layers`` defaults to ``layers``.
    precision : str or None
        Default deployment precision.
    published_parameters, published_active_parameters : pint.Quantity or None
        [param]
    peak_activation_memory : pint.Quantity or None
        [B]
    output_elements : float or None
        Activation elements the layers write in one inference (TinyML: each output pays a
        requantization epilogue), None when not published.
    dense_macs : float or None
        Multiply-accumulates of the fully connected (dense) layers in one inference, each weight
        used once per input vector (TinyML: the SIMD kernels reuse no weight across output
        columns there), None when not published.
    depthwise_macs : float or None
        Multiply-accumulates of the depthwise convolution layers in one inference (TinyML:
        CMSIS-NN's depthwise kernels cost more per MAC than its convolutions), None when not
        published.
    unfused_elements : float or None
        Activation elements the normalisation, activation and residual-add operators read and
        write in one inference when each runs as a kernel of its own (an operator-by-operator
        framework; a compiled engine fuses them into the convolutions), None when not counted.
    operators : float or None
        Operators of one forward pass as the model's definition lists them (the kernels an
        eager framework issues one by one), None when not counted.
    fused_norm_elements, fused_norm_operators : float or None
        The same two counts when the framework runs each normalisation with the activation and
        residual add after it as one kernel (cuDNN's fused batch-norm kernels), None when not
        counted.
    sliding_window : pint.Quantity or None
        [token] The window of the sliding-window attention layers (Mistral 7B, Gemma 2), None
        for full attention.
    windowed_layer_share : float or None
        Share of the layers that are windowed (1 when a window is given without it; Gemma 2
        alternates, 0.5); None without a window.
    """

    entry_kind = "model"
    _ATTRIBUTE_PATHS = {"published_parameters": "published_params",
                        "published_active_parameters": "published_active_params",
                        "published_flops": "published_flops", "published_macs": "published_macs",
                        "peak_activation_memory": "peak_activation_memory",
                        "output_elements": "published_output_elements",
                        "dense_macs": "published_dense_macs",
                        "depthwise_macs": "published_depthwise_macs",
                        "unfused_elements": "published_unfused_elements",
                        "operators": "published_operators",
                        "fused_norm_elements": "published_fused_norm_elements",
                        "fused_norm_operators": "published_fused_norm_operators",
                        "sliding_window": "sliding_window",
                        "windowed_layer_share": "windowed_layer_share"}

    # schema blocks (None when absent): set by _setup, or taken from ``spec`` on first access
    mla = _spec_block("architecture", "mla")
    ssm = _spec_block("architecture", "ssm")
    moe = _spec_block("moe")
    diffusion = _spec_block("diffusion")
    input = _spec_block("input")

    def _setup(self, spec, quantities, file):
        super()._setup(spec, quantities, file)
        _set = object.__setattr__
        arch = spec.architecture
        for key in _ARCH_FIELDS:
            if key in _ARCH_BLOCKS:
                self._set_block(key, getattr(arch, key) if arch is not None else None)
            else:
                _set(self, key, getattr(arch, key) if arch is not None else None)
        heads = self.heads
        attention = arch.attention if arch is not None else None
        kv = arch.kv_heads if arch is not None else None
        if heads and not kv:
            kv = vocabulary.kv_heads_of(heads, None, attention)
        if heads and attention is None:
            attention = vocabulary.attention_variant(heads, kv)
        head_dim = arch.head_dim if arch is not None else None
        if head_dim is None and heads and self.hidden and attention != "mla":
            head_dim = self.hidden // heads
        _set(self, "kv_heads", kv)
        _set(self, "attention", attention)
        _set(self, "head_dim", head_dim)
        _set(self, "family", spec.family)
        self._set_block("moe", spec.moe)
        moe = spec.moe
        _set(self, "experts", moe.experts if moe else None)
        _set(self, "experts_per_token", moe.experts_per_token if moe else None)
        _set(self, "shared_experts", moe.shared_experts if moe else None)
        _set(self, "expert_ffn", moe.expert_ffn if moe else None)
        _set(self, "moe_layers", (moe.moe_layers or self.layers) if moe else None)
        self._set_block("diffusion", spec.diffusion)
        self._set_block("input", spec.input)
        _set(self, "precision", spec.precision)
        _set(self, "published_parameters", self._q("published_params"))
        _set(self, "published_active_parameters", self._q("published_active_params"))
        _set(self, "peak_activation_memory", self._q("peak_activation_memory"))
        out = self._q("published_output_elements")
        _set(self, "output_elements", None if out is None else float(out.to("").magnitude))
        dense = self._q("published_dense_macs")
        _set(self, "dense_macs", None if dense is None else float(dense.to("MAC").magnitude))
        dw = self._q("published_depthwise_macs")
        _set(self, "depthwise_macs", None if dw is None else float(dw.to("MAC").magnitude))
        for attr, path in (("unfused_elements", "published_unfused_elements"),
                           ("operators", "published_operators"),
                           ("fused_norm_elements", "published_fused_norm_elements"),
                           ("fused_norm_operators", "published_fused_norm_operators")):
            q = self._q(path)
            _set(self, attr, None if q is None else float(q.to("").magnitude))
        window = self._q("sliding_window")
        share = self._q("windowed_layer_share")
        _set(self, "sliding_window", window)
        _set(self, "windowed_layer_share", None if window is None else
             1.0 if share is None else float(share.to("").magnitude))

    def _summary(self):
        out = []
        if self.parameters is not None:
            how = "derived from architecture" if self.derives_parameters else "published"
            out.append((f"parameters ({how})", f"{self.parameters.to('param').magnitude:.4g} param"))
        if self.family == "moe":
            out.append(("active parameters",
                        f"{self.active_parameters.to('param').magnitude:.4g} param"))
        if self.flops_per_inference is not None:
            out.append(("FLOPs per inference", f"{self.flops_per_inference.to('FLOP'):.4g~P}"))
        return out

    @property
    def derives_parameters(self) -> bool:
        """True when the parameter count is derived from the architecture."""
        return self.family in DERIVED_FAMILIES

    @cached_property
    def _breakdown(self) -> dict[str, int]:
        return _params.parameter_breakdown(self)

    def parameter_breakdown(self) -> dict[str, int]:
        """Derived parameter count by component (see :mod:`mlsysim_sym.registry.params`)."""
        if not self.derives_parameters:
            raise ValueError(f"{self.name} (family {self.family}) has no architecture-derived "
                             "parameter count; use published_parameters")
        return dict(self._breakdown)

    @property
    def parameters(self) -> pint.Quantity:
        """Total parameters [param]: derived from the architecture (decoder, moe, encoder, ssm),
        else the published count (None when not published)."""
        if self.derives_parameters:
            return Q_(sum(self._breakdown.values()), "param")
        return self.published_parameters

    @property
    def active_parameters(self) -> pint.Quantity:
        """Parameters used per token [param]: for MoE the dense part, the top-k routed experts
        and the shared experts; otherwise :attr:`parameters`."""
        if self.family == "moe":
            return Q_(_params.active_parameters(self), "param")
        return self.parameters

    @property
    def flops_per_inference(self) -> Optional[pint.Quantity]:
        """Published compute per inference [FLOP] (MACs converted at 2 FLOP per MAC); None when
        not published. A diffusion pipeline's total (steps x backbone, guidance, encoder and
        decoder) is not data but the diffusion record's ``diffusion_flops``
        (``ms.predict(model, chip).flops``): the registry holds data, the equations formulas."""
        if "published_flops" in self._quantities:
            return self._q("published_flops")
        if "published_macs" in self._quantities:
            return self._q("published_macs").to("FLOP")
        return None

    def _field_path(self, field_path: str) -> str:
        if field_path in ("parameters", "active_parameters"):
            if self.derives_parameters:
                return "architecture"
            return "published_params"
        if field_path == "flops_per_inference":
            for path in ("published_flops", "published_macs"):
                if path in self._quantities:
                    return path
        if field_path in _ARCH_FIELDS or field_path in ("kv_heads", "head_dim", "attention"):
            return f"architecture.{field_path}"
        return super()._field_path(field_path)

    def _has_field(self, path: str) -> bool:
        if path.split(".")[0] == "architecture" and self.spec.architecture is not None:
            return True  # architecture fields, given or defaulted, share the entry's provenance
        return super()._has_field(path)

    @classmethod
    def from_hf_config(cls, path, name: str | None = None,
                       display_name: str | None = None) -> "Model":
        """Build a model from a LOCAL Hugging Face ``config.json`` (no network).

        Supported ``model_type``: llama, mistral, qwen2, gemma, gemma2, gpt2, gpt_neox, mixtral,
        deepseek_v2, deepseek_v3. The model is not added to the registry (use
        :func:`mlsysim_sym.registry.load` for that).

        Parameters
        ----------
        path : str or Path
            The ``config.json`` file, or a directory holding one.
        name : str, optional
            Canonical name; defaults to the directory name (lowercased).
        display_name : str, optional
            Human-readable name; defaults to ``name``.

        Raises
        ------
        ValueError
            For an unsupported ``model_type`` (the message lists the supported ones) or a
            malformed file.
        """
        from .schema import Source
        from .validation import build_entry  # validation imports this module

        path = Path(path)
        if path.is_dir():
            path = path / "config.json"
        if path.stat().st_size > 1_000_000:
            raise ValueError(f"{path} is larger than 1 MB; not a config.json")
        try:
            cfg = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(cfg, dict):
            raise ValueError(f"{path} does not hold a JSON object")
        if name is None:
            stem = path.resolve().parent.name if path.name == "config.json" else path.stem
            name = re.sub(r"[^a-z0-9._+-]+", "-", stem.lower()).strip("-._+") or "hf-model"
        raw, records = hf_config_entry(cfg, name, display_name=display_name,
                                       title=f"Hugging Face config.json ({path.name})",
                                       locator=str(path), url=path.resolve().as_uri())
        sources = {sid: Source(id=sid, **rec) for sid, rec in records.items()}
        return build_entry("model", raw, sources, file=str(path))


def hf_config_entry(cfg: Mapping[str, Any], name: str, *, display_name: str | None = None,
                    title: str, locator: str, url: str, publisher: str = "local file",
                    source_id: str = "local-hf-config") -> tuple[dict, dict]:
    """A model entry as written in YAML, and its source record, from a parsed HF ``config.json``.

    Parameters
    ----------
    cfg : mapping
        The parsed ``config.json`` (see :meth:`Model.from_hf_config` for the supported types).
    name, display_name : str
    title, locator, url, publisher : str
        The source record's title, URL and publisher, and the entry's provenance locator.
    source_id : str

    Returns
    -------
    (entry, {source_id: record})
        Plain data, validated only when loaded (:func:`~mlsysim_sym.registry.load_text`) or
        built (:func:`~mlsysim_sym.registry.loader.build_entry`).

    Raises
    ------
    ValueError
        For an unsupported ``model_type``.
    """
    family, arch, moe = _params.architecture_from_hf_config(cfg)
    record = {"title": title, "publisher": publisher, "year": _dt.date.today().year,
              "url": url, "kind": "repository"}
    raw = {"name": name, "display_name": display_name or name, "family": family,
           "provenance": {"source": source_id, "locator": locator,
                          "retrieved": _dt.date.today(), "basis": "paper"},
           "architecture": {k: v for k, v in arch.items() if v is not None}}
    if moe is not None:
        raw["moe"] = moe
    raw.update(_hf_sliding_window(cfg))
    return raw, {source_id: record}


def _hf_sliding_window(cfg: Mapping[str, Any]) -> dict:
    """The sliding window of a ``config.json``: Mistral's and Mixtral's ``sliding_window`` on
    every layer; Gemma 2's on every other layer, starting with the first (transformers'
    ``Gemma2DecoderLayer``: windowed when the layer index is even). Others (Qwen2's
    ``use_sliding_window``, off in its releases) are not read; ``null`` is full attention."""
    window, kind = cfg.get("sliding_window"), cfg.get("model_type")
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        return {}
    if kind in ("mistral", "mixtral"):
        return {"sliding_window": f"{window} token"}
    layers = cfg.get("num_hidden_layers")
    if kind == "gemma2" and isinstance(layers, int) and layers > 0:
        return {"sliding_window": f"{window} token",
                "windowed_layer_share": f"{math.ceil(layers / 2) / layers:.12g}"}
    return {}


# ---- datacenters and systems -----------------------------------------------------------------

class Datacenter(RegistryObject):
    """A grid region or datacenter.

    Attributes
    ----------
    country : str or None
    carbon_intensity : pint.Quantity
        Grid carbon intensity [gCO2e/kWh].
    pue : pint.Quantity
        Power usage effectiveness [dimensionless].
    wue : pint.Quantity or None
        Water usage effectiveness [L/kWh].
    electricity_price : pint.Quantity or None
        [USD/kWh]
    """

    entry_kind = "datacenter"

    def _setup(self, spec, quantities, file):
        super()._setup(spec, quantities, file)
        object.__setattr__(self, "country", spec.country)
        for key in ("carbon_intensity", "pue", "wue", "electricity_price"):
            object.__setattr__(self, key, self._q(key))


class Fabric(RegistryObject):
    """An interconnect fabric.

    Attributes
    ----------
    kind : str
        ``infiniband``, ``roce``, ``ethernet``, ``nvlink``, ``ici`` or ``custom``.
    link_bandwidth : pint.Quantity
        Per port, per direction [B/s].
    latency : pint.Quantity or None
        [s] start-up latency of one message step (alpha of the alpha-beta model)
    collective_efficiency : pint.Quantity or None
        [dimensionless] large-message bus bandwidth of the library's collectives over the link
        rate (nccl-tests' busbw / link_bandwidth), when a measurement is published
    topology : str or None
    oversubscription : pint.Quantity
        [dimensionless]; 1 when not given.
    peer_access : bool
        Every device can load/store its peers' memory (NVSwitch, NVLink or Infinity Fabric full
        mesh): serving engines then run one-shot / two-shot all-reduces; False when not given.
    """

    entry_kind = "fabric"

    def _setup(self, spec, quantities, file):
        super()._setup(spec, quantities, file)
        _set = object.__setattr__
        _set(self, "kind", spec.kind)
        _set(self, "topology", spec.topology)
        _set(self, "link_bandwidth", self._q("link_bandwidth"))
        _set(self, "latency", self._q("latency"))
        _set(self, "collective_efficiency", self._q("collective_efficiency"))
        _set(self, "peer_access", bool(spec.peer_access.value) if spec.peer_access else False)
        over = self._q("oversubscription")
        _set(self, "oversubscription", over if over is not None else Q_(1.0, ""))


class Node(RegistryObject):
    """A node: accelerators plus their fabrics.

    Attributes
    ----------
    accelerator : Hardware
    accelerators_per_node : int
    scale_up_fabric, scale_out_fabric : Fabric or None
    nics_per_node : int or None
    power : pint.Quantity or None
        Node maximum power [W].
    price : pint.Quantity or None
        [USD]
    """

    entry_kind = "node"
    _REFERENCES = ("accelerator", "scale_up_fabric", "scale_out_fabric")

    def _setup(self, spec, quantities, file, *, accelerator: Hardware,
               scale_up_fabric: Optional[Fabric], scale_out_fabric: Optional[Fabric]):
        super()._setup(spec, quantities, file)
        _set = object.__setattr__
        _set(self, "accelerator", accelerator)
        _set(self, "scale_up_fabric", scale_up_fabric)
        _set(self, "scale_out_fabric", scale_out_fabric)
        _set(self, "accelerators_per_node", spec.accelerators_per_node)
        _set(self, "nics_per_node", spec.nics_per_node)
        _set(self, "power", self._q("power"))
        _set(self, "price", self._q("price"))


class Cluster(RegistryObject):
    """A cluster of identical nodes.

    Attributes
    ----------
    node : Node
    nodes : int
        Number of nodes.
    devices : int
        ``nodes x accelerators_per_node``.
    accelerator : Hardware
    fabric : Fabric or None
        The cluster fabric (else the node's scale-out fabric).
    topology : str or None
        The cluster's, else the fabric's.
    oversubscription : pint.Quantity
        [dimensionless]: the cluster's, else the fabric's, else 1.
    datacenter : Datacenter or None
    """

    entry_kind = "cluster"
    _REFERENCES = ("node", "fabric", "datacenter", "accelerator")

    def _setup(self, spec, quantities, file, *, node: Node, fabric: Optional[Fabric],
               datacenter: Optional[Datacenter]):
        super()._setup(spec, quantities, file)
        _set = object.__setattr__
        fabric = fabric if fabric is not None else node.scale_out_fabric
        _set(self, "node", node)
        _set(self, "nodes", spec.nodes)
        _set(self, "fabric", fabric)
        _set(self, "datacenter", datacenter)
        _set(self, "accelerator", node.accelerator)
        _set(self, "devices", spec.nodes * node.accelerators_per_node)
        _set(self, "topology", spec.topology or (fabric.topology if fabric else None))
        over = self._q("oversubscription")
        if over is None:
            over = fabric.oversubscription if fabric is not None else Q_(1.0, "")
        _set(self, "oversubscription", over)

    def _summary(self):
        return [("devices", f"{self.devices} x {self.accelerator.name}")]


#: the object class of each entry kind
OBJECT_CLASSES: dict[str, type[RegistryObject]] = {
    "hardware": Hardware, "model": Model, "datacenter": Datacenter, "fabric": Fabric,
    "node": Node, "cluster": Cluster,
}
#: per kind, the fields naming another entry: (field, kind it names, required)
REFERENCE_FIELDS = {
    "node": (("accelerator", "hardware", True), ("scale_up_fabric", "fabric", False),
             ("scale_out_fabric", "fabric", False)),
    "cluster": (("node", "node", True), ("fabric", "fabric", False),
                ("datacenter", "datacenter", False)),
}


# ---- BibTeX ----------------------------------------------------------------------------------

_BIB_TYPES = {"paper": "article", "datasheet": "manual", "book": "book", "report": "techreport",
              "webpage": "misc", "repository": "misc"}
_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}


def _tex(text: str) -> str:
    return "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))


def describe_source(source: Source, file: Optional[str] = None) -> str:
    """Multi-line text of a source record (what ``registry show SOURCE-ID`` prints)."""
    lines = [f"{source.id}: {source.title} (source{', ' + file if file else ''})"]
    for key in type(source).model_fields:
        val = getattr(source, key)
        if key in ("id", "title") or val is None:
            continue
        lines.append(f"  {key}: {'; '.join(val) if isinstance(val, list) else val}")
    return "\n".join(lines)


def format_bibtex(source: Source, locators: Iterable[str] = (), retrieved=None) -> str:
    """One BibTeX entry for ``source`` (``@article`` for papers, ``@manual`` for datasheets,
    ``@misc`` for web pages and repositories), with the locators used as ``note``."""
    fields = [("title", "{" + _tex(source.title) + "}")]
    if source.author_text:
        fields.append(("author", _tex(source.author_text)))
    if source.publisher:
        key = {"manual": "organization", "techreport": "institution"}.get(
            _BIB_TYPES[source.kind], "publisher")
        fields.append((key, _tex(source.publisher)))
    fields.append(("year", str(source.year)))
    if source.url:
        fields.append(("url", source.url.replace("%", r"\%").replace("#", r"\#")))
    if source.doi:
        fields.append(("doi", source.doi))
    if retrieved is not None:
        fields.append(("urldate", retrieved.isoformat()))
    locs = sorted(set(locators))
    if locs:
        fields.append(("note", _tex("; ".join(locs))))
    body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields)
    return f"@{_BIB_TYPES[source.kind]}{{{source.id},\n{body}\n}}"
