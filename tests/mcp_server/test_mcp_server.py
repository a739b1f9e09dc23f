"""The MCP server (issue 18, part 1), driven by the SDK's own client over a real stdio subprocess.

One server process (``python -m mlsysim_sym.cli mcp``) serves the whole module. The agentic loop
of the seed system: an agent loads a speculative chip from YAML text, predicts, reads the
bottleneck (a 70B model does not fit in 48 GB), changes the design (fp8, tensor parallel) and
predicts again; then every other tool once, the resources, and the error paths.
"""

from __future__ import annotations

import datetime
import json
import socket
import os
import subprocess
import sys

import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters  # noqa: E402
from mcp.shared.exceptions import MCPError  # noqa: E402

pytestmark = pytest.mark.anyio

TODAY = datetime.date.today().isoformat()

# A speculative accelerator in the registry format (docs/registry-format.md): H100-class compute
# with less, faster memory. Every value inherits the entry's provenance, basis "assumption".
SPECULATIVE_CHIP = f"""
kind: hardware
sources:
  whatif-specu-x1:
    title: "What-if accelerator design point (agentic-loop test of the MCP server)"
    publisher: "mlsysim_sym test suite"
    year: {datetime.date.today().year}
    url: "file://tests/mcp_server/test_mcp_server.py"
    kind: report
entries:
  - name: specu-x1
    display_name: "Speculative X1 (what-if, 48 GB HBM)"
    aliases: [specu]
    vendor: whatif
    tier: datacenter
    provenance:
      source: whatif-specu-x1
      locator: "SPECULATIVE_CHIP in tests/mcp_server/test_mcp_server.py"
      retrieved: {TODAY}
      basis: assumption
      note: "a speculative chip, not a product: the agent's design point"
    peak:
      bf16: "1000 TFLOP/s"
      fp16: "1000 TFLOP/s"
      fp8: "2000 TFLOP/s"
    memory:
      - {{tier: hbm, name: HBM3E, capacity: "48 GB", bandwidth: "4 TB/s"}}
    links:
      scale_up: {{name: "what-if scale-up link", bandwidth: "450 GB/s"}}
    tdp: "700 W"
"""

# meta-llama/Meta-Llama-3-8B config.json, the keys the translation reads (values as published
# on the model card's config.json; the same values as tests/registry/test_models.py LLAMA3_8B).
LLAMA3_8B_CONFIG = {
    "_name_or_path": "meta-llama/Meta-Llama-3-8B", "architectures": ["LlamaForCausalLM"],
    "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "vocab_size": 128256, "max_position_embeddings": 8192, "tie_word_embeddings": False,
    "rms_norm_eps": 1e-5, "hidden_act": "silu", "rope_theta": 500000.0,
}

TOOLS = {"predict", "train", "serve", "size_fleet", "synthesize", "sensitivity",
         "best_parallelism", "explain", "registry_search", "registry_show", "load_hardware",
         "load_model", "equations"}


@pytest.fixture(scope="module")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
async def client():
    # the 10 s tool limit is for agents; a test on a loaded CI machine gets more room
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "mlsysim_sym.cli", "mcp"],
                                   env={**os.environ, "MLSYSIM_MCP_TIMEOUT": "120"})
    async with Client(params, read_timeout_seconds=60) as c:
        yield c


async def call(c, tool, **args) -> dict:
    """Call a tool that must succeed; its structured result (same JSON as its text)."""
    r = await c.call_tool(tool, args)
    assert not r.is_error, r.content[0].text
    assert json.loads(r.content[0].text) == r.structured_content
    return r.structured_content


async def error(c, tool, **args) -> str:
    """Call a tool that must fail: the tool error's text."""
    r = await c.call_tool(tool, args)
    assert r.is_error, f"{tool}({args}) did not fail: {r.structured_content}"
    return r.content[0].text


def value(q: dict, unit: str | None = None) -> float:
    if unit is not None:
        assert q["unit"] == unit, q
    return q["value"]


# ---- the tools ---------------------------------------------------------------------------------

async def test_lists_every_tool_with_typed_schemas(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for t in tools.values():
        assert t.description and t.input_schema["type"] == "object"
        assert t.output_schema is not None  # structured JSON results
    p = tools["predict"].input_schema
    assert p["required"] == ["model", "hardware"]
    assert p["properties"]["phase"]["enum"] == ["decode", "prefill"]
    assert {"type": "integer"} in p["properties"]["batch"]["anyOf"]
    assert tools["train"].input_schema["properties"]["recompute"]["enum"] == [
        "none", "selective", "full", "op", "dots", "nothing_saveable"]
    assert tools["train"].input_schema["properties"]["cuda_graphs"]["type"] == "boolean"
    assert tools["train"].input_schema["properties"]["vocab_tiles"]["minimum"] == 1
    props = tools["train"].input_schema["properties"]
    for name in ("tp_overlap", "pp_overlap", "ep_overlap", "sequence_fill",
                 "head_token_fraction", "cpu_binding", "stage_layers", "recompute_modules"):
        assert name in props, name
    assert props["sequence_fill"]["maximum"] == 1


async def test_agentic_loop_speculative_chip(client):
    # 1. the agent writes a chip in YAML and loads it for the session
    loaded = await call(client, "load_hardware", yaml_text=SPECULATIVE_CHIP)
    assert [e["name"] for e in loaded["loaded"]] == ["specu-x1"]
    shown = await call(client, "registry_show", name="specu")
    assert shown["values"]["memory.0.capacity"]["text"] == "48 GB"
    assert shown["values"]["memory.0.capacity"]["basis"] == "assumption"

    # 2. predict: Llama 3 70B at fp16 with a long context does not fit in 48 GB
    first = await call(client, "predict", model="llama-3-70b", hardware="specu-x1", batch=64,
                       seq_len=8192, precision="fp16")
    assert first["feasible"] is False and first["bottleneck"] == "Memory"
    assert first["bottleneck_detail"].startswith("does not fit")
    assert first["reason"].startswith("does not fit") and "KV cache" in first["reason"]
    assert value(first["memory_footprint"], "GB") > value(first["memory_capacity"], "GB") == 48

    # 3. the agent reads the bottleneck and changes the design: fp8 weights and KV cache,
    #    four chips in a tensor-parallel group
    second = await call(client, "predict", model="llama-3-70b", hardware="specu-x1", batch=64,
                        seq_len=8192, precision="fp8", tp=4)
    assert second["feasible"] is True
    assert second["bottleneck_detail"] == "decode is memory-bandwidth-bound"
    assert value(second["memory_footprint"], "GB") < value(second["memory_capacity"], "GB")
    # 8 bits per weight instead of 16, but the embedding and the LM head (2 x 128256 x 8192)
    # stay at 16 bits (ModelOpt's FP8 export excludes lm_head; vLLM's Fp8Config quantises
    # LinearBase layers only): half of the fp16 bytes plus 1 B for each of those weights
    assert value(second["weight_bytes"], "GB") == pytest.approx(
        value(first["weight_bytes"], "GB") / 2 + 2 * 128256 * 8192 / 1e9, rel=1e-9)

    # 4. a sweep over the batch shows where the decode step turns compute-bound
    sweep = await call(client, "predict", model="llama-3-70b", hardware="specu-x1",
                       batch=[1, 16, 256, 1024], seq_len=512, precision="fp8", tp=4)
    assert sweep["bottleneck"][0] == "Memory" and sweep["bottleneck"][-1] == "Compute"
    tpot = value(sweep["time_per_output_token"])
    assert tpot == sorted(tpot)

    # 5. or the agent redesigns the chip (192 GB of HBM) and loads it again under its name
    bigger = SPECULATIVE_CHIP.replace('capacity: "48 GB"', 'capacity: "192 GB"')
    assert "clashes with hardware 'specu-x1'" in await error(client, "load_hardware",
                                                             yaml_text=bigger)
    await call(client, "load_hardware", yaml_text=bigger, override=True)
    third = await call(client, "predict", model="llama-3-70b", hardware="specu-x1", batch=64,
                       seq_len=4096, precision="fp8")
    assert third["feasible"] is True and value(third["memory_capacity"], "GB") == 192

    # the session keeps the chip: search and resources find it
    hits = await call(client, "registry_search", query="specu", kind="hardware")
    assert hits["results"][0]["name"] == "specu-x1"
    uris = {str(r.uri) for r in (await client.list_resources()).resources}
    assert "mlsysim://hardware/specu-x1" in uris
    text = (await client.read_resource("mlsysim://hardware/specu")).contents[0].text
    assert json.loads(text)["fields"]["provenance"]["basis"] == "assumption"


async def test_predict_matches_the_library(client):
    import mlsysim_sym as ms
    got = await call(client, "predict", model="llama-3-8b", hardware="h100", batch=8,
                     seq_len=2048)
    want = ms.predict("llama-3-8b", "h100", batch=8, seq_len=2048).to_dict()
    for key in ("ttft", "time_per_output_token", "memory_footprint", "throughput"):
        assert got[key]["unit"] == want[key]["unit"]
        assert got[key]["value"] == pytest.approx(want[key]["value"], rel=1e-12)
    assert got["bottleneck"] == want["bottleneck"]


async def test_repeated_predict_calls_answer_with_the_librarys_numbers(client):
    # the server keeps its state between calls; how fast it answers is a number in
    # benchmarks/bench_mcp.py (a round trip over stdio), not a test
    import mlsysim_sym as ms
    args = {"model": "llama-3-8b", "hardware": "h100", "batch": 4, "seq_len": 1024}
    for batch in (1, 2, 4, 8, 16):
        got = await call(client, "predict", **{**args, "batch": batch})
        want = ms.predict("llama-3-8b", "h100", batch=batch, seq_len=1024).to_dict()
        assert got["time_per_output_token"]["value"] == pytest.approx(
            want["time_per_output_token"]["value"], rel=1e-12)


async def test_train_serve_fleet_plan(client):
    tr = await call(client, "train", model="llama-3-8b", cluster="h100", devices=8,
                    global_batch=64, zero_stage=3, tokens="1e12 token")
    assert tr["feasible"] is True and tr["bottleneck"] in ("Compute", "Communication",
                                                            "Pipeline", "Memory")
    assert 0 < value(tr["mfu"]) < 1 and value(tr["time_to_train"], "day") > 0
    sv = await call(client, "serve", model="llama-3-8b", hardware="h100", qps=5)
    assert sv["feasible"] is True and value(sv["capacity"], "req/s") > 5
    fleet = await call(client, "size_fleet", model="llama-3-70b", hardware=["h100", "a100"],
                       qps=20, tpot="40 ms")
    assert fleet["feasible"] is True and fleet["devices"] >= 2
    assert {c["hardware"] for c in fleet["candidates"]} == {"nvidia-h100-sxm",
                                                            "nvidia-a100-80gb-sxm"}
    plan = await call(client, "best_parallelism", model="llama-3-8b", cluster="h100",
                      devices=16, global_batch=128, top=3)
    assert len(plan["table"]) == 3 and plan["feasible_count"] >= 3
    steps = [value(row["step_time"], "s") for row in plan["table"]]
    assert steps == sorted(steps)


async def test_synthesize_sensitivity_explain_equations(client):
    syn = await call(client, "synthesize", model="llama-3-8b", targets={"tpot": "20 ms"},
                     unknowns=["memory_bandwidth"])
    bw = syn["memory_bandwidth"]
    assert bw["feasible"] and bw["binding_target"] == "time_per_output_token"
    assert bw["value"]["unit"] == "GB/s" and bw["value"]["value"] > 0
    assert any(row["name"] == "nvidia-h100-sxm" and row["meets"] for row in syn["chips"])

    sens = await call(client, "sensitivity", model="llama-3-8b", hardware="h100", batch=1)
    first = next(iter(sens["elasticities"]))  # ranked: memory-bound decode at batch 1
    # the weight read: bandwidth and efficiency at -1; the weight count at N / (N - N_e) ~ 1.04
    # (a step reads all but the untied input embedding, whose size N_e does not grow with N)
    assert first in ("memory_bandwidth", "memory_efficiency", "parameters")
    assert sens["elasticities"]["memory_bandwidth"] < 0

    ex = await call(client, "explain", model="llama-3-8b", hardware="h100")
    names = [eq["name"] for eq in ex["equations"]]
    assert "time_per_output_token" in names and ex["bottleneck"] == "Memory"
    assert all(eq["substituted"] and eq["cite"] for eq in ex["equations"])

    listing = await call(client, "equations")
    assert len(listing["walls"]) >= 20
    wall = await call(client, "equations", wall="4")
    assert wall["name"] == "Serving" and r"\begin{align}" in wall["latex"]
    assert all(eq["latex"] and eq["cite"] for eq in wall["equations"])


async def test_load_model_from_hf_config_text(client):
    loaded = await call(client, "load_model", text=json.dumps(LLAMA3_8B_CONFIG),
                        name="llama-3-8b-from-config")
    assert loaded["loaded"][0]["name"] == "llama-3-8b-from-config"
    shown = await call(client, "registry_show", name="llama-3-8b-from-config")
    assert shown["sources"][next(iter(shown["sources"]))]["url"] == (
        "https://huggingface.co/meta-llama/Meta-Llama-3-8B/blob/main/config.json")
    mine = await call(client, "predict", model="llama-3-8b-from-config", hardware="h100",
                      batch=8)
    shipped = await call(client, "predict", model="llama-3-8b", hardware="h100", batch=8)
    assert value(mine["time_per_output_token"]) == pytest.approx(
        value(shipped["time_per_output_token"]), rel=1e-6)


async def test_resources(client):
    uris = {str(r.uri) for r in (await client.list_resources()).resources}
    assert {"mlsysim://registry", "mlsysim://walls", "mlsysim://hardware/nvidia-h100-sxm",
            "mlsysim://model/llama-3-8b", "mlsysim://wall/serving"} <= uris
    templates = {t.uri_template for t in (await client.list_resource_templates())
                 .resource_templates}
    assert {"mlsysim://hardware/{name}", "mlsysim://model/{name}",
            "mlsysim://wall/{key}"} <= templates
    page = (await client.read_resource("mlsysim://wall/serving")).contents[0].text
    assert page.startswith("# Wall 4: Serving") and "$$" in page
    h100 = json.loads((await client.read_resource("mlsysim://hardware/h100")).contents[0].text)
    assert h100["name"] == "nvidia-h100-sxm"
    assert h100["values"]["memory.0.bandwidth"]["source"]
    with pytest.raises(MCPError, match="unknown hardware 'h1000'"):
        await client.read_resource("mlsysim://hardware/h1000")


# ---- error paths ---------------------------------------------------------------------------------

async def test_unknown_model_lists_close_matches(client):
    text = await error(client, "predict", model="llama-3-8bb", hardware="h100")
    assert "unknown model 'llama-3-8bb'" in text and "did you mean: llama-3-8b" in text
    assert "\n" not in text


async def test_negative_batch_is_a_one_line_tool_error(client):
    text = await error(client, "predict", model="llama-3-8b", hardware="h100", batch=-4)
    assert "batch must be a whole number between 1 and 1e+06, got -4" in text
    assert "\n" not in text


async def test_malformed_yaml_is_refused(client):
    text = await error(client, "load_hardware", yaml_text="kind: hardware\nentries: [ {name: x")
    assert "not valid YAML" in text
    bad = SPECULATIVE_CHIP.replace('bandwidth: "4 TB/s"', "bandwidth: 4e12").replace(
        "specu-x1", "specu-x2").replace("[specu]", "[specu2]")
    text = await error(client, "load_hardware", yaml_text=bad)
    assert "memory.0.bandwidth" in text
    text = await error(client, "load_hardware", yaml_text="!!python/object:os.system {}")
    assert "tag" in text
    text = await error(client, "predict", model="llama-3-8b", hardware="specu-x2")
    assert "unknown hardware 'specu-x2'" in text  # all or nothing: nothing was added


async def test_other_errors(client):
    text = await error(client, "predict", model="llama-3-8b", hardware="h100",
                       batch=list(range(1, 200)))
    assert "at most 64 points" in text
    text = await error(client, "predict", model="llama-3-8b", hardware="h100", precision="fp7")
    assert "unknown precision 'fp7'" in text
    text = await error(client, "synthesize", model="llama-3-8b", targets={"tpot": "20 parsecs"})
    assert "unknown unit in 'parsecs'" in text
    text = await error(client, "synthesize", model="llama-3-8b",
                       targets={"tpot": "__import__('os').system('true')"})
    assert "is not a quantity" in text  # parsed by the strict quantity parser, never evaluated
    text = await error(client, "load_model", text=json.dumps({"model_type": "bert"}),
                       name="x")
    assert "unsupported model_type 'bert'" in text
    text = await error(client, "equations", wall="plumbing")
    assert "no wall named 'plumbing'" in text


async def test_a_call_is_time_bounded(monkeypatch):
    # untimed: the work waits for an event the test sets only after the tool has answered, so
    # a limit that waited for the work to end would answer with its result, not an error
    # (the work's own 60 s wait only keeps a broken limit from hanging the suite)
    import threading

    from mcp.server.mcpserver.exceptions import ToolError

    from mlsysim_sym import mcp_server
    release, finished = threading.Event(), []

    def slow() -> dict:
        release.wait(60)
        finished.append(True)
        return {}

    monkeypatch.setattr(mcp_server, "CALL_TIMEOUT", 0.05)
    try:
        with pytest.raises(ToolError, match="longer than 0.05 s"):
            await mcp_server._tool(slow)()
        assert not finished     # answered at the limit, while the work still ran
    finally:
        release.set()


def test_call_timeout_reads_the_environment():
    from mlsysim_sym.mcp_server import DEFAULT_CALL_TIMEOUT, call_timeout
    assert call_timeout({}) == DEFAULT_CALL_TIMEOUT == 10.0
    assert call_timeout({"MLSYSIM_MCP_TIMEOUT": " 45 "}) == 45.0
    for bad in ("0", "-3", "nan", "inf", "ten"):
        with pytest.raises(ValueError, match="MLSYSIM_MCP_TIMEOUT must be a positive"):
            call_timeout({"MLSYSIM_MCP_TIMEOUT": bad})


async def test_large_searches_are_refused(client):
    text = await error(client, "best_parallelism", model="llama-3-8b", cluster="h100",
                       devices=8, global_batch=10**12)
    assert "global_batch must be between 1 and 1048576" in text
    text = await error(client, "size_fleet", model="llama-3-8b", hardware=["h100"] * 17, qps=1)
    assert "at most 16 candidate chips" in text


# ---- streamable HTTP ---------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_streamable_http_on_localhost():
    import anyio
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mlsysim_sym.cli", "mcp", "--http", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):  # wait until it listens (up to 30 s on a busy machine)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read().decode()
            await anyio.sleep(0.1)
        async with Client(f"http://127.0.0.1:{port}/mcp", read_timeout_seconds=60) as c:
            r = await call(c, "predict", model="llama-3-8b", hardware="h100")
            assert r["bottleneck"] == "Memory"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
