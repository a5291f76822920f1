"""Where the flagger's model files are (light: no model, no kernel, no numpy imported).

The runner reads the flag threshold from here without loading the flagger, so that a re-run over
an unchanged corpus imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..rules import RuleSet

FLUENCY_FILE = "fluency.npz"
#: the model file's former format, still read when a rules directory has only that
LEGACY_FLUENCY_FILE = "fluency.json.gz"
WEIGHTS_FILE = "weights.json"

__all__ = ["FLUENCY_FILE", "LEGACY_FLUENCY_FILE", "WEIGHTS_FILE", "fluency_file", "model_dir"]


def model_dir(rules: RuleSet) -> Path:
    """``rules.root / "flagger"``; a rules directory without one uses the packaged model."""
    d = Path(rules.root) / "flagger"
    if (d / FLUENCY_FILE).exists() or (d / LEGACY_FLUENCY_FILE).exists():
        return d
    from ..rules import default_rules_dir

    return default_rules_dir() / "flagger"


def fluency_file(directory: Path) -> Path:
    """The fluency model file of a model directory (``fluency.npz``, else the former JSON)."""
    path = directory / FLUENCY_FILE
    return path if path.exists() or not (directory / LEGACY_FLUENCY_FILE).exists() else directory / LEGACY_FLUENCY_FILE
