"""A LAN neighbour reaches a VM's containers only through their published address and port
(issue 12). On Docker 20.10 the DOCKER chain accepts forwarded traffic addressed straight to a
container from any source, so a neighbour that routes the VM's bridge subnet through the VM
would reach Redis's own port 6379 (and every other container port) directly. The docker_host
role's DOCKER-USER rules (roles/docker_host/files/devstack-docker-user) drop that; the test
proves both sides from a second network namespace: a neighbour container on the test network
with a route to the Redis container through the VM. With the rules removed by hand, the same
connection gets through (the hazard is real); with them, it does not; the published port
answers throughout. Runs after the fault suite (file names sort), so the rules have survived
a daemon restart and a reboot."""

from __future__ import annotations

import pytest

from conftest import CLIENT_IMAGE, CLIENT_LABEL, NETWORK, address, port, secret_of, stack

RULES = "/usr/local/sbin/devstack-docker-user"


@pytest.fixture(scope="module")
def neighbour(engine):
    """A machine on the VMs' LAN that may change its own routes (NET_ADMIN, its own namespace)."""
    box = engine.containers.run(CLIENT_IMAGE, ["sleep", "infinity"], detach=True, network=NETWORK,
                                labels=CLIENT_LABEL, cap_add=["NET_ADMIN"])

    def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
        code, out = box.exec_run(argv, environment=env or {})
        return code, out.decode(errors="replace")

    yield run
    box.remove(force=True)


def redis_address(host) -> str:
    """The Redis container's own address on its bridge, inside the VM."""
    name = f"{stack(host)}-redis"
    out = host.check_output(
        f"docker inspect --format '{{{{range .NetworkSettings.Networks}}}}{{{{.IPAddress}}}}{{{{end}}}}' {name}")
    assert out.count(".") == 3, out
    return out


def reaches(neighbour, ip: str, tcp_port: int) -> bool:
    code, _ = neighbour(["timeout", "5", "bash", "-c", f"exec 3<>/dev/tcp/{ip}/{tcp_port}"])
    return code == 0


def test_a_neighbour_reaches_redis_only_through_its_published_port(host, neighbour):
    target = redis_address(host)
    code, out = neighbour(["ip", "route", "replace", f"{target}/32", "via", address(host)])
    assert code == 0, out
    password = {"REDISCLI_AUTH": secret_of(host.backend.get_hostname(), "redis_password")}
    published = ["redis-cli", "--no-auth-warning", "-h", address(host), "-p", str(port(host, 7777)), "PING"]
    try:
        assert host.check_output(f"{RULES} check") == "ok"
        assert not reaches(neighbour, target, 6379), "the container's own port answered a LAN neighbour"
        assert neighbour(published, password)[1].strip() == "PONG"

        # Without the rules, the neighbour's route gets through: the hazard the rules close.
        host.run_expect([0], f"{RULES} remove")
        assert reaches(neighbour, target, 6379), "no way through even without the rules: the test proves nothing"
        host.run_expect([0], f"{RULES} apply")
        assert not reaches(neighbour, target, 6379), "the rules applied again did not close the way"
        assert neighbour(published, password)[1].strip() == "PONG"
    finally:
        host.run_expect([0], f"{RULES} apply")
        # Last: without the route, the address would go to this machine's own bridges.
        neighbour(["ip", "route", "del", f"{target}/32"])
