"""The full-training recipe: weight EMA, random crops, distillation, the time-budget plan."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn
from train_toys import tiny_classifier, tiny_segmenter

from gensynth.errors import ConfigError, DataError
from gensynth.training import (
    FULL_EPOCHS,
    FULL_TIME_BUDGET,
    TrainConfig,
    augment_batch,
    distillation_loss,
    ema_decay_at,
    evaluate,
    fit,
    plan_epochs,
    random_crop,
    weight_ema,
)
from gensynth.training._ema import window_decay


def _config(**changes):
    return TrainConfig.for_task("classify", **dict({"epochs": 3, "batch_size": 8}, **changes))


def test_full_recipe_defaults_live_in_the_core():
    for task in ("classify", "segment"):
        config = TrainConfig.full(task)
        assert config.epochs == FULL_EPOCHS[task] and config.time_budget == FULL_TIME_BUDGET[task]
        assert config.ema_window is not None
    assert TrainConfig.full("classify", epochs=3, time_budget=None).time_budget is None
    with pytest.raises(ConfigError, match="got 'detect'"):
        TrainConfig.full("detect")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ema_window": 0.0}, "ema_window: expected a number > 0 and <= 1"),
        ({"ema_window": 1.5}, "ema_window"),
        ({"ema_min_steps": -1}, "ema_min_steps: expected a number >= 0"),
        ({"ema_min_steps": 1.5}, "ema_min_steps: expected an integer"),
        ({"crop_scale": (0.9, 0.8)}, r"crop_scale: expected \(low, high\)"),
        ({"crop_scale": (0.1, 1.0)}, "crop_scale"),
        ({"crop_scale": 0.8}, "crop_scale"),
        ({"distill_weight": 1.5}, "distill_weight"),
        ({"distill_temperature": 0}, "distill_temperature"),
        ({"time_budget": -1.0}, "time_budget: expected a number > 0"),
    ],
)
def test_bad_recipe_values_name_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_crop_scale_from_yaml_lists_becomes_a_tuple():
    assert TrainConfig(crop_scale=[0.8, 1.0]).crop_scale == (0.8, 1.0)  # type: ignore[arg-type]


def test_ema_decay_warms_up_to_the_window_of_the_run():
    assert ema_decay_at(1, 0.999) == pytest.approx(1 - 2**-0.75)
    assert ema_decay_at(10**6, 0.99) == 0.99  # capped
    decays = [ema_decay_at(step, 0.999) for step in range(1, 200)]
    assert decays == sorted(decays)
    # a 100-step proxy run averages about its last 10 steps; a 1000-step run its last 100
    assert window_decay(0.1, 100) == pytest.approx(0.9)
    assert window_decay(0.1, 1000) == pytest.approx(0.99)
    assert window_decay(0.1, 5) == 0.0  # shorter than a step: the current weights


def test_weight_ema_averages_floats_and_copies_integer_buffers():
    model = nn.BatchNorm1d(1)
    ema = weight_ema(model, max_decay=0.5)
    with torch.no_grad():
        model.weight.fill_(1.0)  # init 1: the first update copies it
        ema.update_parameters(model)
        model.weight.fill_(3.0)
        model.num_batches_tracked.fill_(7)
        ema.update_parameters(model)  # decay min(0.5, 1 - 2^-0.75) = 0.405
    expected = 1.0 + (1 - ema_decay_at(1, 0.5)) * (3.0 - 1.0)
    assert float(ema.module.weight.detach()) == pytest.approx(expected)
    assert int(ema.module.num_batches_tracked) == 7


def test_fit_selects_and_returns_the_ema_weights(classify_data):
    torch.manual_seed(0)
    model = tiny_classifier()
    config = _config(ema_window=0.5, ema_min_steps=0, lr=1e-2)
    result = fit(model, classify_data, config, task="classify")
    assert result.ema and {"val_accuracy_raw", "val_loss_raw", "val_loss"} <= set(
        result.history[-1]
    )
    raw = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(0)
    plain = tiny_classifier()
    fit(plain, classify_data, _config(ema_window=None, lr=1e-2), task="classify")
    # same seed, same steps: the loaded weights are the average, not the last iterate
    assert any(not torch.equal(raw[k], v) for k, v in plain.state_dict().items())
    assert all(torch.equal(raw[k], result.state_dict[k]) for k in raw)


def test_short_runs_keep_no_ema_and_a_forced_one_does_not_hold_on_to_the_init(classify_data):
    torch.manual_seed(0)
    config = _config(epochs=4, lr=1e-2)  # 24 steps, like a proxy run: below ema_min_steps
    result = fit(tiny_classifier(), classify_data, config, task="classify")
    assert not result.ema and "val_accuracy_raw" not in result.history[-1]
    # forced on, the warm-up keeps it close: a fixed 0.999 decay would still be the init
    torch.manual_seed(0)
    forced = fit(
        tiny_classifier(), classify_data, config.replace(ema_min_steps=0), task="classify"
    )
    last = forced.history[-1]
    assert forced.ema and last["val_accuracy"] >= last["val_accuracy_raw"] - 10.0
    assert forced.best_value >= 80.0


def test_random_crop_moves_masks_with_images_and_zooms():
    gen = torch.Generator().manual_seed(0)
    masks = (torch.rand(16, 1, 12, 12, generator=gen) > 0.5).to(torch.uint8) * 255
    out_x, out_m = random_crop(masks.clone(), masks, torch.Generator().manual_seed(1), (0.5, 0.9))
    assert out_m is not None and out_x.shape == masks.shape and out_x.dtype == torch.float32
    assert torch.equal(out_x, out_m)  # same grid for both
    ramp = torch.arange(64.0).repeat(1, 1, 64, 1)  # value = column
    zoomed, _ = random_crop(ramp, None, torch.Generator().manual_seed(2), (0.5, 0.5))
    span = float(zoomed[0, 0, 0, -1] - zoomed[0, 0, 0, 0])
    assert span == pytest.approx(32.0, abs=1.5)  # half the columns, stretched over all


def test_crops_are_seeded_and_off_by_default():
    images = torch.arange(256, dtype=torch.uint8).reshape(1, 1, 16, 16).repeat(8, 1, 1, 1)
    a, _ = augment_batch(images, None, torch.Generator().manual_seed(3), crop_scale=(0.6, 1.2))
    b, _ = augment_batch(images, None, torch.Generator().manual_seed(3), crop_scale=(0.6, 1.2))
    plain, _ = augment_batch(images, None, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and plain.dtype == torch.uint8 and a.dtype == torch.float32
    assert not torch.equal(a, plain.float())


def test_segmentation_trains_with_crops(segment_data):
    config = TrainConfig.for_task("segment", epochs=2, batch_size=8, crop_scale=(0.7, 1.0))
    result = fit(tiny_segmenter(), segment_data, config, task="segment")
    assert 0.0 <= result.best_value <= 100.0 and result.history[0]["val_loss"] > 0


def test_distillation_loss_by_hand():
    logits = torch.tensor([[1.0, 2.0, 0.5]])
    assert float(distillation_loss(logits, logits)) == pytest.approx(0.0, abs=1e-7)
    teacher = torch.tensor([[2.0, 0.0, 0.0]])
    t = 2.0
    p = torch.softmax(teacher / t, dim=1)
    kl = (p * (p.log() - torch.log_softmax(logits / t, dim=1))).sum()
    assert float(distillation_loss(logits, teacher, t)) == pytest.approx(float(kl) * t * t)


def test_fit_distils_a_teacher(classify_data):
    torch.manual_seed(0)
    teacher = tiny_classifier(width=16)
    fit(teacher, classify_data, _config(epochs=4, lr=1e-2), task="classify")
    torch.manual_seed(1)
    student = tiny_classifier()
    config = _config(epochs=4, lr=1e-2, distill_weight=0.7)
    result = fit(student, classify_data, config, task="classify", teacher=teacher)
    assert result.distilled and result.best_value >= 80.0
    assert evaluate(student, classify_data, task="classify", split="test")["accuracy"] >= 80.0


def test_a_teacher_must_fit_the_task_and_classes(classify_data, segment_data):
    with pytest.raises(DataError, match="teacher outputs logits of shape"):
        fit(
            tiny_classifier(),
            classify_data,
            _config(),
            task="classify",
            teacher=tiny_classifier(5),
        )
    config = TrainConfig.for_task("segment", epochs=1)
    with pytest.raises(ConfigError, match="distillation: expected a classification task"):
        fit(tiny_segmenter(), segment_data, config, task="segment", teacher=tiny_segmenter())


def test_plan_fits_the_epochs_into_the_budget():
    now = itertools.count()  # a fake clock: every call is one second later
    clock = lambda: float(next(now))  # noqa: E731
    plan = plan_epochs(
        lambda: None,
        lambda: None,
        steps_per_epoch=10,
        evals_per_epoch=2,
        epochs=100,
        time_budget=200.0,
        clock=clock,
    )
    # each step and the evaluation read the clock twice: 1 s each; an epoch is 10 + 2 s;
    # planning itself cost 2 + 5 * 2 + 2 + 1 = 15 s of the 200
    assert plan.seconds_per_step == 1.0 and plan.seconds_per_epoch == 12.0
    assert plan.epochs == (200 - plan.planning_seconds) // 12
    tight = plan_epochs(
        lambda: None, lambda: None, steps_per_epoch=10, evals_per_epoch=1, epochs=5,
        time_budget=1.0, clock=clock,
    )  # fmt: skip
    assert tight.epochs == 1  # never zero


def test_a_time_budget_shortens_the_schedule_which_still_ends_at_zero(classify_data):
    config = _config(epochs=10_000, time_budget=3.0)
    result = fit(tiny_classifier(), classify_data, config, task="classify")
    plan = result.plan
    assert plan is not None and plan["requested_epochs"] == 10_000
    assert 1 <= plan["epochs"] < 10_000 and len(result.history) <= plan["epochs"]
    if not result.stopped_early:
        assert len(result.history) == plan["epochs"] and result.history[-1]["lr"] == 0.0


def test_training_that_overruns_its_budget_stops(classify_data, monkeypatch):
    monkeypatch.setattr("gensynth.training._fit.DEADLINE_SLACK", 0.0)
    config = _config(epochs=5, time_budget=1000.0)
    result = fit(tiny_classifier(), classify_data, config, task="classify")
    assert result.stopped_early and result.stop_reason == "time budget"
    assert len(result.history) == 1 and "accuracy" in result.val_metrics


def test_train_to_dir_distils_a_teacher_folder_of_the_same_split(tmp_path, classify_data):
    from train_toys import TinyClassifySpec, toy_dataset

    from gensynth.training import train_to_dir

    spec = TinyClassifySpec(in_channels=1, input_size=32, num_classes=3)
    config = _config(epochs=2)
    train_to_dir(spec.replace(width=16), classify_data, config, tmp_path / "t", data_source="toy")
    metrics = train_to_dir(
        spec, classify_data, config, tmp_path / "s", data_source="toy", teacher=tmp_path / "t"
    )
    assert metrics["distillation"]["teacher"] == str(tmp_path / "t")
    assert metrics["distillation"]["teacher_test_accuracy"] is not None
    other = toy_dataset("classify", seed=1)  # another split: its test images leak
    with pytest.raises(DataError, match="trained on other data or another split"):
        train_to_dir(
            spec, other, config, tmp_path / "x", data_source="toy", teacher=tmp_path / "t"
        )


def test_a_plan_with_cheaper_progressive_epochs_fits_more_of_them():
    now = itertools.count()
    clock = lambda: float(next(now))  # noqa: E731

    def slow_step() -> None:  # one more tick of the clock: a full-size step takes 2 s
        next(now)

    plain = plan_epochs(
        slow_step, lambda: None, steps_per_epoch=10, evals_per_epoch=1, epochs=100,
        time_budget=400.0, clock=clock,
    )  # fmt: skip
    mixed = plan_epochs(
        slow_step, lambda: None, steps_per_epoch=10, evals_per_epoch=1, epochs=100,
        time_budget=400.0, low_step=lambda: None, low_share=0.75, clock=clock,
    )  # fmt: skip
    assert plain.seconds_per_step == 2.0 and mixed.seconds_per_low_step == 1.0
    assert plain.low_epochs == 0 and mixed.low_epochs == int(0.75 * mixed.epochs)
    assert mixed.epochs > plain.epochs
    remaining = 400.0 - mixed.planning_seconds

    def cost(epochs: int) -> float:
        return epochs * mixed.seconds_per_epoch - int(0.75 * epochs) * 10 * 1.0

    assert cost(mixed.epochs) <= remaining < cost(mixed.epochs + 1), "the most that fit"
