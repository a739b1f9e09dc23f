"""What-if hardware from Python: RegistryObject.from_spec builds a speculative chip, node or
cluster through the registry's strict validator, marked as a user assumption, usable by every
task (issue 18, item 6)."""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import registry
from mlsysim_sym.registry.schema import RegistryError

# A speculative chip: every number is the user's assumption (no source behind it).
_CHIP = {"name": "acme-x1", "vendor": "acme", "tier": "datacenter",
         "peak": {"bf16": "2 PFLOP/s", "fp16": "2 PFLOP/s", "fp8": "4 PFLOP/s"},
         "memory": [{"tier": "hbm", "capacity": "192 GB", "bandwidth": "8 TB/s"}],
         "links": {"scale_up": {"bandwidth": "900 GB/s", "latency": "1 us"},
                   "scale_out": {"bandwidth": "50 GB/s", "latency": "5 us"}},
         "tdp": "1000 W"}


@pytest.fixture(scope="module")
def chip():
    return ms.Hardware.from_spec(_CHIP)


def test_a_speculative_chip_is_a_user_assumption(chip):
    assert chip.memory_bandwidth == ms.Q_(8, "TB/s")
    assert chip.peak_flops("bf16") == ms.Q_(2, "PFLOP/s")
    prov = chip.provenance("peak.bf16")
    assert prov.source == "user" and prov.basis == "assumption" and prov.note
    assert chip.sources["user"].publisher == "user"
    assert "@" in registry.bibtex(chip)  # cites as the user's own record
    with pytest.raises(LookupError):      # not added to the registry
        registry.hardware("acme-x1")


def test_a_speculative_chip_trains_and_serves(chip):
    t = ms.train("llama-3-8b", chip, devices=16, tp=8, global_batch=64, seq_len=4096)
    assert t.feasible and t.hardware is chip and 0 < float(t.mfu.magnitude) < 1
    # the same model on a faster chip trains faster than on an H100 (same layout)
    h100 = ms.train("llama-3-8b", "h100", devices=16, tp=8, global_batch=64, seq_len=4096)
    assert t.step_time < h100.step_time
    s = ms.serve("llama-3-8b", chip, qps=5, input_tokens=1024, output_tokens=256)
    assert s.feasible and s.hardware is chip
    p = ms.predict("llama-3-8b", chip, batch=8)
    assert p.feasible and p.time_per_output_token.to("ms").magnitude > 0


def test_a_node_and_a_cluster_of_them(chip):
    node = registry.Node.from_spec({"name": "acme-pod", "accelerator": chip,
                                    "accelerators_per_node": 8})
    assert node.accelerator is chip and node.provenance_map() is not None
    fabric = registry.list_fabrics()[0]
    cluster = registry.Cluster.from_spec({"name": "acme-cluster", "node": node, "nodes": 4,
                                          "fabric": fabric.name})
    assert cluster.devices == 32
    r = ms.train("llama-3-8b", cluster, tp=8, global_batch=64, seq_len=2048)
    assert r.hardware is chip and r.feasible


@pytest.mark.parametrize("change,needle", [
    ({"memory": [{"tier": "hbm", "capacity": "192 GB/s", "bandwidth": "8 TB/s"}]}, "capacity"),
    ({"peak": {"bf16": "2 PB/s"}}, "bf16"),
    ({"colour": "red"}, "colour"),
])
def test_units_and_fields_are_checked_by_the_strict_validator(change, needle):
    with pytest.raises(RegistryError, match=needle):
        ms.Hardware.from_spec({**_CHIP, **change})


def test_from_spec_takes_a_mapping():
    with pytest.raises(TypeError, match="mapping"):
        ms.Hardware.from_spec("acme-x1")


def test_walls_are_listed_by_dir():
    names = dir(ms.walls)
    assert {"compute", "memory", "serving", "sustainability"} <= set(names)
    assert all(not n.startswith("_") for n in names)


def test_system_inputs_in_name_order_and_their_names_sort():
    S = ms.System.from_walls(ms.walls.compute, ms.walls.memory, ms.walls.serving)
    names = S.input_names
    assert names == sorted(names) and all(isinstance(n, str) for n in names)
    assert [s.name for s in sorted(S.inputs, key=str)] == names == [s.name for s in S.inputs]
    assert "batch" in names and "memory_bandwidth" in names
