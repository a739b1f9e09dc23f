"""Accelerator prices: a purchase price [USD] or a published on-demand cloud price [USD/h] per
datacenter chip, each with its source, provider, instance and date; and how the fleet uses them."""

from __future__ import annotations

import pytest

from mlsysim_sym.registry import DATA_DIR
from mlsysim_sym.registry.loader import Registry
from mlsysim_sym.units import Q_

from .conftest import chip, write_user_file
from .test_schema_errors import FILE, assert_names, load_error

REGISTRY, _ = Registry.from_directory(DATA_DIR, collect=True)

# "Datacenter" is the registry's own tier field: datacenter chips plus wafer-scale systems
# (Cerebras CS-2/CS-3 are datacenter systems; the tier names the form factor).
DATACENTER_TIERS = ("datacenter", "wafer_scale")
DATACENTER = [h for h in REGISTRY.objects("hardware") if h.tier in DATACENTER_TIERS]

# Chips for which no published purchase price and no dated on-demand cloud price per device-hour
# (provider, instance, region) was found by the searches of 2026-12-07, with the reason. The list is
# checked both ways: a chip in it must have no price, so adding a sourced price means removing it.
NO_PUBLISHED_PRICE = {
    "amd-mi250x": "no cloud listing or list price found",
    "amd-mi355x": "a note of 2026-05-18 says it is rentable on demand at neoclouds but gives no rate",
    "aws-trainium2": "trn2.48xlarge figures disagree (undated SkyPilot AWS catalog 85.964 USD/h in "
                     "us-east-2; a Vantage-derived file of 2025-11-30 35.76 USD/h; later versions of "
                     "that file list no price); none is taken",
    "aws-trainium3": "no Trn3 instance price found",
    "cerebras-wse-2": "AnandTech's WSE-2 launch table gives 'Cost $2 million+' for the first "
                      "generation and only 'arm+leg' for WSE-2; no figure",
    "cerebras-wse-3": "no CS-3 list price or per-system-hour rate found",
    "groq-lpu": "no GroqCard list price or per-chip rental rate found",
    "google-tpu7x": "the Cloud TPU7x page says access is through the account team; no on-demand "
                    "per-chip rate was found (not searched beyond the TPU7x documentation)",
    "intel-gaudi2": "Intel published Gaudi 2 list prices at Computex 2024 (The Next Platform), but "
                    "the retrieved text does not state the figure; no Intel cloud rate found",
    "nvidia-h100-hbm2e-96gb": "a non-standard part in Meta's Grand Teton hosts (torchtitan's "
                              "benchmark platform): not sold or rented as a listed product",
    "nvidia-a100-40gb-pcie": "dated listings name only the SXM 40 GB card (Lambda 1.99, AWS p4d); an "
                             "undated Lambda catalog row 'gpu_1x_a100' names no form factor",
    "nvidia-h800-sxm": "no list price or cloud listing found; the DeepSeek-V3 report's 2 USD per "
                       "H800 GPU-hour is an assumed rental price for its cost arithmetic, not a "
                       "listing",
}


def _priced(hw) -> bool:
    return hw.price is not None or hw.cloud_price is not None


@pytest.mark.parametrize("hw", DATACENTER, ids=lambda h: h.name)
def test_every_datacenter_accelerator_has_a_sourced_price_or_is_listed_as_missing(hw):
    if hw.name in NO_PUBLISHED_PRICE:
        assert not _priced(hw), f"{hw.name} now has a price: remove it from NO_PUBLISHED_PRICE"
        return
    assert _priced(hw), (f"{hw.name} has neither price nor cloud_price; give a sourced one or list "
                         "it in NO_PUBLISHED_PRICE with the reason")
    for path, unit in (("price", "USD"), ("cloud_price", "USD/h")):
        q = getattr(hw, path)
        if q is None:
            continue
        assert q.dimensionality == Q_(1, unit).dimensionality and q.magnitude > 0
        prov = hw.provenance(path)
        assert prov.source in REGISTRY.sources and prov.currency_year is not None
        assert prov.locator and prov.retrieved is not None


def test_the_missing_list_names_only_datacenter_chips():
    names = {h.name for h in DATACENTER}
    assert set(NO_PUBLISHED_PRICE) <= names


@pytest.mark.parametrize("hw", [h for h in DATACENTER if h.cloud_price is not None],
                         ids=lambda h: h.name)
def test_cloud_price_names_provider_instance_and_arithmetic(hw):
    prov = hw.provenance("cloud_price")
    text = f"{prov.locator} {prov.note}"
    assert "on-demand" in text.lower()
    assert prov.basis == "derived" and prov.note  # per device = instance (slice) price / devices
    # the record names the instance (AWS type, TPU slice, RunPod pod, Azure VM, CoreWeave node,
    # Lambda instance) or says that the source names none ...
    assert any(k in text for k in ("xlarge", "tpu-v", "_SECURE", "ND MI300X v5", "Standard_NC",
                                   "gb200-4x", "1x A10", "names no instance")), text
    # ... and where it was priced, or says that the source does not name the region
    assert any(k in text for k in ("us-", "europe-", "asia-", "US-", "eastus", "North America",
                                   "not name the region")), text


# Published numbers behind the values (the source and its row are in each record's locator).
@pytest.mark.parametrize("name,instance_price,devices,per_device", [
    ("google-tpu-v3", 8.0, 4, 2.00),       # SkyPilot GCP catalog: tpu-v3-8 (4 chips) us-central1-a
    ("google-tpu-v4", 12.88, 4, 3.22),     # tpu-v4-8 (4 chips) us-central2-b
    ("google-tpu-v5e", 1.2, 1, 1.20),      # tpu-v5litepod-1 us-central1-a
    ("google-tpu-v5p", 25804.8, 6144, 4.20),  # tpu-v5p-12288 (6144 chips) us-central1-a
    ("google-tpu-v6e", 2.7, 1, 2.70),      # tpu-v6e-1 us-central1-b; Google GA: $2.70/chip-hour
    ("nvidia-h100-sxm", 68.8, 8, 8.60),    # dstack PR #3264: AWS p5.48xlarge us-west-1, 2025-11-06
    ("nvidia-h200-sxm", 63.296, 8, 7.912),  # dstack PR #4110: AWS p5en.48xlarge us-east-1, 2026-08-06
    ("nvidia-a100-40gb-sxm", 32.77, 8, 4.09625),  # AWS p4d.24xlarge as quoted 2024-11-09
    ("nvidia-a100-80gb-pcie", 1.64, 1, 1.64),  # SkyPilot RunPod catalog: 1x_A100-80GB_SECURE
    ("nvidia-a100-80gb-sxm", 1.89, 1, 1.89),   # 1x_A100-80GB-SXM_SECURE
    ("nvidia-h100-pcie", 2.39, 1, 2.39),       # 1x_H100_SECURE
    ("nvidia-l4", 0.44, 1, 0.44),              # 1x_L4_SECURE
    ("aws-trainium", 21.50, 16, 1.34375),      # usage.ai 2026-06-25: AWS trn1.32xlarge (16 chips)
    ("amd-mi300x", 6, 1, 6.00),                # Cliff Center 2026-05-18: Azure, per GPU-hour
    ("amd-mi325x", 1.95, 1, 1.95),             # Cliff Center 2026-05-18: TensorWave, per GPU-hour
    # tsaol/aws-gpu (instances.vantage.sh) 2026-08-26, AWS us-east-1 on-demand
    ("nvidia-t4", 0.526, 1, 0.526),            # g4dn.xlarge
    ("nvidia-l40s", 1.861, 1, 1.861),          # g6e.xlarge
    ("nvidia-v100-sxm2-16gb", 3.06, 1, 3.06),  # p3.2xlarge
    ("nvidia-v100-sxm2-32gb", 31.212, 8, 3.9015),  # p3dn.24xlarge
    ("nvidia-b200", 113.9328, 8, 14.2416),     # p6-b200.48xlarge
    ("aws-inferentia2", 0.7582, 1, 0.7582),    # inf2.xlarge (1 chip; 2025-12-21 file)
    ("nvidia-gb200", 42.0, 4, 10.50),          # CoreWeave GB200 NVL72 node, 2026-09-20
    ("nvidia-h100-nvl", 6.98, 1, 6.98),        # Azure Standard_NC40ads_H100_v5 eastus, 2026-11-09
    ("nvidia-a10", 1.29, 1, 1.29),             # Lambda 1x A10, 2026-09-25
])
def test_cloud_price_is_the_published_instance_price_per_device(name, instance_price, devices,
                                                                 per_device):
    hw = REGISTRY.get("hardware", name)
    assert instance_price / devices == pytest.approx(per_device, rel=1e-9)
    assert hw.cloud_price.to("USD/h").magnitude == pytest.approx(per_device, rel=1e-9)
    assert f"{instance_price:.10g}" in hw.provenance("cloud_price").locator


def test_user_chip_with_cloud_price_loads(empty_registry, tmp_path):
    entry = chip(cloud_price={"value": "3.5 USD/h", "currency_year": 2026, "basis": "derived",
                              "note": "8-GPU instance on-demand 28 USD/h / 8"})
    empty_registry.load(write_user_file(tmp_path, [entry]))
    hw = empty_registry.hardware("acme-x1")
    assert hw.cloud_price == Q_(3.5, "USD/h") and hw.price == Q_(40000, "USD")
    assert hw.provenance("cloud_price").currency_year == 2026


@pytest.mark.parametrize("value,phrase", [("3.5 USD", "USD/h"), ("-1 USD/h", "greater than 0"),
                                          ("3.5 W", "USD/h")])
def test_cloud_price_must_be_a_positive_rate_per_hour(empty_registry, tmp_path, value, phrase):
    entry = chip(cloud_price={"value": value, "currency_year": 2026})
    err = load_error(empty_registry, tmp_path, [entry])
    assert FILE in str(err) and "cloud_price" in (err.field or "") and phrase in str(err)


def test_cloud_price_needs_currency_year(empty_registry, tmp_path):
    err = load_error(empty_registry, tmp_path, [chip(cloud_price="3.5 USD/h")])
    assert_names(err, "acme-x1", "cloud_price.currency_year", "currency_year")
