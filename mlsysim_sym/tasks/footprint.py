"""``fleet_footprint()``: a fleet's energy, cost, carbon and water over N days.

A task function: it gathers the registry's chip power and prices and the datacenter's grid data
and evaluates wall 18 (Sustainability: device power at a utilisation, IT and facility energy,
operational and embodied carbon, water) with wall 17 (Capital: electricity cost, rental cost);
the physics is the walls'. What the registry lacks is asked for, never invented: the idle power
of a chip (without it the devices draw their TDP whether busy or not, an upper bound), the
electricity price of a region that publishes none, a chip's embodied carbon and service life.

Example::

    import mlsysim_sym as ms
    f = ms.fleet_footprint("h100", 1024, days=30, datacenter="quebec")
    f.facility_energy, f.operational_carbon, f.rental_cost
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .. import checks, registry
from ..units import Q_, quantity_json
from ._core.result import Result

__all__ = ["fleet_footprint", "FleetFootprint"]

_ENERGY = ("device_power", "it_energy", "facility_energy", "operational_carbon")


@lru_cache(maxsize=1)
def _system():
    from ..equations import walls
    from ..system import System
    return System.from_walls(walls.sustainability, walls.capital, name="fleet footprint")


@dataclass
class FleetFootprint(Result):
    """Energy, cost, carbon and water of ``devices`` chips over ``days`` (pint quantities).

    Attributes
    ----------
    hardware, datacenter : registry objects
    devices : int
    days : float
    utilization : float
        Average fraction of the time the devices are busy.
    device_power : pint.Quantity
        Average power of one device [W] (wall 18: P_idle + (P_peak - P_idle) u).
    it_energy, facility_energy : pint.Quantity
        [MWh]; facility = PUE x IT.
    operational_carbon : pint.Quantity
        [tCO2e]: facility energy x the grid's carbon intensity.
    embodied_carbon, total_carbon : pint.Quantity or None
        [tCO2e], when ``embodied_carbon_per_device`` and ``service_life`` are given.
    water : pint.Quantity or None
        Site water [kL] (IT energy x WUE), when the datacenter has a WUE.
    energy_cost : pint.Quantity or None
        Electricity [USD] at the datacenter's (or the given) price.
    rental_cost : pint.Quantity or None
        Devices x hours x the cloud price per device-hour [USD].
    notes : list of str
        What was assumed, and what could not be computed for want of data.
    """

    HEADLINE = ("devices", "days", "facility_energy", "operational_carbon", "energy_cost",
                "rental_cost")

    hardware: object
    datacenter: object
    devices: int
    days: float
    utilization: float
    device_power: object
    it_energy: object
    facility_energy: object
    operational_carbon: object
    embodied_carbon: object = None
    total_carbon: object = None
    water: object = None
    energy_cost: object = None
    rental_cost: object = None
    notes: list = field(default_factory=list)

    def __repr__(self):
        parts = [f"{self.facility_energy:.4g~P}", f"{self.operational_carbon:.4g~P} operational"]
        for k in ("energy_cost", "rental_cost"):
            v = getattr(self, k)
            if v is not None:
                parts.append(f"{k.replace('_', ' ')} {v:,.0f~P}")
        return (f"FleetFootprint({self.devices} x {self.hardware.name} for {self.days:g} days in "
                f"{self.datacenter.name} at u={self.utilization:g}: {', '.join(parts)})")

    @property
    def system(self):
        """The composed system the footprint was evaluated with (walls 17 and 18)."""
        return _system()

    def title(self) -> str:
        """The chip and the grid region."""
        return f"{self.hardware.name} in {self.datacenter.name}"

    def to_dict(self) -> dict:
        """JSON-ready dict: quantities as ``{"value", "unit"}``, chip and datacenter by name."""
        d = {"hardware": self.hardware.name, "datacenter": self.datacenter.name,
             "devices": self.devices, "days": self.days, "utilization": self.utilization}
        for k in ("device_power", "it_energy", "facility_energy", "operational_carbon",
                  "embodied_carbon", "total_carbon", "water", "energy_cost", "rental_cost"):
            d[k] = quantity_json(getattr(self, k))
        d["notes"] = list(self.notes)
        return d


def _scalar(name, value, unit, **bounds):
    """One checked quantity in ``unit`` (an array is refused: a footprint is of one fleet)."""
    v = checks.one(checks.quantity(name, value, unit, **bounds),
                   f"{name} must be one value here, not an array")
    return Q_(v, Q_(1, unit).to_base_units().units).to(unit)


def fleet_footprint(hardware, devices, *, days, datacenter, utilization: float = 1.0,
                    idle_power=None, electricity_price=None, cloud_price=None,
                    embodied_carbon_per_device=None, service_life=None,
                    lifetime_utilization: float = 1.0) -> FleetFootprint:
    """Energy, cost, carbon and water of a fleet of ``devices`` chips over ``days``.

    Parameters
    ----------
    hardware : str or Hardware
        A registry chip (``"h100"``) or a what-if chip (``Hardware.from_spec``); its TDP is the
        busy power.
    devices : int
        Number of chips.
    days : float, quantity or str
        How long the fleet runs (a bare number is days; ``"1 yr"`` works).
    datacenter : str or Datacenter
        Grid region (``"quebec"``, ``"virginia"``): carbon intensity, PUE, WUE and, where
        published, the electricity price.
    utilization : float
        Average fraction of the time the chips are busy, in [0, 1].
    idle_power : quantity or str, optional
        Power of an idle chip (``"70 W"``). The registry has no idle powers: without it the
        chips draw their TDP at any utilisation (an upper bound), and a note says so.
    electricity_price : quantity or str, optional
        ``"0.08 USD/kWh"``; default: the datacenter's.
    cloud_price : quantity or str, optional
        Rental price per device-hour (``"2.5 USD/h"``); default: the registry's on-demand price.
    embodied_carbon_per_device : quantity or str, optional
        Manufacturing emissions of one chip with its server share (``"2500 kgCO2e"``); with
        ``service_life`` gives the embodied share (the registry has none).
    service_life : quantity or str, optional
        Years the chip serves (``"5 yr"``).
    lifetime_utilization : float
        Fraction of the service life in use (1: ACT's charge T / LT).

    Returns
    -------
    FleetFootprint

    Raises
    ------
    InputError
        A value out of range or of the wrong unit, a chip without a TDP, or embodied carbon
        without a service life; LookupError for an unknown chip or datacenter.
    """
    hw = registry.hardware(hardware)
    dc = registry.datacenter(datacenter)
    n = checks.one(checks.count("devices", devices, 1, 1e8),
                   "devices must be one whole number here, not an array")
    duration = _scalar("days", days, "day", low=0, low_open=True)
    u = checks.one(checks.number("utilization", utilization, low=0, high=1),
                   "utilization must be one number in [0, 1] here")
    notes = []
    values = {"devices": float(n), "job_duration": duration, "device_utilization": float(u),
              "device_idle_power": _idle_power(hw, idle_power, u, notes),
              "device_peak_power": hw.tdp}
    outputs = list(_ENERGY) + _site(dc, values, notes)
    outputs += _prices(hw, dc, electricity_price, cloud_price, values, notes)
    outputs += _embodied(embodied_carbon_per_device, service_life, lifetime_utilization, values,
                         notes)
    return _result(hw, dc, int(n), duration, float(u), _system().evaluate(outputs, values), notes)


def _idle_power(hw, idle_power, u, notes):
    """Power of an idle chip: given (at most the TDP), else the TDP (an upper bound, noted)."""
    if hw.tdp is None:
        raise checks.InputError(f"hardware {hw.name!r} has no TDP in the registry: give a chip "
                                "with one (Hardware.from_spec({... 'tdp': '700 W'}))")
    if idle_power is None:
        if u < 1:
            notes.append(f"no idle power for {hw.name} (the registry has none): the devices draw "
                         f"their TDP ({hw.tdp:~P}) at any utilisation, an upper bound; pass "
                         "idle_power= for the load-proportional model")
        return hw.tdp
    idle = _scalar("idle_power", idle_power, "W", low=0)
    if idle > hw.tdp:
        raise checks.InputError(f"idle_power={idle:~P} is more than the TDP of {hw.name} "
                                f"({hw.tdp:~P})")
    return idle


def _site(dc, values, notes) -> list:
    """The grid's carbon intensity and PUE (required) and WUE into ``values``; the extra
    outputs they allow (water)."""
    for key in ("carbon_intensity", "pue"):
        if getattr(dc, key, None) is None:
            raise checks.InputError(f"datacenter {dc.name!r} has no {key} in the registry")
        values[key] = getattr(dc, key)
    if dc.wue is not None:
        values["wue"] = dc.wue
        return ["water_consumption"]
    notes.append(f"no WUE for {dc.name}: water not computed")
    return []


def _prices(hw, dc, electricity_price, cloud_price, values, notes) -> list:
    """Electricity and rental prices (given, else the registry's) into ``values``; the cost
    outputs they allow."""
    outputs = []
    price = (_scalar("electricity_price", electricity_price, "USD/kWh", low=0)
             if electricity_price is not None else dc.electricity_price)
    if price is not None:
        values["electricity_price"] = price
        outputs.append("energy_cost")
    else:
        notes.append(f"no electricity price for {dc.name} in the registry: pass "
                     "electricity_price= for the energy cost")
    rent = (_scalar("cloud_price", cloud_price, "USD/h", low=0)
            if cloud_price is not None else getattr(hw, "cloud_price", None))
    if rent is not None:
        values["cloud_price"] = rent
        outputs.append("cloud_cost")
    else:
        notes.append(f"no cloud price for {hw.name}: pass cloud_price= for the rental cost")
    return outputs


def _embodied(per_device, service_life, lifetime_utilization, values, notes) -> list:
    """The embodied-carbon inputs into ``values`` when given (with a service life); the
    embodied and total carbon outputs."""
    if per_device is None:
        notes.append("embodied carbon not included (the registry has none): pass "
                     "embodied_carbon_per_device= and service_life=")
        return []
    if service_life is None:
        raise checks.InputError("embodied_carbon_per_device needs service_life (e.g. "
                                "'5 yr') to charge the fleet its share")
    values["embodied_carbon_per_device"] = _scalar(
        "embodied_carbon_per_device", per_device, "kgCO2e", low=0)
    values["service_life"] = _scalar("service_life", service_life, "yr", low=0, low_open=True)
    values["lifetime_utilization"] = checks.number(
        "lifetime_utilization", lifetime_utilization, low=0, high=1, low_open=True)
    return ["embodied_carbon", "total_carbon"]


def _result(hw, dc, n, duration, u, out, notes) -> FleetFootprint:
    """The :class:`FleetFootprint` of one evaluation (outputs not computed are None)."""
    def q(name, unit):
        return out[name].to(unit) if name in out else None

    return FleetFootprint(
        hardware=hw, datacenter=dc, devices=n, days=float(duration.to("day").magnitude),
        utilization=u, device_power=q("device_power", "W"),
        it_energy=q("it_energy", "MWh"), facility_energy=q("facility_energy", "MWh"),
        operational_carbon=q("operational_carbon", "tCO2e"),
        embodied_carbon=q("embodied_carbon", "tCO2e"), total_carbon=q("total_carbon", "tCO2e"),
        water=q("water_consumption", "kL"), energy_cost=q("energy_cost", "USD"),
        rental_cost=q("cloud_cost", "USD"), notes=notes)
