"""The search stops at the deadline it prints: the planned one, not the flag's."""

from __future__ import annotations

import dataclasses
import time

import pytest
from search_builders import tiny_spec

import gensynth.exploration as run
from gensynth.search.stop import StopSignal


@pytest.mark.parametrize("planned", [4321.0, None])
def test_the_search_deadline_is_the_sessions(tmp_path, tiny_data, monkeypatch, planned):
    real = run.open_session
    seen = {}

    def planning(spec, **kwargs):
        session = real(spec, **kwargs)
        session.spec = dataclasses.replace(session.spec, timeout_s=planned)
        return session

    def engine_run(session, events, stop):
        seen["deadline"] = stop.deadline
        seen["printed"] = session.spec.timeout_s
        return 0

    monkeypatch.setattr(run, "open_session", planning)
    spec = dataclasses.replace(tiny_spec(tmp_path, trials=1, final_epochs=0), timeout_s=7.0)
    engine = run.engine_for(spec)
    monkeypatch.setattr(engine, "run", engine_run)
    monkeypatch.setattr(run, "engine_for", lambda spec: engine)
    started = time.monotonic()
    run.explore(spec, data=tiny_data, baseline=False, stop=StopSignal(), finalize_winner=False)
    assert seen["printed"] == planned
    if planned is None:
        assert seen["deadline"] is None
    else:
        assert seen["deadline"] == pytest.approx(started + planned, abs=30)
