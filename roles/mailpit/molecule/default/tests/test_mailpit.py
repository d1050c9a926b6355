"""The mail catcher as a developer meets it: SMTP on the published port, the web page and
Mailpit's API on the other."""

from __future__ import annotations

import json
import time
import uuid

from devstack_testinfra import scenario_var

SMTP = scenario_var("mailpit_smtp_port")
UI = scenario_var("mailpit_ui_port")
CONTAINER = f"{scenario_var('devstack_name')}-mailpit"


def send(host, subject: str) -> None:
    script = (
        "import smtplib; s = smtplib.SMTP('127.0.0.1', %d, timeout=10); "
        "s.sendmail('app@example.org', ['dev@example.org'], "
        "'From: app@example.org\\r\\nTo: dev@example.org\\r\\nSubject: %s\\r\\n\\r\\nHello from the test.'); s.quit()"
    ) % (SMTP, subject)
    result = host.run(f'python3 -c "{script}"')
    assert result.rc == 0, result.stderr


def messages(host) -> dict:
    result = host.run(f"curl -sf http://127.0.0.1:{UI}/api/v1/messages")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def test_a_mail_sent_over_smtp_is_listed_by_the_api_and_the_page(host):
    subject = f"test-{uuid.uuid4().hex[:8]}"
    send(host, subject)
    deadline = time.monotonic() + 10
    while not any(m["Subject"] == subject for m in messages(host)["messages"]) and time.monotonic() < deadline:
        time.sleep(0.5)
    found = [m for m in messages(host)["messages"] if m["Subject"] == subject]
    assert found and found[0]["To"][0]["Address"] == "dev@example.org"
    page = host.run(f"curl -sf http://127.0.0.1:{UI}/")
    assert subject in page.stdout


def test_a_request_addressed_by_a_name_is_refused(host):
    """DNS rebinding: a page whose name now points at this address reads nothing."""
    by_name = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -H 'Host: rebound.example:{UI}' "
                       f"http://127.0.0.1:{UI}/api/v1/messages")
    assert by_name.stdout == "403", by_name.stdout
    wiped = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' -X DELETE -H 'Host: rebound.example' "
                     f"http://127.0.0.1:{UI}/api/v1/messages")
    assert wiped.stdout == "403", wiped.stdout
    by_address = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{UI}/api/v1/messages")
    assert by_address.stdout == "200", by_address.stdout
    by_localhost = host.run(f"curl -s -o /dev/null -w '%{{http_code}}' http://localhost:{UI}/api/v1/messages")
    assert by_localhost.stdout == "200", by_localhost.stdout


def test_readiness_url_answers(host):
    assert host.run(f"curl -sf http://127.0.0.1:{UI}/readyz").rc == 0


def test_published_on_loopback_only(host):
    for port in (SMTP, UI):
        assert host.socket(f"tcp://127.0.0.1:{port}").is_listening
        assert not host.socket(f"tcp://0.0.0.0:{port}").is_listening


def test_container_is_healthy_labelled_and_on_the_stack_network(host):
    deadline = time.monotonic() + 60
    while True:
        info = host.ansible("community.docker.docker_container_info", f"name={CONTAINER}", check=False)["container"]
        if info["State"]["Health"]["Status"] == "healthy" or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert info["State"]["Health"]["Status"] == "healthy"
    assert info["Config"]["Labels"]["org.devstack.role"] == "mailpit"
    assert "molecule-mailpit" in info["NetworkSettings"]["Networks"]
    assert info["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
