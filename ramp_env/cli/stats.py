"""``ramp-env stats``: what a corpus offers RAMP: passages, near-duplicate clusters, spans, evidence, tasks.

For each analysed passage: its near copies (found through the search engine,
:mod:`ramp_env.masking.near_duplicates`), its salient spans per type, the
maskable ones (:func:`~ramp_env.masking.task.maskable_spans`, as the env shows
titles), the supported ones (another passage states them,
:mod:`ramp_env.masking.evidence`), and so for how many mask counts it can be a
task with and without ``require_evidence``, and, per mask count, the span-type mix of the masks
the env's mask strategy would pick in those passages (one seeded pick per passage) and how many
distinct passages 100 draws would see. Corpora larger than ``--sample``
passages are analysed on a seeded random sample, and the output says so (counts
are of the sample; ``estimated_passages`` scales them to the corpus). Spans and
evidence are read from, and added to, the same on-disk caches the env uses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm  # plain text bar: tqdm.auto warns "IProgress not found" in notebooks without ipywidgets

from ramp_env.cli.common import add_corpus_args
from ramp_env.corpus.prepared import PreparedCorpus
from ramp_env.errors import InvalidOptionError
from ramp_env.evaluation.legend import STATS_COLUMNS, format_legend, span_type_legend
from ramp_env.masking.near_duplicates import NearDuplicateFinder
from ramp_env.masking.pool_monitor import MIN_DISTINCT_PASSAGES, expected_distinct
from ramp_env.masking.strategies import DEFAULT_MASK_STRATEGY, make_mask_strategy
from ramp_env.masking.task import maskable_spans

MAX_PASSAGE_CHARS = 4000  # the env's default: longer passages are never drawn


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = sub.add_parser("stats", help="passages, duplicate clusters, spans, supported spans and tasks of a corpus")
    add_corpus_args(parser)
    parser.add_argument(
        "--sample", type=int, default=1000,
        help="analyse a seeded random sample of this many passages when the corpus is larger (0: every passage)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--max-masks", type=int, default=4, help="count eligible passages for 1..N masks")
    parser.add_argument("--no-evidence", action="store_true", help="skip supported spans (no evidence searches)")
    parser.add_argument(
        "--mask-strategy", default=DEFAULT_MASK_STRATEGY,
        help="the mask strategy whose span-type mix per mask count is reported (the env's default)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


class _Clusters:
    """Union-find over passage ids: near copies form one cluster."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def sizes(self) -> list[int]:
        return sorted(Counter(self.find(x) for x in self.parent).values(), reverse=True)


@dataclass
class _Tally:
    """The counts ``corpus_stats`` gathers passage by passage."""

    max_masks: int
    clusters: _Clusters = field(default_factory=_Clusters)
    with_copies: int = 0
    spans_per_type: Counter[str] = field(default_factory=Counter)
    maskable_per_type: Counter[str] = field(default_factory=Counter)
    supported_per_type: Counter[str] = field(default_factory=Counter)
    eligible_any: Counter[int] = field(default_factory=Counter)
    eligible_supported: Counter[int] = field(default_factory=Counter)
    # span types of the masks the strategy picks in each eligible passage, per mask count
    mask_types: dict[int, Counter[str]] = field(default_factory=dict)
    too_long: int = 0

    def __post_init__(self) -> None:
        self.mask_types = {k: Counter() for k in range(1, self.max_masks + 1)}

    def add_copies(self, passage_id: str, copies: Iterable[str]) -> None:
        copies = list(copies)
        if copies:
            self.with_copies += 1
            for other in copies:
                self.clusters.union(passage_id, other)

    def add_spans(self, spans: Iterable[Any], candidates: Iterable[Any], supported: Iterable[Any]) -> None:
        self.spans_per_type.update(s.label.value for s in spans)
        self.maskable_per_type.update(s.label.value for s in candidates)
        self.supported_per_type.update(s.label.value for s in supported)

    def add_tasks(self, passage: Any, candidates: list[Any], supported: list[Any], pool: list[Any],
                  strategy: Any, rng: np.random.Generator) -> None:
        """For each mask count: whether the passage can be a task, and the strategy's pick."""
        for k in range(1, self.max_masks + 1):
            self.eligible_any[k] += len(candidates) >= k
            self.eligible_supported[k] += len(supported) >= k
            picked = strategy.choose(passage, pool, k, rng) if len(pool) >= k else None
            self.mask_types[k].update(s.label.value for s in picked or ())

    def eligible(self, scale: float, evidence: bool) -> dict[str, dict[str, Any]]:
        """Per mask count: eligible passages (sampled and scaled to the corpus) and the mask-type mix."""
        eligible: dict[str, dict[str, Any]] = {}
        for k in range(1, self.max_masks + 1):
            entry: dict[str, Any] = {"passages": self.eligible_any[k],
                                     "estimated_passages": round(self.eligible_any[k] * scale)}
            if evidence:
                entry.update(
                    supported_passages=self.eligible_supported[k],
                    estimated_supported_passages=round(self.eligible_supported[k] * scale),
                )
            distinct = entry["estimated_supported_passages" if evidence else "estimated_passages"]
            masks = sum(self.mask_types[k].values())
            entry.update(
                distinct_passages=distinct,
                expected_distinct_in_100_draws=round(expected_distinct(distinct, 100), 1),
                repeats_passages=distinct < MIN_DISTINCT_PASSAGES,
                mask_type_mix={t: round(n / masks, 4) for t, n in self.mask_types[k].most_common()} if masks else {},
            )
            eligible[str(k)] = entry
        return eligible

    def span_types(self, evidence: bool) -> dict[str, dict[str, int]]:
        types = sorted(set(self.spans_per_type) | set(self.maskable_per_type))
        return {
            t: {
                "spans": self.spans_per_type[t],
                "maskable": self.maskable_per_type[t],
                **({"supported": self.supported_per_type[t]} if evidence else {}),
            }
            for t in types
        }


def _sample_rows(total: int, sample: int, seed: int) -> tuple[np.ndarray, bool]:
    """The store rows to analyse (1-based) and whether they are a sample."""
    sampled = 0 < sample < total
    if sampled:
        return np.sort(np.random.default_rng(seed).choice(total, size=sample, replace=False)) + 1, True
    return np.arange(1, total + 1), False


def corpus_stats(
    corpus: PreparedCorpus,
    span_extractor: str,
    backend: str,
    sample: int = 1000,
    seed: int = 0,
    max_masks: int = 4,
    evidence: bool = True,
    progress: bool = False,
    mask_strategy: str = DEFAULT_MASK_STRATEGY,
) -> dict[str, Any]:
    """The statistics ``ramp-env stats`` prints, as a JSON-able dict."""
    if sample < 0:
        raise InvalidOptionError(f"--sample must be >= 0, got {sample}")
    if max_masks < 1:
        raise InvalidOptionError(f"--max-masks must be >= 1, got {max_masks}")
    started = time.perf_counter()
    total = len(corpus.store)
    rows, sampled = _sample_rows(total, sample, seed)
    spans_table = corpus.lazy_span_table(span_extractor)
    retriever = corpus.retriever(backend)
    finder = NearDuplicateFinder(retriever)
    evidence_index = None
    if evidence:
        from ramp_env.masking.evidence import EvidenceIndex

        evidence_index = EvidenceIndex.for_corpus(
            corpus, retriever, backend, near_duplicates=lambda p: finder.ids(p.id, p.text)
        )
    tally = _Tally(max_masks)
    strategy = make_mask_strategy(mask_strategy)
    pick_rng = np.random.default_rng(seed)
    for row in tqdm(rows.tolist(), desc="stats", unit=" passages", disable=not progress, file=sys.stderr):
        passage = corpus.store.get(row)
        tally.add_copies(passage.id, finder.ids(passage.id, passage.text))
        spans = spans_table.get(row)
        candidates = maskable_spans(passage, spans, show_title=True)
        supported = evidence_index.supported_spans(passage, candidates) if evidence_index is not None else []
        tally.add_spans(spans, candidates, supported)
        if len(passage.text) > MAX_PASSAGE_CHARS:
            tally.too_long += 1
            continue
        tally.add_tasks(passage, candidates, supported, supported if evidence else candidates, strategy, pick_rng)
    n = int(rows.size)
    return _report(corpus, tally, n, sampled, seed, spans_table.extractor.cache_key, backend, evidence,
                   mask_strategy, started)


def _report(corpus: PreparedCorpus, tally: _Tally, n: int, sampled: bool, seed: int, extractor: str,
            backend: str, evidence: bool, mask_strategy: str, started: float) -> dict[str, Any]:
    total = len(corpus.store)
    sizes = tally.clusters.sizes()
    return {
        "corpus": corpus.manifest.get("source"),
        "directory": str(corpus.directory),
        "passages": total,
        "skipped_records": corpus.manifest.get("skipped", 0),
        "analysed_passages": n,
        "sampled": sampled,
        "sample_seed": seed if sampled else None,
        "span_extractor": extractor,
        "retriever": backend,
        "near_duplicates": {
            "analysed_passages_with_copies": tally.with_copies,
            "clusters": len(sizes),
            "passages_in_clusters": sum(sizes),
            "largest_clusters": sizes[:5],
        },
        "spans_per_type": tally.span_types(evidence),
        "passages_over_max_chars": tally.too_long,
        "eligible_passages_per_mask_count": tally.eligible(total / n if n else 0.0, evidence),
        "mask_strategy": mask_strategy,
        "evidence": evidence,
        "seconds": round(time.perf_counter() - started, 2),
    }


def format_tables(stats: dict[str, Any]) -> str:
    lines = [f"corpus: {stats['corpus']}", f"passages: {stats['passages']:,} ({stats['skipped_records']} records skipped)"]
    if stats["sampled"]:
        lines.append(
            f"SAMPLED: the figures below are of {stats['analysed_passages']:,} random passages "
            f"(seed {stats['sample_seed']}); 'estimated' columns scale them to the corpus; --sample 0 for all"
        )
    dup = stats["near_duplicates"]
    lines.append(
        f"near-duplicates: {dup['analysed_passages_with_copies']:,} analysed passages have near copies; "
        f"{dup['clusters']:,} clusters hold {dup['passages_in_clusters']:,} passages "
        f"(largest: {dup['largest_clusters']})"
    )
    lines.append("")
    evidence = stats["evidence"]
    header = ["span type", "spans", "maskable"] + (["supported", "supported %"] if evidence else [])
    rows = []
    for t, c in stats["spans_per_type"].items():
        row = [t, f"{c['spans']:,}", f"{c['maskable']:,}"]
        if evidence:
            row += [f"{c['supported']:,}", f"{100 * c['supported'] / c['maskable']:.0f}%" if c["maskable"] else "-"]
        rows.append(row)
    totals = [sum(c[key] for c in stats["spans_per_type"].values()) for key in ("spans", "maskable")]
    total_row = ["all", f"{totals[0]:,}", f"{totals[1]:,}"]
    if evidence:
        sup = sum(c["supported"] for c in stats["spans_per_type"].values())
        total_row += [f"{sup:,}", f"{100 * sup / totals[1]:.0f}%" if totals[1] else "-"]
    lines += _table(header, rows + [total_row])
    lines.append("")
    header = ["masks", "eligible", "estimated"] + (["eligible w/ evidence", "estimated"] if evidence else [])
    rows = []
    for k, e in stats["eligible_passages_per_mask_count"].items():
        row = [k, f"{e['passages']:,}", f"{e['estimated_passages']:,}"]
        if evidence:
            row += [f"{e['supported_passages']:,}", f"{e['estimated_supported_passages']:,}"]
        rows.append(row)
    lines += _table(header, rows)
    lines.append("")
    lines.append(
        f"per mask count (distinct eligible passages, {'with evidence, ' if evidence else ''}estimated for the corpus; "
        f"span types of the masks mask_strategy={stats['mask_strategy']!r} picks in them):"
    )
    header = ["masks", "distinct passages", "distinct in 100 draws", "mask type mix"]
    rows = []
    for k, e in stats["eligible_passages_per_mask_count"].items():
        shares = ", ".join(f"{t} {100 * v:.0f}%" for t, v in e["mask_type_mix"].items()) or "-"
        flag = " (repeats passages)" if e["repeats_passages"] else ""
        rows.append([k, f"{e['distinct_passages']:,}{flag}", f"{e['expected_distinct_in_100_draws']:.0f}", shares])
    lines += _table(header, rows)
    if stats["passages_over_max_chars"]:
        lines.append(f"({stats['passages_over_max_chars']} analysed passages exceed {MAX_PASSAGE_CHARS} chars: never drawn)")
    if not evidence:
        lines.append("(supported spans not computed: --no-evidence)")
    shown = ["span type", "spans", "maskable", "masks", "eligible", "estimated", "distinct passages",
             "distinct in 100 draws", "mask type mix"]
    shown += ["supported", "supported %", "eligible w/ evidence"] if evidence else []
    lines += ["", format_legend(STATS_COLUMNS, shown), "", span_type_legend(stats["spans_per_type"])]
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def fmt(row: list[str]) -> str:  # first column left-aligned, numbers right-aligned
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return [fmt(header), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def run(args: argparse.Namespace) -> int:
    corpus = PreparedCorpus.open(args.corpus, cache_dir=args.cache_dir, progress=not args.no_progress)
    stats = corpus_stats(
        corpus, args.span_extractor, args.retriever, sample=args.sample, seed=args.seed, max_masks=args.max_masks,
        evidence=not args.no_evidence, progress=not args.no_progress, mask_strategy=args.mask_strategy,
    )
    print(json.dumps(stats, indent=2) if args.json else format_tables(stats))
    return 0
