"""Workload - TinyML: a network on a microcontroller's SRAM, flash and CPU cycles.

Bounds: a microcontroller has no DRAM: activations live in on-chip SRAM and weights in flash
(read-only, executed/read in place), and the peak activation memory of the worst layer (its input
plus output tensors, layer-by-layer execution) must fit the SRAM or the model cannot run at all
(Lin et al. 2020, MCUNet). When the weights also fit in the SRAM beside the activations, a
deployment keeps them there and reads them at the faster of the two bandwidths; otherwise they
stream from flash. An inference costs N_MAC multiply-accumulates at c cycles per MAC of the
software stack (CMSIS-NN's int8 kernels widen operands for the Cortex-M DSP dual 16-bit MAC, so
c >= 0.5; loads, requantisation and im2col add to it: c is empirical) at the core clock, and
cannot finish before every weight has been read once: latency = Max(compute, weight read) +
overhead. MLPerf Tiny (Banbury et al. 2021) reports this latency (single stream, batch 1), and
the energy of one inference: the chip's active power times the latency.

Peak MAC rates per CPU family (``CORE_INT8_MACS_PER_CYCLE``): Cortex-M0+/M3 have no SIMD
(CMSIS-NN's pure C path), Cortex-M4/M7/M33 with the DSP extension retire two 16-bit MACs per
cycle (SMLAD), Cortex-M55/M85 with Helium eight 8-bit MACs per cycle; the ESP32-S3's figure is
Espressif's fastest measured ESP-NN kernel, not an ISA bound. The dual-issue Cortex-M7 pairs
each SMLAD with an operand load and reaches the dual-MAC bound; another core issues the loop's
integer instructions at its CoreMark/MHz over the M7's (``CORE_ISSUE_FRACTION``: M33 0.80, M4
0.68, M3 0.66, M0+ 0.50; ST's STM32F7 figure, Arm's via NXP, Ibrahim 2019). Each output element
adds a requantization epilogue of about 24 issue slots (``EPILOGUE_INSTRUCTIONS``), which is why
depthwise layers (9 MACs per output) cost more per MAC than 3x3 convolutions (144 and more).
A fully connected layer at batch 1 uses each weight once: the SIMD convolution kernel's reuse
of a widened weight over two output columns is lost, so a dense MAC costs 1.3 convolution MACs
on the SMLAD cores (``DENSE_EXTRA_SLOTS``; the MLPerf Tiny autoencoder is all dense layers).
A depthwise MAC in CMSIS-NN's 3x3 depthwise kernel costs 2.76 convolution MACs on those cores:
one output channel's products cannot share an SMLAD, so each tap sign-extends both operands
and multiplies half-words one by one (``DEPTHWISE_EXTRA_SLOTS``, counted from the kernel's DSP
loop); it applies to the stacks that run CMSIS-NN's kernels (``CMSIS_NN_STACKS``), not to the
vendor engines with kernels of their own (X-CUBE-AI, Plumerai, HALE, microTVM's schedules).

Regime of validity: one CPU core running int8 kernels layer by layer, one inference at a time;
accelerators (NPUs, CNN engines, multi-core clusters) need their own cycles-per-MAC; activation
traffic between SRAM and the core is part of c; caches are ignored; flash bandwidth is the line
width over the access time (wait states) per clock.

References
----------
Lin et al., "MCUNet: Tiny Deep Learning on IoT Devices", NeurIPS 2020.
Lai, Suda, Chandra, "CMSIS-NN: Efficient Neural Network Kernels for Arm Cortex-M CPUs",
arXiv:1801.06601, 2018.
Banbury et al., "MLPerf Tiny Benchmark", NeurIPS Datasets and Benchmarks 2021.
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
"""

import re

import sympy

from .. import symbols as s
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("lin2020mcunet", "Lin, Ji and Chen, Wei-Ming and Lin, Yujun and Cohn, John and Gan, "
              "Chuang and Han, Song", "MCUNet: Tiny Deep Learning on IoT Devices",
              "Advances in NeurIPS 33", 2020, url="https://arxiv.org/abs/2007.10319",
              kind="inproceedings"),
    Reference("lai2018cmsisnn", "Lai, Liangzhen and Suda, Naveen and Chandra, Vikas",
              "CMSIS-NN: Efficient Neural Network Kernels for Arm Cortex-M CPUs",
              "arXiv:1801.06601", 2018, url="https://arxiv.org/abs/1801.06601", kind="misc"),
    Reference("banbury2021mlperftiny", "Banbury, Colby and Reddi, Vijay Janapa and Torelli, Peter "
              "and others", "MLPerf Tiny Benchmark",
              "Proceedings of the NeurIPS Track on Datasets and Benchmarks", 2021,
              url="https://arxiv.org/abs/2106.07597", kind="inproceedings"),
    Reference("armcommunity2021m55macs", "Arm Community AI and ML forum",
              "What does the MACs(8x8) of Ethos-U55 specification mean? (thread quoting the "
              "Cortex-M55 specification: up to 2 x 32-bit, 4 x 16-bit and 8 x 8-bit MACs/cycle)",
              "community.arm.com", 2021,
              url="https://community.arm.com/support-forums/f/ai-and-ml-forum/49017/"
                  "what-does-the-macs-8x8-of-ethos-u55-specification-mean/171257", kind="misc"),
    Reference("espressif2023espnn", "Espressif Systems", "ESP-NN: optimised neural-network "
              "kernels for Espressif chips (README, kernelwise performance on ESP32-S3)",
              "github.com/espressif/esp-nn, README.md at commit 0798b58f", 2023,
              url="https://github.com/espressif/esp-nn", kind="misc"),
    Reference("cmsisnn2024readme", "Arm Limited", "CMSIS-NN software library (README: "
              "implementations per processor feature: pure C for Cortex-M0/M3, DSP extension, "
              "MVE/Helium)", "github.com/ARM-software/CMSIS-NN, v7.0.0", 2024,
              url="https://github.com/ARM-software/CMSIS-NN", kind="misc"),
    Reference("cmsisnn2024support", "Arm Limited", "CMSIS-NN Include/arm_nnsupportfunctions.h: "
              "arm_nn_requantize, arm_nn_doubling_high_mult_no_sat, "
              "arm_nn_divide_by_power_of_two", "github.com/ARM-software/CMSIS-NN", 2024,
              url="https://github.com/ARM-software/CMSIS-NN/blob/main/Include/"
                  "arm_nnsupportfunctions.h", kind="misc"),
    Reference("cmsisnn2024fc", "Arm Limited", "CMSIS-NN Source/NNSupportFunctions/"
              "arm_nn_vec_mat_mult_t_s8.c (V.6.2.0) and Source/ConvolutionFunctions/"
              "arm_nn_mat_mult_kernel_s8_s16.c: the DSP inner loops of the fully connected and "
              "the convolution kernels", "github.com/ARM-software/CMSIS-NN", 2024,
              url="https://github.com/ARM-software/CMSIS-NN/blob/main/Source/"
                  "NNSupportFunctions/arm_nn_vec_mat_mult_t_s8.c", kind="misc"),
    Reference("cmsisnn2024dw", "Arm Limited", "CMSIS-NN Source/ConvolutionFunctions/"
              "arm_depthwise_conv_3x3_s8.c (the DSP path) and arm_depthwise_conv_wrapper_s8.c "
              "(a 3x3 depthwise layer with padding <= 1 and channel multiplier 1 runs it on "
              "cores without Helium)", "github.com/ARM-software/CMSIS-NN", 2024,
              url="https://github.com/ARM-software/CMSIS-NN/blob/main/Source/"
                  "ConvolutionFunctions/arm_depthwise_conv_3x3_s8.c", kind="misc"),
    Reference("st2016f7coremark", "STMicroelectronics", "A smart architecture which boosts MCU "
              "performance while preserving determinism (STM32F7 design note: 1082 CoreMark and "
              "462 DMIPS at an operating frequency of 216 MHz)", "Future Electronics FTM "
              "magazine", 2016,
              url="http://www.my-ftm.com/2016/05/stmicroelectronics-a-smart-architecture-which-"
                  "boosts-mcu-performance-while-preserving-determinism/", kind="misc"),
    Reference("ibrahim2019mbed", "Ibrahim, Dogan", "ARM-Based Microcontroller Projects Using "
              "MBED (Sec. 3.3.4, Table 3.2: CoreMark/MHz of commonly used microcontrollers)",
              "Newnes / Elsevier", 2019,
              url="https://digilib.universitaspertamina.ac.id/ebook/ARM-Based%20Microcontroller"
                  "%20Projects%20Using%20MBED/files/basic-html/page44.html", kind="book"),
    Reference("nxp2018an12284", "NXP Semiconductors", "AN12284: How to Port CoreMark to "
              "LPC55xx (Sec. 1: official CoreMark/MHz of the Cortex-M33 and the Cortex-M4)",
              "NXP application note", 2018,
              url="https://www.nxp.com/docs/en/application-note/AN12284.pdf", kind="misc"),
    Reference("soc2024m7pipeline", "systemonchips.com", "Cortex-M7 pipeline efficiency and "
              "clock cycle measurement challenges (dual-issue superscalar pipeline vs the "
              "3-stage pipelines of Cortex-M0/M3/M4)", "systemonchips.com", 2024,
              url="https://www.systemonchips.com/"
                  "cortex-m7-pipeline-efficiency-and-clock-cycle-measurement-challenges",
              kind="misc"),
)

#: Peak int8 multiply-accumulates per core clock of each CPU family, as the int8 kernels use
#: it: ``family -> (MAC/cycle, reference key, locator, basis)``. These are upper bounds of the
#: instruction set (the registry's ``peak.int8`` = rate x 2 OP/MAC x clock x cores used);
#: what a software stack achieves is the calibrated ``tinyml_mac_efficiency`` of that peak.
CORE_INT8_MACS_PER_CYCLE = {
    "cortex-m0plus": (0.5, "cmsisnn2024readme", "Current Operator Support: Cortex-M0/M3 take "
                      "the pure C path (no SIMD); Armv6-M has no multiply-accumulate "
                      "instruction, so a MAC is a MUL and an ADD at one instruction per cycle",
                      "assumption"),
    "cortex-m3": (0.5, "cmsisnn2024readme", "pure C path (no DSP extension): one 32-bit MLA "
                  "issue per MAC, taken as two cycles", "assumption"),
    "cortex-m4": (2.0, "lai2018cmsisnn", "Sec. 2-3: q7 operands widened to q15 for the DSP "
                  "extension's SMLAD, two 16-bit MACs per instruction per cycle", "derived"),
    "cortex-m7": (2.0, "lai2018cmsisnn", "Sec. 2-3: SMLAD dual 16-bit MAC; the M7's dual issue "
                  "pairs it with a load, not a second MAC", "derived"),
    "cortex-m33": (2.0, "lai2018cmsisnn", "Sec. 2-3: SMLAD dual 16-bit MAC (Armv8-M Mainline "
                   "with the DSP extension)", "derived"),
    "cortex-m55": (8.0, "armcommunity2021m55macs", "Cortex-M55 specification as quoted: 'up to "
                   "2 x 32-bit MACs/cycle, 4 x 16-bit MACs/cycle and 8 x 8-bit MACs/cycle' "
                   "(Helium/MVE)", "vendor_spec"),
    "cortex-m85": (8.0, "armcommunity2021m55macs", "Helium/MVE as on the Cortex-M55 (8 x 8-bit "
                   "MACs/cycle); Arm's Cortex-M85 figure itself was not read in a source here",
                   "assumption"),
    "xtensa-lx7-esp32s3": (409600 / 461398, "espressif2023espnn", "Kernelwise performance "
                           "table: 1x1 convolution input(10,10) filter(64x1x1x64), 461,398 "
                           "ticks for 10x10x64x64 = 409,600 MACs (the fastest s8 kernel, "
                           "one core at 240 MHz)", "derived"),
}

#: Share of the ISA peak MAC rate an int8 inner loop can issue on each CPU family when the CPU
#: runs the kernels, relative to the dual-issue Cortex-M7: ``family -> (fraction, reference
#: key, locator, basis)``. Beside each SMLAD an int8 loop issues operand loads, sign extensions,
#: pointer and loop arithmetic, and each output a 24-instruction epilogue: integer code whose
#: issue rate per clock is what CoreMark/MHz measures. The M7 dual-issues a load beside the
#: SMLAD and reaches the dual-MAC bound (fraction 1); every other core reaches its CoreMark/MHz
#: over the M7's (M7 5.01 as ST measured on the STM32F7, M33 4.02 and M4 3.40 as NXP quotes
#: Arm's official figures, M3 3.32 and M0+ 2.49 from Ibrahim 2019's table), so
#: the single-issue three-stage M0+/M3/M4 reach about half to two thirds and the M33 four
#: fifths. Families not listed (Helium cores, Xtensa, RISC-V clusters) keep their registry
#: peak (no data here to say otherwise).
COREMARK_PER_MHZ = {
    "cortex-m0plus": (2.49, "ibrahim2019mbed", "Table 3.2: Cortex-M0+ 2.49 CoreMark/MHz"),
    "cortex-m3": (3.32, "ibrahim2019mbed", "Table 3.2: Cortex-M3 3.32 CoreMark/MHz"),
    "cortex-m4": (3.40, "nxp2018an12284", "Sec. 1: 'Cortex-M4 official CoreMark is 3.40 "
                  "CoreMark/MHz' (also Ibrahim 2019, Table 3.2)"),
    "cortex-m33": (4.02, "nxp2018an12284", "Sec. 1: 'Cortex-M33 official CoreMark is 4.02 "
                   "CoreMark/MHz'"),
    "cortex-m7": (5.01, "st2016f7coremark", "1082 CoreMark at 216 MHz on the Cortex-M7 "
                  "STM32F7 = 5.01 CoreMark/MHz (also Ibrahim 2019, Table 3.2: 5.01)"),
}
CORE_ISSUE_FRACTION = {
    family: (score / COREMARK_PER_MHZ["cortex-m7"][0], key,
             f"{locator}, over the Cortex-M7's 5.01 (dual issue: 'a load/store operation can be "
             "issued to the load/store unit while an arithmetic operation is issued', "
             "soc2024m7pipeline)", "derived")
    for family, (score, key, locator) in COREMARK_PER_MHZ.items()
}

#: Stacks whose MACs run on an accelerator beside the CPU (Silicon Labs' MVP), so the CPU's
#: issue limit does not apply to them.
OFFLOAD_STACKS = ("tflm_mvp",)

#: Extra issue slots per fully connected (dense) MAC on the CPU families whose int8 kernels use
#: the DSP extension's SMLAD: ``family -> (slots, reference key, locator, basis)``, in MAC
#: equivalents of the convolution loop. CMSIS-NN's convolution kernel
#: (arm_nn_mat_mult_kernel_s8_s16) computes a 2 x 2 block: per 4 input elements 4 q15x2 loads of
#: two im2col columns, 2 x (word load + 2 SXTB16) for two filter rows, 8 SMLAD and the loop
#: counter and branch: 20 instructions for 16 MACs, 1.25 per MAC. The fully connected kernel
#: (arm_nn_vec_mat_mult_t_s8, batch 1: one input column) computes two rows: per 4 input elements
#: 3 word loads, 6 SXTAB16 and 4 SMLAD, its loop unrolled (the file's GCC unroll-loops
#: pragma): 13 instructions for 8 MACs, 1.625 per MAC. A dense MAC thus costs 1.625 / 1.25 = 1.3
#: convolution MACs: 0.3 extra. Pure-C cores (Cortex-M0+/M3) get none: their loops load every
#: operand per MAC in both kernels, and the two MLPerf Tiny models on the Cortex-M0+ STM32G0B1
#: (HALE, the dense autoencoder and the DS-CNN) run at the same cycles per slot (9.8 and 9.9).
DENSE_EXTRA_SLOTS = {
    family: (13 / 8 / (20 / 16) - 1.0, "cmsisnn2024fc", "arm_nn_vec_mat_mult_t_s8 (DSP path: 13 "
             "instructions per 8 MACs) vs arm_nn_mat_mult_kernel_s8_s16 (20 per 16 MACs)",
             "derived")
    for family in ("cortex-m4", "cortex-m7", "cortex-m33")
}

#: Software stacks whose depthwise layers run CMSIS-NN's kernels (TFLM with CMSIS-NN, microTVM
#: and ONNC calling them: the ``cmsis_nn`` stack); the vendor engines' own kernels are not
#: published, so they get no depthwise extra.
CMSIS_NN_STACKS = ("cmsis_nn",)

#: Extra issue slots per depthwise MAC on the DSP-extension cores when CMSIS-NN's kernel runs
#: it: ``family -> (slots, reference key, locator, basis)``, in MAC equivalents of the
#: convolution loop (20 instructions per 16 MACs, see ``DENSE_EXTRA_SLOTS``). The 3x3 kernel
#: (arm_depthwise_conv_3x3_s8, chosen by the wrapper for 3x3, padding <= 1, channel multiplier
#: 1: the MLPerf Tiny DS-CNN and MobileNet layers) computes 4 channels at a time; per tap: 2
#: word loads, 4 sign extensions (SXTAB16 / SXTB16, two rotated) and 4 half-word MACs (SMLABB,
#: SMLATT x 2): 10 instructions per 4 MACs; per kernel row of 3 taps 7 more (two pointer adds,
#: the column bound test 3, the loop test 2); per 4-channel block of 3 rows 13 more (4 bias
#: loads, two pointer computations 4, the input-offset pack 1, the row bound 2, the loop test
#: 2): 3 x (3 x 10 + 7) + 13 = 124 instructions per 36 MACs, 3.44 per MAC, 2.76 convolution
#: MACs: 1.76 extra. The per-output requantization is the epilogue, counted apart.
DEPTHWISE_EXTRA_SLOTS = {
    family: ((3 * (3 * 10 + 7) + 13) / 36 / (20 / 16) - 1.0, "cmsisnn2024dw",
             "arm_depthwise_conv_3x3_s8 DSP path: 124 instructions per 36 MACs vs "
             "arm_nn_mat_mult_kernel_s8_s16's 20 per 16", "derived")
    for family in ("cortex-m4", "cortex-m7", "cortex-m33")
}

#: Derivation of ``tinyml_epilogue_macs`` (24): the per-output work of CMSIS-NN's s8 kernels,
#: counted in instructions of arm_nnsupportfunctions.h (one issue slot each, the inner loop's
#: rate of one MAC per slot): left shift 1; arm_nn_doubling_high_mult_no_sat 6 (sign test 2,
#: 64-bit multiply-accumulate with the 2^30 nudge 2, high-word shift 2);
#: arm_nn_divide_by_power_of_two 10 (mask 2, and 1, shift 1, threshold 2, two compare-and-
#: increment 4); epilogue 7 (per-channel multiplier and shift loads 2, output offset 1, clamp 2,
#: byte store 1, pointer 1).
EPILOGUE_INSTRUCTIONS = {"left shift": 1, "doubling high multiply": 6,
                         "rounding divide by 2^n": 10, "offset, clamp, store": 7}


def core_family(isa):
    """``"cortex-m4"``-style CPU family named in a registry ``isa`` string, or None."""
    m = re.search(r"Cortex-M(\d+)(\+|P)?", isa or "")
    if m is None:
        return None
    return f"cortex-m{m.group(1)}" + ("plus" if m.group(2) == "+" else "")


_W, _A = s.weight_bytes, s.tinyml_peak_activation_bytes
_weights_fit_sram = _W + _A <= s.mcu_sram_capacity

WALL = Wall(
    number=0,
    name="TinyML",
    domain="workload",
    summary=(
        "On a microcontroller the peak activation memory must fit the on-chip SRAM and the "
        "weights the flash, or the model does not run. Weights that also fit in SRAM are read "
        "from it, else streamed from slower flash. Latency is the MAC count, plus a "
        "requantization epilogue per output element, the fully connected layers' lost weight "
        "reuse and CMSIS-NN's costlier depthwise MACs, times the software stack's cycles per MAC "
        "over the clock, or the time to read every weight once, whichever is longer. Energy "
        "per inference is the chip's active power times the latency."
    ),
    regime="One CPU core, int8 kernels executed layer by layer, batch 1; weights in SRAM only "
           "when weights + peak activations fit; accelerators need their own cycles per MAC; "
           "energy counts the chip's run-mode power only (no idle, sensor or board power).",
    equations=(
        Equation(s.weight_bytes, s.parameters * s.bytes_per_parameter, cite="lin2020mcunet",
                 locator="Sec. 1: weights are stored in flash, int8 (1 byte per weight)"),
        Equation(s.mcu_flash_bandwidth, s.mcu_flash_read_bytes_per_cycle * s.mcu_clock_frequency,
                 cite="williams2009roofline", locator="Sec. 2: the memory roof is the sustained "
                 "bandwidth of the level that holds the data",
                 note="bytes per access over (1 + wait states) cycles, times the clock"),
        Equation(s.tinyml_sram_footprint, sympy.Piecewise((_A + _W, _weights_fit_sram), (_A, True)),
                 cite="lin2020mcunet", locator="Sec. 2-3: SRAM holds the activations (peak over "
                 "layers of input + output); TinyEngine reduces that peak"),
        Equation(s.tinyml_flash_footprint, sympy.Piecewise((0, _weights_fit_sram), (_W, True)),
                 cite="lin2020mcunet", locator="Sec. 1: flash holds the (read-only) weights"),
        Equation(s.tinyml_weight_bandwidth,
                 sympy.Piecewise((sympy.Max(s.mcu_sram_bandwidth, s.mcu_flash_bandwidth),
                                  _weights_fit_sram), (s.mcu_flash_bandwidth, True)),
                 cite="lin2020mcunet", locator="Sec. 1: SRAM (read/write) vs flash (read-only) "
                 "memory hierarchy of an MCU",
                 note="weights in SRAM are read at the faster tier: more SRAM is never slower"),
        Equation(s.tinyml_compute_time,
                 (s.tinyml_macs + s.tinyml_dense_macs * s.tinyml_dense_extra_slots
                  + s.tinyml_depthwise_macs * s.tinyml_depthwise_extra_slots
                  + s.tinyml_output_elements * s.tinyml_epilogue_macs)
                 * s.tinyml_cycles_per_mac / s.mcu_clock_frequency, cite="lai2018cmsisnn",
                 locator="Sec. 2-3: q7 operands widened to q15 for the dual 16-bit MAC (SMLAD): "
                 "at most 2 MACs per cycle; each output is then bias-added, shifted and "
                 "saturated to q7",
                 note="every output element adds a requantization epilogue of about 24 issue "
                      "slots (CMSIS-NN arm_nn_requantize + offset, clamp, store), so layers with "
                      "few MACs per output (depthwise, the 1-channel first conv) cost more per "
                      "MAC than 3x3 convolutions; a fully connected MAC adds x_fc slots on the "
                      "SIMD cores (no weight reuse across output columns: DENSE_EXTRA_SLOTS) "
                      "and a depthwise MAC x_dw where CMSIS-NN's depthwise kernel runs it "
                      "(operand-by-operand half-word MACs: DEPTHWISE_EXTRA_SLOTS)"),
        Equation(s.tinyml_weight_read_time, s.weight_bytes / s.tinyml_weight_bandwidth,
                 cite="williams2009roofline", locator="Sec. 2: compulsory traffic over bandwidth"),
        Equation(s.tinyml_latency, sympy.Max(s.tinyml_compute_time, s.tinyml_weight_read_time,
                                             evaluate=False) + s.fixed_overhead,
                 cite="banbury2021mlperftiny",
                 locator="Abstract and benchmark rules: single-stream scenario, the latency of "
                         "one inference (batch 1)",
                 branches={s.tinyml_compute_time: "Compute", s.tinyml_weight_read_time: "Memory"}),
        Equation(s.tinyml_throughput, s.samples_per_batch_element / s.tinyml_latency,
                 cite="banbury2021mlperftiny", locator="single stream: inferences per second = "
                 "1 / latency (EEMBC runner's median throughput)"),
        Equation(s.tinyml_energy, s.mcu_active_power * s.tinyml_latency,
                 cite="banbury2021mlperftiny", locator="energy-measurement mode (EEMBC EnergyRunner): the "
                 "EnergyRunner integrates the device's power over the inferences: energy per "
                 "inference = average active power x latency",
                 note="active power from the chip's datasheet run-mode current x supply "
                      "voltage, scaled with the clock; idle and sensor power are not included"),
        Equation(s.tinyml_sram_utilization, s.tinyml_sram_footprint / s.mcu_sram_capacity,
                 cite="lin2020mcunet", locator="Sec. 2: the peak activation memory must fit SRAM"),
        Equation(s.tinyml_flash_utilization, s.tinyml_flash_footprint / s.mcu_flash_capacity,
                 cite="lin2020mcunet", locator="Sec. 2: the weights must fit flash"),
    ),
    constraints=(
        Constraint("activations_fit_sram", s.tinyml_sram_footprint, s.mcu_sram_capacity,
                   cite="lin2020mcunet", kind="capacity"),
        Constraint("weights_fit_flash", s.tinyml_flash_footprint, s.mcu_flash_capacity,
                   cite="lin2020mcunet", kind="capacity"),
    ),
    references=("lin2020mcunet", "lai2018cmsisnn", "banbury2021mlperftiny", "williams2009roofline",
                "armcommunity2021m55macs", "espressif2023espnn", "cmsisnn2024readme",
                "cmsisnn2024support", "cmsisnn2024fc", "cmsisnn2024dw", "soc2024m7pipeline",
                "st2016f7coremark", "ibrahim2019mbed", "nxp2018an12284"),
    kind="workload",
)
