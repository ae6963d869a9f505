"""Search over a prepared corpus: the :class:`Retriever` protocol and its BM25 backends."""

from ramp_env.retrieval.base import BACKENDS, Hit, Retriever, analyze
from ramp_env.retrieval.rank_bm25_backend import RankBM25Retriever
from ramp_env.retrieval.tantivy_backend import TantivyRetriever

__all__ = ["BACKENDS", "Hit", "RankBM25Retriever", "Retriever", "TantivyRetriever", "analyze"]
