"""Filters of the images role: what the `load` source and publish_images.yml compute.

- images_tarball_name('devstack/samba:4.17') -> 'devstack_samba_4.17.tar' (one rule for the
  publisher and the loader)
- images_present_ids(docker_image_info.images) -> {'name:tag': 'sha256:...'}
- images_age_days(images, 'name:tag') -> whole days since that image was built (docker_image_info's
  ISO `Created` or the engine listing's epoch seconds); -1 when it is not there
- images_load_plan(entries, manifest_lines, present) -> each `load` entry with ref, file,
  expected_id (its pin, else the server's IMAGES), server_sha256 (SHA256SUMS) and present_id
- images_rsync_stats(rsync --stats output) -> {file_size, files_transferred, literal_data,
  bytes_received, bytes_sent}; images_transfer_report(one rsync loop result) -> the same with image,
  file, matched_data (bytes a resumed try took from the partial file) and attempts (tries it took)
- images_publish_refs(images_publish, selected entries) -> [{ref, file}] to publish
- images_publish_manifest(folder lines, published) -> {SHA256SUMS, IMAGES} texts: this run's
  tarballs, and every earlier one still in the publish folder (a subset keeps the others listed)
- images_tarball_problem(manifest.json text of a `docker save` tarball, entry) -> '' when the
  tarball holds exactly one image, with the expected ID, else what is wrong (read before loading)
"""

from __future__ import annotations

import json
import posixpath
import re
import time
from datetime import datetime
from typing import Any

SHA256 = re.compile(r"^[0-9a-f]{64}$")
IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
STAT = re.compile(r"^([A-Za-z ]+): ([0-9]+)")


def images_tarball_name(ref: str) -> str:
    return ref.replace("/", "_").replace(":", "_") + ".tar"


def images_present_ids(images: list[dict[str, Any]]) -> dict[str, str]:
    return {tag: image["Id"] for image in images for tag in image.get("RepoTags") or []}


def images_age_days(images: list[dict[str, Any]], ref: str, now: float | None = None) -> int:
    now = time.time() if now is None else now
    for image in images:
        if ref in (image.get("RepoTags") or []):
            created = image.get("Created")
            if isinstance(created, (int, float)):
                stamp = float(created)
            else:
                stamp = datetime.fromisoformat(str(created)[:26].rstrip("Z") + "+00:00").timestamp()
            return int((now - stamp) // 86400)
    return -1


def images_to_pull(entries: list[dict[str, Any]], images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The catalog entries of source `pull` that need a call: missing, or present with another
    ID than their pin (image_id). One present as pinned, or present and not pinned, needs none."""
    present = images_present_ids(images)
    todo = []
    for entry in entries:
        have = present.get(f"{entry['name']}:{entry['tag']}", "")
        if not have or ("image_id" in entry and have != entry["image_id"]):
            todo.append(entry)
    return todo


def images_present_labels(images: list[dict[str, Any]], label: str = "org.devstack.inputs-hash") -> dict[str, str]:
    """Images as {name:tag: value of `label`} ('' when unlabelled): what a build compares its
    inputs hash with, for every image in one call. Takes docker_image_info's images (labels
    under Config) and docker_host_info's verbose listing (labels at the top)."""
    return {tag: ((image.get("Config") or {}).get("Labels") or image.get("Labels") or {}).get(label, "")
            for image in images for tag in image.get("RepoTags") or []}


def parse_manifest(lines: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """SHA256SUMS lines (<sha256> [*]<file>) and IMAGES lines (<image id> <file> [name:tag])."""
    sums: dict[str, str] = {}
    ids: dict[str, str] = {}
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        if SHA256.match(fields[0]):
            sums[fields[1].lstrip("*")] = fields[0]
        elif IMAGE_ID.match(fields[0]):
            ids[fields[1]] = fields[0]
    return sums, ids


def images_load_plan(entries: list[dict[str, Any]], manifest_lines: list[str],
                     present: dict[str, str]) -> list[dict[str, Any]]:
    sums, ids = parse_manifest(manifest_lines or [])
    plan = []
    for entry in entries:
        ref = f"{entry['name']}:{entry['tag']}"
        item = {"file": images_tarball_name(ref), **entry, "ref": ref}
        item.update(expected_id=entry.get("image_id") or ids.get(item["file"], ""),
                    server_sha256=sums.get(item["file"], ""),
                    present_id=present.get(ref, ""))
        # Fetched and loaded unless present with the expected ID.
        item["todo"] = item["present_id"] != item["expected_id"] or not item["expected_id"]
        plan.append(item)
    return plan


def images_tarball_problem(manifest: str, entry: dict[str, Any]) -> str:
    """What keeps a fetched tarball from being loaded, from its manifest.json, before `docker load`
    tags anything: it must hold exactly one image whose ID (its config's digest: `<hex>.json` in
    Docker's format, `blobs/sha256/<hex>` in the OCI one) is the entry's expected_id."""
    try:
        images = json.loads(manifest)
    except ValueError:
        return "its manifest.json is missing or not JSON (not a docker save archive)"
    if not isinstance(images, list) or len(images) != 1 or not isinstance(images[0], dict):
        count = len(images) if isinstance(images, list) else 0
        return f"it holds {count} images, not one"
    config = posixpath.basename(str(images[0].get("Config", "")))
    found = "sha256:" + (config[:-5] if config.endswith(".json") else config)
    if not IMAGE_ID.match(found):
        return f"its manifest names no image config ({images[0].get('Config')!r})"
    if found != entry.get("expected_id"):
        return f"it holds image {found}, expected {entry.get('expected_id')}"
    return ""


def rsync_stats(stdout: str) -> dict[str, int]:
    """Every `<Name>: <number>` line of rsync --stats --no-human-readable."""
    stats = {}
    for line in (stdout or "").splitlines():
        match = STAT.match(line)
        if match:
            stats[match[1]] = int(match[2])
    return stats


def images_rsync_stats(stdout: str) -> dict[str, int]:
    stats = rsync_stats(stdout)
    return {"file_size": stats.get("Total file size", 0),
            "files_transferred": stats.get("Number of regular files transferred", 0),
            "literal_data": stats.get("Literal data", 0),
            "bytes_received": stats.get("Total bytes received", 0),
            "bytes_sent": stats.get("Total bytes sent", 0)}


def images_transfer_report(result: dict[str, Any]) -> dict[str, Any]:
    """One rsync loop result of load.yml (loop_var images_item) as a line of images_load_report.
    matched_data: bytes the last try took from what an earlier, broken try left (rsync's delta over
    the partial file); attempts: the tries the transfer took (Ansible's `until` count, 1 without a
    retry)."""
    item = result["images_item"]
    stdout = result.get("stdout", "")
    return {"image": item["ref"], "file": item["file"], **images_rsync_stats(stdout),
            "matched_data": rsync_stats(stdout).get("Matched data", 0),
            "attempts": int(result.get("attempts") or 1)}


def images_publish_refs(publish: list[str], selected: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The images publish_images.yml sends: images_publish, else every `build` entry selected."""
    refs = publish or [f"{e['name']}:{e['tag']}" for e in selected if e.get("source") == "build"]
    return [{"ref": ref, "file": images_tarball_name(ref)} for ref in refs]


def images_publish_manifest(folder: list[str], checksummed: list[dict[str, Any]], ids: dict[str, str]) -> dict[str, str]:
    """SHA256SUMS and IMAGES for the publish folder, which rsync sends whole: the tarballs
    published now (publish.yml's stat results: images_item {ref, file} and stat.checksum; `ids`
    gives each ref's image ID) and, for every other tarball still in the folder, its lines from
    the folder's earlier SHA256SUMS and IMAGES. `folder` is what publish.yml read there:
    `file <name>` per tarball, then `sum <line>` and `image <line>`."""
    present = {line.split(" ", 1)[1] for line in folder if line.startswith("file ")}
    earlier = [line.split(" ", 1)[1] for line in folder if line.startswith(("sum ", "image "))]
    sums, earlier_ids = parse_manifest(earlier)
    refs = {f[1]: f[2] for f in (line.split() for line in earlier) if len(f) > 2 and IMAGE_ID.match(f[0])}
    rows = [(r["images_item"]["file"], r["stat"]["checksum"], ids.get(r["images_item"]["ref"], ""), r["images_item"]["ref"])
            for r in checksummed]
    now = {row[0] for row in rows}
    rows += [(f, sums[f], earlier_ids.get(f, ""), refs.get(f, "")) for f in sorted(present - now) if f in sums]
    return {"SHA256SUMS": "".join(f"{sha}  {f}\n" for f, sha, _, _ in rows),
            "IMAGES": "".join(f"{iid}  {f}  {ref}\n" for f, _, iid, ref in rows if iid)}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "images_tarball_name": images_tarball_name,
            "images_present_ids": images_present_ids,
            "images_age_days": images_age_days,
            "images_present_labels": images_present_labels,
            "images_to_pull": images_to_pull,
            "images_load_plan": images_load_plan,
            "images_rsync_stats": images_rsync_stats,
            "images_transfer_report": images_transfer_report,
            "images_publish_refs": images_publish_refs,
            "images_publish_manifest": images_publish_manifest,
            "images_tarball_problem": images_tarball_problem,
        }
