"""Shared fixtures: small configs and models (kept small so the fast suite stays fast)."""

from __future__ import annotations

import copy
import functools
import signal

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sim.config import ChannelsConfig, RunConfig  # noqa: E402
from sim.lending.channels import CreditInfo  # noqa: E402
from sim.runtime.compose import load_run_config  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C as Python sets it up, even in a suite started with it ignored.

    A shell without job control starts a background command (``make test &`` in a
    script) with SIGINT ignored, and Python then leaves it so. The interrupt tests send
    SIGINT to this process and to the commands it starts (which inherit an ignored
    signal): they need Ctrl-C's default handler, as a terminal's ``make test`` has it.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def small_overrides() -> list[str]:
    return ["population.n_borrowers=2000", "n_months=12", "burn_in_months=0", "output.plots=false"]


#: Overrides that close the book (no arrivals, attrition or firm entry): for tests that
#: follow each row's state through months by hand (the open book has its own tests in
#: tests/test_open_book.py), starting from the data's own book (no underwriting).
CLOSED_BOOK = (
    "population.starting_book=uci",
    "book.applicants_per_month_share=0",
    "book.voluntary_close_prob_monthly=0",
    "book.inactivity_close_months=0",
    "book.firm_entry_per_month_share=0",
)


def make_run(*overrides: str) -> RunConfig:
    """A validated run config from conf/ with small defaults and the given overrides.

    Each call returns a fresh copy (a test may change it); the composition is made once
    per overrides in a test process (Hydra takes 0.3-0.5 s a composition here).
    """
    return copy.deepcopy(_composed_run(tuple(overrides)))


@functools.cache
def _composed_run(overrides: tuple[str, ...]) -> RunConfig:
    base = ["population.n_borrowers=2000", "n_months=12", "burn_in_months=0", "output.plots=false"]
    return load_run_config([*base, *overrides])


@functools.cache
def _conf_run() -> RunConfig:
    return load_run_config()


def conf_channels() -> ChannelsConfig:
    """The waterfall and lender table of ``conf/channels/default.yaml`` (a fresh copy)."""
    return copy.deepcopy(_conf_run().channels)


def credit_info(n: int = 1, **changes) -> CreditInfo:
    """Lender-facing borrower facts for ``n`` rows: a clean, established borrower by default."""
    values = {
        "pd_12m": np.full(n, 0.01),
        "dpd": np.zeros(n, dtype=np.int32),
        "history_months": np.full(n, 60),
        "income_base_cny": np.full(n, 10_000.0),
        "firm_age_months": np.full(n, 24),
        "firm_revenue_cny": np.full(n, 10_000.0),
        "firm_receivables_cny": np.zeros(n),
        "firm_anchor": np.zeros(n, dtype=bool),
    }
    return CreditInfo.per_borrower(**(values | {k: np.asarray(v) for k, v in changes.items()}))


def this_month(model):
    """A Month record for calling platform methods outside a step (the model's month so far)."""
    from sim.month import Month

    if model.month is not None:
        return model.month
    return Month(step=max(model.steps, 1), macro=model.macro)


def review_limits(model):
    """Run the platform's limit review on the model's state (outside a step)."""
    return model.platform.review_limits(model.world, this_month(model))


def raised(make, within: BaseException | None = None) -> BaseException:
    """The error ``make()`` raises, raised while handling ``within`` (if given).

    So ``within`` is its ``__context__``, as when Ctrl-C lands in a clean-up that then
    fails (``sim.interrupts.interrupt_behind``).
    """
    try:
        if within is None:
            raise make()
        try:
            raise within
        except BaseException:
            raise make()  # noqa: B904 (the implicit __context__ is the point)
    except BaseException as err:
        return err
