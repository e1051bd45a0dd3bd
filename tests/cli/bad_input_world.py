"""The files the bad-input suite points its commands at, made once per session.

Everything lives in one folder that another user can read (the permission cases run as
``nobody``): tiny data sets at 32 px, specs, model folders, a study, journals and configs.
:func:`build_world` returns the placeholders the cases use, e.g. ``{data}`` or ``{model}``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
from PIL import Image

#: Passwords the storage cases type; no output may ever hold them, or a part of them.
SECRETS = ("s3cretPW", "s3cret", "PWtail", "qu3rySecret")

TINY_SPEC = """\
prototype: residual
in_channels: 1
input_size: 32
num_classes: 6
stem: {width: 8, kernel: 3, stride: 2, pool: false}
stages:
- {block: basic, width: 8, depth: 1, stride: 2, kernel: 3, expansion: 1.0, se: false}
act: relu
"""


def _data_sets(root: Path) -> dict[str, Path]:
    from gensynth.data import synthesize

    data = synthesize(root / "data", per_class=4, size=32).out
    seg = synthesize(root / "seg", task="segment", per_class=4, size=32).out
    bad_data = root / "bad_data"
    shutil.copytree(data, bad_data)
    path = bad_data / "Cr_2.bmp"
    path.write_bytes(path.read_bytes()[:100])  # a truncated copy
    bad_seg = root / "bad_seg"
    shutil.copytree(seg, bad_seg)
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(bad_seg / "Ground truth" / "In_1.png")
    one_class = root / "one_class"
    one_class.mkdir()
    for image in sorted(data.glob("Cr_*.bmp")):
        shutil.copy(image, one_class / image.name)
    lone = root / "lone" / "scratch"
    lone.mkdir(parents=True)
    classes = root / "classes"
    for k, name in enumerate(("a", "b")):
        (classes / name).mkdir(parents=True)
        for i in range(4):
            image = Image.fromarray(np.full((32, 32), 40 * i + k, np.uint8))
            image.save(classes / name / f"{i}.png")
            image.save(lone / f"{name}{i}.png")
    (root / "empty_dir" / "sub").mkdir(parents=True)
    (root / "no_layout").mkdir()
    (root / "no_layout" / "readme.txt").write_text("no images here\n")
    return {"data": data, "seg": seg, "bad_data": bad_data, "bad_seg": bad_seg,
            "one_class": one_class, "lone": lone.parent, "classes": classes,
            "empty_dir": root / "empty_dir", "no_layout": root / "no_layout"}  # fmt: skip


def _files(root: Path) -> dict[str, Path]:
    texts = {
        "file": "a plain file\n",
        "spec": TINY_SPEC,
        "spec16": TINY_SPEC.replace("input_size: 32", "input_size: 16"),
        "spec_unknown_key": TINY_SPEC.replace("width: 8, depth", "widht: 8, depth"),
        "spec_invalid_yaml": "prototype: residual\nstages: [\n",
        "spec_empty": "",
        "cfg_empty": "# nothing yet\n",
        "cfg_bad_value": "tolerance: lots\n",
        "cfg_unknown_key": "flopz: 100M\n",
        "cfg_list": "- flops\n- 100M\n",
        "cfg_invalid_yaml": "flops: [100M\n",
        "garbage_log": "\xff\xfe\x00\x7f garbage bytes\n",
        "nonjson_log": "not json at all\n",
        "entry_log": json.dumps({"study": "x"}) + "\n",
        "not_a_db": "SQLite? no, a text file\n" * 50,
    }
    paths = {}
    for name, text in texts.items():
        suffix = ".log" if name.endswith("_log") else ".db" if name == "not_a_db" else ".yaml"
        paths[name] = root / f"{name}{suffix if name != 'file' else '.txt'}"
        paths[name].write_bytes(text.encode("latin-1"))
    return paths


def _models(root: Path, data: Path) -> dict[str, Path]:
    from gensynth.modeldir import SPEC_FILE, WEIGHTS_FILE, save_model_dir
    from gensynth.prototypes import load_spec

    spec = load_spec(root / "spec.yaml")
    metrics = {"data": {"source": str(data)}, "seed": 0}
    model = save_model_dir(root / "model", spec, spec.build(), metrics)
    edited = shutil.copytree(model, root / "model_edited")
    text = (edited / SPEC_FILE).read_text()
    (edited / SPEC_FILE).write_text(text.replace("act: relu", "act: silu"))
    corrupt = shutil.copytree(model, root / "model_corrupt")
    (corrupt / WEIGHTS_FILE).write_bytes(b"\x80\x04 not a safetensors file")
    no_weights = shutil.copytree(model, root / "model_no_weights")
    (no_weights / WEIGHTS_FILE).unlink()
    users = root / "out_with_model" / "best"
    users.mkdir(parents=True)
    (users / WEIGHTS_FILE).write_bytes(b"the user's own weights")
    (users / "notes.txt").write_text("keep me\n")
    return {"model": model, "model_edited": edited, "model_corrupt": corrupt,
            "model_no_weights": no_weights, "out_with_model": users.parent}  # fmt: skip


def _study(root: Path) -> Path:
    """A gensynth-like study 'tiny' with one trained trial and one failed, made by hand."""
    import optuna
    import yaml

    from gensynth.studies.records import Attr
    from gensynth.studies.study import SPEC_KEY

    path = root / "study.db"
    study = optuna.create_study(study_name="tiny", storage=f"sqlite:///{path}")
    study.set_user_attr(SPEC_KEY, {"task": "classify", "prototype": "residual",
                                   "flops": 2_000_000, "objectives": ["netscore"]})  # fmt: skip
    trial = study.ask()
    attrs = {Attr.SPEC: yaml.safe_load(TINY_SPEC), Attr.FEASIBLE: True, Attr.MACS: 97_000,
             Attr.PARAMS: 1_400, Attr.METRIC: 50.0, Attr.METRIC_NAME: "accuracy",
             Attr.NETSCORE: 80.0, Attr.ORIGIN: "sample"}  # fmt: skip
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    study.tell(trial, 80.0)
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    return path


def build_world(root: Path) -> dict[str, str]:
    """Make every fixture under ``root`` (readable by all); placeholder name -> path."""
    paths: dict[str, Path] = {}
    paths.update(_data_sets(root))
    paths.update(_files(root))
    paths.update(_models(root, paths["data"]))
    paths["study_db"] = _study(root)
    for shared in ("cache", "home", "cases"):
        (root / shared).mkdir()
    paths["ro"] = root / "ro"
    paths["ro"].mkdir()
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            Path(folder, name).chmod(0o755)
        for name in files:
            Path(folder, name).chmod(0o644)
    for shared in ("cache", "home", "cases"):
        (root / shared).chmod(0o777)
    paths["ro"].chmod(0o555)
    root.chmod(0o755)
    return {name: str(path) for name, path in paths.items()}


def snapshot(root: Path, skip: tuple[str, ...] = ("cache", "home", "cases")) -> dict[str, str]:
    """Every file under ``root`` (but the shared scratch folders) -> its sha256."""
    found = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == root:
            dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(folder, name)
            if stat.S_ISREG(path.lstat().st_mode):
                found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found
