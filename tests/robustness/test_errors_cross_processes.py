"""Every exception the package defines survives pickling, so it reaches the parent intact.

Errors raised in vector-env workers, Ray actors and process pools travel back pickled. An
exception whose ``__init__`` takes several arguments does not unpickle by default, and
``multiprocessing.Pool`` then waits forever for a result that never arrives (a CI run hung
this way on a ``CacheIntegrityError`` raised in a pool worker).
"""

from __future__ import annotations

import ast
import importlib
import pickle
from pathlib import Path

import pytest

from agents.llm.endpoint import EndpointError, ResponseTooLarge
from ramp_env.cache import UntrustedCacheError
from ramp_env.corpus.integrity import CacheIntegrityError
from ramp_env.corpus.loaders import CorpusFormatError, _QuotingError
from ramp_env.envs.base import EnvClosedError
from ramp_env.envs.config import UnknownOptionError
from ramp_env.errors import DataFormatError, InvalidOptionError, NoTaskError, RampEnvError, RampEnvWarning
from ramp_env.masking.llm_verifier import VerifierServerError
from ramp_env.masking.pool_monitor import SmallPoolWarning
from ramp_env.qa.loaders import QAFormatError
from ramp_env.rewards.judges.http import JudgeServerError, _BadReply, _HTTPStatusError
from ramp_env.serving.protocol import ProtocolError

ROOT = Path(__file__).resolve().parents[2]

EXAMPLES: dict[type[BaseException], BaseException] = {
    CacheIntegrityError: CacheIntegrityError("/c/store.sqlite", "truncated", "ramp-env build-index"),
    UntrustedCacheError: UntrustedCacheError("/c/corpora/wiki-1", "other users can write it (mode 0777)"),
    CorpusFormatError: CorpusFormatError("wiki.jsonl", 12, "not JSON"),
    _QuotingError: _QuotingError("quote does not close"),
    QAFormatError: QAFormatError("qa.jsonl", 3, "no answer"),
    JudgeServerError: JudgeServerError("unreachable"),
    _HTTPStatusError: _HTTPStatusError(503, "overloaded"),
    _BadReply: _BadReply("not JSON"),
    EndpointError: EndpointError("gave up after 3 tries"),
    ResponseTooLarge: ResponseTooLarge("reply over 1 MB"),
    ProtocolError: ProtocolError(422, "queries: expected a list"),
    SmallPoolWarning: SmallPoolWarning("RAMP-v0 at 4 masks: about 170 distinct passages"),
    UnknownOptionError: UnknownOptionError("RAMPEnv has no option 'num_mask'; did you mean 'num_masks'?"),
    EnvClosedError: EnvClosedError("step() on a closed RAMPEnv; make a new env"),
    RampEnvError: RampEnvError("something the package reports on purpose"),
    InvalidOptionError: InvalidOptionError("top_k must be >= 1, got 0"),
    DataFormatError: DataFormatError("corpus has duplicate passage id 'a'"),
    NoTaskError: NoTaskError("found no passage with 4 maskable spans supported by evidence in 1000 draws"),
    RampEnvWarning: RampEnvWarning("a warning of the package"),
    VerifierServerError: VerifierServerError("the verifier server failed after 2 attempts"),
}


def defined_exception_classes() -> set[type[BaseException]]:
    """Exception classes defined anywhere in ``ramp_env`` and ``agents`` (found in the source, so a
    new one is caught here without being listed by hand)."""
    found = set()
    for package in ("ramp_env", "agents"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for node in tree.body:
                if isinstance(node, ast.ClassDef) and node.bases:
                    names = [ast.unparse(b) for b in node.bases]
                    if any(n.endswith(("Error", "Exception", "Warning")) for n in names):
                        cls = getattr(importlib.import_module(module), node.name)
                        if issubclass(cls, BaseException):
                            found.add(cls)
    return found


def test_every_exception_class_has_an_example_here() -> None:
    missing = sorted(c.__module__ + "." + c.__qualname__ for c in defined_exception_classes() - set(EXAMPLES))
    assert missing == [], "add an example to EXAMPLES for each"


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda c: c.__name__)
def test_exception_round_trips_through_pickle(cls: type[BaseException]) -> None:
    error = EXAMPLES[cls]
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is cls
    assert str(again) == str(error)
    assert vars(again) == vars(error)
