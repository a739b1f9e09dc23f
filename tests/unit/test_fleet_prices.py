"""Fleet cost from the registry's prices: purchase price [USD] first, else a rental price per
device-hour [USD/h]: the user's cloud_price, else the chip's published on-demand cloud_price."""

import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks.fleet import serve, size_fleet
from mlsysim_sym.units import Q_

LOAD = dict(qps=1, input_tokens=128, output_tokens=16)


def test_serve_cost_uses_the_registry_cloud_price():
    # H100 SXM: AWS p5.48xlarge on-demand 68.80 USD/h / 8 GPUs (registry cloud_price, sourced)
    hw = ms.registry.hardware("h100")
    r = serve("llama-3-8b", "h100", **LOAD)
    assert hw.price is None and hw.cloud_price == Q_(8.60, "USD/h")
    assert r.cost.to("USD/h").magnitude == pytest.approx(r.devices * 8.60, rel=1e-12)


def test_user_cloud_price_overrides_the_registry_one():
    r = serve("llama-3-8b", "h100", cloud_price="2 USD/h", **LOAD)
    assert r.cost.to("USD/h").magnitude == pytest.approx(r.devices * 2.0, rel=1e-12)


def test_purchase_price_comes_first():
    hw = ms.registry.hardware("gaudi3")
    r = serve("llama-3-8b", "gaudi3", **LOAD)
    assert hw.price is not None and hw.cloud_price is None
    assert r.cost.to("USD").magnitude == pytest.approx(r.devices * hw.price.to("USD").magnitude)


def test_an_hourly_budget_is_checked_against_the_registry_cloud_price():
    kw = dict(qps=20, input_tokens=512, output_tokens=128, slo={"ttft": "400 ms", "tpot": "40 ms"})
    ok = size_fleet("llama-3-8b", "h100", budget="1000 USD/h", **kw)
    assert ok.feasible and ok.cost.to("USD/h").magnitude == pytest.approx(ok.devices * 8.60)
    tight = size_fleet("llama-3-8b", "h100", budget="1 USD/h", **kw)
    assert not tight.feasible and "budget" in tight.message
