"""The images catalog's pull and load sources reject bad input before anything changes,
naming the variable: an unknown source, a malformed checksum or image ID pin, a tarball
name with a path, an image server that is missing or malformed."""

from __future__ import annotations

import json

import pytest
from conftest import playbook

LOAD = {"name": "x/y", "tag": "1", "source": "load"}
SERVER = {"images_server_host": "images.example.test", "images_server_trust": "accept-new"}
PINNED = {"images_server_host": "images.example.test"}  # images_server_trust: pinned, the default
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHwZ0DP3h3ZS8oL6LBnNVRdTZ9eiVdKYrdY8kN8Rqoxp"  # pragma: allowlist secret


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"images_catalog": [{"name": "x/y", "tag": "1", "source": "ftp"}]}, "source"),
        ({"images_catalog": [{**LOAD, "sha256": "abc123"}], **SERVER}, "sha256"),
        ({"images_catalog": [{**LOAD, "sha256": "G" * 64}], **SERVER}, "sha256"),
        ({"images_catalog": [{**LOAD, "image_id": "f" * 64}], **SERVER}, "image_id"),
        ({"images_catalog": [{"name": "x/y", "tag": "1", "source": "pull", "image_id": "sha256:123"}]}, "image_id"),
        ({"images_catalog": [{**LOAD, "file": "../../etc/shadow"}], **SERVER}, "file"),
        ({"images_catalog": [LOAD]}, "images_server_host"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_port": 70000}, "images_server_port"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_path": "relative/dir"}, "images_server_path"),
        ({"images_catalog": [], "images_work_dir": "/var"}, "images_work_dir"),
        ({"images_catalog": [], "images_base_security_mirror": "ftp://security"}, "images_base_security_mirror"),
        ({"images_catalog": [], "images_refresh": "next week"}, "images_refresh"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_retries": -1}, "images_server_retries"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_retry_delay": "soon"}, "images_server_retry_delay"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_rsync_options": ["/etc/passwd"]},
         "images_server_rsync_options"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_rsync_options": ["--rsync-path=/tmp/evil"]},
         "images_server_rsync_options"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_rsync_options": ["--rsh=/bin/sh"]},
         "images_server_rsync_options"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_rsync_options": ["--remove-source-files"]},
         "images_server_rsync_options"),
        ({"images_catalog": [LOAD], **SERVER, "images_server_compress": "brotli"}, "images_server_compress"),
    ],
    ids=["unknown-source", "short-sha256", "non-hex-sha256", "image-id-without-prefix", "pull-bad-image-id",
         "file-with-path", "no-server", "server-port", "server-path", "work-dir-var", "security-mirror-ftp",
         "refresh-with-space", "negative-retries", "retry-delay-word", "rsync-option-path", "rsync-path",
         "rsync-rsh", "rsync-remove-source", "compress-unknown"],
)
def test_images_rejects_bad_pull_and_load_input(docker_client, extra, named):
    result = playbook("playbooks/images.yml", "-e", json.dumps(extra))
    assert result.returncode != 0
    assert named in result.output
    assert result.recap()["localhost"]["changed"] == 0
    assert docker_client.images.list(name="x/y") == []


def test_publish_needs_an_image_server():
    result = playbook("playbooks/publish_images.yml", "-e", json.dumps({"images_catalog": []}))
    assert result.returncode != 0
    assert "images_server_host" in result.output
    assert result.recap()["localhost"]["changed"] == 0


@pytest.mark.parametrize(
    "extra",
    [{"images_signing_public_key": HOST_KEY}, {"images_server_host_key": HOST_KEY},
     {"images_server_host_key": HOST_KEY, "images_signing_public_key": "not a key"}],
    ids=["pinned-without-host-key", "pinned-without-signing-key", "signing-key-malformed"],
)
def test_a_pinned_image_server_needs_its_host_key_and_the_publishers_signing_key(extra):
    """images_server_trust: pinned (the default): refused before anything is asked or changed."""
    result = playbook("playbooks/images.yml", "-e", json.dumps({"images_catalog": [LOAD], **PINNED, **extra}))
    assert result.returncode != 0
    assert "With images_server_trust=pinned" in result.output and "must be given" in result.output, result.output[-2000:]
    assert result.recap()["localhost"]["changed"] == 0
