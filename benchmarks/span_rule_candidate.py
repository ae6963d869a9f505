"""Measure a candidate span rule on labelled spans before writing it: what would it drop, and were
those spans good or bad by the readers?

The candidate measured here (and left out of span rules version 7): drop a span that one to three
lower-case words after it turn into a multi-word title of the corpus ("English" of "English
daisy", "Indian" of "Indian subcontinent"). A rule is worth writing only if it drops clearly more
spans readers called bad (wrong type or no fact slot, as ``span_quality.py`` scores them) than
good ones. Run it on development sets only: a report set must stay unseen until it is scored.

    python benchmarks/span_rule_candidate.py --labels tests/text/fixtures/span_labels{,_v2,_v3,_v4,_v5,_v6,_v7,_v8}.jsonl \
        --out benchmarks/results/span_rule_candidate_lowercase_titles.json
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from _common import check_output, machine  # this folder's shared helpers (on sys.path)
from span_quality import load_labels, type_matches

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.prepared import PreparedCorpus

_WORD = re.compile(r"[\w'-]+")
MAX_WORDS = 3  # "Chinese giant salamander": two words; longer terms are rare titles


def lowercase_title_after(text: str, start: int, end: int, is_title) -> str | None:
    """The longest "span + 1-3 lower-case words" that is a title (``is_title``), or None."""
    words = _WORD.findall(text[end : end + 60])[:MAX_WORDS]
    found = None
    for k in range(1, len(words) + 1):
        if not all(w.islower() for w in words[:k]):
            break
        candidate = f"{text[start:end]} {' '.join(words[:k])}"
        if is_title(candidate):
            found = candidate
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labels", type=Path, nargs="+", required=True, help="development label files")
    parser.add_argument("--corpus", default="default")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    check_output(args.out)
    corpus = PreparedCorpus.open(args.corpus, progress=False)
    gazetteer = corpus.gazetteer()
    hits: list[dict[str, Any]] = []
    for path in args.labels:
        for row in load_labels(path):
            text = corpus.store.get(corpus.store.rowid_of(row["passage_id"])).text
            title = lowercase_title_after(text, row["start"], row["end"], gazetteer.is_longer_name)
            if title is not None:
                bad = not type_matches(row["current_type"], row) or not row["salient"]
                hits.append({"set": path.name, "id": row.get("id"), "span": row["text"], "title": title,
                             "current_type": row["current_type"], "label_type": row["label_type"], "bad": bad})
    record = {
        "what": "spans a candidate rule (a span plus 1-3 lower-case words is a corpus title) would drop, "
                "by the readers' verdict",
        "command": "python benchmarks/span_rule_candidate.py --labels " + " ".join(str(p) for p in args.labels),
        "corpus": args.corpus, "gazetteer": gazetteer.fingerprint,
        "would_drop": len(hits), "readers_good": sum(not h["bad"] for h in hits), "readers_bad": sum(h["bad"] for h in hits),
        "spans": hits, "machine": machine(),
    }
    atomic_write_json(args.out, record)
    print(f"would drop {record['would_drop']}: {record['readers_bad']} bad, {record['readers_good']} good "
          f"-> {args.out}")


if __name__ == "__main__":
    main()
