"""benchmarks/train_dtype_speed.py: what it times is a real training step in each precision."""

from __future__ import annotations

import pytest
import torch


@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["float32", "bfloat16"])
def test_a_timed_step_trains_float32_master_weights(tiny_model, dtype) -> None:
    from train_dtype_speed import step_seconds

    model = tiny_model().train()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ids = torch.randint(0, 1000, (2, 16), generator=torch.Generator().manual_seed(0))
    seconds = step_seconds(model, optimizer, ids, dtype)
    assert seconds > 0
    # the step moved the weights, which stay float32 (the mixed-precision recipe), and left no gradient
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())


def test_bad_sizes_are_refused_before_any_model_loads(monkeypatch, capsys) -> None:
    import train_dtype_speed

    monkeypatch.setattr("sys.argv", ["train_dtype_speed.py", "--out", "x.json", "--rounds", "0"])
    with pytest.raises(SystemExit):
        train_dtype_speed.main()
    assert "--rounds" in capsys.readouterr().err
