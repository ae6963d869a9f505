"""Progress bars are tqdm's plain text bar, so notebooks without ipywidgets get no widget warning."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ramp_env"
# tqdm.auto / tqdm.notebook / tqdm.autonotebook pick a Jupyter widget, which warns
# "IProgress not found" where ipywidgets is missing
WIDGET_TQDM = re.compile(r"^\s*(from\s+tqdm\.(auto|notebook|autonotebook)\s+import|import\s+tqdm\.(auto|notebook))", re.MULTILINE)


def test_no_module_uses_a_widget_progress_bar() -> None:
    offenders = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py") if WIDGET_TQDM.search(p.read_text())]
    assert offenders == [], f"use `from tqdm import tqdm` (the plain bar) in {offenders}"
