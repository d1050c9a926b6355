"""The build source: an image built FROM the project's base, labelled with its inputs hash,
rebuilt when an input changed (side_effect changed a build argument)."""

import pytest

PROBE = "molecule-images/probe:1"


def image_info(host, name: str) -> dict:
    result = host.ansible("community.docker.docker_image_info", f"name={name}", check=False)
    assert len(result["images"]) == 1, f"{name} is not on the engine"
    return result["images"][0]


def test_base_image_was_made_from_debian_packages(host):
    base = image_info(host, "devstack/base:bookworm")
    assert len(base["Config"]["Labels"]["org.devstack.inputs-hash"]) == 64


def test_probe_image_carries_its_inputs_hash(host):
    labels = image_info(host, PROBE)["Config"]["Labels"]
    assert labels["org.devstack.project"] == "devstack"
    assert len(labels["org.devstack.inputs-hash"]) == 64


@pytest.fixture()
def probe_output(host) -> str:
    result = host.ansible(
        "community.docker.docker_container",
        f"name=molecule-images-probe image={PROBE} detach=false cleanup=true output_logs=true",
        check=False,
    )
    return result["container"]["Output"]


def test_probe_image_was_rebuilt_when_a_build_argument_changed(probe_output):
    assert probe_output.strip() == "second"


def test_probe_image_is_built_on_the_project_base(host):
    probe = image_info(host, PROBE)
    base = image_info(host, "devstack/base:bookworm")
    assert base["RootFS"]["Layers"][0] == probe["RootFS"]["Layers"][0]
