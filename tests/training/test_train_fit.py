"""fit: learning, reproducibility, divergence, model selection, stopping, speed knobs."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from train_toys import tiny_classifier, tiny_segmenter, toy_dataset

from gensynth.errors import ConfigError, DataError, TrialFailed
from gensynth.training import TrainConfig, evaluate, fit


def _config(**changes):
    return TrainConfig.for_task("classify", **dict({"epochs": 2, "batch_size": 16}, **changes))


def test_a_tiny_model_learns_a_separable_set(classify_data):
    model = tiny_classifier()
    config = _config(epochs=4, batch_size=8, lr=1e-2)  # enough steps for BN running stats
    result = fit(model, classify_data, config, task="classify")
    assert result.val_metrics["accuracy"] >= 80.0  # chance is 33%
    test = evaluate(model, classify_data, task="classify", split="test")
    assert test["accuracy"] >= 80.0
    assert result.images_per_second > 0 and result.train_seconds > 0
    assert [row["epoch"] for row in result.history] == list(range(1, 5))


def test_same_seed_gives_identical_history_and_weights(classify_data):
    def run():
        torch.manual_seed(5)
        model = tiny_classifier()
        result = fit(model, classify_data, _config(seed=7), task="classify")
        rows = [
            {k: v for k, v in row.items() if k not in ("seconds", "images_per_second")}
            for row in result.history
        ]
        return rows, result.state_dict

    (first, state_a), (second, state_b) = run(), run()
    assert first == second
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_different_seed_changes_the_run(classify_data):
    losses = []
    for seed in (1, 2):
        torch.manual_seed(0)
        losses.append(fit(tiny_classifier(), classify_data, _config(seed=seed), task="classify"))
    assert losses[0].history[0]["loss"] != losses[1].history[0]["loss"]


class _NaNModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.mean(dim=(1, 2, 3))[:, None]) * float("nan")


def test_nan_loss_raises_trial_failed_with_epoch_and_step(classify_data):
    with pytest.raises(TrialFailed, match="epoch 1, step 1"):
        fit(_NaNModel(), classify_data, _config(), task="classify")


def test_huge_learning_rate_diverges_into_trial_failed(classify_data):
    config = _config(optimizer="sgd", lr=1e30, grad_clip=None, epochs=3, schedule="constant")
    with pytest.raises(TrialFailed, match=r"training diverged: loss is (nan|inf)"):
        fit(tiny_classifier(), classify_data, config, task="classify")


class _Scripted(nn.Module):
    """Perfect on validation only after exactly 2 epochs of training steps, else class 0.

    The class is readable from the toy images' brightness; a step counter lives in a buffer,
    so it is part of the state that model selection has to restore.
    """

    def __init__(self, steps_per_epoch: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.target = 2 * steps_per_epoch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.steps += 1
        brightness = x.mean(dim=(1, 2, 3))
        cls = torch.bucketize(brightness, torch.tensor([-0.55, -0.1]))
        right = torch.nn.functional.one_hot(cls, 3).float()
        wrong = torch.nn.functional.one_hot(torch.zeros_like(cls), 3).float()
        out = right if int(self.steps) == self.target else wrong
        return out * 10 + self.weight * 0


def test_the_best_validation_epoch_is_kept_and_loaded_back(classify_data):
    config = _config(epochs=4, augment=False)
    steps = 54 // config.batch_size
    model = _Scripted(steps)
    result = fit(model, classify_data, config, task="classify")
    values = [row["val_accuracy"] for row in result.history]
    assert values[1] == 100.0 and max(values[2:] + values[:1]) < 100.0  # the script worked
    assert result.best_epoch == 2
    assert result.val_metrics["accuracy"] == 100.0
    assert int(model.steps) == 2 * steps  # epoch 2's state, not the last one's
    assert evaluate(model, classify_data, task="classify")["accuracy"] == 100.0


def test_should_stop_ends_early_and_still_validates(classify_data):
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 2

    result = fit(
        tiny_classifier(),
        classify_data,
        _config(epochs=5),
        task="classify",
        should_stop=should_stop,
    )
    assert result.stopped_early and len(result.history) == 1
    assert "accuracy" in result.val_metrics


def test_progress_events_and_threads_restored(classify_data):
    events: list[dict] = []
    before = torch.get_num_threads()
    fit(
        tiny_classifier(),
        classify_data,
        _config(threads=1),
        task="classify",
        progress=events.append,
    )
    assert torch.get_num_threads() == before
    steps = [e for e in events if e["event"] == "step"]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert {"epoch", "epochs", "step", "steps", "loss"} <= set(steps[0])
    assert len(steps) == 2 * steps[0]["steps"] and len(epochs) == 2
    assert "val_accuracy" in epochs[-1]


def test_proxy_size_subset_and_channels_last(classify_data):
    config = _config(input_size=16, max_train_samples=12, channels_last=True)
    model = tiny_classifier()
    result = fit(model, classify_data, config, task="classify")
    assert result.input_size == 16 and result.train_samples == 12
    assert model[3].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(t.is_contiguous() for t in result.state_dict.values())  # safetensors-ready
    plain = tiny_classifier()
    fit(plain, classify_data, config.replace(channels_last=False), task="classify")
    assert plain[3].weight.is_contiguous()


def test_segmentation_fit_reports_miou(segment_data):
    config = TrainConfig.for_task("segment", epochs=2, batch_size=8, lr=1e-2)
    result = fit(tiny_segmenter(), segment_data, config, task="segment")
    assert result.metric == "miou" and 0.0 <= result.best_value <= 100.0
    assert set(result.val_metrics["per_class"]) == set(segment_data.class_names)


def test_model_with_wrong_class_count_is_a_data_error(classify_data):
    with pytest.raises(DataError, match="outputs 5 class logits but the data has 3 classes"):
        fit(tiny_classifier(num_classes=5), classify_data, _config(), task="classify")


def test_segmentation_on_data_without_masks_is_a_data_error(classify_data):
    with pytest.raises(DataError, match="needs defect masks"):
        fit(tiny_segmenter(), classify_data, _config(), task="segment")


def test_empty_validation_split_is_a_data_error():
    data = toy_dataset(per_class=4)
    data = type(data)(**{**data.__dict__, "split": data.split * 0})
    with pytest.raises(DataError, match="no validation split"):
        fit(tiny_classifier(), data, _config(), task="classify")


def _mostly_defect_free(segment_data):
    """The toy set with the masks (and squares) of all but 6 training images wiped."""
    import dataclasses

    masks, images = segment_data.masks.copy(), segment_data.images.copy()
    train = segment_data.indices("train")
    for i in train[6:]:
        images[i][masks[i] > 0] = 10
        masks[i] = 0
    return dataclasses.replace(segment_data, masks=masks, images=images), len(train)


def test_defect_free_images_are_thinned_out_to_their_share_of_each_epoch(segment_data):
    data, n_train = _mostly_defect_free(segment_data)
    events: list[dict] = []
    assert TrainConfig.for_task("segment").negative_share is None, "off by default"
    config = TrainConfig.for_task("segment", epochs=2, batch_size=2, lr=1e-2, negative_share=0.5)
    result = fit(tiny_segmenter(), data, config, task="segment", progress=events.append)
    steps = [e for e in events if e["event"] == "step"]
    assert steps[0]["steps"] == 12 // 2, "6 defect images and 6 of the defect-free ones"
    assert result.train_samples == n_train > 12
    everything = config.replace(negative_share=None)
    events.clear()
    fit(tiny_segmenter(), data, everything, task="segment", progress=events.append)
    assert events[0]["steps"] == n_train // 2


def test_an_epoch_takes_every_defect_image_and_a_fresh_draw_of_the_rest(segment_data):
    from gensynth.training._fit import _epoch_order, _prepare_splits, _start

    data, _ = _mostly_defect_free(segment_data)
    config = TrainConfig.for_task("segment", epochs=1, batch_size=2, negative_share=0.25)

    train, _ = _prepare_splits(data, config, "segment")
    run = _start(tiny_segmenter(), config, "segment", train, None, None)
    defects = set(torch.nonzero(train.masks.flatten(1).amax(dim=1) > 0).flatten().tolist())
    draws = [_epoch_order(run).tolist() for _ in range(4)]
    for order in draws:
        assert len(order) == 6 + 2 and len(set(order)) == len(order)  # 2 = 6 × 0.25 / 0.75
        assert defects <= set(order)
    assert len({tuple(sorted(set(o) - defects)) for o in draws}) > 1, "negatives re-drawn"


def test_the_epoch_size_rule():
    config = TrainConfig.for_task("segment", negative_share=0.5)
    assert config.images_per_epoch(275, 665) == 550
    assert config.images_per_epoch(275, 100) == 375, "fewer negatives than the share: all"
    assert config.images_per_epoch(0, 50) == 50, "no defect at all: nothing to balance"
    assert config.replace(negative_share=None).images_per_epoch(275, 665) == 940
    with pytest.raises(ConfigError, match="negative_share"):
        config.replace(negative_share=1.0)


def test_progressive_resizing_trains_the_first_epochs_smaller_and_validates_full(segment_data):
    model, sides = tiny_segmenter(), []
    model.register_forward_pre_hook(lambda m, args: sides.append((m.training, args[0].shape[-1])))
    config = TrainConfig.for_task(
        "segment", epochs=4, batch_size=8, lr=1e-2, progressive_scale=0.5
    )
    result = fit(model, segment_data, config, task="segment")
    full = result.input_size
    assert [row["train_size"] for row in result.history] == [full // 2] * 3 + [full]
    trained = [side for training, side in sides if training]
    assert set(trained[: len(trained) // 2]) == {full // 2} and trained[-1] == full
    assert {side for training, side in sides if not training} == {full}, "validated full-size"
    assert 0.0 <= result.best_value <= 100.0  # masks were shrunk with their images


def test_the_progressive_rule():
    assert TrainConfig.for_task("segment").progressive_scale is None, "off in the proxy"
    assert TrainConfig.full("segment").progressive_scale == 0.5, "on in full segmentation"
    assert TrainConfig.full("classify").progressive_scale is None
    config = TrainConfig.for_task("segment", epochs=10, progressive_scale=0.5)
    assert config.progressive_epochs() == 7 and config.progressive_epochs(3) == 2
    assert config.progressive_side(200) == 100 and config.progressive_side(10) == 8
    assert config.replace(progressive_scale=None).progressive_epochs() == 0
    for bad in ({"progressive_scale": 1.0}, {"progressive_scale": 0.1},
                {"progressive_share": 1.0}, {"progressive_share": 0.0}):  # fmt: skip
        with pytest.raises(ConfigError, match=next(iter(bad))):
            config.replace(**bad)
