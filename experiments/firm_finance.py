"""Firm-finance measurements of one run: gaps by month type, funding mix, exits, defaults.

``python -m experiments.firm_finance static 20000 36 0 [overrides...]`` prints one JSON
line: gap incidence in stock-build months (the month before a sector's relative peak,
the peak itself excluded), peak months and other months; the gaps' share of outflows;
the share of the gaps funded by each waterfall step and left unmet; closures by cause
(1 shortfall, 2 non-financial exit, 3 distress exit) and the mean monthly closure rate;
shortfall firm-months and late supplier payments per initial firm; sole traders' and
households' default rates; owners' final / initial limit and owners raised 3+ times;
and the run means of the firm metrics.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from sim import CreditMarketModel, load_run_config


def measure(policy: str, n_borrowers: int, months: int, seed: int, *overrides: str) -> dict:
    """Run one model and return the measurements (see the module docstring)."""
    cfg = load_run_config(
        [
            f"policy={policy}",
            f"population.n_borrowers={n_borrowers}",
            f"n_months={months}",
            f"seed={seed}",
            *overrides,
        ]
    )
    model = CreditMarketModel(cfg)
    w = model.world
    for _ in range(cfg.burn_in_months):  # measured over the window only
        model.step()
    f, s = w.firms, w.borrowers
    excess = w.sectors.seasonality - 1.0
    peak = excess >= 0.5 * excess.max(axis=1, keepdims=True) - 1e-9
    owners = f.owner.copy()
    limit0 = s.limit_cny[owners].copy()
    n0 = f.n
    count = {
        k: 0 for k in ("fm_build", "gap_build", "fm_peak", "gap_peak", "fm_other", "gap_other")
    }
    gap_total = unmet = outflow = late = 0.0
    by_step: dict[str, float] = {}
    shortfall_months = 0
    causes: dict[int, int] = {}
    lead = cfg.firms.stock_lead_months
    for _ in range(months):
        open_start = f.is_open.copy()
        model.step()
        # Firms that entered this month were not open at its start.
        open_start = np.pad(open_start, (0, f.n - open_start.size))
        mo = model.month
        cal = mo.macro.calendar_month
        build = peak[f.sector, (cal - 1 + lead) % 12] & ~peak[f.sector, (cal - 1) % 12]
        pk = peak[f.sector, (cal - 1) % 12]
        gap = mo.firm_month.gap_cny
        for name, mask in (
            ("build", build & open_start),
            ("peak", pk & open_start & ~build),
            ("other", open_start & ~build & ~pk),
        ):
            count["fm_" + name] += int(mask.sum())
            count["gap_" + name] += int((gap[mask] > 0).sum())
        gap_total += float(gap.sum())
        for k, v in mo.firm_funding.by_step.items():
            by_step[k] = by_step.get(k, 0.0) + float(v.sum())
        unmet += float(mo.firm_funding.unmet_cny.sum())
        fixed = np.where(open_start, f.fixed_cost_cny, 0.0)
        outflow += float((mo.firm_month.purchases_cny + fixed).sum())
        st = mo.settlement
        shortfall_months += int(f.in_shortfall.sum())
        late += float(st.late_supplier_payments_cny.sum())
        for c in st.closure_cause[st.new_closure]:
            causes[int(c)] = causes.get(int(c), 0) + 1
    monthly = model.monthly_table()
    owner = np.zeros(s.n, dtype=bool)
    owner[owners] = True
    defaulted = s.default_step > 0
    out = {
        "policy": policy,
        "seed": seed,
        "gap_incidence_build": count["gap_build"] / max(count["fm_build"], 1),
        "gap_incidence_peak": count["gap_peak"] / max(count["fm_peak"], 1),
        "gap_incidence_other": count["gap_other"] / max(count["fm_other"], 1),
        "gap_share_of_outflow": gap_total / outflow,
        "funding_mix": {k: v / gap_total for k, v in by_step.items()}
        | {"unmet": unmet / gap_total},
        "closures_by_cause": causes,
        "monthly_exit_rate": float(monthly["closure_rate"].mean()),
        "shortfall_firm_months_per_firm": shortfall_months / n0,
        "late_supplier_cny_per_firm": late / n0,
        "sole_trader_default_rate": float(defaulted[owner].mean()),
        "household_default_rate": float(defaulted[~owner].mean()),
        "owner_limit_final_over_initial": float(
            np.nanmean(s.limit_cny[owners] / np.where(limit0 > 0, limit0, np.nan))
        ),
        "owners_raised_3plus": int((s.raises_count[owners] >= 3).sum()),
    }
    for col in (
        "median_cash_buffer_days",
        "buffer_days_p25",
        "median_liquidity_buffer_days",
        "gap_incidence_stock_build",
        "gap_incidence_other_months",
        "gap_funding_apr",
        "distress_exit_share",
    ):
        out["mean_" + col] = float(monthly[col].mean())
    model.close()
    return out


if __name__ == "__main__":
    a = sys.argv[1:]
    print(json.dumps(measure(a[0], int(a[1]), int(a[2]), int(a[3]), *a[4:]), default=float))
