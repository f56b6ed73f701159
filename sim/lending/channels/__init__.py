"""Other lenders (channels): the channel table, per-channel loan books and their servicing.

Beside the platform a borrower may borrow from a handful of other lenders (bank SME
loans, supply-chain finance, credit cards, online lenders, informal lenders; mechanism
M6/M9). Each lender is a row of the channel table (:class:`sim.config.ChannelConfig`) and
holds one revolving account per borrower (a column of compact ``(n_slots, n_channels)``
tables that have rows only for borrowers who ever used another lender), with the fields
:func:`sim.lending.accounts.service_accounts` needs, so every channel is serviced with exactly
the platform's conventions: interest at ``APR / 12`` on the month-end balance, a minimum
payment due next month, 30 DPD per consecutive miss, default at the third miss (the
account closes), charge-off at ``charge_off_dpd`` with recoveries ``(1 - LGD) x balance``.
Fees are separate: an upfront fee on each draw and a monthly service fee on the balance,
both added to the balance. Loans to a sole trader's firm sit on the owner's row (unlimited
liability).

Approval: an application passes the hard rules (score ``pd_12m < max_pd_12m``, platform
``dpd <= max_dpd``, enough history, a debt-service ratio at most the lender's maximum) and
is then approved with the probability of the borrower's credit band (prime, near-prime,
subprime by score rank; households' and firms' purposes have their own probabilities,
lowered for each lender already owed), decided by the month's uniform of the ``lenders``
stream (:mod:`sim.lending.channels.approval`). A channel with
``approval_lag_months = 0`` decides at once and lends to an approved borrower
up to its limit (``limit_multiple x`` income, the owned firm's revenue, or its outside
receivables, capped). A channel with a lag >= 1 needs an application: a borrower who
could not meet a need from cheaper sources applies; if eligible the facility is approved
with its limit fixed then and can be drawn from ``step + lag`` on, never in the month of
the application (so a bank loan cannot meet an immediate peak need).

The private-lending cap (Supreme People's Court 2020: 4 x LPR) caps the contract APR of
``private_lending`` channels; the scenario's ``other_lenders_apr_cap`` caps every channel.

Servicing works on the active rows only (a balance, defaulted ones included, a due, or a
payment this month), so a month costs little where few borrowers use a channel. A book
keeps no payment history: servicing's history fields are scratch (:class:`ServicedAccounts`).
"""

from sim.lending.channels.approval import ChannelApproval
from sim.lending.channels.books import ChannelBooks
from sim.lending.channels.credit import CreditInfo, band_bounds, credit_bands
from sim.lending.channels.flows import ChannelFlows
from sim.lending.channels.lenders import LenderTable
from sim.lending.channels.records import (
    ACCOUNT_FIELDS,
    BOOK_FIELDS,
    EVENT_FIELDS,
    NO_FACILITY,
    SERVICED_FIELDS,
    ChannelBook,
    ChannelMonth,
    ServicedAccounts,
    any_over_channels,
    count_over_channels,
)
from sim.lending.channels.servicing import Channels

__all__ = [
    "ACCOUNT_FIELDS",
    "BOOK_FIELDS",
    "EVENT_FIELDS",
    "NO_FACILITY",
    "SERVICED_FIELDS",
    "ChannelApproval",
    "ChannelBook",
    "ChannelBooks",
    "ChannelFlows",
    "ChannelMonth",
    "Channels",
    "CreditInfo",
    "LenderTable",
    "ServicedAccounts",
    "any_over_channels",
    "band_bounds",
    "count_over_channels",
    "credit_bands",
]
