"""Self-evolving distillation end to end on a tiny budget, and the `ramp-env distill` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.synthesis import MultiAgentTeacher
from ramp_env.cli import build_parser
from ramp_env.trajectories import read_trajectories


@pytest.mark.slow
def test_two_rounds_run_and_resume(make_env, oracle_backend, tmp_path: Path) -> None:
    from agents.training.distill import DistillConfig, distill, diversity_table
    from agents.training.sft import SFTTrainConfig

    def small_env():
        return make_env(top_k=1, max_hit_chars=300, max_searches=2)

    env = small_env()
    config = DistillConfig(
        out_dir=str(tmp_path / "run"), rounds=2, tasks_per_round=2, num_masks=(1,), seed=0, concurrency=1,
        temperature=0.7, max_new_tokens=16, max_context_tokens=1024,
        sft=SFTTrainConfig(max_steps=1, batch_size=1, max_length=512, learning_rate=1e-5),
    )
    logged: list[str] = []
    reports = distill(config, teacher=MultiAgentTeacher(oracle_backend(env)), make_env=lambda: env, log=logged.append)

    first, second = reports
    assert first.teacher == "multi-agent:scripted-oracle"
    assert (first.tasks, first.kept, first.trained) == (2, 2, True)
    assert first.train["steps"] == 1 and first.train["examples"] == 2
    assert first.diversity.trajectories == 2 and first.diversity.query_overlap_prev is None
    # round 2: the round-1 student plays as the teacher; its work is judged the same way
    assert second.teacher == "student-round1" and second.tasks == 2
    assert second.diversity.query_overlap_prev is not None
    assert second.trained  # accumulate: round 1's kept trajectories are still there to train on
    assert any("distinct-1" in line for line in logged)

    run = tmp_path / "run"
    kept = read_trajectories(run / "round_1" / "kept.jsonl")
    assert len(kept) == 2 and all(t.metadata["round"] == 1 and t.metadata["judge"]["keep"] for t in kept)
    assert len(read_trajectories(run / "round_2" / "trajectories.jsonl")) == 2
    assert (run / "round_1" / "student" / "model.safetensors").is_file()
    summary = json.loads((run / "summary.json").read_text())
    assert [r["round"] for r in summary] == [1, 2]
    assert "| 2 | student-round1 | all |" in diversity_table(reports)
    assert first.diversity_all.trajectories == 2

    # a finished run resumes without redoing anything; other settings are refused
    logged.clear()
    again = distill(config, make_env=lambda: env, log=logged.append)
    assert [r.to_json() for r in again] == [r.to_json() for r in reports]
    assert all(line.startswith("(resumed)") for line in logged)
    changed = DistillConfig(**{**config.__dict__, "judge": "f1"})
    with pytest.raises(ValueError, match="judge"):
        distill(changed, make_env=lambda: env)


def test_distill_is_a_ramp_env_subcommand_from_the_agents_entry_point() -> None:
    args = build_parser().parse_args(["distill", "--out", "x", "--rounds", "3", "--teacher", "agent:bm25"])
    assert (args.rounds, args.teacher, args.tasks_per_round) == (3, "agent:bm25", 32)
    assert args._run.__module__ == "agents.training.distill_cli"


def test_config_is_validated(tmp_path: Path) -> None:
    from agents.training.distill import DistillConfig

    with pytest.raises(ValueError, match="student_init"):
        DistillConfig(out_dir=str(tmp_path), student_init="random")
    with pytest.raises(ValueError, match="rounds"):
        DistillConfig(out_dir=str(tmp_path), rounds=0)


def test_llm_judge_spec_reaches_a_served_model(make_env, oracle_backend) -> None:
    """``judge="llm:URL|MODEL"`` (and ``--judge`` of ``ramp-env distill``) asks a served model for verdicts."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from agents.synthesis.judge import LLMAnswerJudge
    from agents.training.distill import make_judge

    asked: list[str] = []

    class Judge(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            user = body["messages"][-1]["content"]
            asked.append(user)
            gold, predicted = (line.split(": ", 1)[1] for line in user.splitlines()[:2])
            verdict = "CORRECT, the same span." if gold == predicted else "It is not correct."
            data = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": verdict}}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Judge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = make_env()
        trajectories = MultiAgentTeacher(oracle_backend(env)).generate(env, 2, seed=3, num_masks=[1])
        judge = make_judge(f"llm:http://127.0.0.1:{server.server_port}/v1|judge-model")
        assert isinstance(judge, LLMAnswerJudge) and "judge-model" in judge.name
        kept, rejected = judge.split(trajectories)
        assert len(kept) == 2 and not rejected and len(asked) == 2
        wrong = trajectories[0]
        wrong.actions[-1] = "<answer>[mask_1] Somebody Else Entirely</answer>"
        assert judge.split([wrong]) == ([], [wrong])
        assert "not correct" in wrong.metadata["judge"]["reason"]
    finally:
        server.shutdown()
    assert type(make_judge("f1", 0.5)).__name__ == "AnswerJudge"
