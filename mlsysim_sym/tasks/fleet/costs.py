"""Cost and carbon of a serving fleet.

Cost is the purchase price where the registry has one, otherwise a rental price per
device-hour: the user's ``cloud_price``, else the registry's published on-demand
``cloud_price``. Carbon is the operational emission of a year at TDP (wall 18; an upper bound:
the registry has no idle-power data).
"""

from __future__ import annotations

from functools import lru_cache

from ... import registry
from ...numeric import cached_kernel
from ...units import Q_
from .._core.knobs import magnitude
from .load import positive

__all__ = ["carbon_kernel", "fleet_carbon", "fleet_cost"]


def _sustainability_system():
    from ...equations import walls
    from ...system import System
    return System.from_walls(walls.sustainability)


@lru_cache(maxsize=1)
def carbon_kernel():
    """Wall 18 (Sustainability) compiled for a fleet's yearly carbon, energy and water (from
    the disk cache of generated kernels: :func:`mlsysim_sym.numeric.cached_kernel`)."""
    return cached_kernel("sustainability", ("operational_carbon", "facility_energy",
                                            "water_consumption"), None, _sustainability_system)


def fleet_carbon(hw, devices, datacenter):
    """Operational carbon [tCO2e/yr] of ``devices`` chips at TDP all year in ``datacenter``;
    None without a datacenter, a TDP or the region's carbon intensity."""
    if datacenter is None:
        return None
    dc = registry.datacenter(datacenter)
    if hw.tdp is None or dc.carbon_intensity is None:
        return None
    k = carbon_kernel()
    vals = {"carbon_intensity": magnitude("carbon_intensity", dc.carbon_intensity),
            "device_idle_power": magnitude("device_idle_power", hw.tdp),
            "device_peak_power": magnitude("device_peak_power", hw.tdp),
            "device_utilization": 1.0, "devices": float(devices),
            "job_duration": magnitude("job_duration", Q_(1, "yr")),
            "pue": magnitude("pue", dc.pue if dc.pue is not None else Q_(1, "")),
            "wue": magnitude("wue", dc.wue if dc.wue is not None else Q_(0, "L/kWh"))}
    ev = k.lazy([vals[n] for n in k.input_names])
    return (ev.quantity("operational_carbon") / Q_(1, "yr")).to("tCO2e/yr")


def fleet_cost(hw, devices, cloud_price):
    """Purchase price x devices [USD]; else a rental price per device-hour x devices [USD/h]:
    the user's ``cloud_price`` if given, else the registry's published on-demand price."""
    if getattr(hw, "price", None) is not None:
        return (hw.price * devices).to("USD")
    if cloud_price is not None:
        return (positive("cloud_price", cloud_price, "USD/h") * devices).to("USD/h")
    if getattr(hw, "cloud_price", None) is not None:
        return (hw.cloud_price * devices).to("USD/h")
    return None
