from __future__ import annotations

import pytest

from gensynth.paths import write_atomically


def test_writes_text_and_bytes_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "a.csv"
    write_atomically(target, "x,y\n")
    write_atomically(tmp_path / "b.bin", b"\x00\x01")
    assert target.read_text() == "x,y\n" and (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.csv", "b.bin"]


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")

    def broken(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("gensynth.paths.os.replace", broken)
    with pytest.raises(OSError):
        write_atomically(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
