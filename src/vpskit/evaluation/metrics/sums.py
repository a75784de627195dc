"""Sums in one fixed order, over any number of sums at once.

The metrics' results add their terms one after the other, in a fixed order (videos sorted by
name, categories in report order, spans in order). Doing that over a batch axis, as a bootstrap
does for its replicates, gives every member of the batch the very bits a single sum gives: a
weighted sum with all weights 1 is the accumulator's total, bit for bit, and no result depends
on how a library splits a sum between threads.
"""

from __future__ import annotations

import numpy as np


def ordered_sum(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis, term after term from the first (as a Python loop adds)."""
    values = np.asarray(values)
    total = np.zeros(values.shape[:-1], dtype=np.result_type(values.dtype, np.int64))
    for i in range(values.shape[-1]):
        total = total + values[..., i]
    return total


def weighted_sum(stacked: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``weights`` (R, V) times ``stacked`` (V, ...), summed over V in order: (R, ...).

    Integer states stay integers (with integer weights); each product is added in turn, so all
    weights 1 reproduce ``stacked[0] + stacked[1] + …`` exactly.
    """
    stacked = np.asarray(stacked)
    weights = np.asarray(weights)
    if weights.ndim != 2 or weights.shape[1] != stacked.shape[0]:
        raise ValueError(f"weights of shape {weights.shape} do not fit {stacked.shape[0]} stacked states")
    total = np.zeros((weights.shape[0], *stacked.shape[1:]), dtype=np.result_type(stacked.dtype, weights.dtype))
    expand = (slice(None),) + (None,) * (stacked.ndim - 1)
    for v in range(stacked.shape[0]):
        total += weights[:, v][expand] * stacked[v]
    return total
