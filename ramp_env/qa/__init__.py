"""Multi-hop QA data: the :class:`QAExample` record, dataset loaders, evidence coverage and answer scoring."""

from ramp_env.qa.coverage import CoverageReport, corpus_titles, evidence_coverage, filter_by_evidence
from ramp_env.qa.example import QAExample
from ramp_env.qa.loaders import DEFAULT_DATASET, QA_FORMATS, QAFormatError, detect_qa_format, load_qa
from ramp_env.qa.scoring import answer_metrics

__all__ = [
    "DEFAULT_DATASET",
    "QA_FORMATS",
    "CoverageReport",
    "QAExample",
    "QAFormatError",
    "answer_metrics",
    "corpus_titles",
    "detect_qa_format",
    "evidence_coverage",
    "filter_by_evidence",
    "load_qa",
]
