"""The run record's packed limit events and the month's released fields (memory, not numbers)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import gc
import pickle
import weakref

import numpy as np
import pandas as pd
import pytest

from sim.model import CreditMarketModel
from sim.month import COUNTED, RELEASE_AFTER, TOTALLED, Month, ReleasedFieldError
from sim.outputs.events import events_table, pack_amounts, pack_events, unpack_amounts
from sim.platform.policies import ReasonCode
from sim.units import round_cny
from sim.world import households
from sim.world.draws import scenario_stage
from tests.conftest import make_run
from tests.test_stages import tiny_world


def _bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).view(np.int64)


def test_whole_cent_limits_pack_to_int32_cents_and_come_back_bit_for_bit():
    rng = np.random.default_rng(5)
    limits = round_cny(rng.uniform(0, 2e7, 100_000))  # every cent value up to 20 M CNY
    limits[:4] = [0.0, 0.01, 21_474_836.47, 1234.56]
    packed = pack_amounts(limits)
    assert packed.dtype == np.int32
    np.testing.assert_array_equal(_bits(unpack_amounts(packed)), _bits(limits))


@pytest.mark.parametrize(
    "odd",
    [21_474_836.48, 1e12, 0.005, 1 / 3, -0.0, np.nan, np.inf],
    ids=["over_int32", "max_amount", "half_cent", "third", "minus_zero", "nan", "inf"],
)
def test_a_batch_that_cannot_pack_exactly_keeps_its_float64_limits(odd):
    limits = np.array([100.0, odd, 250.5])
    packed = pack_amounts(limits)
    assert packed.dtype == np.float64
    np.testing.assert_array_equal(_bits(unpack_amounts(packed)), _bits(limits))
    limits[1] = 7.0  # a copy: the record does not see later writes to the stage's array
    assert _bits(packed)[1] != _bits(limits)[1]


def test_events_table_of_packed_batches_is_the_concatenated_events():
    rows = [np.array([3, 1, 7]), np.array([], dtype=np.int64), np.array([2**31 + 5])]
    old = [np.array([100.0, 20.5, 0.01]), np.zeros(0), np.array([5e7])]
    new = [np.array([0.0, 10.25, 1 / 3]), np.zeros(0), np.array([4e7])]
    reason = [np.array([ReasonCode.CLOSED_AT_DEFAULT] * 3), np.zeros(0), np.array([1])]
    steps = [1, 2, 3]
    batches = [pack_events(*b) for b in zip(steps, rows, old, new, reason, strict=True)]
    assert batches[0].rows.dtype == np.int32 and batches[2].rows.dtype == np.int64
    assert batches[0].old_limit.dtype == np.int32 and batches[0].new_limit.dtype == np.float64
    table = events_table(batches)
    assert table["borrower_id"].tolist() == [3, 1, 7, 2**31 + 5]
    assert table["step"].tolist() == [1, 1, 1, 3] and table["step"].dtype == np.int16
    np.testing.assert_array_equal(_bits(table["old_limit_cny"]), _bits(np.concatenate(old)))
    np.testing.assert_array_equal(_bits(table["new_limit_cny"]), _bits(np.concatenate(new)))
    assert table["reason"].tolist() == ["CLOSED_AT_DEFAULT"] * 3 + [ReasonCode(1).name]
    with pytest.raises(ValueError, match="differ in length"):
        pack_events(1, np.arange(2), np.zeros(2), np.zeros(3), np.zeros(2))


def test_empty_record_gives_the_typed_empty_table():
    table = events_table([])
    assert list(table.columns) == [
        "borrower_id",
        "step",
        "old_limit_cny",
        "new_limit_cny",
        "reason",
    ]
    assert [str(t) for t in table.dtypes] == ["int64", "int16", "float64", "float64", "category"]


def test_a_run_records_its_events_packed_and_gives_them_back_unchanged():
    """The events table equals the months' own events, concatenated as they were made."""
    model = CreditMarketModel(make_run("policy=behaviour_rules", "burn_in_months=2"))
    made = []
    for _ in range(8):
        model.step()
        if model.month.step > 2:  # the window (the record leaves the burn-in out)
            made += [(model.month.step - 2, e) for e in model.month.limit_events]
    table = model.limit_events()
    want = pd.DataFrame(
        {
            "borrower_id": np.concatenate([e.rows for _, e in made]),
            "step": np.concatenate([np.full(e.rows.size, s, dtype=np.int16) for s, e in made]),
            "old_limit_cny": np.concatenate([e.old_limit_cny for _, e in made]),
            "new_limit_cny": np.concatenate([e.new_limit_cny for _, e in made]),
            "reason": pd.Categorical.from_codes(
                np.concatenate([e.reason for _, e in made]),
                categories=[r.name for r in ReasonCode],
            ),
        }
    )
    assert len(table) > 100 and (table["step"] > 0).all()
    pd.testing.assert_frame_equal(table, want)
    for col in ("old_limit_cny", "new_limit_cny"):
        np.testing.assert_array_equal(_bits(table[col]), _bits(want[col]))
    # ... held in under 10 bytes an event (row gaps, 3-byte cents, int8 reasons), not 25.
    assert model.record._events.n_events == len(table)
    assert model.record._events.nbytes < 10 * len(table)
    model.close()


def test_draws_are_released_after_their_last_reader_and_reading_them_then_raises():
    run = make_run("population.n_borrowers=300", "n_months=2", "burn_in_months=2")
    model = CreditMarketModel(run)
    model.step()
    month = model.month
    for name, stage in RELEASE_AFTER.items():
        assert month.is_released(name)
        message = (
            rf"Month\.{name} of model step 1 \(the monthly table's step -1\) was released "
            rf"after stage {stage!r}.*set model\.release_month_fields = False on the model"
        )
        with pytest.raises(ReleasedFieldError, match=message):
            # a field of the month raises when read, a field of a field when used
            np.asarray(functools.reduce(getattr, name.split("."), month))
    for use in (np.asarray, np.sum, lambda x: x.sum(), lambda x: x[0], lambda x: x > 0):
        with pytest.raises(ReleasedFieldError, match=r"Month\.household\.unmet_need_cny"):
            use(month.household.unmet_need_cny)  # a field of a field: using it raises
    assert "draws=<released after stage 'household'>" in repr(month)
    assert month.firm_month.collections_cny.shape == (model.firms.n,)  # the rest stays
    model.release_month_fields = False
    model.step()
    assert not any(model.month.is_released(name) for name in RELEASE_AFTER)
    assert model.month.draws.u_job.shape == (model.borrowers.n,)
    model.close()


def test_released_flows_keep_their_totals_and_the_record_is_the_same():
    run = make_run("population.n_borrowers=2000", "n_months=4", "burn_in_months=1")
    kept, released = CreditMarketModel(run), CreditMarketModel(run)
    kept.release_month_fields = False
    for _ in range(5):
        kept.step()
        released.step()
        a, b = kept.month, released.month
        assert all(b.is_released(name) for name in TOTALLED)
        for name in TOTALLED:
            values = functools.reduce(getattr, name.split("."), a)  # the array, kept
            assert b.total(name) == a.total(name) == values.sum()
        for name in COUNTED:
            values = functools.reduce(getattr, name.split("."), a)
            assert b.positive_count(name) == a.positive_count(name) == np.sum(values > 0)
        assert a.total("transfers.household_prepay_cny") > 0  # flows that moved money
        assert b.positive_count("household_funding.unmet_credit_cny") > 0
        assert released.record.metrics == kept.record.metrics
    with pytest.raises(KeyError, match="household.scheduled_payment_cny"):
        b.total("household.scheduled_payment_cny")  # released, its total not kept
    with pytest.raises(KeyError, match="COUNTED.*only its total is kept"):
        b.positive_count("household.draws_cny")  # its count of positive rows not kept
    with pytest.raises(KeyError, match=r"did you mean 'household\.draws_cny'\?"):
        b.total("household.draw_cny")
    with pytest.raises(KeyError, match="released without a total"):
        b.total("household.consumption_cny")  # before funding: not the funded total
    with pytest.raises(KeyError, match=r"not released is read as it is"):
        b.total("servicing.interest_cny")
    with pytest.raises(KeyError, match="not a field of sim.month.TOTALLED"):
        b.total(None)
    for copier in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(ReleasedFieldError, match=r"Month\.household\.draws_cny"):
            copier(b.household.draws_cny)
    with pytest.raises(ReleasedFieldError, match=r"total stays: model\.month\.total"):
        b.household.draws_cny.sum()  # the message says where the total is
    with pytest.raises(TypeError, match="release_month_fields must be True or False, got 'no'"):
        kept.release_month_fields = "no"
    # The flows written over the draws and funded in place: the same state, bit for bit.
    for field in dataclasses.fields(kept.borrowers):
        x, y = getattr(kept.borrowers, field.name), getattr(released.borrowers, field.name)
        assert x.dtype == y.dtype and np.array_equal(_bits(x), _bits(y)), field.name
    kept.close()
    released.close()


def test_a_stage_writes_over_a_field_only_when_the_field_is_released_right_after_it(
    monkeypatch,
):
    month = Month(step=1, releasing=True)
    assert month.freed_after("draws", "household")
    assert month.freed_after("household.consumption_cny", "funding")
    assert not month.freed_after("draws", "funding")
    assert not Month(step=1).freed_after("draws", "household")  # the model keeps them
    run = make_run("population.n_borrowers=400", "n_months=2", "burn_in_months=0")
    want = CreditMarketModel(run).run().monthly_table()
    # A stage after `household` that read the draws would name itself here: the household
    # flows then take arrays of their own, and the numbers stay.
    monkeypatch.setitem(RELEASE_AFTER, "draws", "enterprise")
    monkeypatch.setitem(RELEASE_AFTER, "household.consumption_cny", "settlement")
    assert not month.freed_after("draws", "household")
    assert not month.freed_after("household.consumption_cny", "funding")
    shared = []
    original = households.household_month

    def spy(*args, **kwargs):
        shared.append(kwargs["recycle_draws"])
        return original(*args, **kwargs)

    monkeypatch.setattr(households, "household_month", spy)
    got = CreditMarketModel(run).run().monthly_table()
    assert shared == [False, False]
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_releasing_frees_the_arrays_and_leaves_unwritten_fields_alone():
    world = tiny_world()
    month = Month(step=1)
    assert month.release_after("household") == []  # draws not written yet: nothing to drop
    assert month.draws is None
    scenario_stage(world, month)
    u_job = weakref.ref(month.draws.u_job)
    lenders = weakref.ref(month.lender_draws)
    assert month.release_after("household") == ["draws"]
    assert month.release_after("funding") == ["lender_draws"]  # no household flows yet
    gc.collect()
    assert u_job() is None and lenders() is None
    assert month.firm_draws is not None  # released after settlement only
    month.draws = "written again"  # a field may be written again after its release
    assert month.draws == "written again"


def test_a_run_whose_record_spills_to_disk_gives_the_same_tables(monkeypatch):
    from sim.outputs import event_log

    run = make_run("population.n_borrowers=3000", "n_months=8", "burn_in_months=2")
    with CreditMarketModel(run) as model:
        model.run()
        want = model.tables("r")
    monkeypatch.setattr(event_log, "BLOCK_BYTES", 4096)  # a few months' events a block
    with CreditMarketModel(run) as model:
        model.run()
        events, panel = model.record._events._store, model.record.agents._panel_store
        got = model.tables("r")
    # Both stores wrote their full blocks to disk and hold one block in memory ...
    assert events.n_spilled == events.n_blocks - 1 >= 5 and events.resident_nbytes == 4096
    assert panel.n_spilled == panel.n_blocks - 1 >= 5 and panel.resident_nbytes == 4096
    # ... and every table is the same.
    assert set(got) == set(want)
    for name in want:
        pd.testing.assert_frame_equal(got[name], want[name], check_exact=True)
