"""The settlement stage: firms pay their way, spare cash repays debt, owners are paid.

Firms pay fixed costs and suppliers (late or partial payments spread stress along the
supply network) and close after too long in shortfall (:func:`sim.world.firms.settle`);
cash above a firm's target buffer repays the owner's debts costliest first (the reverse
waterfall, :func:`sim.lending.funding.repay_firm_debts`) and is then paid out to the
owner; households repay other lenders from savings above their cash reserve.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.compiled import implementation
from sim.lending.funding import repay_firm_debts
from sim.lending.settlement_kernel import repay_compiled
from sim.lending.settlement_reference import repay_reference
from sim.units import round_cny
from sim.world.firms import ExitModel, excess_cash, pay_owner_draws, settle, update_buffer_days

if TYPE_CHECKING:
    from sim.month import Month, World


def settlement_stage(world: World, month: Month) -> None:
    """Stage ``settlement``: firms settle, repay debt and pay their owners.

    Writes ``month.settlement`` and the repayment fields of ``month.transfers``; updates
    firms' cash and buffer days, owners' savings and the lines repaid.

    Runs as :func:`sim.compiled.implementation` says: the numba kernels
    (:mod:`sim.world.firms.settlement_kernel`, :mod:`sim.lending.settlement_kernel`), the
    NumPy passes below, or the per-firm and per-household reference
    (:mod:`sim.world.firms.settlement_reference`, :mod:`sim.lending.settlement_reference`);
    the same bits (the reference's channel payment totals: the same cents).
    """
    s, f = world.borrowers, world.firms
    fc, cc, t = world.config.firms, world.config.channels, month.transfers
    owners = f.owner
    month.settlement = settle(
        f,
        world.network,
        month.firm_month,
        month.firm_funding.funded_cny,
        month.firm_draws,
        step=month.step,
        close_after_shortfall_months=fc.close_after_shortfall_months,
        exit_hazard_monthly=fc.exit_hazard_monthly,
        exit_model=ExitModel.from_config(fc),
        owner_defaulted=s.defaulted[owners].astype(bool),
        shortfall_memory_decay=fc.shortfall_memory_decay,
    )
    # ---- implementation switch (sim.compiled): compiled kernels, reference, NumPy below
    how = implementation()
    if how == "compiled":
        repay_compiled(world, month)
        return
    if how == "reference":
        repay_reference(world, month)
        return
    # ---- end of the implementation switch
    channel_repaid, platform_repaid = repay_firm_debts(
        excess_cash(f),
        owners=owners,
        platform_business_cny=f.platform_business_cny,
        platform_balance_cny=s.balance_cny,
        platform_apr=s.apr,
        platform_open=s.is_open,
        channels=world.channels,
        prepay_share=cc.prepay_excess_share,
    )
    f.cash_cny = round_cny(f.cash_cny - channel_repaid - platform_repaid)
    s.balance_cny[owners] = round_cny(s.balance_cny[owners] - platform_repaid)
    f.platform_business_cny = round_cny(f.platform_business_cny - platform_repaid)
    t.firm_platform_repaid_cny = platform_repaid
    t.firm_channel_repaid_cny = channel_repaid
    owner_draw = pay_owner_draws(f, fc.owner_draw_rate)
    s.savings_cny[owners] = round_cny(s.savings_cny[owners] + owner_draw)
    t.owner_draw_cny = owner_draw
    update_buffer_days(f, opening_cash_cny=month.firm_month.opening_cash_cny)
    _households_prepay(world, month)


def _households_prepay(world: World, month: Month) -> None:
    """Households repay other lenders from savings above their cash reserve.

    Spare savings first (cheap, per row), then which of those rows owe any lender.
    """
    s, channels = world.borrowers, world.channels
    rows = channels.candidates()
    reserve = world.config.population.behaviour.cash_reserve_income_months * s.income_base_cny[rows]
    share = world.config.channels.prepay_excess_share
    budget = round_cny(share * np.maximum(s.savings_cny[rows] - reserve, 0.0))
    rows, budget = rows[budget > 0], budget[budget > 0]
    owes = channels.owes(rows)
    rows, budget = rows[owes], budget[owes]
    if rows.size:
        paid = channels.prepay(rows, budget)
        s.savings_cny[rows] = round_cny(s.savings_cny[rows] - paid)
        month.transfers.household_prepay_cny[rows] = paid
