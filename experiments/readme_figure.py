"""Regenerate the README figure: ``python -m experiments.readme_figure`` (``make readme-figure``).

Runs the demo sweep (every policy x 5 seeds, 20,000 borrowers x 36 months, joblib
launcher), then copies its trade-off frontier figure to ``docs/img/demo-tradeoff.png``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from experiments import demo

TARGET = Path("docs/img/demo-tradeoff.png")


def main() -> int:
    sweep = Path(tempfile.mkdtemp(prefix="limitlab-readme-"))
    code = demo.main(["--out", str(sweep)])
    if code != 0:
        return code
    figures = sorted((sweep / "report" / "figures").glob("tradeoff*.png"))
    if not figures:
        print(f"no trade-off figure in {sweep}/report/figures", file=sys.stderr)
        return 1
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(figures[0], TARGET)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
