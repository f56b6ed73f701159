"""Release of a month's fields once no later stage reads them (memory, not numbers).

:data:`RELEASE_AFTER` names each released field of :class:`sim.month.Month` and the stage
after which it is dropped (:meth:`sim.month.Month.release_after`); :data:`TOTALLED` the
released flows whose totals are kept for the month's record. A released field reads as a
stand-in that raises :class:`ReleasedFieldError` naming the field, its month and stage.
"""

from __future__ import annotations

import numpy as np

#: Fields of :class:`Month` (``"household.consumption_cny"``: a field of a field) that
#: the model releases once their last reader has run: field -> the stage (a
#: :data:`sim.model.STAGES` name) after which no stage reads it row by row. The month's
#: draws are about a third of its record (about 100 bytes a borrower row); the
#: households' flows (8 bytes a row each) are read row by row only until ``servicing``:
#: freed then, their memory holds the later stages' arrays instead of adding to them
#: (``docs/performance.md``, "Memory"). The month's record (``collect``) reads the flows
#: of :data:`TOTALLED` only as totals, kept when they are released (:meth:`Month.total`).
RELEASE_AFTER: dict[str, str] = {
    "draws": "household",
    "household.income_cny": "household",
    "household.other_payment_cny": "household",
    "household.draw_count": "household",
    "household.early_repayment_count": "household",
    "lender_draws": "funding",
    "household.consumption_cny": "funding",
    "household.unmet_need_cny": "funding",
    "household.unmet_credit_cny": "funding",
    "household_funding.consumption_cny": "funding",
    "household_funding.unmet_need_cny": "funding",
    "household_funding.unmet_credit_cny": "funding",
    "transfers.household_channel_draws_cny": "funding",
    "transfers.household_channel_fees_cny": "funding",
    "firm_draws": "settlement",
    "transfers.household_prepay_cny": "settlement",
    "household.scheduled_payment_cny": "servicing",
    "household.draws_cny": "servicing",
    "household.repayments_cny": "servicing",
    "household.early_repayment_cny": "servicing",
}

#: Released fields whose totals are kept (:meth:`Month.total`): no stage after their
#: release reads them but as totals.
TOTALLED: frozenset[str] = frozenset(
    {
        "household.income_cny",
        "household.other_payment_cny",
        "household.draw_count",
        "household.early_repayment_count",
        "household_funding.consumption_cny",
        "household_funding.unmet_need_cny",
        "household_funding.unmet_credit_cny",
        "transfers.household_channel_draws_cny",
        "transfers.household_channel_fees_cny",
        "transfers.household_prepay_cny",
        "household.draws_cny",
        "household.repayments_cny",
        "household.early_repayment_cny",
    }
)
#: Fields of :data:`TOTALLED` whose count of rows above zero is kept too.
COUNTED: frozenset[str] = frozenset({"household_funding.unmet_credit_cny"})


class ReleasedFieldError(RuntimeError):
    """A :class:`Month` field was read after the model released it (:data:`RELEASE_AFTER`)."""


class _Released:
    """Stands in for a released field's value.

    Reading it from :class:`Month` raises, and so does using it (a field of a field: any
    attribute, item, conversion or operator).
    """

    __slots__ = ("message", "positive", "stage", "total")

    def __init__(
        self, name: str, step: int, stage: str, values: np.ndarray | None = None, burn_in: int = 0
    ) -> None:
        self.stage = stage
        # The totals of a field of TOTALLED (COUNTED), taken from the array as it is dropped.
        self.total = None if values is None else values.sum()
        counted = values is not None and name in COUNTED
        self.positive = int(np.count_nonzero(values > 0)) if counted else None
        self.message = (
            f"Month.{name} of model step {step}"
            + (f" (the monthly table's step {step - burn_in})" if burn_in else "")
            + f" was released after stage {stage!r}, its last reader (sim.month.RELEASE_AFTER), "
            "to save memory; "
            "set model.release_month_fields = False on the model before stepping to keep it"
            + (f" (its total stays: model.month.total({name!r}))" if values is not None else "")
        )

    def __repr__(self) -> str:
        return f"<released after stage {self.stage!r}>"

    def fail(self, *_: object, **__: object) -> None:
        """Raise :class:`ReleasedFieldError` naming the field, its month and stage."""
        raise ReleasedFieldError(self.message)

    __getattr__ = __array__ = __getitem__ = __setitem__ = __len__ = __iter__ = fail
    __bool__ = __float__ = __int__ = __index__ = __add__ = __radd__ = __sub__ = fail
    __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = fail
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = fail
    __copy__ = __deepcopy__ = __reduce__ = __reduce_ex__ = fail
    __hash__ = None  # type: ignore[assignment]
