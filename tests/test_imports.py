"""Start-up stays light: ``import ramp_env`` and ``gym.make`` on a prepared corpus load no heavy modules.

Checked in fresh interpreters through ``sys.modules`` (timings live in
``benchmarks/import_time.py``, not in tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("nltk", "torch", "transformers", "spacy", "sklearn", "scipy")


def loaded_heavy_modules(code: str, env: dict[str, str] | None = None) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_ramp_env_loads_no_heavy_module() -> None:
    assert loaded_heavy_modules("import ramp_env") == []


def test_the_probe_sees_heavy_modules() -> None:
    # the checks here can fail: a loaded module is reported (a stand-in: importing NLTK takes seconds)
    assert loaded_heavy_modules("import ramp_env, sys, json\nsys.modules['nltk'] = json") == ["nltk"]


def test_gym_make_on_a_prepared_corpus_loads_no_heavy_module(make_env, cache_dir: Path, wiki_sample: Path) -> None:
    make_env().close()  # prepares the corpus in the session cache
    code = (
        "import gymnasium as gym, ramp_env\n"
        f"env = gym.make('RAMP-v0', corpus={str(wiki_sample)!r}, cache_dir={str(cache_dir)!r}, "
        "span_extractor='rules', progress=False)"
    )
    assert loaded_heavy_modules(code) == []
