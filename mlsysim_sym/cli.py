"""The ``mlsysim-sym`` command line (built with click).

One command per task: ``predict`` (one chip), ``train`` (a training step on a cluster),
``serve`` (a serving fleet at a request rate), ``size`` (the smallest fleet meeting an SLO),
``plan`` (the parallelism search), ``synthesize`` (chip specs from latency targets),
``sensitivity``, ``compress`` (quantized weights), ``footprint`` (a fleet's energy, cost and
carbon over N days), ``cite``, plus ``equations``, ``registry``, ``validate``, ``calibrate``,
``mcp`` and ``completion``. Every task command prints its result's own ``to_dict()`` (``--json``:
as JSON; otherwise as a table by :func:`print_result`), so a new task needs no new formatting
code.

Every error a user can cause prints one clear line on stderr and exits with status 2; nothing a
user types is evaluated as code (names go to the registry, quantities to the strict parser).
Names and precisions are checked before sympy, pint or the walls are loaded (see
:func:`_check_inputs`), so a typo is answered at once. Output cut short by the reader
(``mlsysim-sym equations | head``) ends quietly, as ``cat`` does; Ctrl-C ends with status 130.
"""

from __future__ import annotations

import json
import math
import os
import sys

import click

from mlsysim_sym import __version__

__all__ = ["main", "cli", "print_result", "format_table"]

_PROG = "mlsysim-sym"
_SETTINGS = {"show_default": True, "help_option_names": ["-h", "--help"],
             "max_content_width": 100}


class _Interrupted(Exception):
    """Ctrl-C inside a command (kept apart from click's own KeyboardInterrupt handling)."""


class _PipeGone(Exception):
    """The reader of stdout went away inside a command."""


# ---------------------------------------------------------------------------------------------
# Parameter types
# ---------------------------------------------------------------------------------------------
class _PositiveInt(click.ParamType):
    name = "N"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            n = value
        else:
            try:
                n = int(str(value))
            except ValueError:
                self.fail(f"expected a whole number, got {value!r}", param, ctx)
        if n < 1:
            self.fail(f"must be at least 1, got {n}", param, ctx)
        return n


class _Port(_PositiveInt):
    name = "PORT"

    def convert(self, value, param, ctx):
        n = super().convert(value, param, ctx)
        if n > 65535:
            self.fail(f"must be a TCP port, 1 to 65535, got {n}", param, ctx)
        return n


POSITIVE = _PositiveInt()


class _PositiveInts(_PositiveInt):
    """One whole number (``8``), or a comma-separated list of them (``1,2,4,8``): a sweep."""
    name = "N[,N...]"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, tuple)):
            return value
        items = [v.strip() for v in str(value).split(",")]
        if len(items) == 1:
            return super().convert(items[0], param, ctx)
        if any(not v for v in items):
            self.fail(f"expected N or N,N,... (e.g. 1,2,4,8), got {value!r}", param, ctx)
        return tuple(super(_PositiveInts, self).convert(v, param, ctx) for v in items)


POSITIVES = _PositiveInts()


def _complete(kind):
    """Shell completion of registry names of ``kind`` (the shipped name index: no pint)."""
    def complete(ctx, param, incomplete):
        from mlsysim_sym.registry.names import shipped_index
        names = sorted({canon for k, canon in shipped_index().values() if k in kind})
        return [click.shell_completion.CompletionItem(n) for n in names
                if n.startswith(incomplete.lower())]
    return complete


# ---------------------------------------------------------------------------------------------
# Output: any result's to_dict() as JSON or as a table
# ---------------------------------------------------------------------------------------------
def _cell(value) -> str:
    """One value of a to_dict(): ``{"value", "unit"}`` as "12.3 ms", lists shortened."""
    if isinstance(value, dict) and "value" in value and "unit" in value:
        v = value["value"]
        if isinstance(v, list):
            return f"{len(v)} values [{value['unit']}]"
        if v is None:
            return "-"
        text = "n/a" if isinstance(v, float) and math.isnan(v) else f"{v:.4g}"
        return f"{text} {value['unit']}".rstrip()
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "-"
    if isinstance(value, list):
        return "; ".join(_cell(v) for v in value) if len(value) <= 4 else f"{len(value)} items"
    return str(value)


def format_table(rows: list, columns=None) -> str:
    """A plain text table of dict rows (values as :func:`_cell` prints them)."""
    if not rows:
        return ""
    if columns is None:
        columns = []
        for row in rows:
            columns += [k for k in row if k not in columns]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def _json_default(obj):
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def print_result(result, as_json: bool, title: str | None = None) -> None:
    """Print ``result.to_dict()``: JSON, or a title line, ``name  value`` rows for the scalar
    entries and a table for each list of rows (candidates, ranked layouts, ...)."""
    d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    if as_json:
        click.echo(json.dumps(d, indent=2, default=_json_default))
        return
    if title:
        click.echo(title)
    tables = {k: v for k, v in d.items()
              if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)}
    scalars = {k: v for k, v in d.items() if k not in tables and not _is_nested(v)}
    width = max((len(k) for k in scalars), default=0)
    for k, v in scalars.items():
        click.echo(f"  {k.replace('_', ' '):{width}s}  {_cell(v)}")
    for k, v in d.items():
        if _is_nested(v) and k not in tables:
            click.echo(f"  {k.replace('_', ' ')}:")
            for sub, sv in v.items():
                click.echo(f"    {sub}: {_cell(sv)}")
    for k, rows in tables.items():
        click.echo(f"\n{k.replace('_', ' ')}:")
        click.echo(format_table(rows))


def _is_nested(v) -> bool:
    return isinstance(v, dict) and not ("value" in v and "unit" in v)


# ---------------------------------------------------------------------------------------------
# Inputs: names checked before anything heavy loads
# ---------------------------------------------------------------------------------------------
def _is_hf_config(text) -> bool:
    """A model given as a path to a Hugging Face config.json (or its directory)."""
    if not text:
        return False
    return text.endswith(".json") or os.sep in text or (os.path.isdir(text)
                                                         and os.path.isfile(
                                                             os.path.join(text, "config.json")))


def _check_inputs(models=(), hardware=(), precision=None, files=(), clusters=()) -> None:
    """Load the user's registry files, then check names and the precision, before anything
    heavy is imported: a wrong name answers in a tenth of a second, not after sympy, pint and
    the walls have loaded (the registry's name index reads only the shipped files' names)."""
    from mlsysim_sym import registry
    for path in files:
        if path and not path.endswith(".json"):
            registry.load(path)
    named_by_config = any(path and path.endswith(".json") for path in files)
    for name in models:  # a --model-file config.json gives MODEL its name
        if not (named_by_config or _is_hf_config(name)):
            registry.canonical_name("model", name)
    for name in hardware:
        registry.canonical_name("hardware", name)
    for name in clusters:  # a cluster, or a chip (with --devices)
        try:
            registry.canonical_name("cluster", name)
        except LookupError:
            registry.canonical_name("hardware", name)
    if precision is not None and precision.lower() not in registry.PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; allowed: "
                         f"{', '.join(registry.PRECISIONS)}")


def _model(name, model_file=None):
    """The model argument: a registry name, a path to a config.json, or the name given to
    ``--model-file config.json``."""
    from mlsysim_sym.registry import Model
    if model_file and model_file.endswith(".json"):
        return Model.from_hf_config(model_file, name=name)
    if _is_hf_config(name):
        if not os.path.exists(name):
            raise ValueError(f"model {name!r} looks like a path to a config.json, but there is "
                             "no such file")
        return Model.from_hf_config(name)
    return name


def _efficiency(text):
    """``--efficiency 0.6`` or ``compute=0.6,memory=0.8``: numbers only (never evaluated)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    out = {}
    for item in text.split(","):
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--efficiency must be a number or NAME=VALUE,... (e.g. "
                             f"compute=0.6,memory=0.8), got {text!r}")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            out[key.strip()] = val.strip()  # a time such as step_overhead=2 ms: strict parser
    return out


def _speculative(text):
    """``--speculative llama-3.2-1b,4,0.7`` (draft model or cost ratio, drafted tokens,
    acceptance rate) as ``serve``'s dict: numbers only (never evaluated); the library checks
    the values."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"--speculative must be DRAFT,TOKENS,ACCEPTANCE (e.g. "
                         f"llama-3.2-1b,4,0.7 or 0.05,4,0.7), got {text!r}")
    draft, tokens, acceptance = parts
    try:
        draft = float(draft)
    except ValueError:
        pass                       # a registry model name
    try:
        return {"draft": draft, "tokens": float(tokens), "acceptance": float(acceptance)}
    except ValueError:
        raise ValueError(f"--speculative TOKENS and ACCEPTANCE must be numbers, got "
                         f"{text!r}") from None


# common options ------------------------------------------------------------------------------
def _json_option(f):
    return click.option("--json", "as_json", is_flag=True,
                        help="one JSON object: the result's to_dict()")(f)


def _file_options(f):
    f = click.option("--model-file", type=click.Path(dir_okay=False),
                     help="YAML file with your own model entries, or a Hugging Face config.json "
                          "(MODEL then names it)")(f)
    f = click.option("--hardware-file", type=click.Path(dir_okay=False),
                     help="YAML file with your own accelerator / node / cluster entries "
                          "(docs/registry-format.md)")(f)
    return f


def _plot_option(what):
    return click.option("--plot", metavar="FILE",
                        help=f"also write {what} as a PNG (needs the [plot] extra)")


# ---------------------------------------------------------------------------------------------
# The group
# ---------------------------------------------------------------------------------------------
def _show_help(ctx, param, value):
    """--help: as click's, but a reader that left early (``| head -1``) ends it quietly."""
    if not value or ctx.resilient_parsing:
        return
    try:
        click.echo(ctx.get_help(), color=ctx.color)
    except BrokenPipeError:
        _stdout_gone()
    ctx.exit()


class _QuietHelp:
    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.callback = _show_help
        return option


class _Command(_QuietHelp, click.Command):
    pass


class _Group(_QuietHelp, click.Group):
    command_class = _Command
    group_class = type  # subgroups are of this class too


@click.group(cls=_Group, context_settings=_SETTINGS)
@click.version_option(__version__, "--version", prog_name=_PROG, message="%(prog)s %(version)s")
def cli():
    """Analytical, unit-checked model of ML systems.

    Every task command takes --json. Shell completion: see `mlsysim-sym completion --help`.
    """


# ---- predict ---------------------------------------------------------------------------------
#: predict options that only LLM serving (decoder and MoE models) takes: option -> argument name
_LLM_ONLY = {"--phase": "phase", "--tp": "tp", "--stack": "stack",
             "--uncertainty": "uncertainty", "--explain": "explain",
             "--weight-bits": "weight_bits"}
#: predict options a family does not take at all (its result would silently ignore them)
_NOT_FOR = {"tinyml": ("--batch", "--seq-len"), "cnn": ("--seq-len",), "vit": ("--seq-len",),
            "diffusion": ("--seq-len",)}


def _predict_kwargs(args, family: str, model_name: str) -> dict:
    """predict()'s keywords from the options given; an option the family ignores is an error."""
    if family in ("decoder", "moe"):
        kw = {"batch": args["batch"], "seq_len": args["seq_len"], "phase": args["phase"],
              "tp": args["tp"], "stack": args["stack"], "uncertainty": args["uncertainty"],
              "weight_bits": args["weight_bits"]}
        return {k: v for k, v in kw.items() if v is not None and v is not False}
    if family == "ssm":  # a recurrent LLM: the serving knobs without TP, bands, weight bits, explain
        bad = [o for o in ("--tp", "--uncertainty", "--weight-bits", "--explain")
               if args[_LLM_ONLY[o]] is not None and args[_LLM_ONLY[o]] is not False]
        if bad:
            raise ValueError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to "
                             f"{model_name}, an ssm model; it takes --batch, --seq-len, --phase, "
                             "--stack, --precision, --efficiency")
        kw = {"batch": args["batch"], "seq_len": args["seq_len"], "phase": args["phase"],
              "stack": args["stack"]}
        return {k: v for k, v in kw.items() if v is not None}
    given = [opt for opt, dest in (("--batch", "batch"), ("--seq-len", "seq_len"),
                                   *_LLM_ONLY.items())
             if args[dest] is not None and args[dest] is not False]
    bad = [o for o in given if o in _LLM_ONLY or o in _NOT_FOR.get(family, ())]
    if bad:
        takes = [o for o in ("--batch", "--seq-len") if o not in _NOT_FOR.get(family, ())]
        raise ValueError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to "
                         f"{model_name}, a {family} model; it takes "
                         f"{', '.join(takes + ['--precision', '--efficiency'])}")
    return {k: args[k] for k in ("batch", "seq_len") if args[k] is not None}


def _headline(r) -> list:
    """(label, value) rows of a prediction: the result's own ``rows()`` (every family says
    what it shows, in readable units)."""
    return r.rows()


@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.argument("hardware", shell_complete=_complete(("hardware",)))
@click.option("--batch", type=POSITIVES, default=None, show_default="1",
              help="a number, or a list to sweep (1,2,4,8)")
@click.option("--seq-len", type=POSITIVES, default=None, show_default="2048; encoders: their own",
              help="prompt / context length (LLMs, encoders); a list sweeps it")
@click.option("--precision", default=None,
              show_default="fp16; TinyML: the deployment precision",
              help="compute and storage precision (fp32 tf32 bf16 fp16 fp8 int8 fp4 int4)")
@click.option("--weight-bits", type=float, default=None, show_default="the precision's bits",
              help="LLMs: weight-only quantisation, storage bits per weight (4.5 for llama.cpp "
                   "Q4_0); compute stays at --precision")
@click.option("--phase", type=click.Choice(("decode", "prefill")), default=None,
              show_default="decode",
              help="LLMs: which phase latency and throughput refer to")
@click.option("--efficiency", default=None, show_default="calibrated",
              help="achieved fraction of peak for compute and memory, or NAME=VALUE,... "
                   "(compute, memory, ...)")
@click.option("--tp", type=POSITIVE, default=None, show_default="1",
              help="LLMs: tensor-parallel group size")
@click.option("--stack", default=None, show_default="pooled",
              help="LLMs: serving engine (trt_llm, vllm, sglang, llama.cpp, mlx, nim) for its "
                   "calibrated per-step overhead (the pooled one where it has no data)")
@_file_options
@_json_option
@click.option("--explain", is_flag=True, help="show the equations with numbers")
@_plot_option("the roofline with the prefill and decode operating points (a sweep: the "
              "output against the swept knob)")
@click.option("--plot-kind", type=click.Choice(("roofline", "sweep", "pareto")), default=None,
              show_default="sweep for a list of batches or lengths, else roofline",
              help="which figure --plot draws (sweep and pareto need a list)")
@click.option("--plot-y", default=None, metavar="OUTPUT", show_default="latency",
              help="the output a sweep plot draws (time_per_output_token, ttft, ...)")
@click.option("--uncertainty", is_flag=True,
              help="p10/p50/p90 bands from the calibrated parameters' spreads")
def predict(**args):
    """Latency, throughput and memory of MODEL on one HARDWARE chip.

    MODEL is a registry name (llama-3-8b) or a path to a Hugging Face config.json."""
    return _run(_cmd_predict, args)


def _cmd_predict(args) -> int:
    _check_inputs(models=[args["model"]], hardware=[args["hardware"]],
                  precision=args["precision"], files=[args["hardware_file"], args["model_file"]])
    import mlsysim_sym as ms
    from mlsysim_sym import registry
    m = registry.model(_model(args["model"], args["model_file"]))
    family = m.family
    swept = _swept_knobs(args)
    r = ms.predict(m, args["hardware"], precision=args["precision"],
                   efficiency=_efficiency(args["efficiency"]),
                   **_predict_kwargs(args, family, m.name))
    if swept and not args["as_json"]:
        _print_sweep(r, swept, family)
    elif args["as_json"]:
        d = r.to_dict()
        if getattr(r, "bands", None):
            d["bands"] = {k: {"p10": float(b.p10.magnitude), "p50": float(b.p50.magnitude),
                              "p90": float(b.p90.magnitude), "unit": f"{b.p50.units:~P}"}
                          for k, b in r.bands.items()}
        d["model_family"] = family  # the registry family (a result's "family" is its kind)
        click.echo(json.dumps(d, indent=2, default=_json_default))
    else:
        if family in ("decoder", "moe", "ssm"):
            knobs = (f"batch {args['batch'] or 1}, seq_len {args['seq_len'] or 2048}, "
                     f"phase {r.phase}")
        else:
            knobs = ", ".join(f"{k} {args[k]}" for k in ("batch", "seq_len") if args[k])
        click.echo(f"{r.model.name} on {r.hardware.name} ({family}, {r.precision}"
                   + (f", {knobs}" if knobs else "") + ")")
        for label, q in _headline(r):
            click.echo(f"  {label:24s} {q:.4g~P}" if hasattr(q, "units")
                       else f"  {label:24s} {q:.4g}")
        click.echo(f"  {'feasible':24s} {r.feasible}")
        click.echo(f"  {'bottleneck':24s} {r.bottleneck} ({r.bottleneck_detail})")
        for note in getattr(r, "notes", ()) or ():
            click.echo(f"  {'note':24s} {note}")
        if getattr(r, "bands", None):
            for k in ("ttft", "time_per_output_token", "throughput"):
                b = r.bands[k]
                click.echo(f"  {k + ' p10..p90':24s} {b.p10:.4g~P} .. {b.p90:.4g~P}")
    if args["explain"]:
        click.echo()
        click.echo(r.explain())
    _write_plot(r, args["plot"], kind=args["plot_kind"],
                **({"y": args["plot_y"]} if args["plot_y"] else {}))
    return 0


def _swept_knobs(args) -> list:
    """--batch / --seq-len given as lists: numpy arrays in args (a grid when both are), and the
    swept option names; options that need one point are refused with a sweep."""
    import numpy as np
    swept = [k for k in ("batch", "seq_len") if isinstance(args[k], tuple)]
    for k in swept:
        args[k] = np.array(args[k])
    if len(swept) == 2:
        args["batch"] = args["batch"][:, None]
    if swept:
        for opt, dest in (("--uncertainty", "uncertainty"), ("--explain", "explain")):
            if args[dest]:
                raise ValueError(f"{opt} needs one --batch and one --seq-len, not a list")
    elif args["plot_kind"] in ("sweep", "pareto"):
        raise ValueError(f"--plot-kind {args['plot_kind']} needs a list to sweep, e.g. "
                         "--batch 1,2,4,8")
    if args["plot_y"] and (args["plot_kind"] or ("sweep" if swept else "roofline")) != "sweep":
        raise ValueError("--plot-y chooses the output of a sweep plot (--plot-kind sweep, the "
                         "default for a list); a roofline or Pareto plot has fixed axes")
    if (args["plot_kind"] or args["plot_y"]) and not args["plot"]:
        raise ValueError("--plot-kind and --plot-y choose the figure of --plot FILE; give --plot")
    return swept


def _print_sweep(r, swept, family) -> None:
    """A vectorised prediction as one table row per point."""
    import numpy as np
    inputs = r.inputs()
    knobs = {"batch": inputs["batch"]} if "batch" in swept else {}
    if "seq_len" in swept:
        knobs["seq_len"] = inputs.get("context_length", inputs.get("prompt_length"))
    outs = {"latency": r.latency, "throughput": r.throughput}
    if family in ("decoder", "moe"):
        outs.update(ttft=r.ttft, time_per_output_token=r.time_per_output_token)
    outs["memory_footprint"] = r.memory_footprint.to("GB")
    shape = np.broadcast_shapes(*(np.shape(q.magnitude) for q in (*knobs.values(),
                                                                  *outs.values())))
    cols = {k: np.broadcast_to(np.asarray(q.magnitude), shape).ravel()
            for k, q in knobs.items()}
    units = {k: f"{q.units:~P}" for k, q in outs.items()}
    for k, q in outs.items():
        cols[f"{k} [{units[k]}]"] = np.broadcast_to(np.asarray(q.magnitude, dtype=float),
                                                    shape).ravel()
    for k in ("bottleneck", "feasible"):
        cols[k] = np.broadcast_to(np.asarray(getattr(r, k), dtype=object), shape).ravel()
    phase = f", phase {r.phase}" if family in ("decoder", "moe") else ""
    click.echo(f"{r.model.name} on {r.hardware.name} ({family}, {r.precision}{phase}): "
               f"{cols[next(iter(cols))].size} points")
    rows = [{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in cols.items()}
            for i in range(next(iter(cols.values())).size)]
    click.echo(format_table(rows))


def _write_plot(result, path, kind=None, **options) -> None:
    """``--plot FILE``: the result's figure (``kind``, default: the result's own) as a PNG
    (headless: the Agg backend)."""
    if not path:
        return
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--plot needs matplotlib, which is not installed: pip install "
                         "'mlsysim_sym[plot]'") from None
    matplotlib.use("Agg")
    result.plot(kind=kind, path=path, **options)
    click.echo(f"wrote {path}", err=True)


# ---- train -----------------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.argument("cluster", shell_complete=_complete(("cluster", "hardware")))
@click.option("--devices", type=POSITIVE, default=None, show_default="the whole cluster",
              help="accelerators used (required when CLUSTER is a chip)")
@click.option("--global-batch", type=POSITIVE, required=True, help="sequences per step")
@click.option("--seq-len", type=POSITIVE, default=2048, help="tokens per sequence")
@click.option("--tp", type=POSITIVE, default=1, help="tensor parallel")
@click.option("--pp", type=POSITIVE, default=1, help="pipeline parallel")
@click.option("--dp", type=POSITIVE, default=None, show_default="devices / (tp pp cp)",
              help="data parallel")
@click.option("--cp", type=POSITIVE, default=1, help="context parallel")
@click.option("--ep", type=POSITIVE, default=1, help="expert parallel (MoE)")
@click.option("--micro-batch", type=POSITIVE, default=1, help="sequences per micro-batch")
@click.option("--precision", default="bf16", help="compute precision")
@click.option("--recompute", type=click.Choice(("none", "selective", "full", "op", "dots",
                                               "nothing_saveable")),
              default="none", help="activation recomputation (op: torchtitan's op-level "
                                   "selective checkpointing; dots, nothing_saveable: JAX's "
                                   "policies, MaxText remat_policy minimal and full)")
@click.option("--zero-stage", type=click.IntRange(0, 3), default=0,
              help="ZeRO / FSDP sharding stage")
@click.option("--sequence-parallel", is_flag=True, help="Megatron sequence parallelism")
@click.option("--cuda-graphs", is_flag=True,
              help="CUDA graphs capture the step's kernels (host issue time per region, not "
                   "per kernel launch)")
@click.option("--vocab-tiles", type=POSITIVE, default=1,
              help="chunks the loss's logits are computed in (MaxText num_vocab_tiling): 1/n of "
                   "the logits live at once, the LM head's forward re-run in the backward")
@click.option("--interleave", type=POSITIVE, default=1, help="model chunks per pipeline stage")
@click.option("--overlap", type=click.FloatRange(0, 1), default=1.0,
              help="fraction of compute hiding data-parallel communication")
@click.option("--tp-overlap", type=click.FloatRange(0, 1), default=None,
              show_default="calibrated", help="share of the tensor-parallel traffic hidden")
@click.option("--pp-overlap", type=click.FloatRange(0, 1), default=None,
              show_default="calibrated", help="share of the pipeline sends hidden")
@click.option("--ep-overlap", type=click.FloatRange(0, 1), default=None,
              show_default="calibrated", help="share of the expert all-to-alls hidden")
@click.option("--sequence-fill", type=click.FloatRange(0.01, 1), default=1.0,
              help="mean padded length over --seq-len (a loader padding each batch to its "
                   "longest sequence); memory stays at --seq-len")
@click.option("--head-token-fraction", type=click.FloatRange(0.001, 1), default=1.0,
              help="share of tokens the output layer and loss run on (BERT's masked "
                   "positions)")
@click.option("--recompute-modules", default=None, metavar="NAME,...",
              help="with --recompute selective: Megatron-Core's --recompute-modules "
                   "(core_attn, mla_up_proj, mlp, moe_act)")
@click.option("--no-cpu-binding", "cpu_binding", flag_value=False, default=True,
              help="processes not bound to their GPU's NUMA node (a Grace host issues slower)")
@click.option("--stage-layers", type=click.FloatRange(0, min_open=True), default=None,
              show_default="layers / pp", help="layers on the busiest pipeline rank")
@click.option("--tokens", default=None, help="training tokens (e.g. 15e12), for time to train")
@click.option("--datacenter", default=None, show_default="the cluster's",
              help="grid region for energy, carbon, water", shell_complete=_complete(
                  ("datacenter",)))
@click.option("--efficiency", default=None, show_default="calibrated",
              help="compute efficiency, or NAME=VALUE,... (compute, memory, communication, ...)")
@click.option("--lora-rank", type=POSITIVE, default=None, help="train LoRA adapters")
@_file_options
@_json_option
@_plot_option("the step-time breakdown")
@click.option("--uncertainty", is_flag=True, help="p10/p50/p90 bands")
def train(**args):
    """Step time, MFU, throughput and memory per device of one training step of MODEL on a
    CLUSTER (a registry cluster, or a chip with --devices)."""
    return _run(_cmd_train, args)


def _cmd_train(args) -> int:
    _check_inputs(models=[args["model"]], clusters=[args["cluster"]],
                  precision=args["precision"], files=[args["hardware_file"], args["model_file"]])
    import mlsysim_sym as ms
    if args["tokens"] is not None:
        try:  # a bare count of tokens ("15e12"); anything else goes to the strict parser
            args["tokens"] = float(args["tokens"])
        except ValueError:
            pass
    kw = {k: args[k] for k in ("devices", "tp", "pp", "dp", "cp", "ep", "micro_batch",
                               "global_batch", "seq_len", "precision", "recompute", "zero_stage",
                               "sequence_parallel", "cuda_graphs", "vocab_tiles", "interleave",
                               "overlap", "tp_overlap", "pp_overlap", "ep_overlap",
                               "sequence_fill", "head_token_fraction", "cpu_binding",
                               "stage_layers", "tokens", "datacenter", "lora_rank",
                               "uncertainty")
          if args[k] is not None}
    if args["recompute_modules"] is not None:
        kw["recompute_modules"] = tuple(x.strip() for x in args["recompute_modules"].split(",")
                                        if x.strip())
    r = ms.train(_model(args["model"], args["model_file"]), args["cluster"],
                 efficiency=_efficiency(args["efficiency"]), **kw)
    print_result(r, args["as_json"], title=repr(r))
    _write_plot(r, args["plot"])
    return 0


# ---- serve -----------------------------------------------------------------------------------
def _serving_options(f):
    for opt in reversed((
            click.option("--qps", type=float, required=True, help="requests per second"),
            click.option("--input-tokens", type=POSITIVE, default=1024,
                         help="prompt tokens per request"),
            click.option("--output-tokens", type=POSITIVE, default=256,
                         help="generated tokens per request"),
            click.option("--percentile", type=click.FloatRange(0, 1, min_open=True,
                                                               max_open=True),
                         default=0.99, help="TTFT percentile"),
            click.option("--precision", default="fp16"),
            click.option("--efficiency", default=None, show_default="calibrated",
                         help="fraction of peak, or NAME=VALUE,..."),
            click.option("--cloud-price", default=None, show_default="the registry's",
                         help="rental price per device-hour, e.g. '2.5 USD/h'"),
            click.option("--prefix-cache-hit-rate", type=float, default=0.0,
                         help="share of each prompt found in the prefix cache, in [0, 1)"),
            click.option("--speculative", default=None, metavar="DRAFT,TOKENS,ACCEPTANCE",
                         help="speculative decoding: draft model (or cost ratio), drafted "
                              "tokens per step, acceptance rate, e.g. llama-3.2-1b,4,0.7"))):
        f = opt(f)
    return f


@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.argument("hardware", shell_complete=_complete(("hardware",)))
@_serving_options
@click.option("--replicas", type=POSITIVE, default=1, help="model replicas")
@click.option("--tp", type=POSITIVE, default=1, help="chips per replica (tensor parallel)")
@click.option("--batch", type=POSITIVE, default=None, show_default="the largest that fits",
              help="request slots per replica (continuous batching)")
@click.option("--datacenter", default=None, help="grid region for the carbon figure",
              shell_complete=_complete(("datacenter",)))
@_file_options
@_json_option
@click.option("--uncertainty", is_flag=True, help="p10/p50/p90 bands")
def serve(**args):
    """Latency, capacity, cost and carbon of a serving fleet of HARDWARE at a request rate."""
    return _run(_cmd_serve, args)


def _cmd_serve(args) -> int:
    _check_inputs(models=[args["model"]], hardware=[args["hardware"]],
                  precision=args["precision"], files=[args["hardware_file"], args["model_file"]])
    import mlsysim_sym as ms
    kw = {k: args[k] for k in ("qps", "input_tokens", "output_tokens", "replicas", "tp", "batch",
                               "percentile", "precision", "datacenter", "cloud_price",
                               "uncertainty") if args[k] is not None}
    r = ms.serve(_model(args["model"], args["model_file"]), args["hardware"],
                 efficiency=_efficiency(args["efficiency"]),
                 prefix_cache_hit_rate=args["prefix_cache_hit_rate"],
                 speculative=_speculative(args["speculative"]), **kw)
    print_result(r, args["as_json"], title=repr(r))
    return 0


# ---- size ------------------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.argument("hardware", nargs=-1, required=True, shell_complete=_complete(("hardware",)))
@_serving_options
@click.option("--ttft", default="500 ms", help="TTFT SLO at the percentile")
@click.option("--tpot", default="50 ms", help="time-per-output-token SLO")
@click.option("--tp", "tp", type=POSITIVE, multiple=True, show_default="1, 2, 4, 8 in a node",
              help="tensor-parallel degrees to search (repeatable)")
@click.option("--datacenter", multiple=True, help="grid region(s) for carbon (repeatable)",
              shell_complete=_complete(("datacenter",)))
@click.option("--budget", default=None, help="upper bound on cost, e.g. '2e6 USD'")
@click.option("--carbon-cap", default=None, help="upper bound on operational carbon per year")
@click.option("--objective", type=click.Choice(("devices", "cost", "carbon")),
              default="devices", help="what to minimise across candidate chips")
@_file_options
@_json_option
def size(**args):
    """The smallest serving fleet of one of the HARDWARE chips meeting an SLO at a rate."""
    return _run(_cmd_size, args)


def _cmd_size(args) -> int:
    _check_inputs(models=[args["model"]], hardware=args["hardware"],
                  precision=args["precision"], files=[args["hardware_file"], args["model_file"]])
    import mlsysim_sym as ms
    f = ms.size_fleet(_model(args["model"], args["model_file"]), list(args["hardware"]),
                      qps=args["qps"], input_tokens=args["input_tokens"],
                      output_tokens=args["output_tokens"],
                      slo={"ttft": args["ttft"], "tpot": args["tpot"]},
                      percentile=args["percentile"], precision=args["precision"],
                      datacenter=list(args["datacenter"]) or None,
                      tp=list(args["tp"]) or None, budget=args["budget"],
                      carbon_cap=args["carbon_cap"], objective=args["objective"],
                      efficiency=_efficiency(args["efficiency"]),
                      cloud_price=args["cloud_price"],
                      prefix_cache_hit_rate=args["prefix_cache_hit_rate"],
                      speculative=_speculative(args["speculative"]))
    print_result(f, args["as_json"], title=repr(f))
    return 0


# ---- plan ------------------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.argument("cluster", shell_complete=_complete(("cluster", "hardware")))
@click.option("--global-batch", type=POSITIVE, required=True, help="sequences per step")
@click.option("--devices", type=POSITIVE, default=None, show_default="the whole cluster",
              help="accelerators (required when CLUSTER is a chip)")
@click.option("--seq-len", type=POSITIVE, default=2048)
@click.option("--precision", default="bf16")
@click.option("--recompute", type=click.Choice(("none", "selective", "full")), multiple=True,
              show_default="all three", help="recompute modes to search (repeatable)")
@click.option("--zero-stage", type=click.IntRange(0, 3), multiple=True,
              show_default="0, 1, 2, 3", help="ZeRO stages to search (repeatable)")
@click.option("--tp", type=POSITIVE, multiple=True, show_default="powers of 2 up to the node",
              help="tensor-parallel degrees to search (repeatable)")
@click.option("--pp", type=POSITIVE, multiple=True,
              show_default="divisors of the layer count", help="pipeline degrees (repeatable)")
@click.option("--micro-batch", type=POSITIVE, multiple=True,
              show_default="divisors of the per-replica batch", help="(repeatable)")
@click.option("--objective", type=click.Choice(("step_time", "mfu", "memory", "tokens_per_s")),
              default="step_time", help="what ranks the layouts")
@click.option("--top", type=POSITIVE, default=10, help="rows to keep")
@_file_options
@_json_option
def plan(**args):
    """The parallelism search: every TP x PP x DP x micro-batch x recompute x ZeRO layout of
    MODEL on CLUSTER that fits, best first."""
    return _run(_cmd_plan, args)


def _cmd_plan(args) -> int:
    _check_inputs(models=[args["model"]], clusters=[args["cluster"]],
                  precision=args["precision"], files=[args["hardware_file"], args["model_file"]])
    import mlsysim_sym as ms
    kw = {"recompute": args["recompute"], "zero_stages": args["zero_stage"], "tp": args["tp"],
          "pp": args["pp"], "micro_batches": args["micro_batch"]}
    with _progress(args["as_json"], "plan") as progress:
        p = ms.best_parallelism(_model(args["model"], args["model_file"]), args["cluster"],
                                args["global_batch"], devices=args["devices"],
                                seq_len=args["seq_len"], precision=args["precision"],
                                objective=args["objective"], top=args["top"],
                                progress=progress, **{k: v for k, v in kw.items() if v})
    print_result(p, args["as_json"], title=repr(p))
    return 0


# ---- synthesize ------------------------------------------------------------------------------
def _parse_targets(items) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--target must look like NAME=QUANTITY (e.g. tpot='20 ms'), "
                             f"got {item!r}")
        out[name.strip()] = value.strip()
    return out


@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.option("--target", multiple=True, required=True, metavar="NAME=QUANTITY",
              help="e.g. --target tpot='20 ms' --target ttft='500 ms'")
@click.option("--unknown", multiple=True, metavar="NAME",
              show_default="peak_flops, memory_bandwidth, memory_capacity",
              help="chip specs to solve for (repeatable)")
@click.option("--batch", type=POSITIVE, default=1)
@click.option("--seq-len", type=POSITIVE, default=2048)
@click.option("--precision", default="fp16")
@click.option("--model-file", type=click.Path(dir_okay=False),
              help="YAML with your own model entries, or a Hugging Face config.json")
@_json_option
def synthesize(**args):
    """Inverse roofline: the chip specs MODEL needs to meet latency targets."""
    return _run(_cmd_synthesize, args)


def _cmd_synthesize(args) -> int:
    _check_inputs(models=[args["model"]], precision=args["precision"],
                  files=[args["model_file"]])
    import mlsysim_sym as ms
    unknowns = list(args["unknown"]) or ["peak_flops", "memory_bandwidth", "memory_capacity"]
    r = ms.synthesize(_model(args["model"], args["model_file"]),
                      targets=_parse_targets(args["target"]), unknowns=unknowns,
                      batch=args["batch"], seq_len=args["seq_len"], precision=args["precision"])
    if args["as_json"]:
        click.echo(json.dumps(r.to_dict(), indent=2, default=_json_default))
        return 0
    for u, res in r.items():
        if res.feasible and res.value is not None:
            click.echo(f"{u:18s} >= {res.value:.4g~P}  (set by {r.binding_target[u]}; "
                       f"{res.method}; binding {res.binding})")
        else:
            click.echo(f"{u:18s} unreachable: {res.message}")
    click.echo()
    click.echo(format_table(r.chips))
    return 0


# ---- sensitivity -----------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.argument("hardware", shell_complete=_complete(("hardware",)))
@click.option("--output", default="time_per_output_token", help="the output to differentiate")
@_plot_option("the tornado chart")
@click.option("--batch", type=POSITIVE, default=1)
@click.option("--seq-len", type=POSITIVE, default=2048)
@click.option("--precision", default="fp16")
@_file_options
@_json_option
def sensitivity(**args):
    """Elasticities d ln y / d ln x of an output of predict with respect to every input."""
    return _run(_cmd_sensitivity, args)


def _cmd_sensitivity(args) -> int:
    _check_inputs(models=[args["model"]], hardware=[args["hardware"]],
                  precision=args["precision"], files=[args["hardware_file"], args["model_file"]])
    import mlsysim_sym as ms
    r = ms.predict(_model(args["model"], args["model_file"]), args["hardware"],
                   batch=args["batch"], seq_len=args["seq_len"], precision=args["precision"])
    s = ms.sensitivity(r, args["output"])
    if args["as_json"]:
        click.echo(json.dumps(s.to_dict(), indent=2, default=_json_default))
        return 0
    _write_plot(s, args["plot"])
    click.echo(f"{s.output} = {s.value:.4g~P}  (binding: {s.binding})")
    rows = [{"input": name, "elasticity d ln y / d ln x": round(float(e), 4),
             "one-sided": list(s.one_sided[name]) if name in s.one_sided else None}
            for name, e in s.ranked()]
    click.echo(format_table(rows))
    return 0


# ---- compress / footprint --------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("model", shell_complete=_complete(("model",)))
@click.option("--bits", type=click.FloatRange(1, 64), default=4.0, help="bits per weight code")
@click.option("--group-size", type=POSITIVE, default=128, help="weights per scale and zero")
@click.option("--sparsity", type=click.Choice(("2:4",)), default=None, show_default="dense",
              help="2:4 structured sparsity")
@click.option("--baseline-bits", type=click.FloatRange(1, 64), default=16.0,
              help="bits per weight of the uncompressed reference")
@click.option("--model-file", type=click.Path(dir_okay=False),
              help="YAML with your own model entries, or a Hugging Face config.json")
@_json_option
def compress(**args):
    """Weight size and compression ratio of MODEL quantized (wall 13), with the accuracy cost
    published evaluations report."""
    return _run(_cmd_compress, args)


def _cmd_compress(args) -> int:
    _check_inputs(models=[args["model"]], files=[args["model_file"]])
    import mlsysim_sym as ms
    r = ms.compress(_model(args["model"], args["model_file"]), bits=args["bits"],
                    group_size=args["group_size"], sparsity=args["sparsity"],
                    baseline_bits=args["baseline_bits"])
    if args["as_json"]:
        print_result(r, True)
        return 0
    d = r.to_dict()
    accuracy = d.pop("accuracy")
    print_result(d, False, title=repr(r))
    if accuracy:
        click.echo(f"\naccuracy ({accuracy['metric']}): {accuracy['note']}")
        if accuracy["evidence"]:
            click.echo(format_table(accuracy["evidence"]))
    return 0


@cli.command(context_settings=_SETTINGS)
@click.argument("hardware", shell_complete=_complete(("hardware",)))
@click.option("--devices", type=POSITIVE, required=True, help="number of chips")
@click.option("--days", type=click.FloatRange(0, min_open=True), required=True,
              help="how long the fleet runs")
@click.option("--datacenter", required=True, help="grid region (quebec, virginia, ...)",
              shell_complete=_complete(("datacenter",)))
@click.option("--utilization", type=click.FloatRange(0, 1), default=1.0,
              help="average fraction of the time the chips are busy")
@click.option("--idle-power", default=None, show_default="the TDP (an upper bound)",
              help="power of an idle chip, e.g. '70 W'")
@click.option("--electricity-price", default=None, show_default="the datacenter's",
              help="e.g. '0.08 USD/kWh'")
@click.option("--cloud-price", default=None, show_default="the registry's",
              help="rental price per device-hour, e.g. '2.5 USD/h'")
@click.option("--hardware-file", type=click.Path(dir_okay=False),
              help="YAML file with your own accelerator entries")
@_json_option
def footprint(**args):
    """Energy, electricity and rental cost, carbon and water of DEVICES HARDWARE chips over
    DAYS (walls 17 and 18)."""
    return _run(_cmd_footprint, args)


def _cmd_footprint(args) -> int:
    _check_inputs(hardware=[args["hardware"]], files=[args["hardware_file"]])
    import mlsysim_sym as ms
    r = ms.fleet_footprint(args["hardware"], args["devices"], days=args["days"],
                           datacenter=args["datacenter"], utilization=args["utilization"],
                           idle_power=args["idle_power"],
                           electricity_price=args["electricity_price"],
                           cloud_price=args["cloud_price"])
    print_result(r, args["as_json"], title=repr(r))
    return 0


# ---- cite ------------------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("name", shell_complete=_complete(("model", "hardware", "cluster", "node",
                                                   "fabric", "datacenter")))
@click.argument("hardware", required=False, shell_complete=_complete(("hardware",)))
@click.option("--batch", type=POSITIVE, default=None, show_default="1")
@click.option("--seq-len", type=POSITIVE, default=None, show_default="2048")
@click.option("--precision", default=None, show_default="fp16")
@_file_options
def cite(**args):
    """BibTeX of every source behind a registry entry (NAME), or behind a prediction of NAME
    (a model) on HARDWARE: the equations' papers and the registry values used."""
    return _run(_cmd_cite, args)


def _cmd_cite(args) -> int:
    from mlsysim_sym import registry
    files = [args["hardware_file"], args["model_file"]]
    if args["hardware"] is None:
        _check_inputs(files=files)
        click.echo(registry.bibtex(registry.get_registry().find(args["name"])), nl=False)
        return 0
    _check_inputs(models=[args["name"]], hardware=[args["hardware"]],
                  precision=args["precision"], files=files)
    import mlsysim_sym as ms
    m = registry.model(_model(args["name"], args["model_file"]))
    r = ms.predict(m, args["hardware"], precision=args["precision"],
                   **{k: args[k] for k in ("batch", "seq_len") if args[k] is not None})
    click.echo(ms.cite(r), nl=False)
    return 0


# ---- equations -------------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("wall", required=False)
@click.option("--latex", is_flag=True, help="LaTeX (the default)")
@click.option("--markdown", is_flag=True, help="Markdown with inline LaTeX")
def equations(**args):
    """Print the equations of one WALL (name or number) or of all walls."""
    return _run(_cmd_equations, args)


def _cmd_equations(args) -> int:
    from mlsysim_sym.equations import walls
    wall = args["wall"]
    selected = [walls[int(wall)] if wall.isdigit() else walls[wall]] if wall else list(walls)
    for w in selected:
        if args["markdown"]:
            from mlsysim_sym.report import latex_expr
            from mlsysim_sym.symbols import info
            click.echo(f"## Wall {w.number}: {w.name}\n\n{w.summary}\n\n*Regime:* {w.regime}\n")
            for eq in w.equations:
                click.echo(f"- $${info(eq.lhs).latex} = {latex_expr(eq.rhs)}$$ "
                           f"({eq.cite}, {eq.locator})")
            click.echo()
        else:
            click.echo(w.latex())
            click.echo()
    return 0


# ---- validate / calibrate --------------------------------------------------------------------
def _progress(as_json: bool, title: str):
    """The progress bar of a long command on stderr (a context manager giving the ``progress``
    callable; it gives None with --json and when stderr is not a terminal)."""
    from mlsysim_sym.progress import Progress, is_terminal
    if as_json or not is_terminal(sys.stderr):
        import contextlib
        return contextlib.nullcontext(None)
    return Progress(title)


@cli.command(context_settings=_SETTINGS)
@click.option("--category", multiple=True,
              type=click.Choice(("training", "inference", "tinyml", "energy", "other")),
              help="report these categories only (repeatable)")
@click.option("--measurements", type=click.Path(dir_okay=False),
              show_default="the shipped published measurements",
              help="your own measurement file")
@click.option("--no-loso", is_flag=True,
              help="in-sample only (skip the leave-one-source-out refits, ~1 min)")
@click.option("--summary", is_flag=True, help="only the per-category and per-vendor summary")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="processes for the leave-one-source-out refits")
@_json_option
def validate(**args):
    """Run the published measurements through the model: in sample, leave-one-source-out,
    bands."""
    return _run(_cmd_validate, args)


def _cmd_validate(args) -> int:
    from mlsysim_sym.calibration import validate as run_validate
    with _progress(args["as_json"], "validate") as progress:
        report = run_validate(args["measurements"], category=list(args["category"]) or None,
                              loso=not args["no_loso"], cross_generation=not args["no_loso"],
                              bands=not args["no_loso"], progress=progress,
                              workers=args["workers"])
    if args["as_json"]:
        rows = [{"id": r.id, "category": r.category, "vendor": r.vendor, "regime": r.regime,
                 "source": r.source, "unit": r.unit,
                 "measured": r.measured, "in_sample": r.in_sample, "loso": r.loso,
                 "p10": r.band[0], "p90": r.band[2]} for r in report.rows]
        click.echo(json.dumps({"summary": report.summary(), "vendors": report.vendor_summary(),
                               "strata": report.strata, "rows": rows,
                               "cross_generation": {k: v for k, v in
                                                    report.cross_generation.items()
                                                    if k != "parameters"},
                               "not_covered": [{"id": u.id, "why": u.why}
                                               for u in report.not_covered]}, indent=2,
                              default=lambda x: None))
    elif args["summary"]:
        click.echo(report.summary_text())
    else:
        click.echo(report.table())
    return 0


@cli.command(context_settings=_SETTINGS)
@click.argument("measurements", required=False, type=click.Path(dir_okay=False))
@click.option("--parameter", multiple=True, metavar="NAME", show_default="all used",
              help="parameter to fit, e.g. memory_efficiency[serve] (repeatable)")
@_json_option
def calibrate(**args):
    """Fit calibrated parameters to MEASUREMENTS (default: the shipped calibration set)."""
    return _run(_cmd_calibrate, args)


def _cmd_calibrate(args) -> int:
    from mlsysim_sym.calibration import calibrate as run_calibrate
    with _progress(args["as_json"], "calibrate") as progress:
        result = run_calibrate(args["measurements"], parameters=list(args["parameter"]) or None,
                               progress=progress)
    if args["as_json"]:
        click.echo(json.dumps({name: {"value": p.value, "unit": p.unit, "ci95": list(p.ci),
                                      "identifiable": p.identifiable, "note": p.note}
                               for name, p in result.parameters.items()}, indent=2,
                              default=lambda x: None))
    else:
        click.echo(result.report())
    return 0


# ---- registry --------------------------------------------------------------------------------
#: registry list KIND -> (lister, the filters it takes)
_LISTINGS = {"hardware": ("list_hardware", ("vendor", "tier")),
             "models": ("list_models", ("family",)),
             "datacenters": ("list_datacenters", ()), "clusters": ("list_clusters", ()),
             "nodes": ("list_nodes", ()), "fabrics": ("list_fabrics", ()),
             "sources": ("list_sources", ())}


@cli.group(context_settings=_SETTINGS)
def registry():
    """List, show or audit the built-in registry."""


@registry.command("list", context_settings=_SETTINGS)
@click.argument("kind", required=False, default="hardware", type=click.Choice(tuple(_LISTINGS)))
@click.option("--vendor", help="hardware only: nvidia, amd, google, st, ...")
@click.option("--tier", help="hardware only: datacenter, workstation, edge, mobile, mcu, "
                             "wafer_scale")
@click.option("--family", help="models only: decoder, moe, encoder, cnn, vit, diffusion, ssm, "
                               "tinyml")
@_json_option
def registry_list(**args):
    """List the entries of KIND; hardware as a table of key specs."""
    return _run(_cmd_registry_list, args)


def _spec_rows(kind: str, listing) -> list:
    """The key specs of each entry as table rows (hardware: peak per precision, memory,
    bandwidth, TDP, prices); other kinds: name and display name."""
    if kind != "hardware":
        return [{"name": e} if isinstance(e, str) else
                {"name": e.name, "display name": getattr(e, "display_name", "")}
                for e in listing]
    from mlsysim_sym.registry.schema import PRECISIONS
    shown = [p for p in PRECISIONS if any(p in hw.precisions for hw in listing)]
    rows = []
    for hw in listing:
        row = {"name": hw.name}
        for p in shown:
            q = hw._peak.get(p)
            row[p] = _q(q, "TOP/s" if p.startswith("int") else "TFLOP/s")
        row["memory"] = _q(hw.memory_capacity, "GB")
        row["bandwidth"] = _q(hw.memory_bandwidth, "GB/s")
        row["tdp"] = _q(hw.tdp, "W")
        row["price"] = _q(hw.price, "USD")
        row["cloud price"] = _q(hw.cloud_price, "USD/h")
        rows.append(row)
    return rows


def _q(q, unit):
    """A quantity as ``{"value", "unit"}`` in ``unit`` (None stays None)."""
    if q is None:
        return None
    return {"value": float(q.to(unit).magnitude), "unit": unit}


def _cmd_registry_list(args) -> int:
    from mlsysim_sym import registry as reg
    kind = args["kind"]
    lister, takes = _LISTINGS[kind]
    filters = {f: args[f] for f in ("vendor", "tier", "family") if args[f] is not None}
    wrong = [f"--{f}" for f in filters if f not in takes]
    if wrong:
        allowed = ", ".join(f"--{f}" for f in takes) or "no filters"
        raise ValueError(f"{', '.join(wrong)} does not apply to 'registry list {kind}' "
                         f"(it takes {allowed})")
    listing = getattr(reg, lister)(**filters)
    if not listing and filters:
        given = ", ".join(f"{k}={v}" for k, v in filters.items())
        click.echo(f"{_PROG}: no {kind} entries with {given}", err=True)
    rows = _spec_rows(kind, listing)
    if args["as_json"]:
        click.echo(json.dumps(rows, indent=2, default=_json_default))
    elif kind == "hardware" and rows:
        units = {k: v["unit"] for row in rows for k, v in row.items() if isinstance(v, dict)}
        plain = [{(f"{k} [{units[k]}]" if k in units else k):
                  (v["value"] if isinstance(v, dict) else v) for k, v in row.items()}
                 for row in rows]
        click.echo(format_table(plain))
    else:
        for row in rows:
            click.echo(f"{row['name']:32s} {row.get('display name', '')}".rstrip())
    return 0


@registry.command("show", context_settings=_SETTINGS)
@click.argument("name", shell_complete=_complete(("model", "hardware", "cluster", "node",
                                                   "fabric", "datacenter")))
def registry_show(**args):
    """Show one entry (or source record) with the source of every value."""
    return _run(_cmd_registry_show, args)


def _cmd_registry_show(args) -> int:
    from mlsysim_sym import registry as reg
    return _echo_ok(reg.describe(args["name"]))


def _echo_ok(text) -> int:
    click.echo(text)
    return 0


@registry.command("audit", context_settings=_SETTINGS)
def registry_audit():
    """Check every value has a source; non-zero exit on problems."""
    return _run(_cmd_registry_audit, {})


def _cmd_registry_audit(args) -> int:
    from mlsysim_sym import registry as reg
    problems = reg.audit()
    for line in problems:
        click.echo(line)
    click.echo(f"{len(problems)} problem(s)")
    return 1 if problems else 0


# ---- mcp -------------------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.option("--http", type=_Port(), metavar="PORT", default=None, show_default="stdio",
              help="streamable HTTP on 127.0.0.1:PORT instead of stdio")
def mcp(**args):
    """Serve the tasks to AI agents over the Model Context Protocol (needs the mcp extra)."""
    return _run(_cmd_mcp, args)


def _cmd_mcp(args) -> int:
    import importlib.util
    install = 'install with pip install "mlsysim_sym[mcp]"'
    if importlib.util.find_spec("mcp") is None:
        click.echo(f"{_PROG}: the MCP server needs the mcp package: {install}", err=True)
        return 2
    try:
        from mlsysim_sym.mcp_server import main as serve_mcp
    except ImportError as exc:
        click.echo(f"{_PROG}: the installed mcp package does not fit ({exc}): {install}",
                   err=True)
        return 2
    try:
        return serve_mcp(http_port=args["http"])
    except KeyboardInterrupt:
        return 0


# ---- completion ------------------------------------------------------------------------------
@cli.command(context_settings=_SETTINGS)
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish")))
def completion(shell):
    """Print the shell-completion script for SHELL. Enable it with, e.g.

    \b
        eval "$(mlsysim-sym completion bash)"     # in ~/.bashrc
        mlsysim-sym completion fish > ~/.config/fish/completions/mlsysim-sym.fish
    """
    from click.shell_completion import get_completion_class
    comp = get_completion_class(shell)(cli, {}, _PROG, "_MLSYSIM_SYM_COMPLETE")
    return _run(lambda a: _echo_ok(comp.source()), {})


# ---------------------------------------------------------------------------------------------
# Running a command: one-line errors, broken pipes, Ctrl-C
# ---------------------------------------------------------------------------------------------
def _run(handler, args) -> int:
    """Run a command's handler: a user error is one line on stderr and status 2."""
    try:
        status = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        raise _PipeGone() from None
    except KeyboardInterrupt:  # Ctrl-C during a long validate: no traceback
        raise _Interrupted() from None
    except (ValueError, KeyError, LookupError, TypeError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        click.echo(f"{_PROG}: error: {msg}", err=True)
        return 2


def _stdout_gone() -> int:
    """The reader closed our stdout (``| head``): stop quietly, as ``cat`` does.

    Later writes (and the interpreter's final flush) go to /dev/null so that no second
    BrokenPipeError is printed; the exit status is 128 + SIGPIPE, what a shell reports for a
    writer the pipe stopped.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (captured in tests)
        pass
    return 141


#: packages pint imports at its own import when they are installed, for integrations the
#: command line never uses: dask (dask-backed quantities; dask.base alone pulls in jinja2, yaml,
#: psutil, cloudpickle: ~0.1 s of CPU) and Babel (locale-aware unit names)
_PINT_EXTRAS = ("dask", "babel")


def _hide_pint_extras() -> list:
    """Hide :data:`_PINT_EXTRAS` from pint while a command runs (when pint is not imported
    yet; pint is imported only by commands that need it, after a wrong name was answered):
    ``None`` in ``sys.modules`` makes ``importlib.util.find_spec`` answer None and ``import``
    fail, which pint reads as "not installed". Returns the names hidden, for
    :func:`_unhide`. Only the command line does this: a Python session that imports
    mlsysim_sym gets pint with every integration it has installed."""
    if "pint" in sys.modules:
        return []
    hidden = [name for name in _PINT_EXTRAS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None
    return hidden


def _unhide(hidden) -> None:
    """Make the packages :func:`_hide_pint_extras` hid importable again."""
    for name in hidden:
        if name in sys.modules and sys.modules[name] is None:
            del sys.modules[name]


def main(argv=None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit status.

    A usage error (an unknown option, a batch of -3) prints click's usage message and raises
    ``SystemExit(2)``, as argparse did; every other user error is one line and status 2.
    """
    hidden = _hide_pint_extras()
    try:
        return _main(argv)
    finally:
        _unhide(hidden)


def _main(argv) -> int:
    try:
        status = cli.main(args=list(sys.argv[1:] if argv is None else argv), prog_name=_PROG,
                          standalone_mode=False)
    except _PipeGone:
        return _stdout_gone()
    except _Interrupted:
        click.echo(f"{_PROG}: interrupted", err=True)
        return 130
    except click.exceptions.Abort:  # Ctrl-C while click itself was reading or parsing
        click.echo(f"{_PROG}: interrupted", err=True)
        return 130
    except click.exceptions.ClickException as exc:
        try:
            exc.show()
        except BrokenPipeError:
            pass
        raise SystemExit(exc.exit_code) from None
    except BrokenPipeError:
        return _stdout_gone()
    if status is None:
        status = 0
    try:  # --help / --version return here: a reader that left early is not an error
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_gone()
    return int(status)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
