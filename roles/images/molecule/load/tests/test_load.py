"""The `load` source as the team uses it against the Suzhou image server: the first run moves
the tarball once, a re-run moves nothing, a broken transfer resumes, a server that stalls
mid-transfer is cut by the timeout and the retry resumes, a corrupt tarball or a dead server
loads nothing, and the loaded image has the ID the server published."""

from __future__ import annotations

import json

import pytest

IMAGE = "molecule-images-load/payload:1"
PUBLISHED = "/var/lib/devstack/images/publish"
PARTIAL = 3 * 1024 * 1024
# rsync's delta matches whole blocks of the partial file (a few KiB each for these sizes).
BLOCK_SLACK = 64 * 1024
# The stall run's images_server_io_timeout (side_effect.yml), and ssh's ServerAlive limit
# (3 x images_server_timeout, 10 s): a try ended before this was ended by rsync's --timeout.
IO_TIMEOUT = 5
SERVER_ALIVE_LIMIT = 30


def read_json(host, path: str):
    return json.loads(host.file(path).content_string)


@pytest.fixture(scope="module")
def published_id(host) -> str:
    line = host.file(f"{PUBLISHED}/IMAGES").content_string.split("\n")[0]
    image_id, tarball, ref = line.split()
    assert ref == IMAGE
    return image_id


@pytest.fixture(scope="module")
def side_effect(host) -> dict:
    return read_json(host, "/root/side_effect.json")


def test_loaded_image_has_the_published_id(host, published_id):
    images = host.ansible("community.docker.docker_image_info", f"name={IMAGE}", check=False)["images"]
    assert [i["Id"] for i in images] == [published_id]


def test_server_publishes_checksums_that_sha256sum_accepts(host):
    result = host.run(f"cd {PUBLISHED} && sha256sum -c SHA256SUMS")
    assert result.rc == 0, result.stdout + result.stderr


def test_first_run_moved_the_tarball_once(host):
    (report,) = read_json(host, "/root/converge-transfer.json")
    assert report["files_transferred"] == 1
    assert report["file_size"] > 8 * 1024 * 1024
    assert report["literal_data"] == report["file_size"]  # every byte of the file was sent
    # Compressed on the link (zstd): the payload is random bytes, so only the tar framing shrinks.
    assert 0.95 * report["file_size"] <= report["bytes_received"] <= report["file_size"] + 64 * 1024


def test_rerun_with_the_image_present_transfers_nothing(side_effect):
    assert side_effect["rerun"]["report"] == []


def test_pull_of_a_present_image_does_not_pull(side_effect):
    assert side_effect["pull_present"] == {"changed": False, "calls": 0}


def test_reload_from_a_complete_local_copy_moves_no_file_data(side_effect):
    (report,) = side_effect["reload_local_copy"]["report"]
    assert report["files_transferred"] == 0
    assert report["literal_data"] == 0
    assert report["bytes_received"] < 4096


def test_broken_transfer_resumes_with_only_the_remainder(side_effect):
    # The 3 MiB a broken transfer left in <work dir>/partial are matched, not sent again.
    (report,) = side_effect["resume"]["report"]
    remainder = report["file_size"] - PARTIAL
    assert PARTIAL - BLOCK_SLACK < report["matched_data"] <= PARTIAL
    assert report["matched_data"] + report["literal_data"] == report["file_size"]
    # Compressed on the link, the random remainder is about its own size on the wire.
    assert 0.95 * remainder <= report["bytes_received"] < remainder + BLOCK_SLACK


def test_stalled_server_is_cut_by_the_timeout_and_the_retry_resumes(side_effect, published_id):
    # Issue 12: the server's rsync was stopped (SIGSTOP) mid-transfer, sshd and the link stayed up.
    stall = side_effect["stall"]
    watch = stall["watch"]
    (report,) = stall["report"]
    assert "error" not in watch, watch
    assert len(watch["stopped_pids"]) == 1
    # Stopped mid-way; what arrived was kept in the partial folder, not under the tarball's name.
    assert 0 < watch["size_at_stop"] <= watch["partial_size"] < report["file_size"]
    # The silent try was ended by rsync's --timeout, well before ssh's ServerAlive would have.
    assert IO_TIMEOUT - 1 <= watch["stall_seconds"] < SERVER_ALIVE_LIMIT - 5
    assert watch["stall_seconds"] <= watch["retry_seconds"]
    # Tried again, and the last try did not start from zero: the kept bytes were matched.
    assert report["attempts"] >= 2
    assert report["files_transferred"] == 1
    assert report["matched_data"] > watch["partial_size"] - BLOCK_SLACK
    assert report["matched_data"] + report["literal_data"] == report["file_size"]
    assert report["bytes_received"] < report["file_size"] - watch["partial_size"] + BLOCK_SLACK
    # The run finished with the published image, and rsync removed the partial file.
    assert stall["ids_after"] == [published_id]
    assert stall["partial_left"] == 0


def test_corrupt_tarball_fails_and_loads_nothing(side_effect):
    corrupt = side_effect["corrupt"]
    assert corrupt["failed"] is True
    assert "checksum mismatch" in corrupt["msg"]
    assert "SHA256SUMS" in corrupt["msg"]
    assert corrupt["images_after"] == 0
    assert corrupt["tarball_left"] is False


def test_unreachable_server_fails_clearly_and_loads_nothing(side_effect):
    unreachable = side_effect["unreachable"]
    assert unreachable["failed"] is True
    assert "images_server_host" in unreachable["msg"]
    assert "Nothing was loaded" in unreachable["msg"]
    assert unreachable["images_after"] == 0


def test_a_pinned_host_key_that_is_not_the_servers_fails_and_loads_nothing(side_effect):
    # The scenario pins the server's real key (molecule.yml), so every other run connects; this
    # run pinned another key, as a man in the middle would present.
    wrong = side_effect["wrong_host_key"]
    assert wrong["failed"] is True
    assert "images_server_host_key" in wrong["msg"]
    assert "Host key verification failed" in wrong["msg"]
    assert "Nothing was loaded" in wrong["msg"]
    assert wrong["images_after"] == 0


def test_a_sha256sums_the_publisher_did_not_sign_fails_and_loads_nothing(side_effect):
    """Checksums prove a tarball arrived whole; the signature proves the publishing host listed it."""
    unsigned = side_effect["unsigned"]
    assert unsigned["failed"] is True
    assert "SHA256SUMS on the image server has no good signature of images_signing_public_key" in unsigned["msg"]
    assert "Nothing was loaded" in unsigned["msg"]
    assert unsigned["images_after"] == 0


def test_a_sha256sums_read_that_never_ends_ends_the_run(side_effect):
    """The server's SHA256SUMS never ends (a FIFO): the run fails in bounded time, loads nothing."""
    endless = side_effect["endless"]
    assert endless["failed"] is True
    assert "cannot read /srv/images/SHA256SUMS" in endless["msg"] and "Nothing was loaded" in endless["msg"]
    assert endless["seconds"] < 60, endless  # images_server_io_timeout is 5 s here; no bound: for ever


def test_the_server_holds_signatures_of_the_publishing_hosts_key(host):
    public = host.file("/var/lib/devstack/images/image_signing_key.pub").content_string.split()[:2]
    line = 'devstack-images namespaces="devstack-images" ' + " ".join(public)
    allowed = host.run("printf '%%s\\n' %s > /tmp/allowed", line)
    assert allowed.rc == 0
    for name in ("SHA256SUMS", "IMAGES"):
        check = host.run(f"ssh-keygen -Y verify -f /tmp/allowed -I devstack-images -n devstack-images "
                         f"-s {PUBLISHED}/{name}.sig < {PUBLISHED}/{name}")
        assert check.rc == 0 and "Good" in check.stdout + check.stderr, check.stdout + check.stderr


def test_the_pinned_key_is_the_only_one_known_for_the_server(host):
    known = host.file("/var/lib/devstack/images/known_hosts").content_string.splitlines()
    assert len(known) == 1 and known[0].startswith("[127.0.0.1]:12222 ssh-ed25519 "), known


def test_image_id_is_checked_before_loading(side_effect):
    # Issue 12: the tarball's manifest is read before docker load, so the wrong image is never
    # tagged (before, it was loaded and tagged, and only then found wrong).
    wrong_pin = side_effect["wrong_pin"]
    assert wrong_pin["failed"] is True
    assert "expected sha256:" + "0" * 64 in wrong_pin["msg"]
    assert "Nothing was loaded and no tag was moved" in wrong_pin["msg"]
    assert wrong_pin["images_after"] == 0
