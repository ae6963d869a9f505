"""The LLM evidence verifier: spec parsing, the prompt, a real llama.cpp server, error paths, plumbing."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ramp_env.cli import main
from ramp_env.corpus.passage import Passage
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.errors import InvalidOptionError, RampEnvError
from ramp_env.masking.evidence import EvidenceIndex, EvidenceVerifier, verifier_tag
from ramp_env.masking.llm_verifier import (
    API_KEY_ENV,
    LLMVerifier,
    VerifierServerError,
    evidence_excerpt,
    make_verifier,
    parse_verifier_spec,
    verifier_messages,
)
from ramp_env.masking.verify import ranked_evidence, verify_evidence
from ramp_env.text.spans import SalientSpan, SpanType
from tests._servers import free_port, llama_cpp_server, require_llama_cpp

FACT = "The Barents Sea is a marginal sea of the Arctic Ocean, off the northern coasts of Norway and Russia."
ROWS = [
    {"id": "src", "title": "Barents Sea", "text": FACT + " It is named after Willem Barentsz."},
    {"id": "ev", "title": "Arctic Ocean",
     "text": "Among the marginal seas of the Arctic Ocean is the Barents Sea, which lies north of Norway and Russia, "
             "where fishing fleets work the ice edge in summer."},
    {"id": "noise", "title": "Ocean liners", "text": "Ships crossing the Arctic Ocean need ice-strengthened hulls."},
    *({"id": f"f{i}", "title": f"Filler {i}", "text": f"Filler passage {i} about rivers and lakes."} for i in range(12)),
]
SOURCE = Passage("src", ROWS[0]["title"], ROWS[0]["text"])
EVIDENCE = Passage("ev", ROWS[1]["title"], ROWS[1]["text"])
ARCTIC = SalientSpan(FACT.index("Arctic Ocean"), FACT.index("Arctic Ocean") + len("Arctic Ocean"), SpanType.PLACE)


# -- the spec string -------------------------------------------------------------------------


def test_spec_parses_url_and_model() -> None:
    spec = parse_verifier_spec("llm:http://127.0.0.1:8000/v1|Qwen2.5-7B-Instruct")
    assert (spec.base_url, spec.model) == ("http://127.0.0.1:8000/v1", "Qwen2.5-7B-Instruct")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("http://127.0.0.1:8000/v1|m", "no 'llm:' prefix"),
        ("llm:http://127.0.0.1:8000/v1", "names no model"),
        ("llm:http://127.0.0.1:8000/v1|  ", "names no model"),
        ("llm:http://h/v1|a|b", "more than one"),
        ("llm:ftp://h/v1|m", "must be http"),
        ("llm:127.0.0.1:8000|m", "must be http"),
        ("llm:http://user:secret@h/v1|m", "no credentials"),
    ],
)
def test_malformed_specs_are_named(spec: str, problem: str) -> None:
    with pytest.raises(InvalidOptionError, match=problem):
        parse_verifier_spec(spec)
    with pytest.raises(InvalidOptionError, match=problem):  # and through every entry point
        EvidenceIndex(retriever=None, verifier=spec)  # type: ignore[arg-type]


def test_make_verifier_rejects_objects_without_accept_many() -> None:
    assert make_verifier(None) is None
    with pytest.raises(InvalidOptionError, match="accept_many"):
        make_verifier(42)
    with pytest.raises(InvalidOptionError, match="threshold"):
        LLMVerifier("http://127.0.0.1:1/v1", "m", threshold=1.5)


# -- what the model reads --------------------------------------------------------------------


def test_prompt_marks_the_span_and_quotes_the_answer_sentences() -> None:
    system, user = verifier_messages(SOURCE, ARCTIC, EVIDENCE)
    assert "yes or no" in system
    assert "SUBJECT: Barents Sea" in user
    assert "marginal sea of the ⟦Arctic Ocean⟧, off the northern" in user
    assert "Willem" not in user  # only the span's sentence of the source
    assert "Among the marginal seas of the Arctic Ocean" in user and '"Arctic Ocean"' in user


def test_excerpt_keeps_answer_sentences_and_the_one_before() -> None:
    evidence = Passage("e", "T", "Alpha one. Bravo two. He founded Zeta in 1901. Delta four. Echo five.")
    assert evidence_excerpt(evidence, "1901") == "Bravo two. He founded Zeta in 1901."
    assert evidence_excerpt(Passage("e", "T", "x " * 5000), "1901").startswith("x x")  # none holds it: capped start
    assert len(evidence_excerpt(Passage("e", "T", "x " * 5000), "1901")) <= 1200


# -- a mock server for the error paths -------------------------------------------------------


class Reply:
    """What the mock answers: ``(status, headers, body)``; records the requests it got."""

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}
        self.requests: list[dict[str, Any]] = []


@pytest.fixture()
def mock_server() -> Iterator[tuple[str, Reply]]:
    reply = Reply()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            reply.requests.append({"headers": dict(self.headers), "body": json.loads(self.rfile.read(length))})
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", reply
    finally:
        server.shutdown()
        server.server_close()


def chat_reply(content: str, logprobs: dict | None = None) -> bytes:
    return json.dumps({"choices": [{"message": {"content": content}, "logprobs": logprobs}]}).encode()


@pytest.mark.parametrize(
    ("status", "body", "headers", "problem"),
    [
        (500, b"overloaded", {}, "failed after 2 attempts"),
        (400, b"bad request", {}, "refused the request: 400"),
        (200, b"{not json", {}, "not JSON"),
        (200, b'{"choices": []}', {}, "without choices"),
        (200, b"x" * 5000, {}, "answered too much"),
        (302, b"", {"Location": "http://elsewhere.example/v1"}, "redirects are not followed"),
    ],
)
def test_unusable_replies_raise_and_never_accept(
    mock_server: tuple[str, Reply], tmp_path: Path, status: int, body: bytes, headers: dict, problem: str
) -> None:
    url, reply = mock_server
    reply.status, reply.body, reply.headers = status, body, headers
    verifier = LLMVerifier(url, "m", cache_path=tmp_path / "v.sqlite", retries=2, max_response_bytes=4096)
    with pytest.raises(VerifierServerError, match=problem) as info:
        verifier.accept_many(SOURCE, ARCTIC, [EVIDENCE])
    assert isinstance(info.value, RampEnvError) and "'m'" in str(info.value)
    reply.status, reply.body, reply.headers = 200, chat_reply("yes"), {}  # nothing was cached by the failure
    assert verifier.accept_many(SOURCE, ARCTIC, [EVIDENCE]) == [True]


def test_timeout_is_an_error(tmp_path: Path) -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        verifier = LLMVerifier(f"http://127.0.0.1:{listener.getsockname()[1]}/v1", "m", timeout=0.5, retries=1)
        with pytest.raises(VerifierServerError, match="no complete reply within 0.5 s"):
            verifier.accept_many(SOURCE, ARCTIC, [EVIDENCE])


def test_an_unreadable_word_rejects_and_only_the_verifier_key_is_sent(
    mock_server: tuple[str, Reply], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, reply = mock_server
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-secret")
    reply.body = chat_reply("Perhaps")  # no log-probabilities, not yes: the documented fallback rejects
    verifier = LLMVerifier(url, "m")
    [verdict] = verifier.verdicts(SOURCE, ARCTIC, [EVIDENCE])
    assert verdict.accepted is False and verdict.p_yes == 0.0 and verifier.fallbacks == 1
    assert "authorization" not in {k.lower() for k in reply.requests[0]["headers"]}
    body = reply.requests[0]["body"]
    assert body["model"] == "m" and body["max_tokens"] == 1 and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    monkeypatch.setenv(API_KEY_ENV, "verifier-key")
    LLMVerifier(url, "m").verdicts(SOURCE, ARCTIC, [EVIDENCE])
    assert reply.requests[-1]["headers"].get("Authorization") == "Bearer verifier-key"


def test_log_probabilities_decide_and_the_key_ignores_the_address(mock_server: tuple[str, Reply], tmp_path: Path) -> None:
    url, reply = mock_server
    top = [{"token": "Yes", "logprob": -0.2}, {"token": "No", "logprob": -1.8}]
    reply.body = chat_reply("No", {"content": [{"token": "Yes", "logprob": -0.2, "top_logprobs": top}]})
    first = LLMVerifier(url, "m", cache_path=tmp_path / "v.sqlite")
    [verdict] = first.verdicts(SOURCE, ARCTIC, [EVIDENCE])
    assert verdict.accepted and 0.8 < verdict.p_yes < 0.85 and first.fallbacks == 0
    first.close()
    # the same model elsewhere reads the cache (the address is dead: any request would fail)
    moved = LLMVerifier(f"http://127.0.0.1:{free_port()}/v1", "m", cache_path=tmp_path / "v.sqlite", retries=1)
    assert moved.verdicts(SOURCE, ARCTIC, [EVIDENCE]) == [verdict] and moved.requests == 0
    other_model = LLMVerifier(f"http://127.0.0.1:{free_port()}/v1", "m2", cache_path=tmp_path / "v.sqlite", retries=1)
    with pytest.raises(VerifierServerError):
        other_model.verdicts(SOURCE, ARCTIC, [EVIDENCE])
    assert verifier_tag(moved) == verifier_tag(first) != verifier_tag(other_model)


# -- plumbing: EvidenceIndex, verify_evidence, ranked_evidence, the CLI ----------------------


class Stub:
    """An :class:`EvidenceVerifier` accepting the ids in ``yes``; records what it was asked."""

    def __init__(self, yes: set[str]) -> None:
        self.yes = yes
        self.asked: list[str] = []

    @property
    def fingerprint(self) -> str:
        return f"stub|{sorted(self.yes)}"

    def accept_many(self, source: Passage, span: SalientSpan, evidences: Sequence[Passage]) -> list[bool]:
        self.asked.extend(e.id for e in evidences)
        return [e.id in self.yes for e in evidences]


@pytest.fixture()
def corpus(tmp_path: Path) -> PreparedCorpus:
    path = tmp_path / "barents.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return PreparedCorpus.open(str(path), cache_dir=tmp_path / "cache", progress=False)


@pytest.mark.parametrize("criterion", ["context", "fact"])
def test_the_verifier_gates_what_the_criterion_accepts(corpus: PreparedCorpus, criterion: str) -> None:
    assert isinstance(Stub(set()), EvidenceVerifier)
    retriever = corpus.retriever("tantivy")
    assert EvidenceIndex(retriever, criterion=criterion).evidence_for(SOURCE, ARCTIC) == ["ev"]
    no = Stub(set())
    assert EvidenceIndex(retriever, criterion=criterion, verifier=no).evidence_for(SOURCE, ARCTIC) == []
    assert no.asked == ["ev"]  # only what the criterion accepted was asked
    assert EvidenceIndex(retriever, criterion=criterion, verifier=Stub({"ev"})).evidence_for(SOURCE, ARCTIC) == ["ev"]


def test_verified_evidence_has_a_cache_file_of_its_own(corpus: PreparedCorpus) -> None:
    retriever = corpus.retriever("tantivy")
    plain = EvidenceIndex.for_corpus(corpus, retriever, "tantivy")
    stub = EvidenceIndex.for_corpus(corpus, retriever, "tantivy", verifier=Stub(set()))
    llm = EvidenceIndex.for_corpus(corpus, retriever, "tantivy", verifier="llm:http://127.0.0.1:1/v1|m")
    names = {i.cache.path.name for i in (plain, stub, llm)}  # type: ignore[union-attr]
    assert len(names) == 3 and verifier_tag(stub.verifier) in stub.cache.path.name  # type: ignore[union-attr,arg-type]
    assert plain.evidence_for(SOURCE, ARCTIC) == ["ev"] and stub.evidence_for(SOURCE, ARCTIC) == []
    assert llm.verifier.cache_path == corpus.directory / "llm-verdicts.sqlite"  # type: ignore[union-attr]


def test_audit_reports_the_verifier(corpus: PreparedCorpus) -> None:
    span = (ARCTIC.start, ARCTIC.end)
    rejected = verify_evidence(corpus, "src", span, "ev", verifier=Stub(set()))
    assert not rejected.supported and rejected.path == "verifier-rejected"
    assert rejected.llm == {"accepted": False} and rejected.details["criterion_path"] in {"context", "subject-named"}
    accepted = verify_evidence(corpus, "src", span, "ev", verifier=Stub({"ev", "noise"}))
    assert accepted.supported and accepted.llm == {"accepted": True}
    noise = verify_evidence(corpus, "src", span, "noise", verifier=Stub({"noise"}))  # asked, but the criterion says no
    assert not noise.supported and noise.llm == {"accepted": True}
    assert verify_evidence(corpus, "src", span, "src", verifier=Stub(set())).llm is None  # the source: not asked
    stub = Stub(set())
    ranked = {v.evidence_id: v for v in ranked_evidence(corpus, "src", span, verifier=stub)}
    assert stub.asked == ["ev"] and ranked["ev"].path == "verifier-rejected"
    assert all(v.llm is None for k, v in ranked.items() if k != "ev")
    with pytest.raises(InvalidOptionError, match="no 'llm:' prefix"):
        verify_evidence(corpus, "src", span, "ev", verifier="http://x|m")


def test_cli_names_a_malformed_verifier(corpus: PreparedCorpus, tmp_path: Path, capsys) -> None:
    args = ["evidence", "src", f"{ARCTIC.start}:{ARCTIC.end}", "--corpus", str(tmp_path / "barents.jsonl"),
            "--cache-dir", str(tmp_path / "cache"), "--verifier", "llm:http://127.0.0.1:1/v1"]
    assert main(args) == 2
    assert "names no model" in capsys.readouterr().err


# -- a real server: llama.cpp on SmolLM2-135M-Instruct ----------------------------------------


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on the offline SmolLM2-135M-Instruct GGUF, 127.0.0.1, one thread."""
    require_llama_cpp()
    from ramp_env.models import smollm2_gguf_path

    try:
        gguf = smollm2_gguf_path()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        pytest.skip(str(exc))
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_cpp_server(gguf, log, "--n_ctx", "2048", "--n_threads", "1", "--model_alias", "smollm2") as url:
        yield f"llm:{url}|smollm2"


def test_a_real_verdict_round_trip_is_cached(llama_server: str, tmp_path: Path) -> None:
    verifier = LLMVerifier.from_spec(llama_server, cache_path=tmp_path / "v.sqlite", timeout=300)
    [verdict] = verifier.verdicts(SOURCE, ARCTIC, [EVIDENCE])
    assert isinstance(verdict.accepted, bool) and 0.0 <= verdict.p_yes <= 1.0 and verdict.model == "smollm2"
    assert verdict.accepted == (verdict.p_yes > verifier.threshold)
    assert verifier.requests == 1 and verifier.fallbacks == 0  # llama.cpp sends log-probabilities
    assert verifier.verdicts(SOURCE, ARCTIC, [EVIDENCE]) == [verdict] and verifier.requests == 1
    verifier.close()
    # another process (a fresh verifier) reads the SQLite file: no request to the server either
    again = LLMVerifier.from_spec(llama_server, cache_path=tmp_path / "v.sqlite")
    assert again.verdicts(SOURCE, ARCTIC, [EVIDENCE]) == [verdict] and again.requests == 0 and again.hits == 1


def test_cli_shows_the_servers_verdict(llama_server: str, corpus: PreparedCorpus, tmp_path: Path, capsys) -> None:
    args = ["evidence", "src", f"{ARCTIC.start}:{ARCTIC.end}", "--corpus", str(tmp_path / "barents.jsonl"),
            "--cache-dir", str(tmp_path / "cache"), "--verifier", llama_server]
    assert main([*args, "--json"]) == 0
    lines = {line["evidence_id"]: line for line in map(json.loads, capsys.readouterr().out.splitlines())}
    llm = lines["ev"]["llm"]
    assert llm["model"] == "smollm2" and 0.0 <= llm["p_yes"] <= 1.0
    assert lines["ev"]["supported"] == llm["accepted"]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert f"llm: {'yes' if llm['accepted'] else 'no'} (P(yes)={llm['p_yes']:.2f})" in table


def test_a_verifier_pickles_for_vector_envs(mock_server: tuple[str, Reply], tmp_path: Path) -> None:
    import pickle

    url, reply = mock_server
    reply.body = chat_reply("yes")
    verifier = LLMVerifier(url, "m", cache_path=tmp_path / "v.sqlite")
    assert verifier.accept_many(SOURCE, ARCTIC, [EVIDENCE]) == [True]
    copy = pickle.loads(pickle.dumps(verifier))
    assert copy.accept_many(SOURCE, ARCTIC, [EVIDENCE]) == [True] and len(reply.requests) == 1


# -- the env option -------------------------------------------------------------------------------


def test_the_env_option_is_checked_before_the_corpus_is_opened() -> None:
    from ramp_env.envs.config import RAMPConfig

    with pytest.raises(InvalidOptionError, match="no 'llm:' prefix"):
        RAMPConfig(evidence_verifier="http://127.0.0.1:1/v1|m")
    assert RAMPConfig(evidence_verifier="llm:http://127.0.0.1:1/v1|m").evidence_verifier.endswith("|m")


def test_the_env_asks_the_served_model_about_its_evidence(mock_server: tuple[str, Reply], make_env) -> None:
    url, reply = mock_server
    reply.body = chat_reply("Yes")
    env = make_env(evidence_verifier=f"llm:{url}|m", span_extractor="rules")
    try:
        env.reset(seed=0)
        assert reply.requests, "no evidence was sent to the verifier"
        assert env.task.evidence_ids and all(env.task.evidence_ids)
        asked = reply.requests[0]["body"]
        assert asked["model"] == "m" and env.task.title in json.dumps(asked)
    finally:
        env.close()


def test_an_unwritable_verdict_cache_keeps_verdicts_in_memory(
    mock_server: tuple[str, Reply], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A shared read-only cache (SQLite cannot write the file) costs the disk cache, never the run."""
    import sqlite3

    import ramp_env.cache

    def read_only(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(ramp_env.cache, "connect_shared_sqlite", read_only)
    url, reply = mock_server
    reply.body = chat_reply("Yes")
    verifier = LLMVerifier(url, "m", cache_path=tmp_path / "v.sqlite")
    [first] = verifier.verdicts(SOURCE, ARCTIC, [EVIDENCE])
    assert first.accepted and "kept in memory" in caplog.text
    assert verifier.verdicts(SOURCE, ARCTIC, [EVIDENCE]) == [first] and len(reply.requests) == 1
    verifier.close()
