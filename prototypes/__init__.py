"""gensynth.prototypes: design spaces, blocks, and the reference nets as specs.

A spec (:class:`ArchSpec`) is a frozen dataclass per prototype: the single source of truth for
a network. It round-trips through YAML, names the field path of any bad value, has a stable
``spec_hash``, a one-line ``describe()``, ``scale_width(m)`` (widths to multiples of 8, at
least 8; costs monotone in ``m``) and ``build()``.

Probing contract (the inquisitor relies on it). Every built model has:

- ``model.stage_names() -> list[str]``: ``stage0..stageK`` (``residual``), ``enc0..encL-1``
  then ``dec0..decL-2`` (``residual-unet``); the same list as ``spec.stage_names()``;
- ``model.stage(name) -> nn.Module``: the module of that stage;
- every block whose output is ``post_act(shortcut(x) + branch(x))`` is an instance of
  :class:`gensynth.prototypes.blocks.ResidualBlock` with a boolean ``branch_enabled``
  (default True); when False the block returns ``post_act(shortcut(x))``: its residual
  branch is zeroed. Every block (residual or :class:`~gensynth.prototypes.blocks.PlainBlock`)
  has ``stage_name``, the stage it belongs to (``stem`` for an A-Net stem block).

Mutations read the inquisitor's ``insights``: stage name -> ``{"sensitivity": float,
"dead_fraction": float, "energy": float}`` (see :mod:`gensynth.prototypes.mutations`).

Importing this package does not import torch; ``build()`` and ``blocks`` do.
"""

from __future__ import annotations

from gensynth.prototypes._spec import (
    SPEC_TYPES,
    ArchSpec,
    Task,
    dump_spec,
    load_spec,
    spec_from_dict,
)
from gensynth.prototypes.mutations import (
    MUTATIONS,
    Insights,
    MutationOperator,
    list_mutations,
    mutate,
)
from gensynth.prototypes.references import (
    Reference,
    get_reference,
    list_references,
    reference_spec,
)
from gensynth.prototypes.residual import ResidualSpec, StageSpec, StemSpec
from gensynth.prototypes.space import PROTOTYPES, Prototype, get_prototype, list_prototypes
from gensynth.prototypes.unet import DecoderLevel, EncoderLevel, ResidualUNetSpec, UNetStemSpec

__all__ = [
    "MUTATIONS",
    "PROTOTYPES",
    "SPEC_TYPES",
    "ArchSpec",
    "DecoderLevel",
    "EncoderLevel",
    "Insights",
    "MutationOperator",
    "Prototype",
    "Reference",
    "ResidualSpec",
    "ResidualUNetSpec",
    "StageSpec",
    "StemSpec",
    "Task",
    "UNetStemSpec",
    "dump_spec",
    "get_prototype",
    "get_reference",
    "list_mutations",
    "list_prototypes",
    "list_references",
    "load_spec",
    "mutate",
    "reference_spec",
    "spec_from_dict",
]
