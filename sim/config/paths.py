"""Where the Hydra configs live."""

from pathlib import Path

#: The project's config folder (``conf/`` beside the ``sim`` package in a source checkout).
CONF_DIR = Path(__file__).resolve().parents[2] / "conf"
