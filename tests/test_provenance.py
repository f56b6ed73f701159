"""Every default parameter in conf/ has a documented source.

The source is a row of conf/PROVENANCE.md or a comment on the parameter's YAML line.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest
import yaml

from sim.runtime.compose import CONF_DIR

CONF = Path(CONF_DIR)
#: Config groups whose values are model parameters (output/ and the run options are not).
PARAMETER_GROUPS = ("population", "platform", "scenario", "policy", "firms", "channels")
SOURCE_WORDS = re.compile(r"assumption|fit|UCI|data|Art\.|\b(19|20)\d\d\b", re.IGNORECASE)


def provenance_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in (CONF / "PROVENANCE.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("parameter", "---"):
            rows.append((cells[0], cells[2], cells[3]))
    return rows


def leaf_paths(node: object, prefix: str = "") -> list[str]:
    if isinstance(node, dict) and node:
        out = []
        for key, value in node.items():
            if prefix == "" and key == "defaults":
                continue
            out += leaf_paths(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(node, list) and node and all(isinstance(v, dict) for v in node):
        out = [prefix]
        for value in node:
            out += leaf_paths(value, f"{prefix}.*")
        return sorted(set(out))
    return [prefix]


def commented(text: str, key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    for match in re.finditer(rf"^\s*-?\s*{re.escape(leaf)}:[^#\n]*#(.*)$", text, re.MULTILINE):
        if SOURCE_WORDS.search(match.group(1)):
            return True
    return False


def parameter_files() -> list[Path]:
    return sorted(p for g in PARAMETER_GROUPS for p in (CONF / g).glob("*.yaml"))


def test_provenance_table_is_well_formed():
    rows = provenance_rows()
    assert len(rows) > 50
    for pattern, kind, source in rows:
        assert kind in {"report", "data fit", "assumption"}, pattern
        assert len(source) >= 5, pattern


@pytest.mark.parametrize("path", parameter_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_parameter_has_a_source(path: Path):
    rows = provenance_rows()
    text = path.read_text()
    data = yaml.safe_load(text) or {}
    missing = []
    for key in leaf_paths(data):
        full = f"{path.parent.name}/{path.stem}.{key}"
        if any(fnmatch.fnmatchcase(full, pattern) for pattern, _, _ in rows):
            continue
        if commented(text, key):
            continue
        missing.append(full)
    assert not missing, (
        f"parameters without a documented source (add a row to conf/PROVENANCE.md): {missing}"
    )


def test_a_new_undocumented_parameter_is_caught(tmp_path: Path):
    text = "name: x\nundocumented_knob: 3\nwith_comment: 2  # assumption: hand-picked\n"
    data = yaml.safe_load(text)
    keys = [k for k in leaf_paths(data) if not commented(text, k)]
    assert keys == ["name", "undocumented_knob"]
