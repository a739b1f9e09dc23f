"""Inputs of the mixture-of-experts workload record for a registry MoE model (the serving
path composes the record with walls 1, 2 and 4)."""

from __future__ import annotations

from ... import registry, vocabulary
from ...registry import params
from ...units import Q_

__all__ = ["moe_inputs"]


def moe_inputs(model) -> dict:
    """Inputs of the MoE record for a registry MoE model, as quantities.

    ``moe_dense_parameters`` is everything outside the routed and shared experts, so that the
    record's ``parameters`` and ``active_parameters`` equal the registry's derived counts.
    """
    m = registry.model(model)
    if m.family != "moe" or m.moe is None:
        raise ValueError(f"{m.name} is not a mixture-of-experts model")
    vocabulary.check_routing(m.moe.experts, m.moe.experts_per_token, m.name)
    expert = params.ffn_parameters(m, m.moe.expert_ffn)
    total = sum(m.parameter_breakdown().values())
    layers, experts, shared = m.moe_layers, m.moe.experts, m.moe.shared_experts
    return {"moe_dense_parameters": Q_(total - layers * (experts + shared) * expert, "param"),
            "moe_expert_parameters": Q_(expert, "param"), "moe_experts": experts,
            "experts_per_token": m.moe.experts_per_token, "moe_shared_experts": shared,
            "moe_layers": layers}
