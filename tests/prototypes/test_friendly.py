"""Designs built for CPU backends: dense blocks and no squeeze-excitation on large maps."""

from __future__ import annotations

import dataclasses

from gensynth.prototypes import ResidualSpec, StageSpec, StemSpec, reference_spec
from gensynth.prototypes.friendly import MAX_SIDE, steer


def _net(*stages: StageSpec) -> ResidualSpec:
    return ResidualSpec(1, 200, 6, StemSpec(16, 3, 2, False), stages, "relu")


def test_depthwise_and_se_leave_the_large_maps_only():
    spec = _net(
        StageSpec("inverted", 24, 1, 2, 3, 4.0, True),  # 100 px in: steered
        StageSpec("light", 40, 1, 2, 3, 0.25, True),  # 50 px in: steered
        StageSpec("inverted", 80, 1, 2, 3, 4.0, True),  # 25 px in: kept
    )
    steered, note = steer(spec)
    assert [s.block for s in steered.stages] == ["bottleneck", "bottleneck", "inverted"]
    assert [s.se for s in steered.stages] == [False, False, True]
    assert steered.stages[0].expansion == 0.25 and "stage0, stage1" in note
    steered.validate()


def test_dense_designs_and_the_references_pass_unchanged():
    plain = reference_spec("plain")
    assert steer(plain) == (plain, "")
    small = dataclasses.replace(plain, input_size=MAX_SIDE)
    assert steer(small)[0] == small


def test_the_generator_steers_proposals_but_never_the_reference(tmp_path):
    from gensynth.search.generator import Generator
    from gensynth.search.study_spec import ExploreOptions, resolve_options

    spec = resolve_options(ExploreOptions(flops="100M", storage=f"sqlite:///{tmp_path}/s.db"))
    generator = Generator(spec, in_channels=1, input_size=200, num_classes=6)
    heavy = _net(StageSpec("inverted", 32, 2, 2, 3, 4.0, True), StageSpec("basic", 96, 1, 2))
    proposal = generator._repair(heavy, "sample", "x")
    assert proposal.spec.stages[0].block == "bottleneck" and "dense blocks" in proposal.detail
    anet = generator._repair(reference_spec("anet", input_size=224), "reference", "x")
    assert "dense blocks" not in anet.detail
