"""The MoE record's domain: a token picks k <= E distinct experts (Fedus et al. 2022, Sec. 2).

With k > E the occupancy E (1 - (1 - k/E)^B) of the record is not even real (hypothesis found a
complex number in an inverse round trip); such inputs are refused with what is allowed.
"""

import pytest

from mlsysim_sym.equations import workloads
from mlsysim_sym.equations.moe import check_routing
from mlsysim_sym.solvers.inverse import BaseValues, solve_for
from mlsysim_sym.system import System

MOE = System.from_walls(workloads.moe)


def test_check_routing_says_what_is_allowed():
    check_routing(8, 2)
    check_routing(8, 8)
    with pytest.raises(ValueError, match=r"experts_per_token \(k = 4\) exceeds moe_experts "
                                         r"\(E = 2\).*1 <= k <= E is allowed"):
        check_routing(2, 4, "my-moe")


def test_the_record_declares_the_domain():
    assert [c.name for c in MOE.domain] == ["a_token_picks_at_most_every_expert"]
    MOE.check_domain({"moe_experts": 8.0, "experts_per_token": 2.0})
    with pytest.raises(ValueError, match="experts_per_token <= moe_experts is required"):
        MOE.check_domain({"moe_experts": 2.0, "experts_per_token": 4.0})


def test_solve_for_refuses_given_inputs_outside_the_domain():
    given = BaseValues({"moe_experts": 2.0, "experts_per_token": 4.0, "batch": 8.0,
                        "tokens_per_decode_step": 1.0})
    with pytest.raises(ValueError, match="is required"):
        solve_for(MOE, "batch", {"moe_decode_experts_touched": 1.5}, given)


def test_solving_for_the_experts_stays_at_or_above_k():
    # Mixtral routing (k = 2 of E = 8): a batch of 8 decode tokens touches
    # 8 (1 - (6/8)^8) = 7.199 distinct experts; solving back for E finds 8 (a whole number)
    # searching only E >= k, where the occupancy is real
    target = 8 * (1 - 0.75 ** 8)
    given = BaseValues({"experts_per_token": 2.0, "batch": 8.0, "tokens_per_decode_step": 1.0})
    r = solve_for(MOE, "moe_experts", {"moe_decode_experts_touched": target}, given)
    assert r.feasible
    assert r.value.magnitude == pytest.approx(8.0, abs=1e-6)
