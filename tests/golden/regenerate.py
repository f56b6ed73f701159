"""Regenerate the golden reference: ``.venv/bin/python tests/golden/regenerate.py``.

Only on purpose, with a line in CHANGELOG.md saying what moved and why.
"""

import json
import platform
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.golden.fingerprint import compute_all  # noqa: E402

if __name__ == "__main__":
    data = {
        "stack": {"python": platform.python_version(), "numpy": np.__version__},
        "runs": compute_all(),
    }
    path = HERE / "reference.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path} ({len(data['runs'])} runs)")
