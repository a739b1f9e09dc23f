"""Wall 17 - Capital: what a job costs to own or to rent the hardware for, and unit costs.

Bounds: an owned accelerator costs money every hour whether or not it is busy. Following
Barroso, Hoelzle and Ranganathan (2019, ch. 6), the total cost of ownership is capital expense
amortised over its depreciation period plus operating expense. Capital: the server share and the
cluster network per device, amortised over the service life L, and the facility (power delivery,
cooling, building), charged per watt of critical power the device provisions and amortised over
the facility life. Amortisation uses the capital recovery factor r / (1 - (1 + r)^-n) (annual
rate r, n years), which tends to straight-line 1/n as r -> 0. Operating: maintenance as an annual
fraction of IT capex, facility opex per provisioned watt, and electricity, which is wall 18's
facility energy (PUE included: cooling energy) times the electricity price.

Renting costs the cloud price per device-hour, only for the hours used. Owning at utilisation u
costs the fixed hourly rate plus electricity at P(u) = P_idle + (P_peak - P_idle) u (wall 18);
renting the busy hours costs u p. Owning breaks even at
u* = (fixed + e_idle) / (p - e_dyn), with e_idle, e_dyn the idle and load-proportional
electricity cost per hour; when buying is cheaper at full use, u* lies in (0, 1]. A training run
rented costs devices x hours x price; a served token costs devices x price / token throughput
(USD/token, shown per Mtoken), an image devices x price / image throughput.

Departures: Barroso et al. tabulate monthly costs per watt; we carry the same terms per device-hour
so they compose with job durations. Unit costs are at the rental price; for owned hardware use
owned_device_hour_cost / utilisation. Taxes, staff outside the facility, software licences and
resale value are excluded.

Regime of validity: identical devices, constant prices and rates over the period, annual
compounding; facility provisioned at the devices' peak power (no oversubscription).

References
----------
Barroso, Hoelzle, Ranganathan, "The Datacenter as a Computer: Designing Warehouse-Scale
Machines", 3rd ed., Morgan & Claypool, 2019, ch. 6 (Modeling Costs).
DeepSeek-AI, "DeepSeek-V3 Technical Report", arXiv:2412.19437, 2024, Table 1 (rental cost).
"""

import sympy

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("barroso2019datacenter", "Barroso, Luiz Andr{\\'e} and H{\\\"o}lzle, Urs and "
              "Ranganathan, Parthasarathy", "The Datacenter as a Computer: Designing "
              "Warehouse-Scale Machines, 3rd ed.", "Morgan & Claypool", 2019,
              doi="10.2200/S00874ED3V01Y201809CAC046", kind="book"),
    Reference("deepseek2024v3", "DeepSeek-AI", "DeepSeek-V3 Technical Report", "arXiv:2412.19437",
              2024, url="https://arxiv.org/abs/2412.19437", kind="misc"),
)


def recovery_factor(life):
    """Capital recovery factor [1/time]: r / (1 - (1 + r Y)^(-life / Y)), Y = one year."""
    r, y = s.cost_of_capital, s.compounding_period
    return r / (1 - (1 + r * y) ** (-life / y))


_it_capex = s.device_capex + s.network_capex_per_device
_energy_price_per_watt = s.pue * s.electricity_price  # USD per (W of IT power) per hour of use
_idle_energy_rate = s.device_idle_power * _energy_price_per_watt
_load_energy_rate = (s.device_peak_power - s.device_idle_power) * _energy_price_per_watt
_device_hours = s.devices * s.job_duration

WALL = Wall(
    number=17,
    name="Capital",
    domain="ops",
    summary=(
        "Owning accelerators means paying amortised capital (devices, network, datacenter) and "
        "fixed operating costs every hour, busy or not, plus electricity; renting means paying a "
        "price per device-hour used. The total cost of ownership, the rented cost of a run, the "
        "cost per served token or image, and the utilisation at which buying beats renting all "
        "follow, sharing the energy of wall 18."
    ),
    regime="Identical devices; constant prices, rates and utilisation over the period; annual "
           "compounding of the cost of capital; facility provisioned at device peak power.",
    equations=(
        Equation(s.capex_rate,
                 _it_capex * recovery_factor(s.service_life)
                 + s.facility_capex_per_watt * s.device_peak_power
                 * recovery_factor(s.facility_life),
                 cite="barroso2019datacenter",
                 locator="ch. 6, Sec. 6.1 Capital costs: servers and datacenter (per critical "
                         "watt) amortised over their depreciation periods with the cost of money",
                 note="capital recovery factor r/(1-(1+r)^-n); r -> 0 gives straight-line 1/n"),
        Equation(s.fixed_opex_rate,
                 s.maintenance_rate * _it_capex + s.facility_opex_per_watt * s.device_peak_power,
                 cite="barroso2019datacenter",
                 locator="ch. 6, Sec. 6.2 Operational costs: datacenter opex per critical watt "
                         "and server maintenance, electricity excluded"),
        Equation(s.energy_cost, s.facility_energy * s.electricity_price,
                 cite="barroso2019datacenter",
                 locator="ch. 6, Sec. 6.2 Operational costs: power, PUE included (wall 18's "
                         "facility energy)"),
        Equation(s.total_cost_of_ownership,
                 _device_hours * (s.capex_rate + s.fixed_opex_rate) + s.energy_cost,
                 cite="barroso2019datacenter",
                 locator="ch. 6: TCO = datacenter capex + datacenter opex + server capex + server "
                         "opex (Sec. 6.3 Case studies)"),
        Equation(s.owned_device_hour_cost, s.total_cost_of_ownership / _device_hours,
                 cite="barroso2019datacenter",
                 locator="ch. 6, Sec. 6.3 Case studies: TCO per server per unit time"),
        Equation(s.cloud_cost, _device_hours * s.cloud_price, cite="deepseek2024v3",
                 locator="Table 1: training cost = H800 GPU hours x $2 rental price per GPU hour"),
        Equation(s.break_even_utilization,
                 sympy.Piecewise(
                     ((s.capex_rate + s.fixed_opex_rate + _idle_energy_rate)
                      / (s.cloud_price - _load_energy_rate),
                      s.cloud_price > _load_energy_rate),
                     (sympy.oo, True)),
                 cite="barroso2019datacenter",
                 locator="ch. 6, Sec. 6.6 The cost of public clouds (own vs rent), with Sec. 6.5 "
                         "partially used capacity: owned costs accrue whether used or not",
                 note="solves fixed + e_idle + e_dyn u = u p for u; infinite when each busy hour "
                      "costs more in electricity than its rental price"),
        Equation(s.cost_per_token, s.devices * s.cloud_price / s.served_token_throughput,
                 cite="barroso2019datacenter",
                 locator="ch. 6: cost of a unit of work = hourly cost / work per hour"),
        Equation(s.cost_per_image, s.devices * s.cloud_price / s.image_throughput,
                 cite="barroso2019datacenter",
                 locator="ch. 6: cost of a unit of work = hourly cost / work per hour"),
    ),
    references=("barroso2019datacenter", "deepseek2024v3"),
)
