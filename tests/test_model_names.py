"""A model's name comes from its registration alone, and a saved model loads in a fresh process.

The fresh processes matter: a test process has imported the registry and every model, so a
name that only appears once something has loaded the registry would go unseen here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import graphae
from graphae import GAE, load, register_model, unregister_model
from graphae.errors import InputError
from graphae.modelnames import BUILTIN
from graphae.models.heuristics import AdamicAdar

SRC = Path(graphae.__file__).resolve().parents[1]

# Fits, in a process that imports nothing but each model's own module, and saves under ROOT/NAME.
FIT_AND_SAVE = """
import importlib, json, sys

root, table = sys.argv[1], json.loads(sys.argv[2])
graph = None
for name, target in table.items():
    module, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    if graph is None:
        from graphae.data import make_communities
        graph = make_communities(num_nodes=40, num_communities=2, num_features=8, random_state=0)
    assert cls.model_name == name, (cls, cls.model_name, name)
    quick = {"epochs": 1, "device": "cpu", "random_state": 0}
    est = cls(**{k: v for k, v in quick.items() if k in cls._get_param_names()})
    est.fit(graph).save(f"{root}/{name}")
    print(name, flush=True)
"""

# Loads every folder with graphae.load, in another fresh process, and scores a pair.
LOAD = """
import json, sys
import graphae

root, table = sys.argv[1], json.loads(sys.argv[2])
for name, target in table.items():
    model = graphae.load(f"{root}/{name}")
    assert f"{type(model).__module__}:{type(model).__name__}" == target, (name, type(model))
    assert model.model_name == name
    assert model.predict_proba([(0, 1)]).shape == (1,)
    print(name, flush=True)
"""


def _run(script: str, *args: str, path: tuple[str, ...] = ()) -> list[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *path, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_every_builtin_model_fits_saves_and_loads_in_fresh_processes(tmp_path):
    table = json.dumps(BUILTIN)
    assert _run(FIT_AND_SAVE, str(tmp_path), table) == list(BUILTIN)
    for name in BUILTIN:
        assert json.loads((tmp_path / name / "metadata.json").read_text())["model"] == name
    assert _run(LOAD, str(tmp_path), table) == list(BUILTIN)


# One model alone: imports its class, fits and saves; neither the registry nor another model is imported.
FIT_ONE = """
import importlib, sys

folder, name, target = sys.argv[1:]
module, cls_name = target.split(":")
cls = getattr(importlib.import_module(module), cls_name)
from graphae.data import make_communities

graph = make_communities(num_nodes=40, num_communities=2, num_features=8, random_state=0)
quick = {"epochs": 1, "device": "cpu", "random_state": 0}
cls(**{k: v for k, v in quick.items() if k in cls._get_param_names()}).fit(graph).save(folder)
models = {m for m in sys.modules if m.startswith("graphae.models.")}
assert "graphae.registry" not in sys.modules and models <= {module, "graphae.models.gae", "graphae.models.heuristics"}, models
"""

# Then graphae.load of every folder, in one more fresh process: each saved name finds its class.
LOAD_ALL = LOAD + 'assert "graphae.registry" not in sys.modules\n'


@pytest.mark.slow  # a fresh process per built-in model, each importing torch
def test_each_model_alone_fits_and_saves_and_graphae_load_loads_it_in_another_process(tmp_path):
    """Issue 20: each model in a process that imports only its own class (not graphae.registry)."""
    for name, target in BUILTIN.items():
        _run(FIT_ONE, str(tmp_path / name), name, target)
        assert json.loads((tmp_path / name / "metadata.json").read_text())["model"] == name
    assert _run(LOAD_ALL, str(tmp_path), json.dumps(BUILTIN)) == list(BUILTIN)


@pytest.mark.slow  # two fresh processes
def test_an_installed_packages_model_alone_fits_saves_and_loads_in_fresh_processes(tmp_path):
    """An entry point (group graphae.models) names its model before anything lists the models."""
    packages = tmp_path / "site"
    (packages / "tempered_pkg-1.0.dist-info").mkdir(parents=True)
    (packages / "tempered_pkg.py").write_text(
        "from graphae import GAE\n\nclass InstalledGAE(GAE):\n    pass\n"
    )
    (packages / "tempered_pkg-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tempered-pkg\nVersion: 1.0\n"
    )
    (packages / "tempered_pkg-1.0.dist-info" / "entry_points.txt").write_text(
        "[graphae.models]\ninstalled_gae = tempered_pkg:InstalledGAE\n"
    )
    table = {"installed_gae": "tempered_pkg:InstalledGAE"}
    _run(
        FIT_ONE,
        str(tmp_path / "installed_gae"),
        "installed_gae",
        table["installed_gae"],
        path=(str(packages),),
    )
    assert _run(LOAD_ALL, str(tmp_path), json.dumps(table), path=(str(packages),)) == ["installed_gae"]


def test_the_name_is_the_registered_one_and_is_not_inherited():
    assert AdamicAdar.model_name == AdamicAdar().model_name == "adamic_adar"

    class MyGAE(GAE):
        pass

    assert GAE.model_name == "gae" and MyGAE.model_name == ""
    register_model("my_gae", MyGAE)
    try:
        assert MyGAE.model_name == MyGAE().model_name == "my_gae" and GAE.model_name == "gae"
    finally:
        unregister_model("my_gae")
    assert MyGAE.model_name == ""


def test_an_unregistered_class_is_not_saved_under_its_parents_name(tmp_path):
    class MyAdamicAdar(AdamicAdar):
        pass

    fitted = MyAdamicAdar().fit(graphae.Graph.from_edges([[0, 1], [1, 2]]))
    with pytest.raises(InputError, match=r"A MyAdamicAdar cannot be saved: its class is not registered"):
        fitted.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()
    register_model("my_adamic_adar", MyAdamicAdar)
    try:
        fitted.save(tmp_path / "m")
        assert type(load(tmp_path / "m")) is MyAdamicAdar
    finally:
        unregister_model("my_adamic_adar")


def test_a_class_that_states_another_name_is_refused_at_registration():
    class Named(GAE):
        model_name = "named"

    with pytest.raises(InputError, match=r"Named.model_name is 'named', but it is registered as 'other'"):
        register_model("other", Named)
    assert "other" not in graphae.model_names()
    register_model("named", Named)  # the same name: nothing disagrees
    try:
        assert Named.model_name == "named"
    finally:
        unregister_model("named")
