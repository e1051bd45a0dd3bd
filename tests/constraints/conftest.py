"""One torch thread while these tests run (2 shared cores); the prototype test cases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The shared spec cases live beside the prototype tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "prototypes"))


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
