"""Stop terms: spaCy's English list, read without importing spaCy, analysed like index terms."""

from __future__ import annotations

import subprocess
import sys

from ramp_env.text.analysis import analyze
from ramp_env.text.stop_terms import content_terms, stop_terms, stop_words


def test_stop_terms_are_the_analysed_stop_words_and_the_mask_label() -> None:
    assert {"the", "between", "whereas"} <= stop_words()
    assert set(analyze("between whereas")) <= stop_terms() and "mask" in stop_terms()


def test_content_terms_drop_stop_terms_and_keep_order() -> None:
    # "mask" is a stop term, its number is not
    assert content_terms("The teacher of [mask_1] was between Plato and Socrates") == ["teacher", "1", "plato", "socrat"]


def test_reading_the_list_does_not_import_spacy() -> None:
    probe = "import sys\nfrom ramp_env.text.stop_terms import stop_terms\nstop_terms()\nprint('spacy' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
