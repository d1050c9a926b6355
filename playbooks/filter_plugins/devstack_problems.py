"""What verify.yml found wrong with a stack, each with how to fix it.

Input: the registered results of verify.yml's probes (docker_container_info per service, the
port probes, the share write, Django's /health/). Unit tests: tests/test_filters.py.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any


def _truncate(text: Any, length: int) -> str:
    text = str(text).strip()
    return text if len(text) <= length else text[: length - 3] + "..."


def _container_problem(result: dict[str, Any]) -> str | None:
    service = result["item"]
    name = service["container"]
    if not result.get("exists"):
        return f"{name} ({service['what']}) does not exist: run ansible-playbook setup.yml --tags {service['stage']}"
    state = result["container"]["State"]
    if not state.get("Running"):
        return f"{name} is {state.get('Status')}: docker start {name}, then docker logs {name}"
    health = state.get("Health")
    if health and health.get("Status") != "healthy":
        last = (health.get("Log") or [{}])[-1].get("Output", "")
        return (f"{name} is {health.get('Status')} (last check: {_truncate(last, 160)}): see docker logs {name}; "
                f"ansible-playbook setup.yml --tags {service['stage']} re-creates it")
    return None


def devstack_problems(containers: list[dict[str, Any]], ports: list[dict[str, Any]],
                      share: dict[str, Any], django: dict[str, Any], web: str) -> list[str]:
    """Every problem, in the order a person would fix them: containers, ports, share, Django."""
    problems = [p for p in (_container_problem(r) for r in containers) if p]
    for result in ports:
        if "state" not in result:
            item = result["item"]
            problems.append(f"{item['what']} does not answer on {item['address']}:{item['port']}: is "
                            f"{item['container']} running, and does another program hold the port (ss -ltnp)?")
    if not share.get("skipped") and share.get("rc", 1) != 0:
        said = _truncate(str(share.get("stderr", "")) + str(share.get("stdout", "")), 160)
        problems.append(f"the share refuses a write ({said}): ansible-playbook setup.yml --tags samba resets "
                        "its users and configuration")
    answer = django.get("json")
    if not isinstance(answer, dict) or answer.get("status") != "ok":
        said = _truncate(answer if answer is not None else django.get("msg", "no answer"), 200)
        problems.append(f"Django /health/ is not ok ({said}): ansible-playbook setup.yml --tags django_env; "
                        f"server output: docker logs {web}")
    return problems


def devstack_old_images(images: list[dict[str, Any]], max_age_days: int, now: float | None = None) -> list[str]:
    """Images (docker_image_info's `images`) built more than max_age_days ago: Debian has
    published security fixes since, which only a rebuild brings in. Oldest first."""
    now = time.time() if now is None else now
    aged = []
    for image in images:
        created = datetime.fromisoformat(image["Created"][:26].rstrip("Z") + "+00:00").timestamp()
        if now - created > int(max_age_days) * 86400:
            aged.append((int((now - created) // 86400), (image.get("RepoTags") or [image["Id"]])[0]))
    return [f"{name} was built {days} days ago (more than devstack_image_max_age_days={max_age_days}) and has no "
            "security fixes since: ansible-playbook playbooks/images.yml -e images_refresh=$(date +%F), then "
            "ansible-playbook setup.yml" for days, name in sorted(aged, reverse=True)]


def devstack_image_ages(listing: dict[str, Any], stack: str, namespace: str = "devstack",
                        now: float | None = None) -> list[str]:
    """'<ref> <N> days' for each image the stack's containers run, from the run's listing of the
    host (docker_host_info: containers with their Image, images with RepoTags and Created);
    before the stack has containers, every image under the namespace. Oldest first."""
    now = time.time() if now is None else now
    images = listing.get("images") or []
    refs = sorted({c.get("Image", "") for c in listing.get("containers") or []
                   if (c.get("Labels") or {}).get("org.devstack.stack") == stack} - {""})
    if not refs:
        refs = sorted({t for i in images for t in i.get("RepoTags") or [] if t.startswith(namespace + "/")})
    ages = []
    for ref in refs:
        image = next((i for i in images if ref in (i.get("RepoTags") or [])), None)
        if image is None or image.get("Created") is None:
            continue
        created = image["Created"]
        stamp = float(created) if isinstance(created, (int, float)) else \
            datetime.fromisoformat(str(created)[:26].rstrip("Z") + "+00:00").timestamp()
        ages.append((int((now - stamp) // 86400), ref))
    return [f"{ref} {days} day{'' if days == 1 else 's'}" for days, ref in sorted(ages, reverse=True)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"devstack_problems": devstack_problems, "devstack_old_images": devstack_old_images,
                "devstack_image_ages": devstack_image_ages}
