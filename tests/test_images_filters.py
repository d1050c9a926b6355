"""Unit tests of the images role's filter plugins (what load.yml and publish.yml compute)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("images_load", ROOT / "roles/images/filter_plugins/images_load.py")
images_load = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(images_load)

A = "a" * 64
B = "b" * 64
C = "c" * 64
RSYNC = """
Number of files: 1 (reg: 1)
Number of created files: 0
Number of regular files transferred: 1
Total file size: 8399872 bytes
Total transferred file size: 8399872 bytes
Literal data: 5255534 bytes
Matched data: 0 bytes
Total bytes sent: 43
Total bytes received: 5256886

sent 43 bytes  received 5256886 bytes  1502000.86 bytes/sec
"""


def test_tarball_name_is_one_rule():
    assert images_load.images_tarball_name("devstack/samba:4.17") == "devstack_samba_4.17.tar"


def test_present_ids_by_tag():
    images = [{"Id": "sha256:" + A, "RepoTags": ["devstack/web:latest", "web:1"]}, {"Id": "sha256:" + B, "RepoTags": None}]
    assert images_load.images_present_ids(images) == {"devstack/web:latest": "sha256:" + A, "web:1": "sha256:" + A}


def test_present_labels_by_tag_for_one_call_over_every_image():
    images = [{"RepoTags": ["devstack/web:latest"], "Config": {"Labels": {"org.devstack.inputs-hash": "abc"}}},
              {"RepoTags": ["devstack/base:bookworm"], "Config": {"Labels": None}},
              {"RepoTags": None, "Config": {}}]
    assert images_load.images_present_labels(images) == {"devstack/web:latest": "abc", "devstack/base:bookworm": ""}


def test_present_labels_read_docker_host_info_listing_too():
    listed = [{"Id": "sha256:" + A, "RepoTags": ["devstack/web:latest"], "Labels": {"org.devstack.inputs-hash": "abc"}},
              {"Id": "sha256:" + B, "RepoTags": ["devstack/base:bookworm", "b:1"], "Labels": None},
              {"Id": "sha256:" + C, "RepoTags": [], "Labels": {"org.devstack.inputs-hash": "dangling"}}]
    assert images_load.images_present_labels(listed) == {"devstack/web:latest": "abc", "devstack/base:bookworm": "", "b:1": ""}


def test_load_plan_reads_both_manifests_and_keeps_pins():
    lines = [f"{A}  devstack_redis_7.tar", f"{B} *devstack_web_latest.tar",
             f"sha256:{B}  devstack_redis_7.tar  devstack/redis:7", "garbage", ""]
    entries = [{"name": "devstack/redis", "tag": "7", "source": "load"},
               {"name": "devstack/web", "tag": "latest", "source": "load", "image_id": "sha256:" + A}]
    plan = images_load.images_load_plan(entries, lines, {"devstack/web:latest": "sha256:" + A})
    assert [(p["ref"], p["file"], p["expected_id"], p["server_sha256"], p["present_id"], p["todo"]) for p in plan] == [
        ("devstack/redis:7", "devstack_redis_7.tar", "sha256:" + B, A, "", True),
        ("devstack/web:latest", "devstack_web_latest.tar", "sha256:" + A, B, "sha256:" + A, False),
    ]


def test_load_plan_without_a_manifest_leaves_unknowns_empty():
    plan = images_load.images_load_plan([{"name": "x/y", "tag": "1"}], None, {})
    assert plan[0]["expected_id"] == "" and plan[0]["server_sha256"] == ""


def test_rsync_stats_of_a_resumed_transfer():
    assert images_load.images_rsync_stats(RSYNC) == {
        "file_size": 8399872, "files_transferred": 1, "literal_data": 5255534, "bytes_received": 5256886,
        "bytes_sent": 43}
    assert images_load.images_rsync_stats("") == {
        "file_size": 0, "files_transferred": 0, "literal_data": 0, "bytes_received": 0, "bytes_sent": 0}


def test_transfer_report_names_the_image():
    result = {"images_item": {"ref": "devstack/redis:7", "file": "devstack_redis_7.tar"}, "stdout": RSYNC}
    report = images_load.images_transfer_report(result)
    assert (report["image"], report["file"], report["bytes_received"]) == ("devstack/redis:7", "devstack_redis_7.tar", 5256886)


def test_publish_refs_default_to_the_build_entries():
    selected = [{"name": "devstack/redis", "tag": 7, "source": "build"}, {"name": "x/y", "tag": "1", "source": "load"}]
    assert images_load.images_publish_refs([], selected) == [{"ref": "devstack/redis:7", "file": "devstack_redis_7.tar"}]
    assert images_load.images_publish_refs(["a/b:2"], selected) == [{"ref": "a/b:2", "file": "a_b_2.tar"}]


def test_only_missing_or_differently_pinned_images_are_pulled():
    listed = [{"Id": "sha256:" + A, "RepoTags": ["devstack/redis:7"]}, {"Id": "sha256:" + B, "RepoTags": ["devstack/web:1"]}]
    entries = [{"name": "devstack/redis", "tag": "7", "image_id": "sha256:" + A},   # present as pinned
               {"name": "devstack/web", "tag": 1},                                  # present, no pin
               {"name": "devstack/web", "tag": 2},                                  # missing
               {"name": "devstack/samba", "tag": "4", "image_id": "sha256:" + C}]   # missing, pinned
    moved = [{"name": "devstack/redis", "tag": "7", "image_id": "sha256:" + B}]     # present, another ID
    assert images_load.images_to_pull(entries, listed) == entries[2:]
    assert images_load.images_to_pull(moved, listed) == moved


def test_tarball_problem_reads_the_image_id_from_the_manifest_before_loading():
    problem = images_load.images_tarball_problem
    entry = {"expected_id": f"sha256:{A}"}
    docker_format = f'[{{"Config":"{A}.json","RepoTags":["x/y:1"],"Layers":["l/layer.tar"]}}]'
    oci_format = f'[{{"Config":"blobs/sha256/{A}","RepoTags":["x/y:1"],"Layers":[]}}]'
    assert problem(docker_format, entry) == "" and problem(oci_format, entry) == ""
    assert problem(docker_format, {"expected_id": f"sha256:{B}"}) == f"it holds image sha256:{A}, expected sha256:{B}"
    two = f'[{{"Config":"{A}.json"}},{{"Config":"{B}.json"}}]'
    assert problem(two, entry) == "it holds 2 images, not one"
    assert "not JSON" in problem("", entry) and "not JSON" in problem("tar: manifest.json: Not found", entry)
    assert "names no image config" in problem('[{"Config":"../../etc/passwd"}]', entry)


def test_publishing_a_subset_keeps_the_other_tarballs_of_the_folder_listed():
    old_sum, new_sum, other_sum = "a" * 64, "b" * 64, "c" * 64
    old_id, new_id, other_id = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64
    folder = ["file devstack_redis_7.tar", "file devstack_web_latest.tar",
              f"sum {old_sum}  devstack_redis_7.tar", f"sum {other_sum}  devstack_web_latest.tar",
              f"sum {'d' * 64}  gone_1.tar",  # listed before, no longer in the folder: not listed again
              f"image {old_id}  devstack_redis_7.tar  devstack/redis:7",
              f"image {other_id}  devstack_web_latest.tar  devstack/web:latest"]
    now = [{"images_item": {"ref": "devstack/redis:7", "file": "devstack_redis_7.tar"}, "stat": {"checksum": new_sum}}]
    manifest = images_load.images_publish_manifest(folder, now, {"devstack/redis:7": new_id})
    assert manifest["SHA256SUMS"] == f"{new_sum}  devstack_redis_7.tar\n{other_sum}  devstack_web_latest.tar\n"
    assert manifest["IMAGES"] == (f"{new_id}  devstack_redis_7.tar  devstack/redis:7\n"
                                  f"{other_id}  devstack_web_latest.tar  devstack/web:latest\n")
    # What a host then plans from the server's files: the other image is still listed.
    lines = (manifest["SHA256SUMS"] + manifest["IMAGES"]).splitlines()
    plan = images_load.images_load_plan([{"name": "devstack/web", "tag": "latest", "source": "load"}], lines, {})
    assert plan[0]["expected_id"] == other_id and plan[0]["server_sha256"] == other_sum


def test_a_first_publish_lists_what_it_published():
    now = [{"images_item": {"ref": "a/b:1", "file": "a_b_1.tar"}, "stat": {"checksum": "e" * 64}}]
    manifest = images_load.images_publish_manifest([], now, {"a/b:1": "sha256:" + "4" * 64})
    assert manifest == {"SHA256SUMS": f"{'e' * 64}  a_b_1.tar\n", "IMAGES": f"sha256:{'4' * 64}  a_b_1.tar  a/b:1\n"}


def test_an_images_age_is_read_from_either_listing_and_missing_is_minus_one():
    now = 1_800_000_000.0
    inspected = [{"RepoTags": ["devstack/base:bookworm"], "Created": "2027-01-01T00:00:00.123456789Z"}]
    listed = [{"RepoTags": ["devstack/base:bookworm"], "Created": int(now) - 31 * 86400 - 5}]
    created = 1_798_761_600.0  # 2027-01-01T00:00:00Z
    assert images_load.images_age_days(inspected, "devstack/base:bookworm", now) == int((now - created) // 86400)
    assert images_load.images_age_days(listed, "devstack/base:bookworm", now) == 31
    assert images_load.images_age_days(listed, "devstack/web:latest", now) == -1
