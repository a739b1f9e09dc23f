"""GEMM shape: tile and wave quantization of a matrix multiply on a GPU.

NVIDIA's *Matrix Multiplication Background User's Guide* (Deep Learning Performance
documentation) describes how cuBLAS runs a GEMM C = A B (A: M x K, B: K x N, C: M x N): the
output is split into thread-block tiles (Sec. 4, "GPU Implementation": the largest, most
efficient 16-bit tiles are 256 x 128 and 128 x 256), each tile is computed by one thread block
on one streaming multiprocessor, and the tiles run in waves of one tile per SM.

* **Tile quantization** (Sec. 5.1): a dimension that is not a multiple of the tile is padded
  up to the next whole tile, and the padding is computed too: the useful share of the work is
  M N / (ceil(M / t_M) t_M ceil(N / t_N) t_N).
* **Wave quantization** (Sec. 5.2): the tiles run in waves of n_SM at once (A100: 108 SMs, so
  108 tiles of 256 x 128 per wave); a last, partial wave takes as long as a full one, so the
  useful share of the SM-slots is n_tile / (ceil(n_tile / n_SM) n_SM).

A GEMM's quantization efficiency is the product, with the better orientation of the tile
(128 x 256 or its transpose: the guide names both as cuBLAS tiles). The chip's measured matmul
ceiling (Bekman's MAMF: the best shape found by a shape sweep) already is a GEMM with no tile
or wave waste, so this factor multiplies that ceiling and equals 1 at exact multiples.

Regime: large 16-bit / FP8 GEMMs whose tiles are the large ones (one thread block per SM); the
K dimension is not quantized here (its tiles are 32-64 deep, below the model dimensions);
alignment (Sec. 4.1: dimensions multiples of 8 16-bit elements, 16 bytes, for Tensor Cores)
is assumed met (every model dimension in the registry is a multiple of 64 after sharding).
Persistent and stream-K kernels (CUTLASS 3 on Hopper) can split the last wave's work and
recover part of the wave loss; that is not modelled (an upper bound on the loss).

The training step's ``gemm_shape_efficiency`` is the FLOP-weighted harmonic mean of this factor
over the step's GEMMs, computed from the model's shapes in the task layer
(:mod:`mlsysim_sym.tasks.training.gemm`), like the host-issue count.
"""

from __future__ import annotations

import sympy

from .. import symbols as s
from .base import Equation
from .references import Reference, add_all

add_all(
    Reference("nvidia2023matmul", "NVIDIA", "Matrix Multiplication Background User's Guide "
              "(Deep Learning Performance documentation): Sec. 4 GPU Implementation (thread-"
              "block tiles; 256 x 128 and 128 x 256 the most efficient), Sec. 4.1 Tensor Core "
              "requirements (dimensions multiples of 8 16-bit elements), Sec. 5.1 Tile "
              "Quantization, Sec. 5.2 Wave Quantization (A100: 108 SMs, one 256 x 128 tile "
              "each per wave)", "docs.nvidia.com/deeplearning/performance", 2023,
              url="https://docs.nvidia.com/deeplearning/performance/"
                  "dl-performance-matrix-multiplication/index.html", kind="misc"),
)

__all__ = ["EQUATIONS", "tiles", "quantization"]

_CITE = "nvidia2023matmul"
M, N, n_sm = s.gemm_rows, s.gemm_columns, s.multiprocessors
t_m, t_n = s.gemm_tile_rows, s.gemm_tile_columns


def tiles(rows, cols):
    """Thread-block tiles of a rows x cols output (each dimension rounded up)."""
    return sympy.ceiling(rows / t_m) * sympy.ceiling(cols / t_n)


def quantization(rows, cols):
    """Tile x wave quantization efficiency of a rows x cols output with the t_M x t_N tile."""
    n = tiles(rows, cols)
    return (rows * cols / (n * t_m * t_n)) * (n / (sympy.ceiling(n / n_sm) * n_sm))


EQUATIONS = (
    Equation(s.gemm_tiles, tiles(M, N), cite=_CITE,
             locator="Sec. 5.1 (Tile Quantization): the output is covered by whole tiles"),
    Equation(s.tile_quantization_efficiency, M * N / (s.gemm_tiles * t_m * t_n), cite=_CITE,
             locator="Sec. 5.1: tiles at the edge are padded and computed in full",
             note="1 when M and N are multiples of the tile"),
    Equation(s.wave_quantization_efficiency,
             s.gemm_tiles / (sympy.ceiling(s.gemm_tiles / n_sm) * n_sm), cite=_CITE,
             locator="Sec. 5.2 (Wave Quantization): the tiles run in waves of one per SM "
             "(A100: 108 SMs, 108 tiles of 256 x 128 per wave); a partial last wave takes a "
             "whole wave's time"),
    Equation(s.gemm_quantization_efficiency, sympy.Max(quantization(M, N), quantization(N, M)),
             cite=_CITE, locator="Sec. 4 (GPU Implementation): 256 x 128 and 128 x 256 are "
             "the most efficient cuBLAS tiles; Secs. 5.1-5.2",
             note="the better orientation of the tile (equivalently C^T = B^T A^T)"),
)
