"""Faults while building and using prepared corpora, in real processes:

* a build killed (SIGKILL) mid-way leaves nothing a later run trusts, and the next
  build recovers, removing the dead builder's temporary files;
* several processes building the same corpus at once all end with the same, complete artefacts;
* readers keep getting the same answers while another process builds next to them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ramp_env.corpus.prepared import PreparedCorpus
from tests.robustness._processes import kill, wait_for, worker
from tests.robustness._workers import QUERIES, CapitalisedSpans, search_all, write_corpus

N_PASSAGES = 4000


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpora") / "faults.jsonl"
    write_corpus(path, N_PASSAGES)
    return path


def corpus_dir(cache: Path) -> Path:
    dirs = list((cache / "corpora").glob("*")) if (cache / "corpora").is_dir() else []
    return dirs[0] if dirs else cache / "corpora" / "missing"


def temporaries(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if ".tmp-" in p.name]


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["store", "spans", "index"])
def test_a_build_killed_mid_way_leaves_nothing_trusted_and_the_next_build_recovers(
    corpus_file: Path, tmp_path: Path, stage: str
) -> None:
    cache = tmp_path / "cache"
    if stage != "store":  # the earlier stages are complete; the kill hits this one
        PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    artefact = {"store": "passages.sqlite", "spans": "spans-test-capitalised-v1.sqlite", "index": "index-tantivy-v1"}
    proc = worker("build", "--corpus", str(corpus_file), "--cache", str(cache), "--stage", stage, "--slow", "0.002")
    # kill once the temporary artefact exists and has content: a build really in progress
    def in_progress() -> bool:
        return any(p.name.startswith(f".{artefact[stage]}.tmp-") and (p.is_dir() or p.stat().st_size > 0)
                   for p in temporaries(cache))

    wait_for(in_progress, 120, f"the {stage} build to start", proc)
    time.sleep(0.3)
    assert proc.poll() is None, "the build finished before it could be killed"
    kill(proc)

    directory = corpus_dir(cache)
    assert not (directory / artefact[stage]).exists()  # no half-written artefact under the real name
    if stage == "store":
        assert not (directory / "manifest.json").exists()  # the manifest marks a complete store
    assert temporaries(cache), "the killed builder's temporary files should still be there"

    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)  # the next run
    spans = corpus.span_table(CapitalisedSpans())
    results = search_all(corpus)
    assert len(corpus.store) == corpus.manifest["passages"] == N_PASSAGES
    assert spans.rows_with_at_least(1).size == N_PASSAGES
    assert all(len(hits) == 5 for hits in results.values())
    assert corpus.store.get(N_PASSAGES).id == f"doc{N_PASSAGES - 1}"
    assert not temporaries(cache)  # the dead builder's leftovers were removed


@pytest.mark.slow
def test_processes_racing_to_build_the_same_corpus_agree(corpus_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reports = [tmp_path / f"report{i}.json" for i in range(3)]
    procs = [worker("build", "--corpus", str(corpus_file), "--cache", str(cache), "--report", str(r)) for r in reports]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-2000:]
    outcomes = [json.loads(r.read_text()) for r in reports]
    assert all(o == outcomes[0] for o in outcomes) and outcomes[0]["passages"] == N_PASSAGES
    names = sorted(p.name for p in corpus_dir(cache).iterdir())
    assert names == ["index-tantivy-v1", "integrity", "manifest.json", "passages.sqlite",
                     "spans-test-capitalised-v1.sqlite"]
    assert not temporaries(cache)  # the losers discarded their copies
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    corpus.verify()  # every checksum record matches the file that won the race
    assert search_all(corpus) == outcomes[0]["results"]


@pytest.mark.slow
def test_readers_see_the_same_corpus_while_another_process_builds(corpus_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    corpus.span_table(CapitalisedSpans())
    expected = search_all(corpus)
    # the builder prepares a second corpus in the same cache, slowly, while the readers work
    other = tmp_path / "other.jsonl"
    write_corpus(other, 2000)
    builder = worker("build", "--corpus", str(other), "--cache", str(cache), "--slow", "0.003")
    wait_for(lambda: bool(temporaries(cache)), 120, "the builder to start", builder)
    reports = [tmp_path / f"reader{i}.json" for i in range(3)]
    readers = [worker("read", "--corpus", str(corpus_file), "--cache", str(cache), "--rounds", "15",
                      "--report", str(r)) for r in reports]
    for reader in readers:
        _, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err[-2000:]
    overlapped = builder.poll() is None  # still building when every reader was done
    _, err = builder.communicate(timeout=300)
    assert builder.returncode == 0, err[-2000:]
    assert overlapped, "the builder finished before the readers: no concurrency was tested"

    outcomes = [json.loads(r.read_text())["rounds"] for r in reports]
    assert all(o == outcomes[0] for o in outcomes)  # every reader saw the same tasks and results
    assert all(r["search"] == expected for r in outcomes[0])
    assert len({r["task"] for r in outcomes[0]}) > 1 and all(r["results"] for r in outcomes[0])
    other_corpus = PreparedCorpus.open(other, cache_dir=cache, progress=False)
    assert len(other_corpus.store) == 2000 and len(search_all(other_corpus)) == len(QUERIES)
