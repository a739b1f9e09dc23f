"""A named cartesian grid split into bounded chunks.

The grid's points are numbered in C order over the axes in the order they were given (the last
axis varies fastest), so a point's *flat index* is the same however the grid is chunked.
Categorical axes (names: model, hardware, precision, ...) are looped in Python; numeric axes are
cut into rectangular blocks of at most ``chunk_size`` points that are passed to the task as
broadcastable arrays (no index arithmetic, no copies of the inputs). Every block is a contiguous
range of the numeric sub-grid, so within one categorical combination the local order of a
block's points is their global order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Grid", "Block"]


@dataclass(frozen=True)
class Block:
    """One chunk: a categorical combination and a rectangular block of the numeric axes."""

    combo: int          # index of the categorical combination (mixed radix over categorical axes)
    prefix: tuple       # fixed indices of the numeric axes before the split axis
    start: int          # first index along the split axis
    stop: int           # one past the last index along the split axis
    shape: tuple        # block shape: (stop - start, sizes of the numeric axes after the split)

    @property
    def size(self) -> int:
        return math.prod(self.shape)


class Grid:
    """Axes (name -> 1-D values) with a split into categorical and numeric axes."""

    def __init__(self, axes: dict, numeric: tuple, chunk_size: int):
        self.axes = {k: v for k, v in axes.items()}
        self.names = tuple(axes)
        self.sizes = tuple(len(v) for v in axes.values())
        self.n_points = math.prod(self.sizes)
        self.numeric = tuple(n for n in self.names if n in numeric)
        self.categorical = tuple(n for n in self.names if n not in numeric)
        strides, acc = [], 1
        for size in reversed(self.sizes):
            strides.append(acc)
            acc *= size
        self.strides = dict(zip(self.names, reversed(strides)))
        self.chunk_size = int(chunk_size)
        nsz = [len(self.axes[n]) for n in self.numeric]
        # split axis: the first numeric axis whose trailing block fits in one chunk
        split = len(nsz)
        for j in range(len(nsz)):
            if math.prod(nsz[j + 1:]) <= self.chunk_size:
                split = j
                break
        self._split = split
        self._num_sizes = nsz
        if split < len(nsz):
            inner = math.prod(nsz[split + 1:])
            self._step = max(1, self.chunk_size // inner)
            self._per_prefix = math.ceil(nsz[split] / self._step)
            self._n_prefix = math.prod(nsz[:split])
        else:  # no numeric axes: one point per categorical combination
            self._step, self._per_prefix, self._n_prefix = 1, 1, 1
        self.n_combos = math.prod(len(self.axes[n]) for n in self.categorical)
        self.blocks_per_combo = self._n_prefix * self._per_prefix
        self.n_blocks = self.n_combos * self.blocks_per_combo

    # ---- blocks ----------------------------------------------------------------------------
    def block(self, i: int) -> Block:
        combo, rest = divmod(i, self.blocks_per_combo)
        if self._split == len(self._num_sizes):
            return Block(combo, (), 0, 1, ())
        p, k = divmod(rest, self._per_prefix)
        prefix = tuple(int(x) for x in np.unravel_index(p, self._num_sizes[:self._split])) \
            if self._split else ()
        start = k * self._step
        stop = min(start + self._step, self._num_sizes[self._split])
        return Block(combo, prefix, start, stop,
                     (stop - start,) + tuple(self._num_sizes[self._split + 1:]))

    def combo_values(self, combo: int) -> dict:
        """Categorical axis name -> value of combination ``combo``."""
        if not self.categorical:
            return {}
        idx = np.unravel_index(combo, [len(self.axes[n]) for n in self.categorical])
        return {n: _item(self.axes[n][int(i)]) for n, i in zip(self.categorical, idx)}

    def numeric_inputs(self, block: Block) -> dict:
        """Numeric axis name -> scalar or broadcastable array of the block's values."""
        out, j = {}, self._split
        ndim = len(block.shape)
        for i, name in enumerate(self.numeric):
            values = self.axes[name]
            if i < j:
                out[name] = _item(values[block.prefix[i]])
            else:
                a = np.asarray(values[block.start:block.stop] if i == j else values)
                shape = [1] * ndim
                shape[i - j] = a.size
                out[name] = a.reshape(shape)
        return out

    def _block_offsets(self, block: Block) -> int:
        """Flat index of the block's first point."""
        off = 0
        if self.categorical:
            idx = np.unravel_index(block.combo, [len(self.axes[n]) for n in self.categorical])
            off += sum(int(i) * self.strides[n] for n, i in zip(self.categorical, idx))
        for i, name in enumerate(self.numeric[:self._split]):
            off += block.prefix[i] * self.strides[name]
        if self._split < len(self.numeric):
            off += block.start * self.strides[self.numeric[self._split]]
        return off

    def global_index(self, block: Block, local) -> np.ndarray:
        """Flat grid indices of the block's points at local (C-order) positions ``local``."""
        local = np.asarray(local, dtype=np.int64)
        off = self._block_offsets(block)
        if not block.shape:
            return np.full(local.shape, off, dtype=np.int64)
        pos = np.unravel_index(local, block.shape)
        names = self.numeric[self._split:]
        return off + sum(p.astype(np.int64) * self.strides[n] for p, n in zip(pos, names))

    def block_index(self, block: Block) -> np.ndarray:
        """Flat grid indices of every point of the block, in local order."""
        return self.global_index(block, np.arange(block.size))

    # ---- decoding --------------------------------------------------------------------------
    def coords(self, flat) -> dict:
        """Axis name -> values at flat indices ``flat`` (array) of the whole grid."""
        if not self.names:
            return {}
        idx = np.unravel_index(np.asarray(flat, dtype=np.int64), self.sizes)
        return {n: np.asarray(self.axes[n])[i] for n, i in zip(self.names, idx)}

    def point(self, flat: int) -> dict:
        return {n: _item(v) for n, v in self.coords(np.asarray([flat])).items()
                for v in [v[0]]}


def _item(v):
    """Plain Python scalar of a numpy scalar (names stay strings)."""
    return v.item() if isinstance(v, np.generic) else v

