"""The audit surface: verify_evidence and `ramp-env evidence`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ramp_env.cli import main
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.masking.verify import ranked_evidence, verify_evidence

FACT = "The Barents Sea is a marginal sea of the Arctic Ocean, off the northern coasts of Norway and Russia."
ROWS = [
    {"id": "src", "title": "Barents Sea", "text": FACT + " It is named after Willem Barentsz."},
    {"id": "copy", "title": "Mirror", "text": FACT + " It is named after Willem Barentsz."},
    {"id": "ev", "title": "Arctic Ocean",
     "text": "Among the marginal seas of the Arctic Ocean is the Barents Sea, which lies north of Norway and Russia, "
             "where fishing fleets work the ice edge in summer."},
    {"id": "noise", "title": "Ocean liners", "text": "Ships crossing the Arctic Ocean need ice-strengthened hulls."},
    *({"id": f"f{i}", "title": f"Filler {i}", "text": f"Filler passage {i} about rivers and lakes."} for i in range(12)),
]


@pytest.fixture()
def corpus(tmp_path: Path) -> PreparedCorpus:
    path = tmp_path / "barents.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return PreparedCorpus.open(str(path), cache_dir=tmp_path / "cache", progress=False)


def arctic(corpus: PreparedCorpus) -> tuple[int, int]:
    start = ROWS[0]["text"].index("Arctic Ocean")
    return start, start + len("Arctic Ocean")


@pytest.mark.parametrize("criterion", ["context", "fact"])
def test_verdicts_apply_every_rule(corpus: PreparedCorpus, criterion: str) -> None:
    span = arctic(corpus)
    good = verify_evidence(corpus, "src", span, "ev", criterion=criterion)
    assert good.supported and good.answer == "Arctic Ocean" and good.path in {"context", "subject-named"}
    assert verify_evidence(corpus, "src", span, "src", criterion=criterion).path == "source"
    copy = verify_evidence(corpus, "src", span, "copy", criterion=criterion)
    assert not copy.supported and copy.path == "near-copy"
    noise = verify_evidence(corpus, "src", span, "noise", criterion=criterion)
    assert not noise.supported


def test_bad_arguments_are_named(corpus: PreparedCorpus) -> None:
    with pytest.raises(ValueError, match="'nope' is not in the corpus"):
        verify_evidence(corpus, "nope", (0, 3), "ev")
    with pytest.raises(ValueError, match="outside passage"):
        verify_evidence(corpus, "src", (5, 10_000), "ev")
    with pytest.raises(ValueError, match="outside passage"):
        verify_evidence(corpus, "src", (-4, 2), "ev")
    with pytest.raises(ValueError, match="evidence criterion"):
        verify_evidence(corpus, "src", arctic(corpus), "ev", criterion="loose")


def test_ranked_evidence_marks_source_and_copies(corpus: PreparedCorpus) -> None:
    verdicts = ranked_evidence(corpus, "src", arctic(corpus), criterion="fact")
    by_id = {v.evidence_id: v for v in verdicts}
    assert by_id["ev"].supported
    assert not by_id["src"].supported and not by_id["copy"].supported


def test_cli_prints_reasons_and_json(corpus: PreparedCorpus, tmp_path: Path, capsys) -> None:
    start, end = arctic(corpus)
    args = ["evidence", "src", f"{start}:{end}", "--corpus", str(tmp_path / "barents.jsonl"),
            "--cache-dir", str(tmp_path / "cache"), "--criterion", "fact"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "EVIDENCE" in out and "ev" in out and "near-copy" in out
    assert main([*args, "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {line["evidence_id"] for line in lines if line["supported"]} == {"ev"}



def test_cli_rejects_a_malformed_span(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evidence", "src", "12-15"])
    assert exit_info.value.code == 2
    assert "START:END" in capsys.readouterr().err


def test_cli_rejects_a_bad_criterion_before_loading_the_corpus(tmp_path: Path, capsys) -> None:
    # the corpus path does not exist: the criterion's error must come first, before any loading
    assert main(["evidence", "src", "1:5", "--corpus", str(tmp_path / "missing.jsonl"), "--criterion", "fact:2"]) != 0
    err = capsys.readouterr().err
    assert "--criterion" in err and "fact:2" in err and "missing.jsonl" not in err


def test_the_audit_surface_is_importable_from_ramp_env_masking() -> None:
    # the path issue 21 names: ramp_env.masking.verify_evidence, loaded on first use
    import subprocess
    import sys

    from ramp_env import masking
    from ramp_env.masking import verify as verify_module

    assert masking.verify_evidence is verify_module.verify_evidence
    assert masking.ranked_evidence is verify_module.ranked_evidence
    assert masking.EvidenceVerdict is verify_module.EvidenceVerdict
    with pytest.raises(AttributeError, match="no attribute 'verify_evidences'"):
        masking.verify_evidences  # noqa: B018
    code = "import sys, ramp_env.masking; print('ramp_env.masking.verify' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "False"
