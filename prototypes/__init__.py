"""gensynth.prototypes: design spaces, blocks, and the reference nets as specs."""

from __future__ import annotations

from gensynth.prototypes._spec import SPEC_TYPES, ArchSpec, Task, dump_spec, load_spec, spec_from_dict

__all__ = ["SPEC_TYPES", "ArchSpec", "Task", "dump_spec", "load_spec", "spec_from_dict"]
