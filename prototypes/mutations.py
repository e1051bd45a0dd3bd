"""Mutation operators on specs: what the generator uses to move from elites to new designs.

``insights`` are the inquisitor's probe results, keyed by stage name (``stage0``, ``enc1``...):
``{"sensitivity": metric drop when the stage's residual branches are zeroed (larger = more
important), "dead_fraction": share of dead channels in [0, 1], "energy": mean activation
energy}``. With insights, width moves from insensitive to sensitive stages (``shift_width``),
dead-heavy stages narrow and sensitive stages deepen; without them operators are uniform.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError
from gensynth.prototypes._shapes import make_divisible
from gensynth.prototypes._spec import ArchSpec
from gensynth.prototypes.residual import (
    BLOCK_KINDS,
    DEFAULT_EXPANSION,
    MAX_WIDTH,
    ResidualSpec,
)
from gensynth.prototypes.unet import ResidualUNetSpec
from gensynth.registry import Registry

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MUTATIONS", "Insights", "MutationOperator", "list_mutations", "mutate"]

Insights = Mapping[str, Mapping[str, float]]
Result = tuple[ArchSpec, str] | None
Apply = Callable[[Any, "np.random.Generator", Insights | None], Result]

MAX_SPACE_DEPTH = 4  # deepen stops at the search space's depth; references may exceed it
UNET_MENU = ("single", "dilated", "dw2", "dwd2", "cut", "light", "wide")
_EPS = 1e-3


@dataclasses.dataclass(frozen=True)
class MutationOperator:
    """A named change of a spec, implemented per prototype; ``apply`` may return None."""

    name: str
    description: str
    impls: Mapping[str, Apply]
    insight_weight: float = 1.0  # relative weight when insights are given

    @property
    def prototypes(self) -> tuple[str, ...]:
        return tuple(self.impls)

    def apply(self, spec: ArchSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
        impl = self.impls.get(spec.prototype)
        return None if impl is None else impl(spec, rng, insights)


MUTATIONS: Registry[MutationOperator] = Registry("mutation")


def list_mutations(prototype: str | None = None) -> list[MutationOperator]:
    ops = [op for _, op in MUTATIONS.items()]
    return [op for op in ops if prototype is None or prototype in op.impls]


def mutate(
    spec: ArchSpec,
    rng: np.random.Generator,
    *,
    insights: Insights | None = None,
    max_tries: int = 32,
) -> tuple[ArchSpec, str]:
    """A valid, changed copy of ``spec`` and a one-line description of the change.

    Operators are drawn uniformly, or weighted towards the insight-driven ones when
    ``insights`` are given. If nothing applies (rare), the spec comes back unchanged.
    """
    ops = list_mutations(spec.prototype)
    weights = [op.insight_weight if insights else 1.0 for op in ops]
    for _ in range(max_tries):
        if not ops:
            break
        k = _pick(rng, weights)
        result = ops[k].apply(spec, rng, insights)
        if result is not None and result[0] != spec:
            try:
                result[0].validate()
            except ConfigError:
                continue
            return result[0], f"{ops[k].name}: {result[1]}"
        del ops[k], weights[k]
    return spec, "unchanged: no mutation applies"


def _pick(rng: np.random.Generator, weights: Sequence[float]) -> int:
    total = float(sum(weights))
    if total <= 0:
        return int(rng.integers(len(weights)))
    return int(rng.choice(len(weights), p=[w / total for w in weights]))


def _insight(insights: Insights | None, name: str, key: str, default: float = 0.0) -> float:
    value = (insights or {}).get(name, {}).get(key, default)
    return float(value) if value == value else default  # NaN -> default


def _weights(
    names: Sequence[str], insights: Insights | None, key: str, *, invert: bool = False
) -> list[float]:
    """Uniform without insights; else proportional to ``key`` (or to its inverse)."""
    if not insights:
        return [1.0] * len(names)
    values = [max(_insight(insights, n, key), 0.0) for n in names]
    return [1.0 / (v + _EPS) if invert else v + _EPS for v in values]


def _register(
    name: str, description: str, weight: float = 1.0
) -> Callable[[dict[str, Apply]], dict[str, Apply]]:
    def add(impls: dict[str, Apply]) -> dict[str, Apply]:
        MUTATIONS.add(name, MutationOperator(name, description, impls, weight))
        return impls

    return add


# ---- widths (every prototype): slots are the spec's widths(), named by width_names()


def _width_slots(spec: ArchSpec, insights: Insights | None) -> list[int]:
    """Slots to move: stage slots only when insights are given (they name stages)."""
    names = spec.width_names()
    if insights and any(n in insights for n in names):
        return [i for i, n in enumerate(names) if n in insights]
    return list(range(len(names)))


def _set_width(spec: ArchSpec, slot: int, width: int) -> ArchSpec:
    widths = list(spec.widths())
    widths[slot] = width
    return spec.with_widths(tuple(widths))


def _widen(spec: ArchSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    slots = [i for i in _width_slots(spec, insights) if spec.widths()[i] < MAX_WIDTH]
    if not slots:
        return None
    names = spec.width_names()
    slot = slots[_pick(rng, _weights([names[i] for i in slots], insights, "sensitivity"))]
    old = spec.widths()[slot]
    new = min(MAX_WIDTH, max(old + 8, make_divisible(old * 1.25)))
    return _set_width(spec, slot, new), f"{names[slot]} width {old} -> {new}"


def _narrow(spec: ArchSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    floors = spec.width_floors()
    slots = [i for i in _width_slots(spec, insights) if spec.widths()[i] > floors[i]]
    if not slots:
        return None
    names = spec.width_names()
    slot = slots[_pick(rng, _weights([names[i] for i in slots], insights, "dead_fraction"))]
    old = spec.widths()[slot]
    new = max(floors[slot], min(old - 8, make_divisible(old * 0.8)))
    return _set_width(spec, slot, new), f"{names[slot]} width {old} -> {new}"


def _shift_width(spec: ArchSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    names, widths, floors = spec.width_names(), spec.widths(), spec.width_floors()
    slots = _width_slots(spec, insights)
    donors = [i for i in slots if widths[i] > floors[i]]
    if len(slots) < 2 or not donors:
        return None
    if insights:
        sens = {i: _insight(insights, names[i], "sensitivity") for i in slots}
        dead = {i: _insight(insights, names[i], "dead_fraction") for i in slots}
        donor = min(donors, key=lambda i: (sens[i], -dead[i]))
        receiver = max(slots, key=lambda i: (sens[i], -dead[i]))
        if donor == receiver:
            return None
    else:
        donor = donors[int(rng.integers(len(donors)))]
        others = [i for i in slots if i != donor]
        receiver = others[int(rng.integers(len(others)))]
    amount = min(widths[donor] - floors[donor], max(8, make_divisible(widths[donor] * 0.2)))
    out = _set_width(spec, donor, widths[donor] - amount)
    out = _set_width(out, receiver, min(MAX_WIDTH, widths[receiver] + amount))
    text = f"{names[donor]} {widths[donor]} -> {widths[donor] - amount}, "
    text += f"{names[receiver]} {widths[receiver]} -> {out.widths()[receiver]}"
    if insights:
        text += f" (sensitivity {sens[donor]:.3g} -> {sens[receiver]:.3g})"
    return out, text


_register("widen", "widen one stage (with insights: a sensitive one)")(
    {"residual": _widen, "residual-unet": _widen}
)
_register("narrow", "narrow one stage (with insights: a dead-heavy one)", 2.0)(
    {"residual": _narrow, "residual-unet": _narrow}
)
_register("shift_width", "move width from an insensitive stage to a sensitive one", 4.0)(
    {"residual": _shift_width, "residual-unet": _shift_width}
)


# ---- residual: per-stage structure


def _with_stage(spec: ResidualSpec, i: int, **changes: Any) -> ResidualSpec:
    stages = list(spec.stages)
    stages[i] = dataclasses.replace(stages[i], **changes)
    return dataclasses.replace(spec, stages=tuple(stages))


def _choose_stage(
    spec: ResidualSpec,
    rng: np.random.Generator,
    insights: Insights | None,
    ok: Callable[[Any], bool],
    key: str | None = None,
    invert: bool = False,
) -> int | None:
    idx = [i for i, stage in enumerate(spec.stages) if ok(stage)]
    if not idx:
        return None
    if key is None:
        return idx[int(rng.integers(len(idx)))]
    names = [f"stage{i}" for i in idx]
    return idx[_pick(rng, _weights(names, insights, key, invert=invert))]


def _any_stage(spec: ResidualSpec, rng: np.random.Generator) -> int:
    return int(rng.integers(len(spec.stages)))


def _r_deepen(spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    i = _choose_stage(spec, rng, insights, lambda s: s.depth < MAX_SPACE_DEPTH, "sensitivity")
    if i is None:
        return None
    d = spec.stages[i].depth
    return _with_stage(spec, i, depth=d + 1), f"stage{i} depth {d} -> {d + 1}"


def _r_shallow(spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    i = _choose_stage(spec, rng, insights, lambda s: s.depth > 1, "sensitivity", invert=True)
    if i is None:
        return None
    d = spec.stages[i].depth
    return _with_stage(spec, i, depth=d - 1), f"stage{i} depth {d} -> {d - 1}"


def _r_kernel(spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    i = _any_stage(spec, rng)
    k = spec.stages[i].kernel
    new = 5 if k == 3 else 3
    return _with_stage(spec, i, kernel=new), f"stage{i} kernel {k} -> {new}"


def _r_block(spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    i = _any_stage(spec, rng)
    old = spec.stages[i].block
    choices = [b for b in BLOCK_KINDS if b != old]
    new = choices[int(rng.integers(len(choices)))]
    out = _with_stage(spec, i, block=new, expansion=DEFAULT_EXPANSION[new])
    return out, f"stage{i} block {old} -> {new}"


_EXPANSIONS = {"inverted": (2.0, 3.0, 4.0, 6.0), "reduce": (0.25, 0.5)}


def _r_expansion(
    spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None
) -> Result:
    i = _choose_stage(spec, rng, insights, lambda s: s.block != "basic")
    if i is None:
        return None
    stage = spec.stages[i]
    menu = _EXPANSIONS["inverted" if stage.block == "inverted" else "reduce"]
    choices = [e for e in menu if e != stage.expansion]
    new = choices[int(rng.integers(len(choices)))]
    return _with_stage(
        spec, i, expansion=new
    ), f"stage{i} expansion {stage.expansion:g} -> {new:g}"


def _r_stride(spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    src = [i for i, s in enumerate(spec.stages) if s.stride == 2]
    dst = [i for i, s in enumerate(spec.stages) if s.stride == 1]
    if not src or not dst:
        return None
    i, j = src[int(rng.integers(len(src)))], dst[int(rng.integers(len(dst)))]
    out = _with_stage(_with_stage(spec, i, stride=1), j, stride=2)
    return out, f"stride 2 moved stage{i} -> stage{j}"


def _r_se(spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    i = _any_stage(spec, rng)
    se = spec.stages[i].se
    return _with_stage(spec, i, se=not se), f"stage{i} squeeze-excite {'off' if se else 'on'}"


def _r_stem_pool(
    spec: ResidualSpec, rng: np.random.Generator, insights: Insights | None
) -> Result:
    pool = spec.stem.pool
    out = dataclasses.replace(spec, stem=dataclasses.replace(spec.stem, pool=not pool))
    return out, f"stem max pool {'off' if pool else 'on'}"


# ---- residual-unet: per-level, per-position structure


def _levels(spec: ResidualUNetSpec) -> list[tuple[str, Any]]:
    enc = [(f"enc{i}", level) for i, level in enumerate(spec.encoder)]
    return enc + [(f"dec{j}", level) for j, level in enumerate(spec.decoder)]


def _with_level(spec: ResidualUNetSpec, name: str, **changes: Any) -> ResidualUNetSpec:
    part, idx = (
        ("encoder", int(name[3:])) if name.startswith("enc") else ("decoder", int(name[3:]))
    )
    levels = list(getattr(spec, part))
    levels[idx] = dataclasses.replace(levels[idx], **changes)
    return dataclasses.replace(spec, **{part: tuple(levels)})


def _choose_level(
    spec: ResidualUNetSpec,
    rng: np.random.Generator,
    insights: Insights | None,
    ok: Callable[[str, Any], bool],
    key: str | None = None,
    invert: bool = False,
) -> tuple[str, Any] | None:
    found = [(n, level) for n, level in _levels(spec) if ok(n, level)]
    if not found:
        return None
    if key is None:
        return found[int(rng.integers(len(found)))]
    return found[_pick(rng, _weights([n for n, _ in found], insights, key, invert=invert))]


def _u_deepen(
    spec: ResidualUNetSpec, rng: np.random.Generator, insights: Insights | None
) -> Result:
    got = _choose_level(
        spec, rng, insights, lambda n, lv: len(lv.blocks) < MAX_SPACE_DEPTH, "sensitivity"
    )
    if got is None:
        return None
    name, level = got
    pos = int(rng.integers(len(level.blocks) + 1))
    kind = UNET_MENU[int(rng.integers(len(UNET_MENU)))]
    blocks = (*level.blocks[:pos], kind, *level.blocks[pos:])
    return _with_level(spec, name, blocks=blocks), f"{name} +{kind} at position {pos}"


def _u_shallow(
    spec: ResidualUNetSpec, rng: np.random.Generator, insights: Insights | None
) -> Result:
    got = _choose_level(spec, rng, insights, lambda n, lv: len(lv.blocks) > 1, "sensitivity", True)
    if got is None:
        return None
    name, level = got
    pos = int(rng.integers(len(level.blocks)))
    blocks = (*level.blocks[:pos], *level.blocks[pos + 1 :])
    return _with_level(spec, name, blocks=blocks), f"{name} -{level.blocks[pos]} at position {pos}"


def _u_block(
    spec: ResidualUNetSpec, rng: np.random.Generator, insights: Insights | None
) -> Result:
    got = _choose_level(spec, rng, insights, lambda n, lv: True)
    if got is None:
        return None
    name, level = got
    pos = int(rng.integers(len(level.blocks)))
    choices = [b for b in UNET_MENU if b != level.blocks[pos]]
    kind = choices[int(rng.integers(len(choices)))]
    blocks = (*level.blocks[:pos], kind, *level.blocks[pos + 1 :])
    text = f"{name}[{pos}] block {level.blocks[pos]} -> {kind}"
    return _with_level(spec, name, blocks=blocks), text


def _u_field(
    spec: ResidualUNetSpec,
    rng: np.random.Generator,
    part: str,
    field: str,
    choices: tuple[Any, ...],
) -> Result:
    """Change ``field`` of one level of ``part`` (``enc``/``dec``) to another of ``choices``."""
    found = [
        (n, lv) for n, lv in _levels(spec) if n.startswith(part) and getattr(lv, field) in choices
    ]
    if not found:
        return None
    name, level = found[int(rng.integers(len(found)))]
    old = getattr(level, field)
    others = [c for c in choices if c != old]
    new = others[int(rng.integers(len(others)))]
    return _with_level(spec, name, **{field: new}), f"{name} {field} {old} -> {new}"


def _u_down(spec: ResidualUNetSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    return _u_field(spec, rng, "enc", "down", ("maxpool", "conv", "anet"))


def _u_up(spec: ResidualUNetSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    return _u_field(spec, rng, "dec", "up", ("transpose", "bilinear", "anet"))


def _u_skip(spec: ResidualUNetSpec, rng: np.random.Generator, insights: Insights | None) -> Result:
    return _u_field(spec, rng, "dec", "skip", (True, False))


_register("deepen", "add a block to a stage (with insights: a sensitive one)", 2.0)(
    {"residual": _r_deepen, "residual-unet": _u_deepen}
)
_register("shallow", "remove a block from a stage (with insights: an insensitive one)")(
    {"residual": _r_shallow, "residual-unet": _u_shallow}
)
_register("block", "change a stage's block type (unet: the block at one position)")(
    {"residual": _r_block, "residual-unet": _u_block}
)
_register("kernel", "switch a stage's kernel between 3 and 5")({"residual": _r_kernel})
_register("expansion", "change a stage's expansion")({"residual": _r_expansion})
_register("stride", "move a stride-2 from one stage to another")({"residual": _r_stride})
_register("se", "toggle squeeze-excitation in a stage")({"residual": _r_se})
_register("stem_pool", "toggle the stem's max pool")({"residual": _r_stem_pool})
_register("down", "change an encoder level's down-sampling")({"residual-unet": _u_down})
_register("up", "change a decoder level's up-sampling")({"residual-unet": _u_up})
_register("skip", "toggle a decoder level's skip connection")({"residual-unet": _u_skip})
