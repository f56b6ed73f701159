"""The money audit from saved files: a real run folder passes, a tampered value is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.audit import main
from sim.model import CreditMarketModel
from sim.outputs.audit import IDENTITIES, TOLERANCE_CNY_PER_ROW, AuditError, audit
from sim.outputs.files import write_run_outputs
from sim.outputs.money import MONEY_STOCKS
from tests.conftest import make_run

N_MONTHS = 8


def _write_run(folder: Path, *overrides: str) -> Path:
    run = make_run("population.n_borrowers=1500", f"n_months={N_MONTHS}", *overrides)
    with CreditMarketModel(run) as model:
        model.run()
        tables = model.tables("audit")
    write_run_outputs(tables, folder, {"run_id": "audit"}, "")
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A delinquent book whose households and firms also borrow elsewhere: every flow is used.
    return _write_run(
        tmp_path_factory.mktemp("run"),
        "population=uci_2005",
        "policy=static",
        "firms.owner_share=0.3",
        "channels.household_wants_seek_share=1.0",
    )


def _tampered(run_dir: Path, tmp_path: Path, column: str, step: int, add: float) -> Path:
    folder = tmp_path / "tampered"
    shutil.copytree(run_dir, folder)
    df = pd.read_parquet(folder / "monthly.parquet")
    df.loc[df["step"] == step, column] += add
    df.to_parquet(folder / "monthly.parquet")
    return folder


def test_every_identity_holds_in_every_month_of_a_real_run(run_dir: Path, capsys):
    result = audit(run_dir)
    assert result.passed, result.report()
    r = result.residuals
    names = {i.name for i in IDENTITIES} | {f"continuity:{s}" for s in MONEY_STOCKS}
    assert set(r["identity"]) == names
    assert (r.groupby("identity").size() >= N_MONTHS - 1).all()
    monthly = pd.read_parquet(run_dir / "monthly.parquet")
    # The book is open: rows only grow, and the tolerance follows the rows.
    assert monthly["n_borrowers"].is_monotonic_increasing and monthly["n_borrowers"].iloc[0] >= 1500
    assert monthly["n_firms"].is_monotonic_increasing and monthly["n_firms"].iloc[0] >= 450
    tol = TOLERANCE_CNY_PER_ROW * (monthly["n_borrowers"] + monthly["n_firms"]).to_numpy()
    np.testing.assert_allclose(
        r.loc[r["identity"] == "platform_book", "tolerance_cny"].to_numpy(), tol
    )
    # The flows of the identity were exercised, not zero.
    for column in (
        "channel_repayments_cny",
        "firm_funded_cny",
        "write_off_cny",
        "channel_write_off_cny",
    ):
        assert monthly[column].sum() > 0, column
    assert main([str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "all identities hold" in out and "platform_book" in out


def test_a_run_without_firms_passes(tmp_path: Path):
    folder = _write_run(tmp_path / "run", "firms.owner_share=0", "n_months=4")
    monthly = pd.read_parquet(folder / "monthly.parquet")
    assert monthly["owner_injection_cny"].isna().all()  # the small-business convention
    assert audit(folder).passed


@pytest.mark.parametrize(
    "column, step, add, broken",
    [
        # A flow: the book it belongs to breaks that month, and only that month.
        ("interest_charged_cny", 4, 0.01, {("platform_book", 4)}),
        (
            "channel_repayments_cny",
            2,
            -0.05,
            {
                ("other_lenders_book", 2),
                ("other_lenders_cash", 2),
                ("other_lenders_repaid_split", 2),
            },
        ),
        # A stock: its identities that month, and the next month's opening.
        (
            "savings_cny",
            3,
            1.0,
            {("households_savings", 3), ("system", 3), ("continuity:savings_cny", 4)},
        ),
        ("opening_drawn_balance_cny", 1, 100.0, {("platform_book", 1)}),
    ],
)
def test_a_tampered_value_names_the_identity_and_month(
    run_dir: Path, tmp_path: Path, capsys, column, step, add, broken
):
    folder = _tampered(run_dir, tmp_path, column, step, add)
    result = audit(folder)
    assert not result.passed
    assert set(zip(result.failures["identity"], result.failures["step"], strict=True)) == broken
    np.testing.assert_allclose(result.failures["residual_cny"].abs(), abs(add), atol=1e-6)
    assert main([str(folder)]) == 1
    out = capsys.readouterr().out
    identity, month = sorted(broken)[0]
    assert f"broken: {identity} in month {month}" in out and "money identities broken" in out


def test_a_missing_value_is_a_broken_identity(run_dir: Path, tmp_path: Path):
    folder = _tampered(run_dir, tmp_path, "write_off_cny", 5, np.nan)
    failures = audit(folder).failures
    assert set(failures["identity"]) == {"platform_book"} and set(failures["step"]) == {5}


def test_what_cannot_be_read_exits_2_with_one_line(run_dir: Path, tmp_path: Path, capsys):
    with pytest.raises(AuditError, match="nowhere: not found"):  # was "no monthly table"
        audit(tmp_path / "nowhere")
    assert main([str(tmp_path / "nowhere")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AuditError, match="empty/monthly.parquet: no monthly table"):
        audit(empty)
    old = tmp_path / "old"
    old.mkdir()
    pd.read_parquet(run_dir / "monthly.parquet").drop(columns="firm_cash_cny").to_parquet(
        old / "monthly.parquet"
    )
    assert main([str(old)]) == 2
    (tmp_path / "junk.parquet").write_text("not a table")
    assert main([str(tmp_path / "junk.parquet")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: cannot audit:") for line in err)
    assert "firm_cash_cny" in err[1] and "cannot read the table" in err[2]
