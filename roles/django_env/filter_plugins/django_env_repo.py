"""Filters of the django_env role: git over SSH for the project's repository.

- django_env_repo_ssh(url, host_key, policy) -> how the role reaches a repository over SSH:
  {'ssh': False} for a URL that is not SSH (https, git, file, a path, empty: the sample);
  else {'ssh': True, 'user', 'host', 'port', 'known_hosts': the lines pinning host_key for the
  host as ssh looks it up ('' when not pinned), 'policy'}; 'problem' is '' or what is wrong,
  naming the variable (validate.yml fails with it before anything changes).
- django_env_repo_version_problem(version) -> '' or what is wrong with the branch, tag or
  commit (an option-like '-f', a name git refuses), naming django_env_repo_version.
- django_env_credential_problems(url, pip_extra_args) -> what holds a credential (a token in a
  URL), naming the variable, never showing it; django_env_shown(text): text with such
  credentials replaced by ***.

An SSH URL is `ssh://user@host[:port]/path` or `user@host:path` (git's scp-like form);
host_key is a public key (`ssh-ed25519 AAAA...`) or known_hosts/ssh-keyscan lines
(`host ssh-ed25519 AAAA...`, one or more): the key types and keys are taken, the host names
are the repository's own (so a pasted line for another name or port still pins the right host).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from typing import Any

KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")
_HOST = r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[(?P<ip6>[0-9A-Fa-f:.]+)\])"
_USER = r"(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)"
SSH_URL = re.compile(rf"^ssh://{_USER}@{_HOST}(?::(?P<port>[0-9]{{1,5}}))?(?P<path>/\S*[^/\s]\S*)$")
SCP_LIKE = re.compile(rf"^{_USER}@{_HOST}:(?P<path>[^\s:]\S*)$")
URL_FORMS = "ssh://user@host[:port]/path or user@host:path"


def is_ssh(url: str) -> bool:
    """Whether git would reach `url` over SSH: an ssh URL (ssh://, git+ssh://, ssh+git://) or the
    scp-like form (a colon before any slash, no scheme)."""
    url = url.strip()
    if re.match(r"^(ssh|git\+ssh|ssh\+git)://", url):
        return True
    if "://" in url or url.startswith("/") or not url:
        return False
    head = url.split("/", 1)[0]
    return ":" in head


def host_key_lines(host_key: str) -> tuple[list[tuple[str, str]], str]:
    """The (type, base64) pairs of host_key, and '' or what is wrong with it."""
    keys: list[tuple[str, str]] = []
    for number, line in enumerate(host_key.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] in KEY_TYPES:
            pair = fields[:2]
        elif len(fields) >= 3 and fields[1] in KEY_TYPES and not fields[0].startswith("@"):
            pair = fields[1:3]
        else:
            return [], (f"line {number} is neither 'TYPE BASE64' nor a known_hosts line 'HOST TYPE BASE64' "
                        f"(TYPE one of {', '.join(KEY_TYPES)})")
        if len(pair) < 2:
            return [], f"line {number} has no key after {pair[0]}"
        kind, blob = pair
        try:
            raw = base64.b64decode(blob, validate=True)
            (length,) = struct.unpack(">I", raw[:4])
            inner = raw[4:4 + length].decode("ascii")
        except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
            return [], f"line {number}: the key is not base64 of an SSH public key"
        if inner != kind:
            return [], f"line {number}: the key is of type {inner or '(none)'}, not {kind}"
        keys.append((kind, blob))
    if not keys:
        return [], "it holds no key"
    return keys, ""


def django_env_repo_ssh(url: str, host_key: str = "", policy: str = "pinned") -> dict[str, Any]:
    url = (url or "").strip()
    if not is_ssh(url):
        return {"ssh": False, "problem": ""}
    if shown(url) != url:   # a password in it: django_env_credential_problems names it, this shows nothing
        return {"ssh": True, "problem": "", "user": "", "host": "", "port": 22, "known_hosts": "", "policy": policy}
    out: dict[str, Any] = {"ssh": True, "problem": "", "user": "", "host": "", "port": 22,
                           "known_hosts": "", "policy": policy}
    found = SSH_URL.match(url) or SCP_LIKE.match(url)
    if not found:
        out["problem"] = (f"django_env_repo_url '{url}' is a git-over-SSH URL of a form the role does not take: "
                          f"write it as {URL_FORMS}")
        return out
    port = int(found.groupdict().get("port") or 22)
    if not 1 <= port <= 65535:
        out["problem"] = f"django_env_repo_url '{url}': port {port} is not a TCP port (1-65535)"
        return out
    host = found["ip6"] or found["host"]
    out.update(user=found["user"], host=host, port=port)
    known_name = host if port == 22 else f"[{host}]:{port}"
    if host_key.strip():
        keys, problem = host_key_lines(host_key)
        if problem:
            out["problem"] = (f"django_env_repo_host_key is not the git server's public host key: {problem}; "
                              "give 'TYPE BASE64' (the server's /etc/ssh/ssh_host_ed25519_key.pub) or lines of "
                              f"`ssh-keyscan{'' if port == 22 else f' -p {port}'} {host}`")
            return out
        out["known_hosts"] = "".join(f"{known_name} {kind} {blob}\n" for kind, blob in keys)
    elif policy != "accept-new":
        out["problem"] = (f"django_env_repo_host_key is empty, but django_env_repo_url '{url}' is reached over "
                          f"SSH and django_env_repo_host_key_policy is '{policy}': pin the git server's host key "
                          f"(a line of `ssh-keyscan{'' if port == 22 else f' -p {port}'} {host}`, checked with "
                          "the server's administrator), or set django_env_repo_host_key_policy: accept-new to "
                          "trust the key the server shows first")
    return out


# A URL's user information (`scheme://userinfo@`), and the scp-like form's (`user:secret@host:path`).
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^/@\s]*)@")
_SCP_USERINFO = re.compile(r"^(?P<userinfo>[^/@\s]*:[^/@\s]*)@(?=[^/:]*:)")
_SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")


def _credential(scheme: str, userinfo: str) -> bool:
    """A password (`user:secret@`), or any user information in a URL that is not SSH (a token
    given as the user name: `https://ghp_...@github.com/`); ssh's `git@` names only the user."""
    return ":" in userinfo or scheme.lower() not in _SSH_SCHEMES


def shown(text: str) -> str:
    """`text` with the user information of every URL in it that holds a credential replaced by
    `***`: what a message may show."""
    text = _SCP_USERINFO.sub("***@", text)
    return _USERINFO.sub(lambda m: f"{m['scheme']}://***@" if _credential(m["scheme"], m["userinfo"]) else m[0],
                         text)


def django_env_credential_problems(url: str, pip_extra_args: Any = ()) -> list[str]:
    """What holds a credential, naming the variable and never showing the credential: a token
    in django_env_repo_url or in django_env_pip_extra_args reaches git's and pip's command lines
    (`ps` on the host), their error messages (kept in the run's log), the checkout's
    .git/config on the share and a 0644 stamp file."""
    problems = []
    url = (url or "").strip()
    found = [m for m in _USERINFO.finditer(url) if _credential(m["scheme"], m["userinfo"])]
    if found or _SCP_USERINFO.match(url):
        problems.append(
            f"django_env_repo_url holds a credential ('{shown(url)}': a user name, token or password before '@'): "
            "it would show in git's command line (ps), its messages, the run's log and the checkout's .git/config "
            "on the share. Reach a private repository over SSH with a deploy key instead: django_env_repo_url "
            "ssh://git@host/path or git@host:path, the key in django_env_repo_key_file (or django_env_repo_key from "
            "Vault) and the server's key in django_env_repo_host_key")
    args = pip_extra_args if isinstance(pip_extra_args, (list, tuple)) else [pip_extra_args]
    bad = [f"item {number} '{shown(str(arg))}'" for number, arg in enumerate(args, start=1)
           if any(_credential(m["scheme"], m["userinfo"]) for m in _USERINFO.finditer(str(arg)))]
    if bad:
        problems.append(
            f"django_env_pip_extra_args holds a credential ({', '.join(bad)}: a user name, token or password "
            "before '@'): it would show in pip's command line (ps), its messages, the run's log and the "
            "virtualenv's stamp file. Give the index URL without it, and its credentials to pip in a ~/.netrc of "
            "django_env_user in the work container (0600, `machine <host> login <user> password <token>`), "
            "which pip reads")
    return problems


_REF_CHARS = re.compile(r"^[A-Za-z0-9._/-]+$")


def django_env_repo_version_problem(version: object) -> str:
    """'' for a branch, tag or commit name the role passes to git, else what is wrong, naming
    django_env_repo_version: a leading '-' would be read by git as an option (`-f` became
    `git checkout -f`), and the names git's check-ref-format refuses are refused here too."""
    text = version if isinstance(version, str) else ""
    parts = text.split("/")
    if not _REF_CHARS.match(text):
        why = "only letters, digits and . _ / - are taken"
    elif text.startswith("-"):
        why = "it starts with '-', which git reads as an option"
    elif "" in parts:
        why = "it starts or ends with '/', or holds '//'"
    elif ".." in text or text.endswith(".") or any(p.startswith(".") or p.endswith(".lock") for p in parts):
        why = "git refuses a name with '..', a part starting with '.', or ending with '.' or '.lock'"
    else:
        return ""
    return f"django_env_repo_version '{version}' is not a branch, tag or commit: {why}"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"django_env_repo_ssh": django_env_repo_ssh,
                "django_env_repo_version_problem": django_env_repo_version_problem,
                "django_env_credential_problems": django_env_credential_problems,
                "django_env_shown": shown}
