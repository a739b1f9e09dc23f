"""The reference tutorial's capstone as one call (issue 16, item 5): a fleet under TTFT/TPOT
SLOs across several chips and grid regions, with a budget and a carbon cap; the answer is a plan
or an "infeasible" that names the binding constraint. (Its speed, cold and warm, is measured in
benchmarks/bench_solvers.py, not here.)"""

from __future__ import annotations

import pytest

import mlsysim_sym as ms

CHIPS = ["h100", "mi300x", "b200", "a100", "h200"]
REGIONS = ["california", "france", "poland"]
LOAD = dict(qps=1000, input_tokens=1024, output_tokens=256,
            slo={"ttft": "2 s", "tpot": "50 ms"})


def capstone(**caps):
    return ms.size_fleet("llama-3-70b", CHIPS, datacenter=REGIONS, objective="cost", **LOAD,
                         **caps)


def test_the_capstone_returns_the_cheapest_plan_within_budget_and_carbon_cap():
    r = capstone(budget="30000 USD/h", carbon_cap="20000 tCO2e/yr")
    assert r.feasible
    d = r.to_dict()
    # the cheapest of the priced candidates: every other chip's own fleet costs more per hour
    others = [ms.size_fleet("llama-3-70b", c, **LOAD) for c in CHIPS]
    costs = {o.hardware.name: o.cost.to("USD/h").magnitude for o in others if o.feasible}
    assert r.cost.to("USD/h").magnitude == pytest.approx(min(costs.values()), rel=1e-9)
    assert d["devices"] == r.devices and r.cost.to("USD/h").magnitude <= 30000
    # the chosen region is the lowest-carbon of those given that meets the caps
    assert r.carbon.to("tCO2e/yr").magnitude <= 20000


def test_a_budget_below_every_fleet_is_infeasible_and_says_budget():
    r = capstone(budget="300 USD/h")
    assert not r.feasible
    text = r.headline()
    assert "over budget" in text and all(ms.registry.hardware(c).name in text for c in CHIPS)


def test_a_carbon_cap_below_every_fleet_is_infeasible_and_says_carbon():
    r = capstone(carbon_cap="100 tCO2e/yr")
    assert not r.feasible
    assert "carbon over the cap" in r.headline()


def test_the_carbon_cap_picks_a_cleaner_region_over_a_dirtier_one():
    # Poland's grid is coal-heavy, France's nuclear: with a cap between their emissions the
    # plan must move to the cleaner region rather than fail
    free = ms.size_fleet("llama-3-70b", "h100", datacenter=["poland"], **LOAD)
    clean = ms.size_fleet("llama-3-70b", "h100", datacenter=["france"], **LOAD)
    dirty_t = free.carbon.to("tCO2e/yr").magnitude
    clean_t = clean.carbon.to("tCO2e/yr").magnitude
    assert clean_t < dirty_t
    cap = f"{(clean_t + dirty_t) / 2} tCO2e/yr"
    r = ms.size_fleet("llama-3-70b", "h100", datacenter=["poland", "france"], carbon_cap=cap,
                      **LOAD)
    assert r.feasible and r.carbon.to("tCO2e/yr").magnitude == pytest.approx(clean_t, rel=1e-9)
