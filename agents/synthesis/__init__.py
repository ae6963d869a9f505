"""Trajectory synthesis: MaskSearch's multi-agent pipeline, teachers, the judge and diversity metrics.

```python
from agents.synthesis import AnswerJudge, MultiAgentTeacher, TransformersBackend

teacher = MultiAgentTeacher(TransformersBackend())          # offline SmolLM2; or OpenAIBackend(url, model)
trajectories = teacher.generate(envs, num_tasks=32, seed=0, num_masks=[1, 2])
kept, rejected = AnswerJudge("em").split(trajectories)
```
"""

from agents.synthesis.backends import LLMBackend, OpenAIBackend, ScriptedBackend, TransformersBackend, make_backend
from agents.synthesis.diversity import DiversityReport, trajectory_diversity
from agents.synthesis.judge import AnswerJudge, LLMAnswerJudge, Verdict, final_predictions
from agents.synthesis.pipeline import MultiAgentTeacher, task_plan
from agents.synthesis.roles import Observer, Planner, Rewriter
from agents.synthesis.teachers import AgentTeacher, Teacher

__all__ = [
    "AgentTeacher",
    "AnswerJudge",
    "LLMAnswerJudge",
    "DiversityReport",
    "LLMBackend",
    "MultiAgentTeacher",
    "Observer",
    "OpenAIBackend",
    "Planner",
    "Rewriter",
    "ScriptedBackend",
    "Teacher",
    "TransformersBackend",
    "Verdict",
    "final_predictions",
    "make_backend",
    "task_plan",
    "trajectory_diversity",
]
