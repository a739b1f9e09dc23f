"""Symbols of the sliding-window attention record (Mistral 7B's rolling buffer cache; Gemma 2's
alternating local and global layers): the window and the share of the layers it applies to."""

from .base import declare

attention_window = declare(
    "attention_window", "token", r"W",
    "tokens a windowed attention layer attends to and keeps in its KV cache (Mistral 7B and "
    "Gemma 2: 4096)", (1, 1e7))
windowed_layer_share = declare(
    "windowed_layer_share", "dimensionless", r"f_{W}",
    "share of the layers whose attention is windowed (Mistral 7B: all, 1; Gemma 2: every other "
    "layer, 0.5)", (0, 1))
