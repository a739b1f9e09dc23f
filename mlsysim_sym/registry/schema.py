"""Pydantic schema of the registry YAML (see ``docs/registry-format.md``).

Every model here is strict (no coercion of ``1`` to ``"1"`` or ``true`` to ``1``), frozen, and
forbids unknown fields. A *value* (a number with a unit) is a quoted quantity string such as
``"3.35 TB/s"`` or a mapping ``{value, source, locator, retrieved, basis, note, currency_year}``;
it is checked against the dimension of the field it feeds (a bandwidth must be B/s) by
:func:`mlsysim_sym.units.parse_quantity`, whose anchored pattern and length cap run before pint
sees the text. A bare YAML number where a quantity is expected is an error.

At this stage a value is a :class:`RawValue` (quantity plus its optional provenance override);
:func:`resolve_provenance` later merges it with the entry's ``provenance`` block into a
:class:`Value` carrying a complete :class:`Provenance`.
"""

from __future__ import annotations

import datetime as _dt
import re
import reprlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional, Union

import pint
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationError,
                      model_validator)

from .. import vocabulary
from ..units import UnitError, parse_quantity, ureg
from .errors import FieldError, PrecisionError, RegistryError, RegistryLookupError
from .names import DERIVED_FAMILIES, FAMILIES, HARDWARE_TIERS, PRECISIONS
from .value import Value

__all__ = [
    "RegistryError", "RegistryLookupError", "PrecisionError",
    "PRECISIONS", "BASES", "SOURCE_KINDS", "FAMILIES",
    "Provenance", "ValueSpec", "RawValue", "Value", "Source",
    "MemoryTierSpec", "LinkSpec", "LinksSpec", "HardwareSpec",
    "MLASpec", "SSMSpec", "MoESpec", "InputSpec", "LatentSpec", "DiffusionSpec",
    "ArchitectureSpec", "ModelSpec", "DatacenterSpec", "FabricSpec", "NodeSpec", "ClusterSpec",
    "ENTRY_SPECS", "resolve_provenance", "iter_raw_values", "parse_iso_date", "latest_today",
    "short_repr",
]


# ---- vocabularies --------------------------------------------------------------------------------
# (the errors and the precision, family and tier names live in .errors and .names, which import
# nothing heavy: the command line checks a name or a precision without loading pint or pydantic)

BASES = ("vendor_spec", "measured", "paper", "derived", "assumption")
SOURCE_KINDS = ("datasheet", "paper", "webpage", "repository", "report", "book")

Precision = Literal[PRECISIONS]
Basis = Literal["vendor_spec", "measured", "paper", "derived", "assumption"]
SourceKind = Literal["datasheet", "paper", "webpage", "repository", "report", "book"]
Family = Literal[FAMILIES]
HardwareTier = Literal[HARDWARE_TIERS]
MemoryKind = Literal["hbm", "gddr", "dram", "lpddr", "sram", "flash", "unified"]
FabricKind = Literal["infiniband", "roce", "ethernet", "nvlink", "ici", "custom"]
Topology = Literal["fat-tree", "rail-optimized", "torus-2d", "torus-3d", "dragonfly", "all-to-all",
                   "switch"]

_NAME_RE = r"^[a-z0-9][a-z0-9._+-]{0,79}$"
Name = Annotated[str, Field(pattern=_NAME_RE)]
Alias = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]
Text = Annotated[str, Field(min_length=1)]
PosInt = Annotated[int, Field(gt=0)]
NonNegInt = Annotated[int, Field(ge=0)]


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 60, 60


def short_repr(value: Any) -> str:
    """A bounded repr for error messages (YAML aliases can make inputs huge)."""
    return _REPR.repr(value)


#: the attention variants the registry accepts (mlsysim_sym.vocabulary)
AttentionVariant = Literal[tuple(vocabulary.ATTENTION_VARIANTS)]

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True,
                              arbitrary_types_allowed=True)


# ---- dates ---------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def latest_today() -> _dt.date:
    """The latest calendar date anywhere on Earth right now (lenient to time zones)."""
    return (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(hours=14)).date()


def parse_iso_date(value: Any) -> _dt.date:
    """A ``retrieved`` date: a YAML date or an ISO ``YYYY-MM-DD`` string, not in the future.

    Raises
    ------
    ValueError
        For anything else (``"yesterday"``, ``2026-13-45``, a number) or a future date.
    """
    if isinstance(value, _dt.datetime):
        value = value.date()
    elif isinstance(value, _dt.date):
        pass
    elif isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            value = _dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date: write an ISO date YYYY-MM-DD, "
                             "e.g. 2026-11-22") from None
    else:
        raise ValueError(f"{short_repr(value)} is not a date: write an ISO date YYYY-MM-DD, "
                         "e.g. 2026-11-22")
    if value > latest_today():
        raise ValueError(f"date {value.isoformat()} is in the future: give the date the source "
                         "was actually read")
    return value


IsoDate = Annotated[_dt.date, BeforeValidator(parse_iso_date)]


def _plausible_year(year: int, what: str) -> int:
    if not 1900 <= year <= latest_today().year + 1:
        raise ValueError(f"{what} {year} is not a plausible year (1900..{latest_today().year + 1})")
    return year


# ---- provenance ----------------------------------------------------------------------------------

class Provenance(_Strict):
    """Where a number comes from.

    Attributes
    ----------
    source : str
        Id of a :class:`Source` record (``sources/*.yaml``).
    locator : str
        Table, page or section inside the source.
    retrieved : datetime.date
        When the source was read (not in the future).
    basis : str
        ``vendor_spec``, ``measured``, ``paper``, ``derived`` or ``assumption``.
    note : str or None
        Why / how; required for ``derived`` and ``assumption``.
    currency_year : int or None
        Year of the currency of a money value.
    """

    source: Name
    locator: Text
    retrieved: IsoDate
    basis: Basis
    note: Optional[Text] = None
    currency_year: Optional[int] = None

    @model_validator(mode="after")
    def _check(self):
        if self.basis in ("derived", "assumption") and not self.note:
            raise FieldError("note", f"basis '{self.basis}' needs a note saying how the value "
                                     "was derived or why it is assumed")
        if self.currency_year is not None:
            _plausible_year(self.currency_year, "currency_year")
        return self


class PeerAccess(Provenance):
    """Whether every device of a scale-up fabric can load and store its peers' memory (the
    one-shot / two-shot all-reduce kernels of serving engines need it), with where that is
    stated: ``value`` true or false plus the provenance fields."""

    value: bool


class ValueSpec(_Strict):
    """The mapping form of a value: its quantity string plus a provenance override."""

    value: str
    source: Optional[Name] = None
    locator: Optional[Text] = None
    retrieved: Optional[IsoDate] = None
    basis: Optional[Basis] = None
    note: Optional[Text] = None
    currency_year: Optional[int] = None


@dataclass(frozen=True)
class RawValue:
    """A validated quantity before provenance inheritance.

    Attributes
    ----------
    text : str
        The quantity string as written.
    quantity : pint.Quantity
        The parsed quantity (dimension already checked).
    spec : ValueSpec or None
        The mapping form's provenance override, None for a plain string.
    """

    text: str
    quantity: pint.Quantity
    spec: Optional[ValueSpec] = None


_VALUE_KEYS = tuple(ValueSpec.model_fields)


class _QuantityValidator:
    """Turns a YAML scalar / mapping into a :class:`RawValue` of a given dimension."""

    def __init__(self, unit: str, example: str, minimum: float | None = 0.0,
                 strictly_positive: bool = True):
        self.unit = ureg.dimensionless if unit == "" else unit
        self.unit_text = "dimensionless" if unit == "" else unit
        self.example = example
        self.minimum = minimum
        self.strictly_positive = strictly_positive

    def _allowed(self) -> str:
        return (f"write a quoted quantity string with a unit of {self.unit_text}, "
                f"e.g. \"{self.example}\"")

    def __call__(self, v: Any) -> RawValue:
        if isinstance(v, RawValue):
            return v
        if isinstance(v, bool) or v is None:
            raise ValueError(f"{short_repr(v)} is not a quantity: {self._allowed()}")
        if isinstance(v, (int, float)):
            raise ValueError(f"a bare number ({v!r}) is not allowed where a quantity is expected: "
                             f"{self._allowed()}")
        spec = None
        if isinstance(v, dict):
            unknown = [k for k in v if k not in _VALUE_KEYS]
            if unknown:
                raise FieldError(str(unknown[0]), f"unknown field in a value mapping; allowed: "
                                                  f"{', '.join(_VALUE_KEYS)}")
            if "value" not in v:
                raise FieldError("value", "a value mapping needs 'value' (the quantity string); "
                                          + self._allowed())
            if not isinstance(v["value"], str):
                raise FieldError("value", f"{short_repr(v['value'])} is not a quantity string: "
                                          + self._allowed())
            try:
                spec = ValueSpec.model_validate(v)
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                sub = ".".join(str(p) for p in err["loc"])
                inner = err.get("ctx", {}).get("error")
                raise FieldError(sub or None, str(inner) if inner else
                                 f"{err['msg']} (got {short_repr(err.get('input'))})") from None
            text = spec.value
        elif isinstance(v, str):
            text = v
        else:
            raise ValueError(f"{type(v).__name__} is not a quantity: {self._allowed()}")
        try:
            q = parse_quantity(text, self.unit)
        except UnitError as exc:
            raise FieldError("value" if spec else None, f"{exc}; {self._allowed()}") from None
        if self.minimum is not None:
            mag = q.to(self.unit).magnitude
            if mag < self.minimum or (self.strictly_positive and mag == 0):
                what = (f"at least {self.minimum:g}" if self.minimum > 0 else
                        "greater than 0" if self.strictly_positive else "at least 0")
                raise FieldError("value" if spec else None, f"{text!r} must be {what}")
        return RawValue(text=text, quantity=q, spec=spec)


def Qty(unit: str, example: str, minimum: float | None = 0.0, strictly_positive: bool = True):
    """Annotated type of a value of dimension ``unit`` (``""`` for dimensionless)."""
    return Annotated[RawValue, BeforeValidator(
        _QuantityValidator(unit, example, minimum, strictly_positive))]


FlopRate = Qty("FLOP/s", "989 TFLOP/s")
Bytes = Qty("B", "80 GB")
ByteRate = Qty("B/s", "3.35 TB/s")
Seconds = Qty("s", "1.5 us", strictly_positive=False)
Watts = Qty("W", "700 W")
Hertz = Qty("Hz", "1.98 GHz")
Money = Qty("USD", "30000 USD", strictly_positive=False)
HourlyPrice = Qty("USD/h", "2.70 USD/h")
Params = Qty("param", "8.03e9 param")
Flops = Qty("FLOP", "4.1 GFLOP")
Carbon = Qty("gCO2e/kWh", "30 gCO2e/kWh", strictly_positive=False)
Water = Qty("L/kWh", "1.8 L/kWh", strictly_positive=False)
EnergyPrice = Qty("USD/kWh", "0.05 USD/kWh", strictly_positive=False)
PUE = Qty("", "1.10", minimum=1.0)
Oversubscription = Qty("", "1", minimum=1.0)
#: large-message collective bus bandwidth over the link rate (nccl-tests busbw / link); above 1
#: only with in-network reduction (NVLink SHARP), which moves fewer bytes than busbw assumes
BusEfficiency = Qty("", "0.82")
Tokens = Qty("token", "4096 token")
#: a share in (0, 1] (the upper bound is checked where it is used)
Share = Qty("", "0.5")
#: a number of elements (dimensionless count)
Count = Qty("", "72012")


# ---- sources -------------------------------------------------------------------------------------

class Source(_Strict):
    """A bibliographic source (``sources/*.yaml``: id -> record).

    Attributes
    ----------
    id : str
        The record's key.
    title, publisher, authors, year, url, doi, kind
        ``publisher`` or ``authors`` and ``url`` or ``doi`` are required.
    """

    id: Name
    title: Text
    publisher: Optional[Text] = None
    authors: Optional[Union[Text, list[Text]]] = None
    year: int
    url: Optional[Annotated[str, Field(pattern=r"^(https?|file)://\S+$")]] = None
    doi: Optional[Annotated[str, Field(pattern=r"^10\.\d{4,9}/\S+$")]] = None
    kind: SourceKind

    @model_validator(mode="after")
    def _check(self):
        if not (self.publisher or self.authors):
            raise FieldError("publisher", "a source needs 'publisher' or 'authors'")
        if not (self.url or self.doi):
            raise FieldError("url", "a source needs 'url' or 'doi' (a DOI such as 10.1145/...)")
        _plausible_year(self.year, "year")
        return self

    @property
    def author_text(self) -> str | None:
        """Authors joined with `` and `` (BibTeX style), or None."""
        if self.authors is None:
            return None
        return self.authors if isinstance(self.authors, str) else " and ".join(self.authors)


# ---- hardware ------------------------------------------------------------------------------------

class _Entry(_Strict):
    name: Name
    display_name: Optional[Text] = None
    aliases: list[Alias] = []
    notes: Optional[str] = None


class MemoryTierSpec(_Strict):
    """One memory tier: ``tier`` kind, ``capacity`` [B], ``bandwidth`` [B/s]."""

    tier: MemoryKind
    name: Optional[Text] = None
    capacity: Bytes
    bandwidth: Optional[ByteRate] = None


class LinkSpec(_Strict):
    """An interconnect port group: per-direction ``bandwidth`` [B/s], ``latency`` [s]."""

    name: Optional[Text] = None
    bandwidth: Optional[ByteRate] = None
    latency: Optional[Seconds] = None
    count: Optional[PosInt] = None
    #: scale-up links: every device loads/stores its peers' memory (used when no node records
    #: the chip's scale-up fabric)
    peer_access: Optional[PeerAccess] = None


class LinksSpec(_Strict):
    scale_up: Optional[LinkSpec] = None
    scale_out: Optional[LinkSpec] = None


class HardwareSpec(_Entry):
    """An accelerator (``hardware/*.yaml``)."""

    vendor: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    tier: HardwareTier
    release_year: Optional[int] = None
    architecture: Optional[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]] = None
    provenance: Provenance
    peak: Annotated[dict[Precision, FlopRate], Field(min_length=1)]
    peak_sparse: Optional[dict[Precision, FlopRate]] = None
    #: dense FP16 tensor-core rate of a GEMM that accumulates in FP16, where it differs from
    #: ``peak.fp16`` (FP32 accumulate): GeForce parts run FP32 accumulation at half the FP16-
    #: accumulate rate (NVIDIA Ampere GA102 and Ada whitepapers); read for the engines whose
    #: GEMMs accumulate in FP16 (vocabulary.FP16_ACCUMULATE_STACKS)
    peak_fp16_accumulate: Optional[FlopRate] = None
    memory: Annotated[list[MemoryTierSpec], Field(min_length=1)]
    links: Optional[LinksSpec] = None
    tdp: Optional[Watts] = None
    #: the best-shaped dense 16-bit GEMM's measured rate over the datasheet peak (Maximum
    #: Achievable Matmul FLOPS / peak): the clocks a chip holds under tensor-core load at its
    #: power limit, read by the weight GEMMs of training and serving (equations/compute.py)
    matmul_ceiling: Optional[Share] = None
    #: the same for FP8 GEMMs over the FP8 peak where measured (the FP8 datapath draws its own
    #: power: MI300X 0.49 vs 0.54 at BF16 in AMD's table); FP8 GEMMs take matmul_ceiling without
    matmul_ceiling_fp8: Optional[Share] = None
    #: streaming multiprocessors (NVIDIA SMs): the thread-block tiles a GEMM runs at once, one
    #: per SM for the large 16-bit tiles (one "wave"), read by the training step's GEMM shape
    #: efficiency (equations/gemm_shape.py)
    multiprocessors: Optional[Count] = None
    clock: Optional[Hertz] = None
    cores: Optional[PosInt] = None
    isa: Optional[Text] = None
    price: Optional[Money] = None
    cloud_price: Optional[HourlyPrice] = None

    @model_validator(mode="after")
    def _check(self):
        if self.release_year is not None:
            try:
                _plausible_year(self.release_year, "release_year")
            except ValueError as exc:
                raise FieldError("release_year", str(exc)) from None
        for name in ("matmul_ceiling", "matmul_ceiling_fp8"):
            ceiling = getattr(self, name)
            if ceiling is not None and ceiling.quantity.to("").magnitude > 1:
                raise FieldError(name, f"{ceiling.text!r} is a fraction of the peak: "
                                 "allowed (0, 1], e.g. \"0.80\"")
        sms = self.multiprocessors
        if sms is not None and (sms.quantity.to("").magnitude % 1 or sms.quantity.magnitude < 1):
            raise FieldError("multiprocessors", f"{sms.text!r} is a count of streaming "
                             "multiprocessors: allowed a whole number >= 1, e.g. \"132\"")
        fast = self.peak_fp16_accumulate
        if fast is not None and "fp16" not in self.peak:
            raise FieldError("peak_fp16_accumulate", "is the FP16-accumulate rate of a chip "
                             "whose peak.fp16 (FP32 accumulate) is recorded: add peak.fp16")
        if fast is not None and fast.quantity.to("FLOP/s").magnitude \
                < self.peak["fp16"].quantity.to("FLOP/s").magnitude:
            raise FieldError("peak_fp16_accumulate", f"{fast.text!r} is below peak.fp16: "
                             "accumulating in FP16 is never slower than in FP32")
        if self.tier == "mcu" and self.clock is None:
            raise FieldError("clock", "an MCU entry needs its core clock, e.g. \"480 MHz\"")
        return self


# ---- models --------------------------------------------------------------------------------------

class MLASpec(_Strict):
    """DeepSeek multi-head latent attention shapes (from the HF config)."""

    q_lora_rank: Optional[PosInt] = None
    kv_lora_rank: PosInt
    qk_nope_head_dim: PosInt
    qk_rope_head_dim: PosInt
    v_head_dim: PosInt


class SSMSpec(_Strict):
    """Mamba (selective state space) block shapes; ``dt_rank`` defaults to ceil(hidden / 16)."""

    d_state: PosInt
    d_conv: PosInt
    expand: PosInt
    dt_rank: Optional[PosInt] = None


class MoESpec(_Strict):
    """Mixture-of-experts layout."""

    experts: PosInt
    experts_per_token: PosInt
    shared_experts: NonNegInt = 0
    expert_ffn: PosInt
    moe_layers: Optional[PosInt] = None
    dense_ffn: Optional[PosInt] = None

    @model_validator(mode="after")
    def _check(self):
        if self.experts_per_token > self.experts:
            raise FieldError("experts_per_token", f"experts_per_token ({self.experts_per_token}) "
                                                  f"exceeds experts ({self.experts})")
        return self


class InputSpec(_Strict):
    resolution: Optional[PosInt] = None
    channels: Optional[PosInt] = None
    seq_len: Optional[PosInt] = None


class LatentSpec(_Strict):
    resolution: Optional[PosInt] = None
    channels: Optional[PosInt] = None


class DiffusionSpec(_Strict):
    """Diffusion pipeline: FLOPs per image per step [FLOP] and the one-off stages."""

    steps: PosInt
    backbone_flops_per_step: Optional[Flops] = None
    text_encoder_flops: Optional[Flops] = None
    vae_decoder_flops: Optional[Flops] = None
    cfg: bool = False
    latent: Optional[LatentSpec] = None


class ArchitectureSpec(_Strict):
    """Architecture integers and switches (plain YAML integers / booleans)."""

    layers: Optional[PosInt] = None
    hidden: Optional[PosInt] = None
    heads: Optional[PosInt] = None
    kv_heads: Optional[PosInt] = None
    head_dim: Optional[PosInt] = None
    ffn: Optional[PosInt] = None
    ffn_gated: bool = False
    parallel_block: bool = False
    vocab: Optional[PosInt] = None
    tied_embeddings: bool = False
    max_context: Optional[PosInt] = None
    norm: Literal["rmsnorm", "layernorm"] = "rmsnorm"
    attention_bias: bool = False
    qkv_bias: bool = False
    mlp_bias: bool = False
    position: Literal["rope", "learned", "alibi", "none"] = "rope"
    type_vocab: NonNegInt = 0
    pooler: bool = False
    attention: Optional[AttentionVariant] = None
    mla: Optional[MLASpec] = None
    ssm: Optional[SSMSpec] = None

    @model_validator(mode="after")
    def _check(self):
        if self.attention == "mla" and self.mla is None:
            raise FieldError("mla", "attention: mla needs an 'mla' block (q_lora_rank, "
                                    "kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim)")
        if self.mla is not None and self.attention != "mla":
            raise FieldError("attention", "an 'mla' block needs attention: mla")
        if self.heads and self.kv_heads:
            if self.kv_heads > self.heads or self.heads % self.kv_heads:
                raise FieldError("kv_heads", f"kv_heads ({self.kv_heads}) must divide heads "
                                             f"({self.heads})")
            expected = {"mha": self.kv_heads == self.heads, "mqa": self.kv_heads == 1,
                        "gqa": 1 <= self.kv_heads <= self.heads}.get(self.attention, True)
            if not expected:
                raise FieldError("attention", f"attention: {self.attention} does not match "
                                              f"kv_heads={self.kv_heads}, heads={self.heads}")
        if self.position == "learned" and self.max_context is None:
            raise FieldError("max_context", "position: learned needs max_context (the table size)")
        return self


_ARCH_REQUIRED = {
    "decoder": ("layers", "hidden", "heads", "vocab", "ffn"),
    "encoder": ("layers", "hidden", "heads", "vocab", "ffn"),
    "moe": ("layers", "hidden", "heads", "vocab"),
    "ssm": ("layers", "hidden", "vocab", "ssm"),
}
assert tuple(_ARCH_REQUIRED) == DERIVED_FAMILIES  # the families names.py lists


class ModelSpec(_Entry):
    """A model (``models/*.yaml``)."""

    family: Family
    provenance: Provenance
    architecture: Optional[ArchitectureSpec] = None
    moe: Optional[MoESpec] = None
    published_params: Optional[Params] = None
    published_active_params: Optional[Params] = None
    published_flops: Optional[Flops] = None
    published_macs: Optional[Flops] = None
    input: Optional[InputSpec] = None
    diffusion: Optional[DiffusionSpec] = None
    precision: Optional[Precision] = None
    peak_activation_memory: Optional[Bytes] = None
    published_output_elements: Optional[Count] = None
    published_dense_macs: Optional[Flops] = None
    published_depthwise_macs: Optional[Flops] = None
    published_unfused_elements: Optional[Count] = None
    published_operators: Optional[Count] = None
    published_fused_norm_elements: Optional[Count] = None
    published_fused_norm_operators: Optional[Count] = None
    sliding_window: Optional[Tokens] = None
    windowed_layer_share: Optional[Share] = None

    @model_validator(mode="after")
    def _check(self):
        fam = self.family
        self._check_window()
        required = _ARCH_REQUIRED.get(fam, ())
        if required:
            if self.architecture is None:
                raise FieldError("architecture", f"family {fam} needs an architecture block with "
                                                 f"{', '.join(required)}")
            for key in required:
                if getattr(self.architecture, key) is None:
                    raise FieldError(f"architecture.{key}", f"family {fam} needs "
                                     f"architecture.{key} (to derive the parameter count)")
        if fam == "moe":
            if self.moe is None:
                raise FieldError("moe", "family moe needs a 'moe' block (experts, "
                                        "experts_per_token, expert_ffn, ...)")
            layers = self.architecture.layers
            moe_layers = self.moe.moe_layers or layers
            if moe_layers > layers:
                raise FieldError("moe.moe_layers", f"moe_layers ({moe_layers}) exceeds "
                                                   f"architecture.layers ({layers})")
            if moe_layers < layers and not (self.moe.dense_ffn or self.architecture.ffn):
                raise FieldError("moe.dense_ffn", "dense layers need moe.dense_ffn or "
                                                  "architecture.ffn")
        elif self.moe is not None:
            raise FieldError("moe", f"a 'moe' block is only for family moe, not {fam}")
        if self.published_active_params is not None and fam != "moe":
            raise FieldError("published_active_params", "only MoE models have "
                                                        "published_active_params")
        arch = self.architecture
        if arch is not None and arch.ssm is not None and fam != "ssm":
            raise FieldError("architecture.ssm", f"an 'ssm' block is only for family ssm, not {fam}")
        if self.diffusion is not None and fam != "diffusion":
            raise FieldError("diffusion", f"a 'diffusion' block is only for family diffusion, "
                                          f"not {fam}")
        if fam in ("decoder", "moe", "encoder") and arch.head_dim is None \
                and arch.attention != "mla" and arch.hidden % arch.heads:
            raise FieldError("architecture.head_dim", "hidden is not divisible by heads: give "
                                                      "head_dim")
        if fam in ("decoder", "moe", "encoder") and arch.attention == "gqa" and arch.kv_heads is None:
            raise FieldError("architecture.kv_heads", "attention: gqa needs kv_heads")
        return self

    def _check_window(self):
        """A sliding window only on decoder / MoE language models; its layer share in (0, 1]
        and only beside a window."""
        if self.sliding_window is not None and self.family not in ("decoder", "moe"):
            raise FieldError("sliding_window", f"a sliding window is for decoder and moe models, "
                                               f"not {self.family}")
        share = self.windowed_layer_share
        if share is not None:
            if self.sliding_window is None:
                raise FieldError("windowed_layer_share", "windowed_layer_share needs "
                                                         "sliding_window (the window in tokens)")
            if share.quantity.to("").magnitude > 1:
                raise FieldError("windowed_layer_share", f"{share.text!r} is a share of the "
                                 "layers: at most 1 (every layer windowed)")


# ---- datacenters and systems ---------------------------------------------------------------------

class DatacenterSpec(_Entry):
    """A grid region or datacenter (``datacenters/*.yaml``)."""

    country: Optional[Text] = None
    provenance: Optional[Provenance] = None
    carbon_intensity: Carbon
    pue: PUE
    wue: Optional[Water] = None
    electricity_price: Optional[EnergyPrice] = None


class FabricSpec(_Entry):
    """An interconnect fabric (``systems/*.yaml``, key ``fabrics``)."""

    kind: FabricKind
    provenance: Optional[Provenance] = None
    link_bandwidth: ByteRate
    latency: Optional[Seconds] = None
    collective_efficiency: Optional[BusEfficiency] = None
    topology: Optional[Topology] = None
    oversubscription: Optional[Oversubscription] = None
    peer_access: Optional[PeerAccess] = None


class NodeSpec(_Entry):
    """A node (``systems/*.yaml``, key ``nodes``)."""

    accelerator: Text
    accelerators_per_node: PosInt
    scale_up_fabric: Optional[Text] = None
    scale_out_fabric: Optional[Text] = None
    nics_per_node: Optional[NonNegInt] = None
    provenance: Optional[Provenance] = None
    power: Optional[Watts] = None
    price: Optional[Money] = None


class ClusterSpec(_Entry):
    """A cluster (``systems/*.yaml``, key ``clusters``)."""

    node: Text
    nodes: PosInt
    fabric: Optional[Text] = None
    topology: Optional[Topology] = None
    oversubscription: Optional[Oversubscription] = None
    datacenter: Optional[Text] = None
    provenance: Optional[Provenance] = None


ENTRY_SPECS: dict[str, type[_Entry]] = {
    "hardware": HardwareSpec,
    "model": ModelSpec,
    "datacenter": DatacenterSpec,
    "fabric": FabricSpec,
    "node": NodeSpec,
    "cluster": ClusterSpec,
}


# ---- provenance resolution -----------------------------------------------------------------------

def iter_raw_values(obj: Any, prefix: str = ""):
    """Yield ``(field_path, RawValue)`` for every value in a validated entry, in file order."""
    if isinstance(obj, RawValue):
        yield prefix, obj
    elif isinstance(obj, BaseModel):
        for key in type(obj).model_fields:
            yield from iter_raw_values(getattr(obj, key), f"{prefix}.{key}" if prefix else key)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from iter_raw_values(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from iter_raw_values(item, f"{prefix}.{i}" if prefix else str(i))


def resolve_provenance(raw: RawValue, entry: Optional[Provenance]) -> Provenance:
    """Merge a value's override with its entry's provenance block.

    A plain string inherits the entry block. A mapping without ``source`` inherits the entry's
    source and may override ``locator``, ``retrieved``, ``basis``, ``note``, ``currency_year`` (the
    note is inherited only when the basis is). A mapping with its own ``source`` must give its own
    ``locator``, ``retrieved`` and ``basis``.

    Raises
    ------
    FieldError
        When the merged record is incomplete, or a money value has no ``currency_year``.
    """
    spec = raw.spec
    if spec is not None and spec.source is not None:
        missing = [k for k in ("locator", "retrieved", "basis") if getattr(spec, k) is None]
        if missing:
            raise FieldError(missing[0], f"a value with its own source must also give its own "
                                         f"{', '.join(missing)}")
        merged = {k: getattr(spec, k) for k in ValueSpec.model_fields if k != "value"}
    else:
        if entry is None:
            raise FieldError(None, "this value has no provenance: give the entry a 'provenance' "
                                   "block, or write the value as a mapping {value, source, locator, "
                                   "retrieved, basis}")
        merged = entry.model_dump()
        if spec is not None:
            if spec.basis is not None and spec.basis != entry.basis:
                merged["note"] = None
            for key in ("locator", "retrieved", "basis", "note", "currency_year"):
                if getattr(spec, key) is not None:
                    merged[key] = getattr(spec, key)
    try:
        prov = Provenance.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        inner = err.get("ctx", {}).get("error")
        field = getattr(inner, "field", None) or ".".join(str(p) for p in err["loc"]) or None
        raise FieldError(field, str(inner) if inner else err["msg"]) from None
    if "[currency]" in raw.quantity.dimensionality and prov.currency_year is None:
        raise FieldError("currency_year", "a money value needs currency_year (the year of the "
                                          "dollars): write it as {value: \"...\", currency_year: "
                                          "2024, ...}")
    return prov
