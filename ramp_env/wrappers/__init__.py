"""Wrappers of the RAMP env, and the candidate mining they share with the heuristic agent."""
