from __future__ import annotations

import pytest
import torch
from torch import nn

from gensynth.search.probes import activation_stats, gradient_flow, probe, stage_sensitivity


class Block(nn.Module):
    def __init__(self, channels: int, dead: int = 0) -> None:
        super().__init__()
        self.branch_enabled = True
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.dead = dead

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x + self.conv(x) if self.branch_enabled else x
        out = torch.relu(out)
        if self.dead:
            out = torch.cat([out[:, : -self.dead], torch.zeros_like(out[:, -self.dead :])], 1)
        return out


class Toy(nn.Module):
    """Two stages; stage1's last 2 of 4 channels are always dead."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.stages = nn.ModuleDict({"stage0": Block(4), "stage1": Block(4, dead=2)})
        self.head = nn.Linear(4, 2)

    def stage_names(self) -> list[str]:
        return list(self.stages)

    def stage(self, name: str) -> nn.Module:
        return self.stages[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages.values():
            x = stage(x)
        return self.head(x.mean((2, 3)))


@pytest.fixture
def toy():
    torch.manual_seed(0)
    return Toy(), torch.randn(8, 1, 12, 12)


def test_activation_stats_find_dead_channels(toy):
    model, x = toy
    stats = activation_stats(model, x)
    assert set(stats) == {"stage0", "stage1"}
    assert stats["stage1"]["dead_fraction"] == pytest.approx(0.5)
    assert stats["stage0"]["dead_fraction"] < 0.5
    assert stats["stage0"]["energy"] > 0


def test_sensitivity_turns_branches_off_and_back_on(toy):
    model, _ = toy
    seen = []

    def metric_of(m):
        state = [m.stage(n).branch_enabled for n in m.stage_names()]
        seen.append(state)
        return 80.0 if all(state) else 50.0

    drops = stage_sensitivity(model, metric_of, baseline=80.0)
    assert drops == {"stage0": 30.0, "stage1": 30.0}
    assert seen == [[False, True], [True, False]]
    assert all(model.stage(n).branch_enabled for n in model.stage_names())


def test_gradient_flow_is_per_stage_and_clears_grads(toy):
    model, x = toy
    flow = gradient_flow(model, x, lambda logits: logits.pow(2).mean())
    assert set(flow) == {"stage0", "stage1"}
    assert all(v > 0 for v in flow.values())
    assert all(p.grad is None for p in model.parameters())


def test_probe_merges_everything(toy):
    model, x = toy
    insights = probe(model, x, metric_of=lambda m: 70.0, baseline=75.0, loss_of=lambda o: o.sum())
    assert insights["stage0"].keys() == {"energy", "dead_fraction", "sensitivity", "grad_norm"}
    assert insights["stage1"]["sensitivity"] == pytest.approx(5.0)
