"""Unit tests of the django_env role's git-over-SSH filter (roles/django_env/filter_plugins/django_env_repo.py):
which URLs are SSH, their accepted forms, and the pinned host key's known_hosts lines."""

from __future__ import annotations

import base64
import importlib.util
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("django_env_repo", ROOT / "roles/django_env/filter_plugins/django_env_repo.py")
repo = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(repo)


def blob(kind: str, body: bytes = b"\x00" * 36) -> str:
    """An SSH public key blob as base64: the type as a length-prefixed string, then key bytes."""
    return base64.b64encode(struct.pack(">I", len(kind)) + kind.encode() + body).decode()


ED = blob("ssh-ed25519")
RSA = blob("ssh-rsa")


@pytest.mark.parametrize("url", ["", "/srv/git/app.git", "https://git.example.com/team/app.git",
                                 "git://git.example.com/app.git", "file:///srv/git/app.git"])
def test_urls_that_are_not_ssh_need_nothing(url):
    assert repo.django_env_repo_ssh(url) == {"ssh": False, "problem": ""}


@pytest.mark.parametrize(("url", "user", "host", "port", "known"), [
    ("ssh://git@git.example.com/team/app.git", "git", "git.example.com", 22, "git.example.com"),
    ("ssh://git@git.example.com:2222/team/app.git", "git", "git.example.com", 2222, "[git.example.com]:2222"),
    ("git@git.example.com:team/app.git", "git", "git.example.com", 22, "git.example.com"),
    ("root@molecule-git:/srv/git/app.git", "root", "molecule-git", 22, "molecule-git"),
    ("ssh://git@[fd00::5]:2222/app.git", "git", "fd00::5", 2222, "[fd00::5]:2222"),
])
def test_ssh_urls_pin_the_key_for_the_host_and_port_ssh_looks_up(url, user, host, port, known):
    got = repo.django_env_repo_ssh(url, f"ssh-ed25519 {ED} root@server")
    assert got["problem"] == ""
    assert (got["ssh"], got["user"], got["host"], got["port"]) == (True, user, host, port)
    assert got["known_hosts"] == f"{known} ssh-ed25519 {ED}\n"


def test_keyscan_lines_keep_their_keys_under_the_repositorys_host_name():
    scan = f"# git.example.com:22 SSH-2.0-OpenSSH_9.2\nother.name ssh-rsa {RSA}\n\nother.name ssh-ed25519 {ED}\n"
    got = repo.django_env_repo_ssh("ssh://git@git.example.com:2222/app.git", scan)
    assert got["known_hosts"] == f"[git.example.com]:2222 ssh-rsa {RSA}\n[git.example.com]:2222 ssh-ed25519 {ED}\n"


@pytest.mark.parametrize("url", [
    "ssh://git.example.com/team/app.git",          # no user
    "git.example.com:team/app.git",                # scp-like without a user
    "git+ssh://git@git.example.com/team/app.git",  # another scheme for ssh
    "ssh://git@git.example.com:70000/app.git",     # not a port
    "ssh://git@git.example.com/",                  # no path
    "ssh://git@bad_host/app.git",                  # not a host name
    "git@git.example.com:",                        # scp-like without a path
])
def test_other_ssh_url_forms_are_named_with_the_forms_taken(url):
    problem = repo.django_env_repo_ssh(url, f"ssh-ed25519 {ED}")["problem"]
    assert problem.startswith(f"django_env_repo_url '{url}'")
    assert "port" in problem or "ssh://user@host[:port]/path or user@host:path" in problem


@pytest.mark.parametrize(("host_key", "why"), [
    ("not a key", "line 1 is neither"),
    ("ssh-ed25519", "no key after"),
    ("ssh-ed25519 AAAA!!!notbase64", "not base64"),
    (f"ssh-ed25519 {RSA}", "of type ssh-rsa, not ssh-ed25519"),   # the blob says another type
    ("ssh-ed25519 " + base64.b64encode(b"xy").decode(), "not base64 of an SSH public key"),
    ("# only a comment\n", "holds no key"),
    (f"@cert-authority *.example.com ssh-ed25519 {ED}", "line 1 is neither"),
])
def test_a_malformed_host_key_is_named(host_key, why):
    problem = repo.django_env_repo_ssh("git@git.example.com:app.git", host_key)["problem"]
    assert problem.startswith("django_env_repo_host_key is not the git server's public host key") and why in problem


def test_an_ssh_url_without_a_pin_needs_accept_new_said_explicitly():
    problem = repo.django_env_repo_ssh("git@git.example.com:app.git")["problem"]
    assert "django_env_repo_host_key is empty" in problem and "django_env_repo_host_key_policy: accept-new" in problem
    assert "ssh-keyscan git.example.com" in problem
    trusting = repo.django_env_repo_ssh("git@git.example.com:app.git", "", "accept-new")
    assert trusting["problem"] == "" and trusting["known_hosts"] == "" and trusting["policy"] == "accept-new"


@pytest.mark.parametrize(("url", "ssh"), [
    ("git@host:app.git", True), ("host:app.git", True), ("ssh://h/x", True), ("git+ssh://h/x", True),
    ("./relative/path", False), ("https://h/x", False), ("/abs:path", False), ("", False),
])
def test_is_ssh_follows_gits_rule(url, ssh):
    assert repo.is_ssh(url) is ssh


@pytest.mark.parametrize("version", ["main", "develop", "feature/login-page", "v1.2.0", "release_2024.1",
                                     "0123abcd", "3f2a9c0d1e2b3c4d5e6f708192a3b4c5d6e7f809"])  # pragma: allowlist secret
def test_a_branch_tag_or_commit_is_a_good_version(version):
    assert repo.django_env_repo_version_problem(version) == ""


@pytest.mark.parametrize("version", ["-f", "--orphan=x", "-b", "--detach", "", "main; rm -rf /", "a b",
                                     "/main", "main/", "feature//x", "a..b", ".hidden", "feature/.x",
                                     "main.lock", "main.", "HEAD@{1}", "main^", "main~1", "a:b"])
def test_an_option_or_a_name_git_refuses_is_named(version):
    """`-f` became `git checkout -f` (issue 30, item 11): a leading '-' is refused, as are the
    names git's check-ref-format refuses."""
    problem = repo.django_env_repo_version_problem(version)
    assert problem.startswith(f"django_env_repo_version '{version}'"), problem


@pytest.mark.parametrize(("url", "args", "named"), [
    ("https://alice:ghp_token123@git.example.com/team/app.git", [], "django_env_repo_url"),  # pragma: allowlist secret
    ("https://ghp_token123@github.com/team/app.git", [], "django_env_repo_url"),
    ("http://u:p@git.example.com/app.git", [], "django_env_repo_url"),  # pragma: allowlist secret
    ("git://user@git.example.com/app.git", [], "django_env_repo_url"),
    ("", ["--index-url", "https://bot:s3cret@pypi.example.cn/simple"], "django_env_pip_extra_args"),  # pragma: allowlist secret
    ("", ["--extra-index-url=https://token@pypi.example.cn/simple"], "django_env_pip_extra_args"),
    ("", ["-i", "https://__token__:pypi-AgEI@pypi.example.cn/simple"], "django_env_pip_extra_args"),  # pragma: allowlist secret
])
def test_a_credential_in_a_url_is_refused_without_showing_it(url, args, named):
    """A token in a URL reached git's and pip's argv (`ps` on the host), the failure message in
    the logs, the checkout's .git/config on the share and a 0644 stamp (issue 30, item 3)."""
    problems = repo.django_env_credential_problems(url, args)
    assert len(problems) == 1 and problems[0].startswith(named), problems
    assert "token123" not in problems[0] and "s3cret" not in problems[0] and "AgEI" not in problems[0]
    assert ("django_env_repo_key_file" in problems[0]) if named == "django_env_repo_url" else (".netrc" in problems[0])


@pytest.mark.parametrize(("url", "args"), [
    ("", []), ("https://git.example.com/team/app.git", ["--pre", "--index-url", "https://pypi.example.cn/simple"]),
    ("ssh://git@git.example.com:2222/team/app.git", []), ("git@git.example.com:team/app.git", []),
    ("/srv/git/app.git", ["--find-links", "/wheels"]), ("file:///srv/git/app.git", ["git+ssh://git@h/x.git#egg=x"]),
])
def test_urls_and_arguments_without_credentials_pass(url, args):
    assert repo.django_env_credential_problems(url, args) == []
