"""Per-core int8 MAC rates, MCU energy per inference, and the boards added for issue 17.

Reference values name their source: Lai, Suda, Chandra 2018 (CMSIS-NN, arXiv:1801.06601,
Sec. 2-3: SMLAD, two 16-bit MACs per cycle); the Cortex-M55 specification row quoted on the Arm
Community forum ('8 x 8-bit MACs/cycle'); Espressif's ESP-NN README (commit 0798b58f, kernelwise
table: 1x1 convolution 10x10, 64x1x1x64 in 461,398 ticks); MLPerf Tiny v1.0 / v1.3 EnergyRunner
logs ('Median energy cost is ...', measurements.yaml / measurements_more.yaml).
"""

import math

import pytest

from mlsysim_sym import registry
from mlsysim_sym.equations import workloads
from mlsysim_sym.equations.tinyml import (CORE_INT8_MACS_PER_CYCLE, CORE_ISSUE_FRACTION,
                                          EPILOGUE_INSTRUCTIONS, core_family)
from mlsysim_sym.symbols import info
from mlsysim_sym.system import System
from mlsysim_sym.tasks.workloads import predict_tinyml
from mlsysim_sym.units import Q_


def test_core_rates_match_their_sources():
    # Lai et al. 2018 Sec. 2-3: SMLAD = 2 x 16-bit MAC per cycle on the DSP-extension cores
    for family in ("cortex-m4", "cortex-m7", "cortex-m33"):
        assert CORE_INT8_MACS_PER_CYCLE[family][0] == 2.0
        assert CORE_INT8_MACS_PER_CYCLE[family][1] == "lai2018cmsisnn"
    # Cortex-M55 specification: up to 8 x 8-bit MACs/cycle (Helium)
    assert CORE_INT8_MACS_PER_CYCLE["cortex-m55"][0] == 8.0
    # ESP-NN: 10 x 10 x 64 x 64 = 409,600 MACs in 461,398 ticks -> 0.888 MAC/cycle
    assert CORE_INT8_MACS_PER_CYCLE["xtensa-lx7-esp32s3"][0] == pytest.approx(0.8877, abs=1e-4)
    # no SIMD on the Armv6-M / Armv7-M cores without DSP: below the SMLAD rate
    assert CORE_INT8_MACS_PER_CYCLE["cortex-m0plus"][0] < CORE_INT8_MACS_PER_CYCLE["cortex-m4"][0]
    for rate, ref, locator, basis in CORE_INT8_MACS_PER_CYCLE.values():
        assert rate > 0 and ref and locator and basis in ("derived", "vendor_spec", "assumption")


# (board, core family) of the single-core MCUs whose registry int8 peak is rate x 2 OP x clock
SINGLE_CORE = [("st-stm32f746", "cortex-m7"), ("st-stm32h743", "cortex-m7"),
               ("st-stm32h7a3", "cortex-m7"), ("st-stm32l4r5", "cortex-m4"),
               ("st-stm32u575", "cortex-m33"), ("st-stm32u585", "cortex-m33"),
               ("st-stm32u385", "cortex-m33"), ("st-stm32g0b1", "cortex-m0plus"),
               ("nordic-nrf52840", "cortex-m4"), ("nordic-nrf5340", "cortex-m33"),
               ("nuvoton-m467", "cortex-m4"), ("infineon-psoc62", "cortex-m4"),
               ("silabs-efr32mg24", "cortex-m33"), ("renesas-ra8d1", "cortex-m85"),
               ("espressif-esp32-s3", "xtensa-lx7-esp32s3")]


@pytest.mark.parametrize("board,family", SINGLE_CORE, ids=[b for b, _ in SINGLE_CORE])
def test_registry_peak_is_the_core_rate_times_the_clock(board, family):
    hw = registry.hardware(board)
    rate = CORE_INT8_MACS_PER_CYCLE[family][0]
    expected = rate * 2 * hw.clock.to("Hz").magnitude
    assert hw.peak_flops("int8").to("FLOP/s").magnitude == pytest.approx(expected, rel=2e-3)
    if family.startswith("cortex"):
        assert core_family(hw.isa) == family


def test_issue_fractions_are_coremark_per_mhz_over_the_dual_issue_m7():
    # Arm's official CoreMark/MHz: M7 5.01, M4 3.40, M3 3.32, M0+ 2.49 (Ibrahim 2019, Table
    # 3.2), M33 4.02 (NXP AN12284, Sec. 1); the M7 dual-issues the loads beside the SMLADs
    expected = {"cortex-m0plus": 2.49 / 5.01, "cortex-m3": 3.32 / 5.01,
                "cortex-m4": 3.40 / 5.01, "cortex-m33": 4.02 / 5.01, "cortex-m7": 1.0}
    for family, fraction in expected.items():
        assert CORE_ISSUE_FRACTION[family][0] == pytest.approx(fraction, rel=1e-12)
    # the three-stage single-issue cores reach half to two thirds of the M7's rate per clock
    assert 0.45 < CORE_ISSUE_FRACTION["cortex-m0plus"][0] < CORE_ISSUE_FRACTION["cortex-m4"][0] \
        < CORE_ISSUE_FRACTION["cortex-m33"][0] < 1.0
    # the epilogue's instruction count is the sum of its parts (24 issue slots)
    assert sum(EPILOGUE_INSTRUCTIONS.values()) == info("tinyml_epilogue_macs").value == 24


def test_accelerator_stack_is_not_issue_limited():
    # Silicon Labs' MVP does the MACs for TFLM (tflm_mvp): the Cortex-M33's issue limit does not
    # apply, so at 100 % of the registry peak a MAC costs 0.5 cycle (on the CPU alone 0.5 over
    # the M33's CoreMark/MHz share of the M7's, 4.02 / 5.01: 0.623 cycle)
    mvp = predict_tinyml("mlperf-tiny-kws-ds-cnn", "silabs-efr32mg24", efficiency=1.0,
                         stack="tflm_mvp")
    cpu = predict_tinyml("mlperf-tiny-kws-ds-cnn", "silabs-efr32mg24", efficiency=1.0)
    assert mvp.inputs()["tinyml_cycles_per_mac"].to("MAC**-1").magnitude == pytest.approx(0.5)
    assert cpu.inputs()["tinyml_cycles_per_mac"].to("MAC**-1").magnitude == pytest.approx(
        0.5 * 5.01 / 4.02)


# ------------------------------------------------------------------------------------- energy
def test_energy_is_power_times_latency_dimensionally():
    sys_ = System.from_walls(workloads.tinyml)
    eq = next(e for w in sys_.walls for e in w.equations if e.lhs.name == "tinyml_energy")
    assert {x.name for x in eq.rhs.free_symbols} == {"mcu_active_power", "tinyml_latency"}
    # pint: mW x ms is uJ
    e = (Q_(10, info("mcu_active_power").unit) * Q_(2, info("tinyml_latency").unit))
    assert e.to(info("tinyml_energy").unit).magnitude == pytest.approx(20.0)


def test_predicted_energy_is_active_power_times_predicted_latency():
    r = predict_tinyml("mlperf-tiny-kws-ds-cnn", "greenwaves-gap9", stack="gap_sdk",
                       clock="240 MHz")
    power = r.inputs()["mcu_active_power"].to("mW").magnitude
    # GAP9's 50 mW at 400 MHz scaled to the 240 MHz of the submission: 30 mW
    assert power == pytest.approx(30.0)
    assert r.energy.to("uJ").magnitude == pytest.approx(power * r.latency.to("ms").magnitude)


# MLPerf Tiny measured energy per inference (EEMBC EnergyRunner energy mode) against the registry
# active power x the MEASURED latency (1000 / median throughput): this checks the power figure,
# independently of the latency model.
ENERGY = [
    # v1.0 GreenWaves GAP9 at 240 MHz, KWS: 0.732 ms, 18.561 uJ; power 50 mW x 240/400 (Linley
    # / Electronic Design announcement figure at 400 MHz) -> 21.96 uJ (+18 %)
    ("greenwaves-gap9", "mlperf-tiny-kws-ds-cnn", "gap_sdk", "240 MHz", 0.732, 18.561, 0.25),
    # v1.0 Silicon Labs xG24, KWS 36.281 ms / 401.861 uJ and IC 120.934 ms / 1234.65 uJ; power
    # 50.9 uA/MHz x 78 MHz x 3.0 V (assumed supply) = 11.9 mW -> +7 % and +17 %
    ("silabs-efr32mg24", "mlperf-tiny-kws-ds-cnn", "tflm_mvp", None, 36.281, 401.861, 0.25),
    ("silabs-efr32mg24", "mlperf-tiny-ic-resnet8", "tflm_mvp", None, 120.934, 1234.65, 0.25),
]


@pytest.mark.parametrize("board,model,stack,clock,latency_ms,energy_uj,tol", ENERGY,
                         ids=[f"{b}-{m.split('-')[2]}" for b, m, *_ in ENERGY])
def test_mlperf_tiny_energy_from_datasheet_power(board, model, stack, clock, latency_ms,
                                                energy_uj, tol):
    r = predict_tinyml(model, board, stack=stack, clock=clock)
    predicted = r.inputs()["mcu_active_power"].to("mW").magnitude * latency_ms
    assert predicted == pytest.approx(energy_uj, rel=tol)


def test_near_threshold_datasheet_power_is_a_lower_bound():
    # MLPerf Tiny v1.3 STMicroelectronics NUCLEO-U385RG-Q, KWS: 48.302 ms, 245.3412 uJ
    # (5.08 mW). ST's 'active consumption down to 10uA/MHz' x 96 MHz x 1.8 V = 1.728 mW is the
    # best case (CoreMark-like code): an inference streaming weights draws 2.9x more. The
    # prediction must stay below the measurement, within a factor of four.
    r = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32u385", stack="x_cube_ai")
    predicted = r.inputs()["mcu_active_power"].to("mW").magnitude * 48.302
    assert 245.3412 / 4 < predicted < 245.3412


def test_no_power_recorded_gives_no_energy_row():
    r = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32l4r5")
    assert math.isnan(r.energy.magnitude)
    assert "energy" not in r.outputs() and "energy" not in r.to_dict()
    assert any("no active power" in n for n in r.notes)


# ------------------------------------------------------------------------------------- boards
NEW_BOARDS = {"nordic-nrf5340": (128, "512 KiB", "1 MiB"), "st-stm32u585": (160, "768 KiB", "2 MiB"),
              "st-stm32u385": (96, "256 KiB", "1 MiB"), "renesas-ra8d1": (480, "1 MiB", "2 MiB")}


@pytest.mark.parametrize("board", sorted(NEW_BOARDS))
def test_new_boards_load_with_provenance(board):
    mhz, sram, flash = NEW_BOARDS[board]
    hw = registry.hardware(board)
    assert hw.tier == "mcu" and hw.clock.to("MHz").magnitude == pytest.approx(mhz)
    tiers = {t.tier: t for t in hw.memory_tiers}
    assert tiers["sram"].capacity.to("B").magnitude == pytest.approx(Q_(sram).to("B").magnitude)
    assert tiers["flash"].capacity.to("B").magnitude == pytest.approx(Q_(flash).to("B").magnitude)
    assert hw.source_ids  # every value traces to a registered source
    r = predict_tinyml("mlperf-tiny-kws-ds-cnn", board)
    assert r.feasible and 0 < r.latency.to("ms").magnitude < 1e3


def test_ra8d1_helium_is_faster_per_clock_than_a_cortex_m7():
    # Cortex-M85 Helium (8 int8 MACs/cycle, assumed as the M55's) vs the M7's SMLAD (2): at the
    # same fraction of peak the RA8D1 (480 MHz) runs DS-CNN faster than the STM32H743 (480 MHz)
    ra8 = predict_tinyml("mlperf-tiny-kws-ds-cnn", "renesas-ra8d1", efficiency=0.5)
    h7 = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32h743", efficiency=0.5)
    # (the M7's 768 dense MACs also pay 0.3 slot each, DENSE_EXTRA_SLOTS; Helium's vector
    # kernel gets no such extra)
    slots = 2_656_768 + 72_012 * 24
    assert ra8.latency.to("ms").magnitude == pytest.approx(
        h7.latency.to("ms").magnitude / 4 * slots / (slots + 768 * 0.3))
