"""A prepared cache is shareable: readable by other users, usable on a read-only file system,
and never written to by readers.

The read-only test prepares a cache as the test user, removes every write bit,
then opens, searches and samples from it in a child process that has dropped to
the unprivileged ``nobody`` user (CI runs tests as root, who could write anyway).
The child imports everything first and drops privileges after, because the
interpreter itself may live where ``nobody`` cannot read (``/root/.pyenv``).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ramp_env.corpus.prepared import PreparedCorpus

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534

CHILD = """
import json, os, sys
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.envs.ramp import RAMPEnv

def workload(cache, corpus_file):
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    hits = corpus.retriever("tantivy").search("river castle", 3)
    env = RAMPEnv(corpus=corpus_file, cache_dir=cache, span_extractor="rules", progress=False, num_masks=1)
    obs, info = env.reset(seed=3)
    obs, reward, *_ = env.step("<search>river</search>")
    return {"uid": os.getuid(), "pid": os.getpid(), "passages": len(corpus.store),
            "hits": [h.passage_id for h in hits], "task": info["task_id"], "results": len(obs["results"])}

cache, corpus_file, uid, warm_cache = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if uid >= 0:
    # the same work once, as the owner, on a writable copy: every module it imports lazily is then
    # loaded (the interpreter's own files may be unreadable for nobody), and nothing else is shared
    workload(warm_cache, corpus_file)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
print(json.dumps(workload(cache, corpus_file)))
"""
# files a reader may create on purpose: the evidence cache and task-pool spans are filled lazily and fall back to
# memory when the cache is read-only (ramp_env.masking.evidence)
WRITE_THROUGH = ("evidence-", "lazy-spans-")


@pytest.fixture(scope="module")
def shared_dir() -> Iterator[Path]:
    """A directory every user can traverse (pytest's tmp_path is 0700, so ``nobody`` could not)."""
    path = Path(tempfile.mkdtemp(prefix="ramp-shared-"))
    path.chmod(0o755)
    yield path
    for root, dirs, _ in os.walk(path):  # give the write bits back so the directory can be removed
        os.chmod(root, 0o755)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def prepared(shared_dir: Path) -> tuple[Path, Path, PreparedCorpus]:
    """The wiki sample prepared (store, rule spans, tantivy index) in a shared cache."""
    from tests.conftest import WIKI_SAMPLE

    corpus_file = shared_dir / "wiki.jsonl"
    shutil.copyfile(WIKI_SAMPLE, corpus_file)
    corpus_file.chmod(0o644)
    cache = shared_dir / "cache"
    corpus = PreparedCorpus.open(corpus_file, cache_dir=cache, progress=False)
    corpus.span_table("rules")
    corpus.retriever("tantivy")
    return corpus_file, cache, corpus


def run_child(cache: Path, corpus_file: Path, uid: int, warm_cache: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), "HOME": "/tmp"}
    argv = [str(cache), str(corpus_file), str(uid), str(warm_cache or cache)]
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], check=False, cwd="/",
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tree(path: Path) -> dict[str, tuple[int, int, int]]:
    """Every file's mode, size and mtime (directories' mode only; write-through caches left out)."""
    return {str(p.relative_to(path)): (p.stat().st_mode, 0, 0) if p.is_dir() else
            (p.stat().st_mode, p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(path.rglob("*")) if not p.name.startswith(WRITE_THROUGH)}


def test_every_prepared_file_is_readable_by_group_and_others(prepared) -> None:
    _, cache, corpus = prepared
    unreadable = [str(p.relative_to(cache)) for p in cache.rglob("*")
                  if not p.stat().st_mode & stat.S_IRGRP or not p.stat().st_mode & stat.S_IROTH
                  or (p.is_dir() and not p.stat().st_mode & stat.S_IXOTH)]
    assert unreadable == []  # tantivy writes meta.json/.managed.json as 0600: fixed when published
    assert not list(corpus.index_dir().glob("*.lock"))  # the published index holds data only


def test_readers_never_write_to_the_cache(prepared) -> None:
    corpus_file, cache, _ = prepared
    before = tree(cache)
    child = run_child(cache, corpus_file, uid=-1)  # a fresh process: opens, searches, samples, steps
    assert tree(cache) == before
    # the child's private directory of index links went with it
    assert not list(Path(tempfile.gettempdir()).glob(f"ramp-env-tantivy-*-{child['pid']}-*"))


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root (CI runs tests as root)")
def test_a_read_only_cache_serves_an_unprivileged_user(prepared, shared_dir: Path) -> None:
    corpus_file, prepared_cache, _ = prepared
    # two copies without the lazily filled evidence cache: one for the warm-up, one to freeze
    warm_cache, cache = shared_dir / "warm-cache", shared_dir / "frozen-cache"
    for copy in (warm_cache, cache):
        shutil.copytree(prepared_cache, copy, ignore=shutil.ignore_patterns("evidence-*"))
    expected = run_child(cache, corpus_file, uid=-1)  # the owner, before the cache is frozen
    for root, dirs, files in os.walk(cache):
        for name in files:
            os.chmod(os.path.join(root, name), 0o444)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o555)
    os.chmod(cache, 0o555)
    before = tree(cache)
    seen = run_child(cache, corpus_file, uid=NOBODY, warm_cache=warm_cache)
    assert seen["uid"] == NOBODY
    same = ("passages", "hits", "task", "results")
    assert [seen[k] for k in same] == [expected[k] for k in same]
    assert seen["passages"] == 969 and seen["hits"] and seen["results"] > 0
    assert tree(cache) == before  # nothing was written, not even a lock file
