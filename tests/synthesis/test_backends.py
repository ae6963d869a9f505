"""LLM backends: an OpenAI-compatible server (a local stub), the offline model (slow), and specs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from agents.synthesis import MultiAgentTeacher, Planner, ScriptedBackend, make_backend
from agents.synthesis.backends import OpenAIBackend, TransformersBackend


@pytest.fixture()
def chat_server() -> Iterator[tuple[str, list[dict]]]:
    """A local OpenAI-compatible /chat/completions stub; yields its URL and the request bodies it saw."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
            last = body["messages"][-1]["content"]
            reply = {
                "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": f" echo: {last[:20]} "}}],
            }
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", seen
    finally:
        server.shutdown()


def test_openai_backend_talks_to_a_compatible_server(chat_server) -> None:
    url, seen = chat_server
    backend = make_backend(f"{url}|served-model", api_key="secret", temperature=0.3, seed=7)
    assert isinstance(backend, OpenAIBackend) and backend.name == f"openai:{url}|served-model"
    replies = backend.complete([[{"role": "user", "content": "hello there"}], [{"role": "user", "content": "two"}]],
                               max_new_tokens=12)
    assert replies == ["echo: hello there", "echo: two"]
    assert seen[0]["path"] == "/v1/chat/completions" and seen[0]["auth"] == "Bearer secret"
    assert (seen[0]["model"], seen[0]["max_tokens"], seen[0]["temperature"], seen[0]["seed"]) == (
        "served-model", 12, 0.3, 7)


def test_backend_specs_are_checked() -> None:
    with pytest.raises(ValueError, match="URL\\|MODEL"):
        make_backend("http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match="http"):
        OpenAIBackend("ftp://x", "m")
    scripted = ScriptedBackend(lambda m: "ok")
    assert make_backend(scripted) is scripted
    with pytest.raises(TypeError):
        make_backend(42)  # type: ignore[arg-type]


@pytest.mark.slow
def test_offline_model_backend_drives_the_pipeline(make_env) -> None:
    """SmolLM2 plays every role of one episode; whatever it writes, the trajectory is valid."""
    backend = TransformersBackend(batch_size=2)
    assert backend.complete([[{"role": "user", "content": "Say hi."}]], max_new_tokens=4)[0]
    env = make_env(max_searches=2)
    planner = Planner()
    planner.max_new_tokens = 40  # a one-mask plan is one line
    teacher = MultiAgentTeacher(backend, planner=planner, attempts_per_mask=1)
    (trajectory,) = teacher.generate(env, 1, seed=0, num_masks=[1])
    trajectory.validate()
    assert trajectory.terminated and trajectory.metadata["backend"].startswith("transformers:")
    assert len(trajectory.metadata["queries"]) == 1
