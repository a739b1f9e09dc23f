"""The one-line task functions of walls 13, 17 and 18: ms.compress and ms.fleet_footprint.

Hand-checked numbers and their sources:
- Llama-3-70B: 70,553,706,496 parameters (registry, from the model's config.json).
- Wall 13 INT4-g128 (Lin et al. 2024, AWQ, Table 4 'INT4-g128'): 4 bits + an fp16 scale and an
  fp16 zero per 128 weights = 4 + 32/128 = 4.25 bit = 0.53125 B per weight; ratio 16 / 4.25.
- 2:4 sparsity (Mishra et al. 2021): 0.5 x (16 + 2) = 9 bits per dense weight.
- Accuracy ranges: AWQ Table 4 Llama-2 WikiText-2 perplexity 5.47/4.88/3.32 -> 5.60/4.97/3.41;
  GPTQ Table 3 OPT-175B 8.34 -> 8.37 (4-bit), 8.68 (3-bit).
- H100 SXM TDP 700 W (NVIDIA product page, registry); on-demand 8.60 USD per GPU-hour (AWS
  p5.48xlarge 68.80 USD/h / 8, registry). Quebec: 5.48 gCO2e/kWh (Google Cloud region carbon
  2024, northamerica-northeast1), PUE 1.15 (AWS 2024), WUE 0.25 L/kWh (AWS 2021); Virginia
  electricity 0.0892 USD/kWh (registry, regions.yaml).
"""

import json

import pytest

import mlsysim_sym as ms

LLAMA3_70B = 70_553_706_496


def test_exported_lazily():
    assert "compress" in dir(ms) and "fleet_footprint" in dir(ms)
    assert ms.compress.__module__ == "mlsysim_sym.tasks.compression"
    assert ms.FleetFootprint.__name__ == "FleetFootprint"


def test_int4_g128_size_ratio_by_hand():
    c = ms.compress("llama-3-70b", bits=4)
    assert c.bytes_per_parameter.to("B/param").magnitude == pytest.approx(0.53125)
    assert float(c.compression_ratio.magnitude) == pytest.approx(16 / 4.25)
    assert c.size.to("GB").magnitude == pytest.approx(LLAMA3_70B * 0.53125 / 1e9)   # 37.48 GB
    assert c.baseline_size.to("GB").magnitude == pytest.approx(LLAMA3_70B * 2 / 1e9)  # 141.1 GB


def test_int4_accuracy_is_the_cited_range():
    c = ms.compress("llama-3-70b", bits=4)
    acc = c.accuracy
    assert acc["metric"] == "WikiText-2 perplexity"
    lo, hi = acc["relative_change"]
    assert lo == pytest.approx((8.37 - 8.34) / 8.34)   # GPTQ OPT-175B, +0.36 %
    assert hi == pytest.approx((3.41 - 3.32) / 3.32)   # AWQ Llama-2-70B, +2.7 %
    sources = {e["source"] for e in acc["evidence"]}
    assert sources == {"Lin et al. 2024 (AWQ), Table 4", "Frantar et al. 2023 (GPTQ), Table 3"}
    assert "not a prediction" in acc["note"]
    d = json.loads(json.dumps(c.to_dict()))
    assert d["size"]["unit"] == "GB" and d["accuracy"]["evidence"][0]["model"] == "Llama-2-7B"
    assert "<table>" in c._repr_html_()


def test_int3_and_uncovered_settings():
    c3 = ms.compress("llama-3-8b", bits=3)
    assert c3.accuracy["relative_change"] == pytest.approx(((8.68 - 8.34) / 8.34,) * 2)
    c8 = ms.compress("llama-3-8b", bits=8)  # 8 + 32/128 = 8.25 bit
    assert c8.bytes_per_parameter.to("bit/param").magnitude == pytest.approx(8.25)
    assert c8.accuracy is None and "3- and 4-bit weights only" in c8.notes[0]
    both = ms.compress("llama-3-8b", bits=4, sparsity="2:4")
    assert both.accuracy is None and "combines 2:4 sparsity" in both.notes[0]


def test_sparsity_alone():
    c = ms.compress("llama-3-70b", bits=16, sparsity="2:4")
    assert c.bytes_per_parameter.to("bit/param").magnitude == pytest.approx(9.0)
    assert float(c.compression_ratio.magnitude) == pytest.approx(16 / 9)
    assert c.accuracy["relative_change"] is None
    assert c.accuracy["evidence"][0]["source"].startswith("Mishra et al. 2021")


@pytest.mark.parametrize("kwargs, message", [
    (dict(bits=0), "bits"), (dict(bits=32), "more than baseline_bits"),
    (dict(sparsity="1:2"), "allowed: None, '2:4'"), (dict(group_size=-1), "group_size"),
])
def test_compress_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ms.compress("llama-3-8b", **kwargs)


def test_footprint_quebec_by_hand():
    f = ms.fleet_footprint("h100", 1024, days=30, datacenter="quebec")
    # IT: 1024 x 700 W x 720 h = 516.096 MWh; facility x PUE 1.15 = 593.5104 MWh
    assert f.it_energy.to("MWh").magnitude == pytest.approx(516.096)
    assert f.facility_energy.to("MWh").magnitude == pytest.approx(593.5104)
    # 593,510.4 kWh x 5.48 g/kWh = 3.2524 t
    assert f.operational_carbon.to("tCO2e").magnitude == pytest.approx(3.2524370, rel=1e-6)
    assert f.water.to("kL").magnitude == pytest.approx(129.024)       # 516,096 kWh x 0.25 L
    assert f.rental_cost.to("USD").magnitude == pytest.approx(1024 * 720 * 8.6)
    assert f.energy_cost is None and any("electricity_price=" in n for n in f.notes)
    d = f.to_dict()
    assert d["operational_carbon"]["unit"] == "tCO2e" and d["embodied_carbon"] is None


def test_footprint_load_proportional_with_embodied_and_price():
    # P = 70 + (700 - 70) x 0.5 = 385 W; IT 1024 x 385 W x 720 h = 283.8528 MWh
    f = ms.fleet_footprint("h100", 1024, days=30, datacenter="virginia", utilization=0.5,
                           idle_power="70 W", embodied_carbon_per_device="2500 kgCO2e",
                           service_life="5 yr")
    assert f.device_power.to("W").magnitude == pytest.approx(385)
    assert f.it_energy.to("MWh").magnitude == pytest.approx(283.8528)
    facility_kwh = 283_852.8 * 1.15
    assert f.energy_cost.to("USD").magnitude == pytest.approx(facility_kwh * 0.0892)
    # ACT share: 1024 x 2.5 t x 30 d / (5 x 365.25 d) = 42.05 t (the 2500 kg is a user input)
    assert f.embodied_carbon.to("tCO2e").magnitude == pytest.approx(
        1024 * 2.5 * 30 / (5 * 365.25))
    assert f.total_carbon.to("tCO2e").magnitude == pytest.approx(
        (f.operational_carbon + f.embodied_carbon).to("tCO2e").magnitude)
    assert f.notes == []


def test_footprint_without_idle_power_is_an_upper_bound():
    f = ms.fleet_footprint("h100", 8, days="1 yr", datacenter="quebec", utilization=0.3)
    assert f.device_power.to("W").magnitude == pytest.approx(700)
    assert f.days == pytest.approx(365.25) and "upper bound" in f.notes[0]


def test_footprint_of_a_what_if_chip():
    chip = ms.Hardware.from_spec({"name": "my-chip", "vendor": "acme", "tier": "datacenter",
                                  "peak": {"fp16": "500 TFLOP/s"}, "tdp": "400 W",
                                  "memory": [{"tier": "hbm", "capacity": "96 GB",
                                              "bandwidth": "4 TB/s"}]})
    f = ms.fleet_footprint(chip, 10, days=1, datacenter="quebec", cloud_price="2 USD/h")
    assert f.it_energy.to("kWh").magnitude == pytest.approx(10 * 0.4 * 24)
    assert f.rental_cost.to("USD").magnitude == pytest.approx(10 * 24 * 2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(days=0), "days"), (dict(days="3 GB"), "days"), (dict(utilization=1.5), "utilization"),
    (dict(idle_power="900 W"), "more than the TDP"),
    (dict(embodied_carbon_per_device="1 tCO2e"), "needs service_life"),
])
def test_footprint_errors(kwargs, message):
    kw = dict(days=30, datacenter="quebec")
    kw.update(kwargs)
    with pytest.raises(ValueError, match=message):
        ms.fleet_footprint("h100", 8, **kw)


# ---- the command line ------------------------------------------------------------------------

def test_cli_compress_and_footprint_json(capsys):
    from mlsysim_sym.cli import main
    assert main(["compress", "llama-3-70b", "--bits", "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["size"]["value"] == pytest.approx(LLAMA3_70B * 0.53125 / 1e9)
    assert d["accuracy"]["relative_change"][1] == pytest.approx((3.41 - 3.32) / 3.32)
    assert main(["footprint", "h100", "--devices", "1024", "--days", "30", "--datacenter",
                 "quebec", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["facility_energy"]["value"] == pytest.approx(593.5104)
    assert d["operational_carbon"]["unit"] == "tCO2e"


def test_cli_compress_and_footprint_text_and_errors(capsys):
    from mlsysim_sym.cli import main
    assert main(["compress", "llama-3-70b"]) == 0
    out = capsys.readouterr().out
    assert "37.48 GB" in out and "Lin et al. 2024 (AWQ), Table 4" in out
    assert main(["footprint", "h100", "--devices", "8", "--days", "1", "--datacenter",
                 "virginia", "--utilization", "0.5", "--idle-power", "70 W"]) == 0
    out = capsys.readouterr().out
    assert "device power        385 W" in out  # 70 + 630 x 0.5
    assert main(["footprint", "h100", "--devices", "8", "--days", "1", "--datacenter",
                 "quebec", "--idle-power", "3 GB"]) == 2
    assert "idle_power" in capsys.readouterr().err
