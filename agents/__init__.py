"""Agents for ramp-env: baselines, a stable-baselines3 learner and LLM policies."""

from agents.base import Agent
from agents.bm25_heuristic import BM25HeuristicAgent
from agents.closed_book import ClosedBookAgent
from agents.evidence_oracle import EvidenceOracleAgent
from agents.oracle import OracleAgent
from agents.random_agent import RandomAgent

__all__ = [
    "Agent",
    "BM25HeuristicAgent",
    "ClosedBookAgent",
    "EvidenceOracleAgent",
    "LLMAgent",
    "OracleAgent",
    "RandomAgent",
]


def __getattr__(name: str) -> object:
    # lazy: LLMAgent pulls in torch/transformers, which `import agents` should not
    if name == "LLMAgent":
        from agents.llm import LLMAgent

        return LLMAgent
    raise AttributeError(name)
