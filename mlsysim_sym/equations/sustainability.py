"""Wall 18 - Sustainability: the energy, carbon and water a job costs the planet.

Bounds: every device-hour draws power, every kWh the facility draws emits the grid's carbon
intensity, and every device carries the emissions of its manufacture. A device's power is linear
in its utilisation between idle and busy, P(u) = P_idle + (P_peak - P_idle) u (Fan, Weber,
Barroso 2007, Sec. 4, Eq. 1; the gap between P_idle and zero is what Barroso and Hoelzle 2007
call the lack of energy proportionality). The IT energy of a job on N devices for time T is
N P(u) T (Patterson et al. 2021, Table 4 and its energy formula); the facility draws PUE times
that (The Green Grid WP #49: PUE = total facility energy / IT equipment energy); operational
carbon is facility energy times the grid intensity (Patterson et al. 2021, Table 4). Embodied
carbon follows ACT (Gupta et al. 2022, Eq. 1: CF = OPCF + (T / LT) ECF): the job is charged
T / LT of each device's embodied emissions. Water follows The Green Grid WP #35: WUE = annual
site water / IT equipment energy, so site water = IT energy x WUE (not facility energy).

Departures: ACT's share T / LT assumes the device runs jobs all its life; like Luccioni et al.
(2023, embodied-emissions estimate: 6-year life, 85 % utilisation) we divide by the fraction of
the life in use, so idle years are charged to the jobs that run (u_L = 1 recovers ACT).
The power model is linear: measured servers bend slightly above the line at mid load (Fan et al.
fit 2u - u^r); the average power of a device busy a fraction u of the time is exactly
linear, which is the use here.

Regime of validity: a job of known duration on identical devices in one facility with one grid
intensity (location-based accounting; market-based offsets excluded); source water of power
generation excluded (WUE is site water only); embodied carbon per device from an LCA (registry).

References
----------
Fan, Weber, Barroso, "Power Provisioning for a Warehouse-sized Computer", ISCA 2007.
Barroso, Hoelzle, "The Case for Energy-Proportional Computing", IEEE Computer 40(12), 2007.
The Green Grid, White Paper #49 "PUE: A Comprehensive Examination of the Metric", 2012.
The Green Grid, White Paper #35 "Water Usage Effectiveness (WUE)", 2011.
Patterson et al., "Carbon Emissions and Large Neural Network Training", arXiv:2104.10350, 2021.
Gupta et al., "ACT: Designing Sustainable Computer Systems with an Architectural Carbon Modeling
Tool", ISCA 2022.
Luccioni, Viguier, Ligozat, "Estimating the Carbon Footprint of BLOOM", JMLR 24(253), 2023.
"""

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("fan2007power", "Fan, Xiaobo and Weber, Wolf-Dietrich and Barroso, Luiz Andr{\\'e}",
              "Power Provisioning for a Warehouse-sized Computer", "Proceedings of ISCA 2007", 2007,
              doi="10.1145/1250662.1250665", kind="inproceedings"),
    Reference("barroso2007energy", "Barroso, Luiz Andr{\\'e} and H{\\\"o}lzle, Urs",
              "The Case for Energy-Proportional Computing", "IEEE Computer 40(12)", 2007,
              doi="10.1109/MC.2007.443"),
    Reference("greengrid2012pue", "Avelar, Victor and Azevedo, Dan and French, Alan (The Green Grid)",
              "PUE: A Comprehensive Examination of the Metric", "The Green Grid, White Paper #49",
              2012, url="https://www.thegreengrid.org/en/resources/library-and-tools", kind="misc"),
    Reference("greengrid2011wue", "Patterson, Michael and others (The Green Grid)",
              "Water Usage Effectiveness (WUE): A Green Grid Data Center Sustainability Metric",
              "The Green Grid, White Paper #35", 2011,
              url="https://www.thegreengrid.org/en/resources/library-and-tools", kind="misc"),
    Reference("patterson2021carbon", "Patterson, David and Gonzalez, Joseph and Le, Quoc and Liang, "
              "Chen and Munguia, Lluis-Miquel and Rothchild, Daniel and So, David and Texier, Maud "
              "and Dean, Jeff", "Carbon Emissions and Large Neural Network Training",
              "arXiv:2104.10350", 2021, url="https://arxiv.org/abs/2104.10350", kind="misc"),
    Reference("gupta2022act", "Gupta, Udit and Elgamal, Mariam and Hills, Gage and Wei, Gu-Yeon and "
              "Lee, Hsien-Hsin S. and Brooks, David and Wu, Carole-Jean",
              "ACT: Designing Sustainable Computer Systems with an Architectural Carbon Modeling Tool",
              "Proceedings of ISCA 2022", 2022, doi="10.1145/3470496.3527408", kind="inproceedings"),
    Reference("luccioni2023bloom", "Luccioni, Alexandra Sasha and Viguier, Sylvain and Ligozat, "
              "Anne-Laure", "Estimating the Carbon Footprint of BLOOM, a 176B Parameter Language "
              "Model", "Journal of Machine Learning Research 24(253)", 2023,
              url="https://jmlr.org/papers/v24/23-0069.html"),
)

WALL = Wall(
    number=18,
    name="Sustainability",
    domain="ops",
    summary=(
        "A job's footprint is its energy times the grid's carbon intensity plus a share of the "
        "hardware's manufacturing emissions. Energy is device power (idle plus a load-proportional "
        "part) times devices times hours, scaled by the facility overhead (PUE); the same grid "
        "kWh can emit 10x more in one region than another, and idle power and embodied carbon "
        "are paid whether or not the devices do useful work. Water follows IT energy via WUE."
    ),
    regime="Identical devices in one facility, one location-based grid intensity over the job; "
           "linear power in utilisation; embodied carbon amortised over the service life in use; "
           "site water only (no water of electricity generation).",
    equations=(
        Equation(s.device_power,
                 s.device_idle_power + (s.device_peak_power - s.device_idle_power)
                 * s.device_utilization,
                 cite="fan2007power",
                 locator="Sec. 4 (server power model), Eq. (1): "
                         "P(u) = P_idle + (P_busy - P_idle) u"),
        Equation(s.it_energy, s.devices * s.device_power * s.job_duration,
                 cite="patterson2021carbon",
                 locator="Table 4 and its energy formula: MWh = training hours x processors x "
                         "average power per processor x PUE (PUE: next equation)"),
        Equation(s.facility_energy, s.pue * s.it_energy, cite="greengrid2012pue",
                 locator="PUE = total facility energy / IT equipment energy"),
        Equation(s.operational_carbon, s.facility_energy * s.carbon_intensity,
                 cite="patterson2021carbon",
                 locator="Table 4 and its formula tCO2e = MWh x tCO2e per MWh (GPT-3: "
                         "1,287 MWh x 0.429 = 552 tCO2e)"),
        Equation(s.embodied_carbon,
                 s.devices * s.embodied_carbon_per_device * s.job_duration
                 / (s.service_life * s.lifetime_utilization),
                 cite="gupta2022act", locator="Eq. (1): CF = OPCF + (T / LT) ECF",
                 note="divided by the fraction of the life in use (Luccioni et al. 2023, embodied "
                      "emissions: 6-year life, 85 % utilisation); lifetime_utilization = 1 is "
                      "ACT's share"),
        Equation(s.total_carbon, s.operational_carbon + s.embodied_carbon, cite="gupta2022act",
                 locator="Eq. (1): operational plus amortised embodied footprint"),
        Equation(s.water_consumption, s.it_energy * s.wue, cite="greengrid2011wue",
                 locator="WUE = annual site water usage / IT equipment energy [L/kWh]",
                 note="WUE is per IT kWh, so water scales with IT energy, not facility energy"),
        Equation(s.energy_per_output_token,
                 s.tensor_parallel * s.device_power / s.decode_throughput,
                 cite="patterson2021carbon",
                 locator="Table 4 and its energy formula (energy = processors x average power x "
                         "time), per token: over the tokens made in that time",
                 note="the t chips of a tensor-parallel group each draw P while the batch "
                      "decodes; predict() uses the TDP for P, an upper bound"),
        Equation(s.energy_per_prompt_token,
                 s.tensor_parallel * s.device_power / s.prefill_throughput,
                 cite="patterson2021carbon",
                 locator="Table 4 and its energy formula (energy = processors x average power x "
                         "time), per token: over the tokens made in that time",
                 note="the prefill pass at power P per chip; predict() uses the TDP, an upper "
                      "bound"),
    ),
    references=("fan2007power", "barroso2007energy", "greengrid2012pue", "greengrid2011wue",
                "patterson2021carbon", "gupta2022act", "luccioni2023bloom"),
)
