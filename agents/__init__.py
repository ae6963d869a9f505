"""Agents for ramp-env: baselines, a stable-baselines3 learner and LLM policies."""

from agents.base import Agent

__all__ = ["Agent"]
