"""The ``mlsysim-sym`` command line.

Every error a user can cause prints one clear line on stderr and exits with status 2; nothing a
user types is evaluated as code (names go to the registry, quantities to the strict parser).
Names and precisions are checked before sympy, pint or the walls are loaded (see
:func:`_check_inputs`), so a typo is answered at once. Output cut short by the reader
(``mlsysim-sym equations | head``) ends quietly, as ``cat`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlsysim-sym",
                                description="Analytical, unit-checked model of ML systems.")
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser("predict", help="latency, throughput and memory of a model on a chip")
    pr.add_argument("model", help="model name, e.g. llama-3-8b")
    pr.add_argument("hardware", help="accelerator name, e.g. h100")
    pr.add_argument("--batch", type=_positive_int, default=None, help="default 1")
    pr.add_argument("--seq-len", type=_positive_int, default=None,
                    help="prompt / context length (LLMs, encoders; default 2048, encoders: "
                         "the model's own)")
    pr.add_argument("--precision", default=None,
                    help="default fp16 (TinyML models: their deployment precision)")
    pr.add_argument("--phase", choices=("decode", "prefill"), default=None,
                    help="LLMs: which phase latency and throughput refer to (default decode)")
    pr.add_argument("--efficiency", type=float, default=None,
                    help="achieved fraction of peak for compute and memory (default: calibrated)")
    pr.add_argument("--hardware-file", help="YAML file with your own accelerator entries")
    pr.add_argument("--model-file", help="YAML file with your own model entries")
    pr.add_argument("--json", action="store_true", help="one JSON object with every output")
    pr.add_argument("--explain", action="store_true", help="show the equations with numbers")
    pr.add_argument("--tp", type=_positive_int, default=None,
                    help="LLMs: tensor-parallel group size (default 1)")
    pr.add_argument("--stack", help="serving engine (trt_llm, vllm, nim, llama.cpp) for its "
                                    "calibrated overhead")
    pr.add_argument("--plot", metavar="FILE", help="also write the roofline with the prefill "
                    "and decode operating points as a PNG (needs the [plot] extra)")
    pr.add_argument("--uncertainty", action="store_true",
                    help="p10/p50/p90 bands from the calibrated parameters' spreads")

    eqs = sub.add_parser("equations", help="print the equations of one wall or all walls")
    eqs.add_argument("wall", nargs="?", help="wall name or number (default: all)")
    eqs.add_argument("--latex", action="store_true", help="LaTeX (default)")
    eqs.add_argument("--markdown", action="store_true", help="Markdown with inline LaTeX")

    syn = sub.add_parser("synthesize", help="inverse roofline: chip specs that meet latency targets")
    syn.add_argument("model")
    syn.add_argument("--target", action="append", required=True, metavar="NAME=QUANTITY",
                     help="e.g. --target tpot='20 ms' --target ttft='500 ms'")
    syn.add_argument("--unknown", action="append", metavar="NAME",
                     help="peak_flops, memory_bandwidth, memory_capacity (default: all three)")
    syn.add_argument("--batch", type=_positive_int, default=1)
    syn.add_argument("--seq-len", type=_positive_int, default=2048)
    syn.add_argument("--precision", default="fp16")
    syn.add_argument("--json", action="store_true")

    size = sub.add_parser("size", help="minimum serving fleet for a request rate and an SLO")
    size.add_argument("model")
    size.add_argument("hardware", nargs="+", help="one or several candidate chips")
    size.add_argument("--qps", type=float, required=True, help="requests per second")
    size.add_argument("--input-tokens", type=_positive_int, default=1024)
    size.add_argument("--output-tokens", type=_positive_int, default=256)
    size.add_argument("--ttft", default="500 ms", help="TTFT SLO at the percentile")
    size.add_argument("--tpot", default="50 ms", help="time-per-output-token SLO")
    size.add_argument("--percentile", type=float, default=0.99)
    size.add_argument("--precision", default="fp16")
    size.add_argument("--datacenter", action="append", help="grid region(s) for carbon")
    size.add_argument("--json", action="store_true")

    sen = sub.add_parser("sensitivity", help="elasticities of an output with respect to every input")
    sen.add_argument("model")
    sen.add_argument("hardware")
    sen.add_argument("--output", default="time_per_output_token")
    sen.add_argument("--plot", metavar="FILE", help="also write the tornado chart as a PNG "
                     "(needs the [plot] extra)")
    sen.add_argument("--batch", type=_positive_int, default=1)
    sen.add_argument("--seq-len", type=_positive_int, default=2048)
    sen.add_argument("--precision", default="fp16")
    sen.add_argument("--json", action="store_true")

    val = sub.add_parser("validate", help="run the published measurements through the model: "
                                          "in sample, leave-one-source-out, bands")
    val.add_argument("--category", action="append",
                     choices=("training", "inference", "tinyml", "energy", "other"),
                     help="report these categories only (repeatable)")
    val.add_argument("--measurements", help="your own measurement file (default: the shipped "
                                            "145 published measurements)")
    val.add_argument("--no-loso", action="store_true",
                     help="in-sample only (skip the leave-one-source-out refits, ~1 min)")
    val.add_argument("--summary", action="store_true", help="only the per-category summary")
    val.add_argument("--json", action="store_true")

    cal = sub.add_parser("calibrate", help="fit calibrated parameters to measurements")
    cal.add_argument("measurements", nargs="?",
                     help="measurement file (default: the shipped calibration set)")
    cal.add_argument("--parameter", action="append", metavar="NAME",
                     help="parameter to fit, e.g. memory_efficiency[serve] (default: all used)")
    cal.add_argument("--json", action="store_true")

    reg = sub.add_parser("registry", help="list, show or audit the built-in registry")
    reg_sub = reg.add_subparsers(dest="action", required=True)
    ls = reg_sub.add_parser("list", help="list entries")
    ls.add_argument("kind", nargs="?", default="hardware", choices=tuple(_LISTINGS))
    ls.add_argument("--vendor", help="hardware only: nvidia, amd, google, st, ...")
    ls.add_argument("--tier", help="hardware only: datacenter, workstation, edge, mobile, mcu, "
                                   "wafer_scale")
    ls.add_argument("--family", help="models only: decoder, moe, encoder, cnn, vit, diffusion, "
                                     "ssm, tinyml")
    show = reg_sub.add_parser("show", help="show one entry (or source record) with the source "
                                           "of every value")
    show.add_argument("name", help="name or alias of any entry, or a source id")
    reg_sub.add_parser("audit", help="check every value has a source; non-zero exit on problems")

    mcp_cmd = sub.add_parser("mcp", help="serve the tasks to AI agents over the Model Context "
                                         "Protocol (stdio; needs the mcp extra)")
    mcp_cmd.add_argument("--http", type=_port, metavar="PORT",
                         help="streamable HTTP on 127.0.0.1:PORT instead of stdio")
    return p


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port, 1 to 65535, got {value}")
    return value


def _check_inputs(models=(), hardware=(), precision=None, files=()) -> None:
    """Load the user's registry files, then check names and the precision, before anything
    heavy is imported: a wrong name answers in a tenth of a second, not after sympy, pint and
    the walls have loaded (the registry's name index reads only the shipped files' names)."""
    from mlsysim_sym import registry
    for path in files:
        if path:
            registry.load(path)
    for name in models:
        registry.canonical_name("model", name)
    for name in hardware:
        registry.canonical_name("hardware", name)
    if precision is not None and precision.lower() not in registry.PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; allowed: "
                         f"{', '.join(registry.PRECISIONS)}")


#: predict options that only LLM serving (decoder and MoE models) takes: option -> argument name
_LLM_ONLY = {"--phase": "phase", "--tp": "tp", "--stack": "stack",
             "--uncertainty": "uncertainty", "--explain": "explain"}
#: predict options a family does not take at all (its result would silently ignore them)
_NOT_FOR = {"tinyml": ("--batch", "--seq-len"), "cnn": ("--seq-len",), "vit": ("--seq-len",),
            "diffusion": ("--seq-len",)}


def _predict_kwargs(args, family: str) -> dict:
    """predict()'s keywords from the options given; an option the family ignores is an error."""
    if family in ("decoder", "moe"):
        kw = {"batch": args.batch, "seq_len": args.seq_len, "phase": args.phase, "tp": args.tp,
              "stack": args.stack, "uncertainty": args.uncertainty}
        return {k: v for k, v in kw.items() if v is not None}
    given = [opt for opt, dest in (("--batch", "batch"), ("--seq-len", "seq_len"),
                                   *_LLM_ONLY.items()) if getattr(args, dest) not in (None, False)]
    bad = [o for o in given if o in _LLM_ONLY or o in _NOT_FOR.get(family, ())]
    if bad:
        takes = [o for o in ("--batch", "--seq-len") if o not in _NOT_FOR.get(family, ())]
        raise ValueError(f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not apply to "
                         f"{args.model}, a {family} model; it takes "
                         f"{', '.join(takes + ['--precision', '--efficiency'])}")
    return {k: v for k, v in (("batch", args.batch), ("seq_len", args.seq_len)) if v is not None}


def _human(q):
    """A quantity in a readable unit: bytes in B .. TB, times in us .. s; others as they are."""
    import math
    from mlsysim_sym.units import same_dimension
    try:
        mag = abs(float(q.magnitude))
    except (TypeError, ValueError):
        return q
    binary = "iB" in f"{q.units:~P}"  # a capacity given in KiB / MiB stays binary
    for dim_unit, ladder in (("B", ("TiB", "GiB", "MiB", "KiB", "B") if binary
                              else ("TB", "GB", "MB", "kB", "B")),
                             ("s", ("s", "ms", "us"))):
        if same_dimension(q.units, dim_unit) and math.isfinite(mag):
            for unit in ladder:
                if mag > 0 and abs(q.to(unit).magnitude) >= 1:
                    return q.to(unit)
            return q.to(ladder[-1])
    return q


def _headline(r) -> list:
    """(label, value) rows of a prediction, from the result's own fields: LLM serving shows
    its latencies and memory split; every other family shows its outputs() (latency,
    throughput, footprint and the family's own terms)."""
    if hasattr(type(r), "time_per_output_token"):
        return [("latency", r.latency), ("throughput", r.throughput), ("ttft", r.ttft),
                ("time per output token", r.time_per_output_token),
                ("memory footprint", r.memory_footprint.to("GB")),
                ("  weights", r.weights.to("GB")), ("  kv cache", r.kv_cache.to("GB")),
                ("  activations", r.activations.to("GB")),
                ("memory capacity", r.memory_capacity)]
    rows = [(name.replace("_", " "), _human(q)) for name, q in r.outputs().items()]
    return rows + [("memory capacity", _human(r.memory_capacity))]


def _cmd_predict(args) -> int:
    _check_inputs(models=[args.model], hardware=[args.hardware], precision=args.precision,
                  files=[args.hardware_file, args.model_file])
    import mlsysim_sym as ms
    from mlsysim_sym import registry
    family = registry.model(args.model).family
    r = ms.predict(args.model, args.hardware, precision=args.precision,
                   efficiency=args.efficiency, **_predict_kwargs(args, family))
    if args.json:
        d = r.to_dict()
        if getattr(r, "bands", None):
            d["bands"] = {k: {"p10": float(b.p10.magnitude), "p50": float(b.p50.magnitude),
                              "p90": float(b.p90.magnitude), "unit": f"{b.p50.units:~P}"}
                          for k, b in r.bands.items()}
        d["model_family"] = family  # the registry family (a result's "family" is its kind)
        print(json.dumps(d, indent=2))
    else:
        if family in ("decoder", "moe"):
            knobs = (f"batch {args.batch or 1}, seq_len {args.seq_len or 2048}, "
                     f"phase {r.phase}")
        else:
            knobs = ", ".join(f"{k} {v}" for k, v in (("batch", args.batch),
                                                      ("seq_len", args.seq_len)) if v)
        print(f"{r.model.name} on {r.hardware.name} ({family}, {r.precision}"
              + (f", {knobs}" if knobs else "") + ")")
        for label, q in _headline(r):
            print(f"  {label:24s} {q:.4g~P}")
        print(f"  {'feasible':24s} {r.feasible}")
        print(f"  {'bottleneck':24s} {r.bottleneck} ({r.bottleneck_detail})")
        for note in getattr(r, "notes", ()) or ():
            print(f"  {'note':24s} {note}")
        if getattr(r, "bands", None):
            for k in ("ttft", "time_per_output_token", "throughput"):
                b = r.bands[k]
                print(f"  {k + ' p10..p90':24s} {b.p10:.4g~P} .. {b.p90:.4g~P}")
    if args.explain:
        print()
        print(r.explain())
    _write_plot(r, args.plot)
    return 0


def _write_plot(result, path) -> None:
    """``--plot FILE``: the result's default figure as a PNG (headless: the Agg backend)."""
    if not path:
        return
    try:
        import matplotlib
    except ImportError:
        raise ValueError("--plot needs matplotlib, which is not installed: pip install "
                         "'mlsysim_sym[plot]'") from None
    matplotlib.use("Agg")
    result.plot(path=path)
    print(f"wrote {path}", file=sys.stderr)


def _cmd_equations(args) -> int:
    from mlsysim_sym.equations import walls
    selected = [walls[int(args.wall)] if args.wall and args.wall.isdigit() else walls[args.wall]] \
        if args.wall else list(walls)
    for w in selected:
        if args.markdown:
            from mlsysim_sym.report import latex_expr
            from mlsysim_sym.symbols import info
            print(f"## Wall {w.number}: {w.name}\n\n{w.summary}\n\n*Regime:* {w.regime}\n")
            for eq in w.equations:
                print(f"- $${info(eq.lhs).latex} = {latex_expr(eq.rhs)}$$ ({eq.cite}, {eq.locator})")
            print()
        else:
            print(w.latex())
            print()
    return 0


def _parse_targets(items) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ValueError(f"--target must look like NAME=QUANTITY (e.g. tpot='20 ms'), got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _q_json(q):
    return {"value": float(q.magnitude), "unit": f"{q.units:~P}"} if q is not None else None


def _cmd_synthesize(args) -> int:
    _check_inputs(models=[args.model], precision=args.precision)
    import mlsysim_sym as ms
    unknowns = args.unknown or ["peak_flops", "memory_bandwidth", "memory_capacity"]
    r = ms.synthesize(args.model, targets=_parse_targets(args.target), unknowns=unknowns,
                      batch=args.batch, seq_len=args.seq_len, precision=args.precision)
    if args.json:
        d = {u: {"value": _q_json(res.value), "method": res.method, "feasible": res.feasible,
                 "identifiable": res.identifiable, "binding_target": r.binding_target[u],
                 "binding": res.binding, "best_reachable": _q_json(res.best_reachable),
                 "message": res.message} for u, res in r.items()}
        d["chips"] = r.chips
        print(json.dumps(d, indent=2, default=str))
        return 0
    for u, res in r.items():
        if res.feasible and res.value is not None:
            print(f"{u:18s} >= {res.value:.4g~P}  (set by {r.binding_target[u]}; "
                  f"{res.method}; binding {res.binding})")
        else:
            print(f"{u:18s} unreachable: {res.message}")
    print()
    print(r.table())
    return 0


def _cmd_size(args) -> int:
    _check_inputs(models=[args.model], hardware=args.hardware, precision=args.precision)
    import mlsysim_sym as ms
    f = ms.size_fleet(args.model, args.hardware, qps=args.qps, input_tokens=args.input_tokens,
                      output_tokens=args.output_tokens, slo={"ttft": args.ttft, "tpot": args.tpot},
                      percentile=args.percentile, precision=args.precision,
                      datacenter=args.datacenter)
    rows = []
    for c in f.candidates:
        row = {"hardware": c["hardware"].name, "feasible": c["feasible"]}
        if c["feasible"]:
            row.update({k: c[k] for k in ("devices", "replicas", "tp", "batch", "bottleneck")})
        else:
            row["reason"] = c["reason"]
        rows.append(row)
    if args.json:
        d = {"feasible": f.feasible, "devices": f.devices, "replicas": f.replicas, "tp": f.tp,
             "batch": f.batch, "hardware": f.hardware.name if f.hardware is not None else None,
             "bottleneck": f.bottleneck, "ttft": _q_json(f.ttft),
             "time_per_output_token": _q_json(f.time_per_output_token),
             "cost": _q_json(f.cost), "carbon": _q_json(f.carbon), "datacenter": f.datacenter,
             "candidates": rows, "message": f.message}
        print(json.dumps(d, indent=2))
        return 0
    print(f)
    for row in rows:
        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
    return 0


def _cmd_sensitivity(args) -> int:
    _check_inputs(models=[args.model], hardware=[args.hardware], precision=args.precision)
    import mlsysim_sym as ms
    r = ms.predict(args.model, args.hardware, batch=args.batch, seq_len=args.seq_len,
                   precision=args.precision)
    s = ms.sensitivity(r, args.output)
    if args.json:
        print(json.dumps({"output": s.output, "value": _q_json(s.value),
                          "elasticities": {k: float(v) for k, v in s.items()},
                          "one_sided": {k: [float(a), float(b)] for k, (a, b) in s.one_sided.items()},
                          "binding": s.binding}, indent=2))
        return 0
    _write_plot(s, args.plot)
    print(f"{s.output} = {s.value:.4g~P}  (binding: {s.binding})")
    print(f"  {'input':32s} {'elasticity d ln y / d ln x':>28s}")
    for name, e in s.ranked():
        side = f"   one-sided {s.one_sided[name]}" if name in s.one_sided else ""
        print(f"  {name:32s} {float(e):28.4f}{side}")
    return 0


def _progress(args, title: str):
    """The progress reporter of a long command on stderr (a context manager giving the
    ``progress`` callable; it gives None with --json)."""
    if args.json:
        import contextlib
        return contextlib.nullcontext(None)
    from mlsysim_sym.progress import Progress
    return Progress(title)


def _cmd_validate(args) -> int:
    from mlsysim_sym.calibration import validate
    with _progress(args, "validate") as progress:
        report = validate(args.measurements, category=args.category, loso=not args.no_loso,
                          cross_generation=not args.no_loso, bands=not args.no_loso,
                          progress=progress)
    if args.json:
        rows = [{"id": r.id, "category": r.category, "source": r.source, "unit": r.unit,
                 "measured": r.measured, "in_sample": r.in_sample, "loso": r.loso,
                 "p10": r.band[0], "p90": r.band[2]} for r in report.rows]
        print(json.dumps({"summary": report.summary(), "rows": rows,
                          "cross_generation": {k: v for k, v in report.cross_generation.items()
                                               if k != "parameters"},
                          "not_covered": [{"id": u.id, "why": u.why}
                                          for u in report.not_covered]}, indent=2,
                         default=lambda x: None))
    elif args.summary:
        print(report.summary_text())
    else:
        print(report.table())
    return 0


def _cmd_calibrate(args) -> int:
    from mlsysim_sym.calibration import calibrate
    with _progress(args, "calibrate") as progress:
        result = calibrate(args.measurements, parameters=args.parameter, progress=progress)
    if args.json:
        print(json.dumps({name: {"value": p.value, "unit": p.unit, "ci95": list(p.ci),
                                 "identifiable": p.identifiable, "note": p.note}
                          for name, p in result.parameters.items()}, indent=2,
                         default=lambda x: None))
    else:
        print(result.report())
    return 0


#: registry list KIND -> (lister, the filters it takes)
_LISTINGS = {"hardware": ("list_hardware", ("vendor", "tier")),
             "models": ("list_models", ("family",)),
             "datacenters": ("list_datacenters", ()), "clusters": ("list_clusters", ()),
             "nodes": ("list_nodes", ()), "fabrics": ("list_fabrics", ()),
             "sources": ("list_sources", ())}


def _cmd_registry(args) -> int:
    from mlsysim_sym import registry
    if args.action == "audit":
        problems = registry.audit()
        for line in problems:
            print(line)
        print(f"{len(problems)} problem(s)")
        return 1 if problems else 0
    if args.action == "show":
        print(registry.describe(args.name))
        return 0
    lister, takes = _LISTINGS[args.kind]
    filters = {f: getattr(args, f) for f in ("vendor", "tier", "family")
               if getattr(args, f) is not None}
    wrong = [f"--{f}" for f in filters if f not in takes]
    if wrong:
        allowed = ", ".join(f"--{f}" for f in takes) or "no filters"
        raise ValueError(f"{', '.join(wrong)} does not apply to 'registry list {args.kind}' "
                         f"(it takes {allowed})")
    listing = getattr(registry, lister)(**filters)
    if not listing and filters:
        given = ", ".join(f"{k}={v}" for k, v in filters.items())
        print(f"mlsysim-sym: no {args.kind} entries with {given}", file=sys.stderr)
    for entry in listing:
        name = entry if isinstance(entry, str) else entry.name
        display = "" if isinstance(entry, str) else getattr(entry, "display_name", "")
        print(f"{name:32s} {display}".rstrip())
    return 0


def _cmd_mcp(args) -> int:
    import importlib.util
    install = 'install with pip install "mlsysim_sym[mcp]"'
    if importlib.util.find_spec("mcp") is None:
        print(f"mlsysim-sym: the MCP server needs the mcp package: {install}", file=sys.stderr)
        return 2
    try:
        from mlsysim_sym.mcp_server import main as serve_mcp
    except ImportError as exc:
        print(f"mlsysim-sym: the installed mcp package does not fit ({exc}): {install}",
              file=sys.stderr)
        return 2
    try:
        return serve_mcp(http_port=args.http)
    except KeyboardInterrupt:
        return 0


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


def main(argv=None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # also while argparse prints --help or usage
        return _stdout_gone()
    except KeyboardInterrupt:  # Ctrl-C during a long validate: no traceback
        print("mlsysim-sym: interrupted", file=sys.stderr)
        return 130


def _main(argv) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    handlers = {"predict": _cmd_predict, "equations": _cmd_equations, "registry": _cmd_registry,
                "synthesize": _cmd_synthesize, "sensitivity": _cmd_sensitivity,
                "size": _cmd_size, "validate": _cmd_validate, "calibrate": _cmd_calibrate,
                "mcp": _cmd_mcp}
    try:
        status = handlers[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        raise
    except (ValueError, KeyError, LookupError, TypeError, OSError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"mlsysim-sym: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
