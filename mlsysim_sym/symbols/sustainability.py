"""Symbols of wall 18 (Sustainability): power, energy, carbon and water of a fleet of devices.

Declared here (not in wall 17) because the energy expression is shared: wall 17 (Capital) prices
``facility_energy`` at the electricity price and amortises capital over ``service_life``, and
imports these symbols; a system composed of both walls then has one definition of each.
Power symbols are per accelerator *with its share of the host server* when the host is to be
counted (a DGX-class server draws far more than its GPUs' TDPs); use the accelerator's TDP alone
to count the accelerator only.
"""

from .base import declare
from .fragility import job_duration  # noqa: F401  (reused: wall-clock duration of the job)

devices = declare("devices", "dimensionless", r"N_{\mathrm{dev}}",
                  "accelerators the job or fleet runs on (each with its share of the host)",
                  (1, 1e7), integer=True)

# ---- power (Fan, Weber, Barroso 2007: linear in utilisation) ----------------------------------
device_idle_power = declare("device_idle_power", "W", r"P_{\mathrm{idle}}",
                            "power of one device (with its host share) switched on but idle",
                            (0, 1e5))
device_peak_power = declare("device_peak_power", "W", r"P_{\mathrm{peak}}",
                            "power of one device (with its host share) fully busy; the TDP when "
                            "the accelerator alone is counted", (1e-3, 1e5))
device_utilization = declare("device_utilization", "dimensionless", r"u",
                             "time-averaged load of a device between idle (0) and fully busy (1)",
                             (0, 1))
device_power = declare("device_power", "W", r"P", "average power of one device at utilisation u",
                       (0, 1e5))

# ---- energy (The Green Grid WP #49: PUE = facility energy / IT equipment energy) ---------------
pue = declare("pue", "dimensionless", r"\mathrm{PUE}",
              "power usage effectiveness: total facility energy over IT equipment energy (>= 1)",
              (1, 4))
it_energy = declare("it_energy", "MWh", r"E_{\mathrm{IT}}",
                    "energy drawn by the IT equipment (devices and hosts) during the job", (0, 1e9))
facility_energy = declare("facility_energy", "MWh", r"E",
                          "energy drawn by the whole facility (IT, cooling, power delivery) "
                          "during the job", (0, 1e9))

# ---- carbon (Patterson et al. 2021; Gupta et al. ACT 2022) -------------------------------------
carbon_intensity = declare("carbon_intensity", "gCO2e/kWh", r"\mathrm{CI}",
                           "grid carbon intensity of the electricity the facility draws", (0, 2000))
operational_carbon = declare("operational_carbon", "tCO2e", r"C_{\mathrm{op}}",
                             "emissions from the electricity the job uses", (0, 1e9))
embodied_carbon_per_device = declare(
    "embodied_carbon_per_device", "kgCO2e", r"C_{\mathrm{emb,dev}}",
    "manufacturing (embodied) emissions of one device with its share of the server; registry "
    "values carry their LCA source (e.g. Luccioni et al. 2023: 150 kg per A100 + 2,500 kg per "
    "8-GPU server)", (0, 1e5))
service_life = declare("service_life", "yr", r"L",
                       "years a device serves before replacement: its depreciation period "
                       "(wall 17) and embodied-carbon amortisation period (wall 18)", (0.1, 30))
lifetime_utilization = declare(
    "lifetime_utilization", "dimensionless", r"u_{L}",
    "fraction of the service life the device runs jobs; the embodied carbon of idle time is "
    "charged to the jobs that run (1 = ACT's T/LT share)", (1e-3, 1))
embodied_carbon = declare("embodied_carbon", "tCO2e", r"C_{\mathrm{emb}}",
                          "share of the devices' embodied emissions charged to the job", (0, 1e9))
total_carbon = declare("total_carbon", "tCO2e", r"C", "operational plus embodied emissions",
                       (0, 1e9))

# ---- water (The Green Grid WP #35: WUE = site water / IT equipment energy) ---------------------
wue = declare("wue", "L/kWh", r"\mathrm{WUE}",
              "water usage effectiveness: annual site water use over IT equipment energy",
              (0, 20))
water_consumption = declare("water_consumption", "kL", r"V_{w}",
                            "site water consumed (cooling, humidification) during the job",
                            (0, 1e10))

# ---- serving: energy per token -----------------------------------------------------------------
energy_per_output_token = declare(
    "energy_per_output_token", "J/token", r"E_{\mathrm{out}}",
    "device energy per generated token: the serving devices' power over the decode throughput",
    (0, 1e9))
energy_per_prompt_token = declare(
    "energy_per_prompt_token", "J/token", r"E_{\mathrm{in}}",
    "device energy per prompt token: the serving devices' power over the prefill throughput",
    (0, 1e9))
