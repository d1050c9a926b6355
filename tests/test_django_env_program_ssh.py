"""Unit tests of git over SSH in the program django_env runs in the work container
(roles/django_env/files/devstack_django_env.py): where the deploy key and the pin go, what
git's ssh is told, and that a failed checkout installs neither."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("devstack_django_env", ROOT / "roles/django_env/files/devstack_django_env.py")
prog = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(prog)

KEY = "-----BEGIN TEST KEY-----\nnot a real key\n-----END TEST KEY-----"  # pragma: allowlist secret
PIN = "[git.example.com]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA\n"
ENV = {"PATH": "/usr/bin:/bin"}


def run(tmp_path: Path, check: bool = False, repo_url: str = "", **ssh) -> "prog.Run":
    return prog.Run({"check": check, "state_dir": str(tmp_path / "state"), "repo_url": repo_url,
                     "repo_version": "main", "repo_update": False, "project_dir": str(tmp_path / "data/app"),
                     "repo_ssh": ssh})


def options(command: str) -> dict[str, str]:
    argv = shlex.split(command)
    out = {argv[i + 1].split("=", 1)[0]: argv[i + 1].split("=", 1)[1] for i, a in enumerate(argv) if a == "-o"}
    if "-i" in argv:
        out["identity"] = argv[argv.index("-i") + 1]
    return out


@pytest.fixture()
def origin(tmp_path) -> Path:
    repo = tmp_path / "origin"
    repo.mkdir()
    for args in (["init", "--quiet", "--initial-branch=main"], ["commit", "--quiet", "--allow-empty", "-m", "one"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True)
    return repo


def test_a_new_key_and_pin_are_used_from_the_scratch_folder_then_installed_0600(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    r = run(tmp_path, key=KEY, known_hosts=PIN)
    opts = options(prog.git_ssh_command(r, scratch))
    assert opts["StrictHostKeyChecking"] == "yes" and opts["IdentitiesOnly"] == "yes"
    assert opts["GlobalKnownHostsFile"] == "/dev/null" and opts["BatchMode"] == "yes"
    assert opts["identity"] == str(scratch / "deploy_key") and opts["UserKnownHostsFile"] == str(scratch / "known_hosts")
    assert not (tmp_path / "state/ssh").exists()             # nothing installed before git reached the server
    prog.install_ssh_files(r)
    ssh = tmp_path / "state/ssh"
    assert (ssh / "deploy_key").read_text() == KEY + "\n" and (ssh / "known_hosts").read_text() == PIN
    assert [(p.stat().st_mode & 0o777) for p in (ssh, ssh / "deploy_key", ssh / "known_hosts")] == [0o700, 0o600, 0o600]
    assert r.changed == [f"{ssh}/deploy_key written", f"{ssh}/known_hosts written"]
    again = run(tmp_path, key=KEY, known_hosts=PIN)
    opts = options(prog.git_ssh_command(again, scratch))
    assert opts["identity"] == str(ssh / "deploy_key") and opts["UserKnownHostsFile"] == str(ssh / "known_hosts")
    prog.install_ssh_files(again)
    assert again.changed == []


def test_check_mode_reports_and_installs_nothing(tmp_path):
    r = run(tmp_path, check=True, key=KEY, known_hosts=PIN)
    prog.git_ssh_command(r, tmp_path)
    prog.install_ssh_files(r)
    assert len(r.changed) == 2 and not (tmp_path / "state").exists()


def test_accept_new_keeps_the_first_key_in_the_state_folder(tmp_path):
    r = run(tmp_path, key="", known_hosts="")
    opts = options(prog.git_ssh_command(r, tmp_path / "scratch"))
    assert opts["StrictHostKeyChecking"] == "accept-new" and "identity" not in opts
    assert opts["UserKnownHostsFile"] == str(tmp_path / "state/ssh/known_hosts")
    assert (tmp_path / "state/ssh").stat().st_mode & 0o777 == 0o700


def test_a_key_no_longer_given_is_removed(tmp_path):
    prog.install_ssh_files(run(tmp_path, key=KEY, known_hosts=PIN))
    https = run(tmp_path)     # another URL: repo_ssh {}
    https.cfg["repo_ssh"] = {}
    assert prog.git_ssh_command(https, tmp_path) == prog.SSH_DEFAULT
    prog.install_ssh_files(https)
    assert not (tmp_path / "state/ssh/deploy_key").exists()
    assert https.changed == [f"{tmp_path}/state/ssh/deploy_key removed"]


def test_a_failed_clone_installs_neither_key_nor_pin(tmp_path):
    r = run(tmp_path, repo_url=str(tmp_path / "no-such-repository"), key=KEY, known_hosts=PIN)
    with pytest.raises(prog.Failure, match="django_env_repo_url .* could not be cloned"):
        prog.project(r, ENV)
    assert not (tmp_path / "state/ssh").exists() and not (tmp_path / "data/app").exists()


def test_a_clone_that_worked_installs_them(tmp_path, origin):
    r = run(tmp_path, repo_url=str(origin), key=KEY, known_hosts=PIN)
    prog.project(r, ENV)
    assert (tmp_path / "data/app/.git").is_dir() and (tmp_path / "state/ssh/deploy_key").exists()


@pytest.mark.parametrize(("stderr", "named"), [
    ("Host key verification failed.\nfatal: Could not read from remote repository.", "django_env_repo_host_key"),
    ("git@x: Permission denied (publickey).", "django_env_repo_key_file"),
    ("fatal: repository not found", ""),
])
def test_an_ssh_failure_names_what_to_look_at(stderr, named):
    hint = prog.ssh_hint(stderr)
    assert (named in hint) if named else hint == ""


@pytest.mark.parametrize("key", [KEY, ""])
def test_gits_ssh_gives_up_on_a_server_that_does_not_answer(tmp_path, key):
    """A git server that does not answer, or stops answering, ends the step (issue 30, item 4):
    ssh's ConnectTimeout and ServerAlive options, with and without a deploy key and pin."""
    for command in (prog.git_ssh_command(run(tmp_path, key=key, known_hosts=PIN), tmp_path / "s"), prog.SSH_DEFAULT):
        opts = options(command)
        assert int(opts["ConnectTimeout"]) <= 60, command
        assert int(opts["ServerAliveInterval"]) * int(opts["ServerAliveCountMax"]) <= 120, command
