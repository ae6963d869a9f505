"""ramp_env.serving.batcher: concurrent submits share engine calls; results and failures reach their owners."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from ramp_env.serving.batcher import Batcher


def test_concurrent_jobs_are_batched_and_each_gets_its_own_result() -> None:
    sizes: list[int] = []

    def run(jobs: Sequence[int]) -> list[object]:
        sizes.append(len(jobs))
        return [ValueError(f"bad {j}") if j == 7 else j * 10 for j in jobs]

    async def main() -> list[object]:
        batcher: Batcher[int] = Batcher(run, max_batch=8, window=0.05)
        out = await asyncio.gather(*(batcher.submit(j) for j in range(20)), return_exceptions=True)
        await batcher.close()
        return out

    out = asyncio.run(main())
    assert [o for i, o in enumerate(out) if i != 7] == [j * 10 for j in range(20) if j != 7]
    assert isinstance(out[7], ValueError) and str(out[7]) == "bad 7"
    assert sum(sizes) == 20 and max(sizes) <= 8 and len(sizes) < 20


def test_a_lone_job_waits_at_most_the_window_and_a_crash_fails_only_its_batch() -> None:
    calls = 0

    def run(jobs: Sequence[str]) -> list[object]:
        nonlocal calls
        calls += 1
        if "boom" in jobs:
            raise RuntimeError("engine down")
        return [j.upper() for j in jobs]

    async def main() -> None:
        batcher: Batcher[str] = Batcher(run, max_batch=4, window=0.01)
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await batcher.submit("a") == "A"
        assert loop.time() - started < 5
        with pytest.raises(RuntimeError, match="engine down"):
            await batcher.submit("boom")
        assert await batcher.submit("b") == "B"  # the consumer survived
        await batcher.close()

    asyncio.run(main())
    assert calls == 3


def test_a_cancelled_request_is_not_searched() -> None:
    seen: list[str] = []
    gate = threading.Event()

    def run(jobs: Sequence[str]) -> list[object]:
        gate.wait(5)
        seen.extend(jobs)
        return list(jobs)

    async def main() -> None:
        batcher: Batcher[str] = Batcher(run, max_batch=1, window=0)
        first = asyncio.ensure_future(batcher.submit("first"))
        await asyncio.sleep(0.05)  # "first" is running; "gone" waits in the queue
        gone = asyncio.ensure_future(batcher.submit("gone"))
        await asyncio.sleep(0.05)
        gone.cancel()
        gate.set()
        assert await first == "first"
        assert await batcher.submit("last") == "last"
        await batcher.close()

    asyncio.run(main())
    assert seen == ["first", "last"]


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(lambda jobs: list(jobs), max_batch=0)
