"""Two inventory entries on one engine (a second developer's stack on a shared host): when the
images stage of one puts an image on the engine, the other entry drops the listing taken before
it too, so its service stage does not plan from image IDs that are gone."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import docker
from conftest import ROOT, playbook

REPORT = """
- name: The listing each entry keeps after the images stage
  hosts: docker_hosts
  gather_facts: false
  tasks:
    - name: Said
      ansible.builtin.debug:
        msg: "LISTING {{ inventory_hostname }} {{ service_host_info | default({}) | length }}"
"""


def test_every_entry_on_the_engine_drops_the_listing_when_one_put_an_image_there(tmp_path: Path):
    tag = uuid.uuid4().hex[:8]
    image = f"pytest-shared-engine/tiny:{tag}"
    context = tmp_path / "tiny"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG BASE_IMAGE=debian:bookworm\nFROM ${BASE_IMAGE}\nLABEL org.devstack.test=shared-engine\n")
    listing = {"containers": [], "images": [], "networks": [], "volumes": []}
    entry = {"ansible_connection": "local", "ansible_host": "127.0.0.1",
             "ansible_python_interpreter": sys.executable, "service_host_info": listing}
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps({"all": {"children": {"docker_hosts": {"hosts": {
        # The host's own entry builds an image; alice's entry has none of its own (images_catalog: []).
        "shared-owner": {**entry, "images_catalog": [{"name": "pytest-shared-engine/tiny", "tag": tag,
                                                      "source": "build", "context": str(context)}]},
        "shared-alice": {**entry, "images_catalog": []}}}}}}))
    play = tmp_path / "play.yml"
    play.write_text(f"- name: Images\n  ansible.builtin.import_playbook: {ROOT}/playbooks/images.yml\n{REPORT}")
    try:
        result = playbook("-i", inventory, play)
        assert result.returncode == 0, result.output[-3000:]
        assert result.recap()["shared-owner"]["changed"] > 0  # the image was built
        assert "LISTING shared-owner 0" in result.output, result.output[-3000:]
        assert "LISTING shared-alice 0" in result.output, result.output[-3000:]
    finally:
        # The build context the role copied into its work folder (images_work_dir's default).
        shutil.rmtree("/var/lib/devstack/images/context/pytest-shared-engine_tiny", ignore_errors=True)
        try:
            docker.from_env().images.remove(image, force=True)
        except docker.errors.ImageNotFound:
            pass
