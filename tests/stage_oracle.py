"""Helpers of the compiled-stage oracle tests.

A small world stopped before a stage, random whole-cent amounts, and bit-for-bit array
comparison.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from sim.compiled import set_threads, threads, using
from sim.model import STAGES, CreditMarketModel
from sim.month import Month
from sim.runtime.compose import load_run_config

T = TypeVar("T")


@functools.cache
def stopped_before(stage_name: str) -> tuple:
    """``(world, month)`` stopped just before stage ``stage_name`` of month 5.

    A 600-borrower run (30 % own a firm) after 4 months of NumPy stages; built once per
    stage name, so callers deep-copy it before changing anything.
    """
    config = load_run_config(
        [
            "population.n_borrowers=600",
            "n_months=12",
            "burn_in_months=0",
            "firms.owner_share=0.3",
            "output.plots=false",
        ]
    )
    with using("numpy"):
        model = CreditMarketModel(config)
        for _ in range(4):
            model.step()
        world = model._open_world()
        month = Month(step=model.steps + 1)
        for name, stage in STAGES:
            if name == stage_name:
                break
            stage(world, month)
    return copy.deepcopy((world, month))


def whole_cents(rng: np.random.Generator, size: int, top: float) -> np.ndarray:
    """``(size,)`` random amounts in whole cents, uniform on [0, top) CNY."""
    return rng.integers(0, int(top * 100), size) / 100.0


def assert_same_bits(x: object, y: object, what: str) -> None:
    """``x`` and ``y`` as arrays: the same dtype, shape and bytes."""
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == y.dtype and x.shape == y.shape, what
    assert np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes(), (
        f"{what}: {x} != {y}"
    )


def on_one_and_two_threads(run: Callable[[], T]) -> tuple[T, T]:
    """``(run() on one numba thread, run() on two)``; the thread count is restored after."""
    before = threads()
    try:
        set_threads(1)
        one = run()
        set_threads(2)
        two = run()
    finally:
        set_threads(before)
    return one, two
