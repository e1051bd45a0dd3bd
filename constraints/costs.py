"""Exact MAC and parameter counts: analytic per spec (fast), fvcore per module (any model)."""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConstraintError

if TYPE_CHECKING:
    from torch import nn

    from gensynth.prototypes import ArchSpec

__all__ = [
    "MAC_CONVENTION",
    "Costs",
    "count_costs",
    "count_module",
    "flop_counter_macs",
    "op_handles",
]

#: The one counting convention, stated in ``gensynth constraints check --help`` too.
MAC_CONVENTION = (
    "MACs: one multiply-accumulate of a conv, transposed conv or linear layer counts 1 (bias "
    "ignored); batch norm is folded into the convs and counts 0; element-wise work counts 1 "
    "per element (residual adds and gating multiplies per output, max pooling per window "
    "element, global average pooling per input, bilinear upsampling 4 per output); "
    "activations and concatenation count 0. ResNet-50 at 224x224: 4.10 G. Parameters: every "
    "learnable weight, batch norm included."
)


@dataclasses.dataclass(frozen=True)
class Costs:
    """A network's cost: ``macs`` under :data:`MAC_CONVENTION`, and its parameter count.

    ``elementwise`` is the part of ``macs`` that is not conv/linear work, so
    ``macs - elementwise`` equals PyTorch's ``FlopCounterMode`` total divided by 2.
    """

    macs: int
    params: int
    elementwise: int = 0

    @property
    def conv_macs(self) -> int:
        return self.macs - self.elementwise


@functools.lru_cache(maxsize=65536)
def count_costs(spec: ArchSpec) -> Costs:
    """The exact costs of ``spec``, counted analytically from shapes; cached per spec (a
    frozen dataclass: equal specs, which share a spec hash, share an entry)."""
    try:
        tally = spec.analytic_costs()
        return Costs(tally.macs + tally.elementwise, tally.params, tally.elementwise)
    except NotImplementedError:
        return count_module(spec.build(), (1, *spec.input_shape))


_MATMUL_OPS = frozenset({"conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum"})


def _elementwise_out(scale: float = 1.0) -> Callable[[list[Any], list[Any]], int]:
    def handle(inputs: list[Any], outputs: list[Any]) -> int:
        return round(scale * math.prod(outputs[0].type().sizes()))

    return handle


def _max_pool(inputs: list[Any], outputs: list[Any]) -> int:
    kernel = inputs[1].toIValue()
    if kernel is None:  # a list built in the graph: read its constant items
        kernel = [item.toIValue() for item in inputs[1].node().inputs()]
    area = math.prod(kernel) if len(kernel) > 1 else kernel[0] ** 2
    return area * math.prod(outputs[0].type().sizes())


def _free(inputs: list[Any], outputs: list[Any]) -> int:
    return 0


def op_handles() -> dict[str, Callable[[list[Any], list[Any]], int]]:
    """fvcore op handles that, with fvcore's defaults, implement :data:`MAC_CONVENTION`."""
    handles: dict[str, Callable[[list[Any], list[Any]], int]] = {
        "aten::batch_norm": _free,  # folded into the preceding conv at inference
        "aten::add": _elementwise_out(),
        "aten::add_": _elementwise_out(),
        "aten::mul": _elementwise_out(),
        "aten::mul_": _elementwise_out(),
        "aten::max_pool2d": _max_pool,
    }
    for op in ("sigmoid", "hardsigmoid", "hardswish", "hardtanh", "silu", "prelu", "pad"):
        handles[f"aten::{op}"] = _free
    return handles


def count_module(model: nn.Module, input_shape: tuple[int, ...], *, strict: bool = True) -> Costs:
    """Costs of any module by fvcore tracing (eval mode) with our handles.

    ``input_shape`` is ``(N, C, H, W)`` or ``(C, H, W)`` (batch 1). An op without a handle
    would silently count 0: with ``strict`` it raises ConstraintError naming the ops,
    otherwise it warns.
    """
    import torch

    if len(input_shape) == 3:
        input_shape = (1, *input_shape)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # fvcore scripts a loss at import, which torch 2.13 flags as deprecated.
            warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated")
            from fvcore.nn import FlopCountAnalysis

            analysis = FlopCountAnalysis(model, torch.zeros(input_shape))
            analysis.set_op_handle(**op_handles())
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            by_op = analysis.by_operator()
            unsupported = dict(analysis.unsupported_ops())
    finally:
        model.train(was_training)
    if unsupported:
        ops = ", ".join(f"{op} (x{n})" for op, n in sorted(unsupported.items()))
        message = f"cannot count the cost of ops without a handle: {ops}"
        if strict:
            raise ConstraintError(message, hint="add a handle in gensynth.constraints.costs")
        warnings.warn(message, stacklevel=2)
    total = int(sum(by_op.values()))
    conv_linear = int(sum(v for k, v in by_op.items() if k in _MATMUL_OPS))
    params = sum(p.numel() for p in model.parameters())
    return Costs(total, params, total - conv_linear)


def flop_counter_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Conv/linear MACs by PyTorch's ``FlopCounterMode`` (2 FLOPs per MAC), for cross-checks."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(input_shape))
    finally:
        model.train(was_training)
    flops = counter.get_total_flops()
    if flops % 2:
        raise ConstraintError(f"FlopCounterMode returned an odd FLOP count {flops}")
    return flops // 2
