"""CMSIS-NN's depthwise kernel: extra issue slots per depthwise MAC, by hand.

Sources: CMSIS-NN Source/ConvolutionFunctions/arm_depthwise_conv_3x3_s8.c (DSP path: per tap 2
word loads, 4 sign extensions, 4 half-word MACs; per kernel row 7 more instructions; per
4-channel block 13 more) and arm_depthwise_conv_wrapper_s8.c (3x3, padding <= 1, channel
multiplier 1 runs that kernel on cores without Helium); arm_nn_mat_mult_kernel_s8_s16.c (the
convolution loop: 20 instructions per 16 MACs). Layer shapes: mlcommons/tiny's ds_cnn (4
DepthwiseConv2D 3x3 on 25x5x64) and mobilenet_v1 (13 depthwise layers writing 88,704
elements). CoreMark/MHz: Cortex-M4 3.40 (NXP AN12284 Sec. 1, Arm's official figure), Cortex-M7
5.01 (ST: 1082 CoreMark at 216 MHz on the STM32F7).
"""

import pytest

from mlsysim_sym import registry
from mlsysim_sym.equations.tinyml import (CMSIS_NN_STACKS, COREMARK_PER_MHZ,
                                          DEPTHWISE_EXTRA_SLOTS)
from mlsysim_sym.tasks.workloads import predict_tinyml

# 3 rows x (3 taps x 10 + 7) + 13 = 124 instructions per 4 channels x 9 taps = 36 MACs, over
# the convolution loop's 20 per 16 MACs: 124 / 36 / 1.25 = 2.7556 convolution MACs
DW_EXTRA = 124 / 36 / 1.25 - 1.0
KWS_MACS, KWS_DW, KWS_DENSE, KWS_OUT = 2_656_768, 288_000, 768, 72_012


def test_depthwise_extra_slots_by_hand():
    assert DW_EXTRA == pytest.approx(1.7556, abs=1e-4)
    for family in ("cortex-m4", "cortex-m7", "cortex-m33"):
        slots, key, _, basis = DEPTHWISE_EXTRA_SLOTS[family]
        assert slots == pytest.approx(DW_EXTRA, rel=1e-12)
        assert key == "cmsisnn2024dw" and basis == "derived"
    # no DSP path on the Armv6-M / pure-C cores, and Helium runs another kernel
    for family in ("cortex-m0plus", "cortex-m3", "cortex-m55", "cortex-m85"):
        assert family not in DEPTHWISE_EXTRA_SLOTS
    assert CMSIS_NN_STACKS == ("cmsis_nn",)


def test_registry_depthwise_macs_match_the_layer_shapes():
    # DS-CNN: 4 blocks x 25 x 5 x 64 channels x 9 taps; MobileNetV1 0.25: 88,704 depthwise
    # outputs x 9 taps
    assert registry.model("mlperf-tiny-kws-ds-cnn").depthwise_macs == 4 * 25 * 5 * 64 * 9
    assert registry.model("mlperf-tiny-vww-mobilenet-v1-025").depthwise_macs == 88_704 * 9
    # ResNet-8 and the autoencoder have no depthwise layer: not recorded, no extra
    assert registry.model("mlperf-tiny-ic-resnet8").depthwise_macs is None


def test_cmsis_nn_kws_on_a_cortex_m4_by_hand():
    # STM32L4R5 (Cortex-M4, 120 MHz) at the full loop rate: the M4 issues at 3.40 / 5.01 of the
    # M7's dual-MAC bound (2 MAC/cycle), so a slot costs 5.01 / (3.40 x 2) cycles; CMSIS-NN adds
    # 1.7556 slots per depthwise MAC, a vendor engine (X-CUBE-AI) none
    cycles = COREMARK_PER_MHZ["cortex-m7"][0] / (COREMARK_PER_MHZ["cortex-m4"][0] * 2.0)
    base = KWS_MACS + KWS_DENSE * 0.3 + KWS_OUT * 24
    cmsis = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32l4r5", efficiency=1.0,
                           stack="cmsis_nn")
    vendor = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32l4r5", efficiency=1.0,
                            stack="x_cube_ai")
    assert cmsis.latency.to("ms").magnitude == pytest.approx(
        (base + KWS_DW * DW_EXTRA) * cycles / 120e6 * 1e3, rel=1e-9)
    assert vendor.latency.to("ms").magnitude == pytest.approx(base * cycles / 120e6 * 1e3,
                                                              rel=1e-9)
    # 288,000 x 1.7556 = 505,600 slots on 4,384,994: 11.5 % more time
    assert cmsis.latency / vendor.latency == pytest.approx(
        1 + KWS_DW * DW_EXTRA / base, rel=1e-9)
    assert any("depthwise" in n for n in cmsis.notes)


def test_no_depthwise_extra_on_a_core_without_the_dsp_path():
    # Cortex-M0+ (STM32G0B1): CMSIS-NN's pure C depthwise loop loads every operand per MAC,
    # like its convolution: no extra slots, so the stack does not change the slot count
    a = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32g0b1", efficiency=1.0,
                       stack="cmsis_nn")
    b = predict_tinyml("mlperf-tiny-kws-ds-cnn", "st-stm32g0b1", efficiency=1.0, stack="hale")
    assert a.latency.to("ms").magnitude == pytest.approx(b.latency.to("ms").magnitude,
                                                         rel=1e-12)
