"""Unit tests of roles/images/filter_plugins/images_catalog.py: the catalog's checks, one
message per malformed entry naming it (run end to end by tests/test_bad_input.py and
tests/test_images_input.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("images_catalog", ROOT / "roles" / "images" / "filter_plugins" / "images_catalog.py")
catalog = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(catalog)
PIN = "sha256:" + "a" * 64


def test_the_shipped_catalog_and_the_tests_catalog_are_well_formed():
    # As Ansible templates them: the namespace, and the tests' contexts beside playbooks/.
    text = ((ROOT / "roles" / "images" / "defaults" / "main.yml").read_text()
            .replace("{{ images_namespace }}", "devstack"))
    shipped = yaml.safe_load(text)["images_catalog"]
    tests = yaml.safe_load((ROOT / "molecule" / "shared" / "images.yml").read_text()
                           .replace("{{ playbook_dir }}", str(ROOT / "playbooks")))["images_catalog_extra"]
    assert len(shipped) >= 4 and catalog.images_catalog_problems(shipped + tests) == []


def test_defaults_are_added_and_an_entrys_own_args_kept():
    assert catalog.images_catalog_entries([{"name": "a", "args": {"X": "1"}}, {"name": "b"}]) == [
        {"name": "a", "args": {"X": "1"}}, {"name": "b", "args": {}}]


@pytest.mark.parametrize("entry, said", [
    ({"name": "Bad Name", "tag": "1", "source": "pull"}, "entry Bad Name: needs a name"),
    ({"tag": "1", "source": "pull"}, "entry (no name): needs a name"),
    ({"name": "x/y", "tag": "1", "source": "ftp"}, "(got ftp)"),
    ({"name": "x/y", "tag": "-1", "source": "pull"}, "entry x/y: needs a name"),
    ({"name": "x/y", "tag": "1", "source": "build", "context": "nowhere"}, "looked for at "),
    ({"name": "x/y", "tag": "1", "source": "pull", "args": []}, "args must be a mapping"),
    ({"name": "x/y", "tag": "1", "source": "pull", "image_id": "f" * 64}, "entry x/y: image_id must be"),
    ({"name": "x/y", "tag": "1", "source": "load", "sha256": "abc"}, "(got abc)"),
    ({"name": "x/y", "tag": "1", "source": "load", "file": "../etc/shadow"}, "(got ../etc/shadow)"),
    ("x/y:1", "must be a mapping"),
])
def test_a_malformed_entry_is_named_with_what_is_wrong(entry, said):
    good = {"name": "ok/fine", "tag": "1", "source": "pull", "image_id": PIN}
    problems = catalog.images_catalog_problems([good, entry, good])
    assert len(problems) == 1 and said in problems[0], problems


def test_a_build_context_is_a_folder_with_a_dockerfile(tmp_path):
    (tmp_path / "ctx").mkdir()
    entry = {"name": "x/y", "tag": "1", "source": "build", "context": "ctx"}
    assert catalog.images_catalog_problems([entry], str(tmp_path)) != []
    (tmp_path / "ctx" / "Dockerfile").write_text("FROM scratch\n")
    assert catalog.images_catalog_problems([entry], str(tmp_path)) == []
    assert catalog.images_catalog_problems([{**entry, "context": str(tmp_path / "ctx")}], "/nonexistent") == []
    assert "must be lists" in catalog.images_catalog_problems("x", str(tmp_path))[0]
