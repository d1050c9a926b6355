"""Converges the Django environment inside the work container, in one `docker exec`.

The django_env role runs it on the Docker host through community.docker.docker_container_exec
(so it always reaches the engine of the host the stack lives on, over Ansible's own connection):

    docker exec -i -u root <web> python3 -c "<this file>" < config.json

The configuration (JSON on stdin, never on a command line: it holds the env file's passwords)
is built by the role; the program prints exactly one JSON object on stdout:

    {"failed": bool, "msg": str, "changed": [what changed, or would change in check mode],
     "fuzzy": {po file: count}, "uid": int, "gid": int, "fingerprint": str}

The fingerprint is a digest of what a long-running process of the project must be restarted
for: the project's commit, the requirements installed, and every file that restarts the
development server (the env file). The worker role labels its containers with it.

It never prints a secret. As root it installs missing OS packages, trusts extra CA certificates
and owns the role's folders to the user; everything else (the sample repository, the clone, the
virtualenv, pip, the env file, translations, migrate, the server) runs in a child process that
has become the user. Git over SSH uses the deploy key and the pinned host key of the
configuration ("repo_ssh"), kept 0600 in <state_dir>/ssh once the repository was reached.
With "check": true it only looks and reports what would change.
Standard library only: it runs on the image's /usr/bin/python3.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any


class Failure(Exception):
    """A failure whose message names the variable to look at; nothing after it runs."""


class Run:
    """What one run did: the changes (or the changes check mode would make) and the fuzzy report."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.check: bool = bool(cfg.get("check"))
        self.changed: list[str] = []
        self.skipped: list[str] = []      # what was left out on purpose, and how to have it
        self.fuzzy: dict[str, int] = {}
        self.restart = False
        self.inputs: list[str] = []      # what the fingerprint is a digest of (user phase)
        self.child_fingerprint = ""       # the user phase's, as the child reported it

    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.inputs).encode()).hexdigest()[:16]

    def change(self, what: str, restart: bool = False) -> None:
        self.changed.append(what)
        self.restart = self.restart or restart


# Seconds any one command (git, pip, apt, makemessages, migrate ...) may take: the
# configuration's step_timeout (django_env_step_timeout), set by main(). A command still
# running then is killed with everything it started, and the run fails naming the step.
STEP_TIMEOUT: float | None = None


def step_name(argv: list[str]) -> str:
    """The command and its subcommand (`git clone`, `pip install`), never its arguments: a
    failure message must not carry a URL or an index with a password."""
    words = [os.path.basename(argv[0])]
    skip = False
    for arg in argv[1:]:
        if skip or arg in ("-C", "-c"):
            skip = not skip
            continue
        if not arg.startswith("-"):
            words.append(os.path.basename(arg))
            break
    return " ".join(words)


def sh(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None,
       stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # A session of its own: on timeout the whole process group goes (git's ssh, pip's builds).
    with subprocess.Popen(argv, cwd=cwd, env=env, text=True, start_new_session=True,
                          stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            out, err = proc.communicate(stdin, timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                pass   # a descendant in a session of its own still holds the output: not waited for
            raise Failure(f"django_env_step_timeout: `{step_name(argv)}` did not finish within {STEP_TIMEOUT:g} s "
                          "and was stopped (a server that does not answer? a longer first install needs a larger "
                          "django_env_step_timeout)") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def tail(text: str, lines: int = 12) -> str:
    return " / ".join(line for line in text.strip().splitlines()[-lines:] if line.strip())


def write_file(path: Path, data: bytes, mode: int, check: bool) -> bool:
    """Writes path when its bytes or mode differ (atomically: a temporary file renamed)."""
    try:
        same = path.read_bytes() == data and (path.stat().st_mode & 0o7777) == mode
    except FileNotFoundError:
        same = False
    if same:
        return False
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            os.fchmod(fd, mode)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return True


# --- as root -------------------------------------------------------------------------------

def missing_packages(names: list[str]) -> list[str]:
    """The packages of `names` that are not installed, asked of dpkg in one call."""
    if not names:
        return []
    done = sh(["dpkg-query", "-W", "-f=${Package}\t${Status}\n", *names])
    installed = {line.split("\t")[0].split(":")[0] for line in done.stdout.splitlines()
                 if line.endswith("install ok installed")}
    return [name for name in names if name not in installed]


def root_phase(run: Run, user: pwd.struct_passwd) -> None:
    cfg = run.cfg
    missing = missing_packages(cfg["os_packages"])
    if missing:
        run.change("OS packages " + " ".join(missing))
        if not run.check:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for argv in (["apt-get", "update", "-q"],
                         ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing]):
                done = sh(argv, env=env)
                if done.returncode != 0:
                    raise Failure(f"django_env_os_packages: `{' '.join(argv)}` failed: {tail(done.stderr)}")

    certs_changed = False
    for cert in cfg["ca_certificates"]:
        path = Path("/usr/local/share/ca-certificates") / f"devstack-{cert['name']}.crt"
        if write_file(path, cert["content"].encode(), 0o644, run.check):
            certs_changed = True
            run.change(f"CA certificate {path.name}", restart=True)
    if certs_changed and not run.check:
        done = sh(["update-ca-certificates"])
        if done.returncode != 0:
            raise Failure(f"django_env_ca_certificates: update-ca-certificates failed: {tail(done.stderr)}")

    # Named volumes start owned by root: the role's folders belong to the user.
    for folder in cfg["user_dirs"]:
        own_folder(run, Path(folder), user)


def own_folder(run: Run, path: Path, user: pwd.struct_passwd) -> None:
    """Makes `path` a folder of the user's, 0755, as root without following a symbolic link:
    the user owns <state> and could plant one there (bin -> /etc) to have root chown its
    target. Each part of the path is opened with O_NOFOLLOW from its parent's descriptor
    (a link swapped in meanwhile is not followed either), missing parts are made the same
    way, and the owner and mode are set on the opened descriptor."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        here = Path("/")
        for name in path.parts[1:]:
            here = here / name
            try:
                child = os.open(name, flags, dir_fd=fd)
            except FileNotFoundError:
                if f"folder {path}" not in run.changed:
                    run.change(f"folder {path}")
                if run.check:
                    return
                os.mkdir(name, 0o755, dir_fd=fd)
                child = os.open(name, flags, dir_fd=fd)
            except OSError as error:   # ELOOP: a symbolic link; ENOTDIR: a file
                kind = "a symbolic link" if os.path.islink(here) else "not a folder"
                raise Failure(f"django_env_state_dir / django_env_pip_cache_dir: {here} is {kind}, which the role's "
                              f"root steps do not follow or replace ({error.strerror}); remove it, or set the "
                              "variable to a folder of the user's") from None
            os.close(fd)
            fd = child
        info = os.fstat(fd)
        if (info.st_uid, info.st_gid, info.st_mode & 0o7777) != (user.pw_uid, user.pw_gid, 0o755):
            if f"folder {path}" not in run.changed:
                run.change(f"folder {path}")
            if not run.check:
                os.fchown(fd, user.pw_uid, user.pw_gid)
                os.fchmod(fd, 0o755)
    finally:
        os.close(fd)


# --- as the user ---------------------------------------------------------------------------

def sample_hash(files: dict[str, dict[str, Any]]) -> str:
    # The fingerprint earlier versions computed in Jinja, so a stack converged by them keeps
    # its sample and is not restarted on upgrade: lines sorted case-insensitively (Jinja's
    # sort) and joined by a backslash and an n (Ansible's Jinja keeps '\n' in a folded YAML
    # string as those two characters).
    lines = [f"{rel} {spec['mode']} {hashlib.sha256(base64.b64decode(spec['b64'])).hexdigest()}"
             for rel, spec in sorted(files.items(), key=lambda item: item[0].lower())]
    return hashlib.sha256("\\n".join(lines).encode()).hexdigest()


def sample_repository(run: Run, git_env: dict[str, str]) -> None:
    """The shipped sample becomes a local git repository the project is cloned from."""
    files = run.cfg["sample_files"]
    src = Path(run.cfg["state_dir"]) / "sample-src"
    marker = src / ".devstack-sample"
    wanted = sample_hash(files)
    try:
        if marker.read_text() == wanted:
            return
    except FileNotFoundError:
        pass
    run.change("sample project")
    if run.check:
        return
    for rel, spec in files.items():
        write_file(src / rel, base64.b64decode(spec["b64"]), int(spec["mode"], 8), False)
    script = (
        "set -euo pipefail\n"
        "[ -d .git ] || git init --quiet --initial-branch=main\n"
        "printf '.devstack-sample\\n' > .git/info/exclude\n"
        "git add --all\n"
        "if ! git rev-parse --quiet --verify HEAD >/dev/null || ! git diff --cached --quiet; then\n"
        "  git -c user.name=devstack -c user.email=devstack@localhost commit --quiet -m 'devstack sample project'\n"
        "fi\n")
    done = sh(["bash", "-c", script], cwd=str(src), env=git_env)
    if done.returncode != 0:
        raise Failure(f"django_env: the shipped sample could not be committed in {src}: {tail(done.stderr)}")
    marker.write_text(wanted)


# Git over SSH: the deploy key and the pinned host key live in <state_dir>/ssh (0700, files
# 0600, the user's), the only identity and the only known key git's ssh uses for the project.
# A server that does not answer (ConnectTimeout) or stops answering (ServerAlive: 4 probes 15 s
# apart) ends git's ssh within a minute, well inside django_env_step_timeout.
SSH_TIMEOUTS = ["-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
SSH_DEFAULT = " ".join(["ssh", "-o", "BatchMode=yes", *SSH_TIMEOUTS, "-o", "StrictHostKeyChecking=accept-new"])


def ssh_files(run: Run) -> list[tuple[Path, bytes | None]]:
    """(path, wanted bytes, or None: must be absent) of the files of git over SSH. The deploy
    key is there only while an SSH URL has one; the pin only while one is given."""
    ssh = run.cfg.get("repo_ssh") or {}
    folder = Path(run.cfg["state_dir"]) / "ssh"
    key = ssh.get("key") or ""
    wanted: list[tuple[Path, bytes | None]] = [
        (folder / "deploy_key", (key.strip() + "\n").encode() if key.strip() else None)]
    if ssh.get("known_hosts"):
        wanted.append((folder / "known_hosts", ssh["known_hosts"].encode()))
    return wanted


def differs(path: Path, data: bytes | None) -> bool:
    if data is None:
        return path.exists() or path.is_symlink()
    try:
        return path.read_bytes() != data or (path.stat().st_mode & 0o7777) != 0o600
    except FileNotFoundError:
        return True


def git_ssh_command(run: Run, scratch: Path) -> str:
    """GIT_SSH_COMMAND for the project's repository. A key or pin that is new or changed is
    used from `scratch` (a private temporary folder): it is installed by install_ssh_files
    only once the repository was reached with it, so a wrong key or pin changes nothing."""
    ssh = run.cfg.get("repo_ssh") or {}
    if not ssh:
        return SSH_DEFAULT
    used: dict[str, Path] = {}
    for path, data in ssh_files(run):
        if data is None:
            continue
        used[path.name] = path
        if differs(path, data):
            used[path.name] = scratch / path.name
            write_file(used[path.name], data, 0o600, False)
    known = used.get("known_hosts", Path(run.cfg["state_dir"]) / "ssh" / "known_hosts")
    if "known_hosts" not in used and not run.check:
        # accept-new without a pin: ssh keeps the first key it is shown in that file.
        known.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif "known_hosts" not in used and not known.parent.is_dir():
        known = scratch / "known_hosts"
    argv = ["ssh", "-o", "BatchMode=yes", *SSH_TIMEOUTS, "-o", f"UserKnownHostsFile={known}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=" + ("yes" if ssh.get("known_hosts") else "accept-new")]
    if "deploy_key" in used:
        argv += ["-i", str(used["deploy_key"]), "-o", "IdentitiesOnly=yes"]
    return " ".join(shlex.quote(arg) for arg in argv)


def install_ssh_files(run: Run) -> None:
    """The deploy key and the pin are where the next run (and git) finds them, 0600 in a 0700
    folder; a deploy key no longer asked for is removed."""
    for path, data in ssh_files(run):
        if not differs(path, data):
            continue
        if data is None:
            run.change(f"{path} removed")
            if not run.check:
                path.unlink()
            continue
        run.change(f"{path} written")
        if not run.check:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(path.parent, 0o700)
            write_file(path, data, 0o600, False)


def ssh_hint(detail: str) -> str:
    """What to look at when git's ssh failed: the pin or the deploy key."""
    if "Host key verification failed" in detail or "REMOTE HOST IDENTIFICATION HAS CHANGED" in detail:
        return (" (the git server's host key is not the one pinned by django_env_repo_host_key: check the key "
                "with the server's administrator before changing the pin; nothing was installed)")
    if "Permission denied (publickey" in detail:
        return (" (the server refused the deploy key: django_env_repo_key_file / django_env_repo_key must be a "
                "key the repository accepts)")
    return ""


def git(args: list[str], cwd: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return sh(["git", *args], cwd=cwd, env=env)


# A branch, tag or commit as git's argv takes it: never an option (a leading '-'), whatever
# reached the program (the role checks it first, filter django_env_repo_version_problem).
VERSION = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._/-]*$")


def checkout(run: Run, git_env: dict[str, str]) -> None:
    cfg = run.cfg
    repo = cfg["repo_url"] or str(Path(cfg["state_dir"]) / "sample-src")
    dest = Path(cfg["project_dir"])
    version = cfg["repo_version"]
    if not isinstance(version, str) or not VERSION.match(version) or ".." in version:
        raise Failure(f"django_env_repo_version '{version}' is not a branch, tag or commit (git would read a "
                      "leading '-' as an option); nothing was cloned or updated")

    def fail(detail: str) -> Failure:
        return Failure(
            f"django_env_repo_url '{cfg['repo_url'] or '(the shipped sample)'}' at django_env_repo_version "
            f"'{version}' could not be cloned or updated into {dest}: {detail}{ssh_hint(detail)}")

    if not (dest / ".git").exists():
        if dest.exists() and any(dest.iterdir()):
            raise fail(f"{dest} exists and is not a git checkout (move it away, or set django_env_project)")
        run.change(f"project cloned into {dest}", restart=True)
        if run.check:
            return
        done = git(["clone", "--quiet", "--no-checkout", "--", repo, str(dest)], cwd="/", env=git_env)
        if done.returncode == 0:
            done = git(["checkout", "--quiet", version, "--"], cwd=str(dest), env=git_env)
        if done.returncode != 0:
            if dest.exists() and not any(p.name != ".git" for p in dest.iterdir()):
                shutil.rmtree(dest)   # a half-made clone: nothing of the developer's is in it
            raise fail(tail(done.stderr))
        return

    if not cfg["repo_update"]:
        return
    # Update: only a fast-forward of the branch (never a reset: unpushed commits stay).
    before = git(["rev-parse", "HEAD"], cwd=str(dest), env=git_env).stdout.strip()
    if run.check:
        remote = git(["ls-remote", "origin", version, f"refs/heads/{version}", f"refs/tags/{version}"],
                     cwd=str(dest), env=git_env).stdout.split()
        if remote and remote[0] != before:
            run.change(f"project updated to {version}", restart=True)
        return
    done = git(["fetch", "--quiet", "--tags", "origin"], cwd=str(dest), env=git_env)
    if done.returncode != 0:
        raise fail(tail(done.stderr))
    is_branch = git(["rev-parse", "--verify", "--quiet", f"refs/remotes/origin/{version}"],
                    cwd=str(dest), env=git_env).returncode == 0
    steps = ([["checkout", "--quiet", version], ["merge", "--ff-only", "--quiet", f"origin/{version}"]]
             if is_branch else [["checkout", "--quiet", version]])
    for step in steps:
        done = git(step, cwd=str(dest), env=git_env)
        if done.returncode != 0:
            raise fail(tail(done.stderr))
    if git(["rev-parse", "HEAD"], cwd=str(dest), env=git_env).stdout.strip() != before:
        run.change(f"project updated to {version}", restart=True)


def project(run: Run, git_env: dict[str, str]) -> None:
    """The checkout, git's ssh using the deploy key and the pin (new ones from a private
    temporary folder); they are installed only when it succeeded: a wrong pin changes nothing."""
    with tempfile.TemporaryDirectory(prefix="devstack-ssh-") as scratch:
        checkout(run, {**git_env, "GIT_SSH_COMMAND": git_ssh_command(run, Path(scratch))})
    install_ssh_files(run)


def make_venv(venv: Path, env: dict[str, str]) -> None:
    done = sh(["python3", "-m", "venv", str(venv)], env=env)
    if done.returncode != 0:
        raise Failure(f"django_env_venv: `python3 -m venv {venv}` failed: {tail(done.stderr)}")


def virtualenv(run: Run, env: dict[str, str]) -> None:
    """The virtualenv holds exactly what the requirements name: when they (or
    django_env_pip_extra_args) changed, it is made anew and installed from the requirements
    (the wheels come from pip's cache), so a package no file names any more (psycopg-c of an
    earlier psycopg[c]) is gone. Requirements pip cannot resolve fail first (`pip install
    --dry-run` in the current one), before anything moves; otherwise the previous one is kept
    aside as <venv>.previous until the install succeeded, and put back when it failed."""
    cfg = run.cfg
    venv = Path(cfg["venv"])
    previous = venv.with_name(venv.name + ".previous")
    if not run.check and previous.exists():
        # Left by a run stopped during a rebuild: unless the new one was finished (stamped),
        # the last good one comes back.
        if (venv / ".devstack-requirements").exists():
            shutil.rmtree(previous)
        else:
            shutil.rmtree(venv, ignore_errors=True)
            os.rename(previous, venv)
    fresh = not (venv / "bin" / "python").exists()
    if fresh:
        run.change(f"virtualenv {venv}")
        if not run.check:
            make_venv(venv, env)

    requirements = Path(cfg["project_dir"]) / cfg["requirements_file"]
    if not requirements.is_file():
        if run.check:
            return
        raise Failure(f"django_env_requirements_file {cfg['requirements_file']} is not in the project "
                      f"({requirements} does not exist)")
    try:
        digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    except OSError as error:
        raise Failure(f"django_env_requirements_file {cfg['requirements_file']} cannot be read: {error}") from None
    # "venv": "exact": installed into a new virtualenv. A stamp without it (earlier versions
    # installed over what was there) rebuilds the virtualenv once.
    wanted = json.dumps({"requirements": digest, "pip_extra_args": cfg["pip_extra_args"], "venv": "exact"})
    run.inputs.append("requirements " + wanted)
    stamp = venv / ".devstack-requirements"
    try:
        installed = stamp.read_text()
    except FileNotFoundError:
        installed = None
    if installed == wanted:
        return
    run.change(f"requirements {cfg['requirements_file']} installed"
               + ("" if fresh else " into a new virtualenv (what they no longer name is removed)"), restart=True)
    if run.check:
        return
    pip_env = {**env, "PIP_CACHE_DIR": cfg["pip_cache_dir"],
               # Debian's trust store (with django_env_ca_certificates), not pip's own bundle.
               "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt"}
    pip = [str(venv / "bin" / "pip"), "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
           "--requirement", cfg["requirements_file"], *cfg["pip_extra_args"]]

    def failed(done: subprocess.CompletedProcess[str]) -> Failure:
        return Failure(f"django_env_requirements_file {cfg['requirements_file']} could not be installed into "
                       f"{venv}: {tail(done.stderr or done.stdout)}")

    if not fresh:
        # Requirements that cannot be resolved fail here, before the running server's
        # virtualenv is moved (its autoreloader would notice the new one and stop it).
        done = sh([*pip, "--dry-run", "--quiet"], cwd=cfg["project_dir"], env=pip_env)
        if done.returncode != 0 and "no such option: --dry-run" not in done.stderr:   # pip before 22.2
            raise failed(done)
        try:
            os.rename(venv, previous)
        except OSError as error:
            raise Failure(f"django_env_venv: {venv} could not be moved aside to be made anew ({error.strerror}); "
                          "it must be a folder on the same volume as its parent, not a mount point") from None
    try:
        if not fresh:
            make_venv(venv, env)
        done = sh(pip, cwd=cfg["project_dir"], env=pip_env)
        if done.returncode != 0:
            raise failed(done)
    except Failure:
        if previous.exists():
            shutil.rmtree(venv, ignore_errors=True)
            os.rename(previous, venv)
        raise
    write_file(stamp, wanted.encode(), 0o644, False)
    if previous.exists():
        shutil.rmtree(previous)


def files(run: Run) -> None:
    for spec in run.cfg["files"]:
        path = Path(spec["path"])
        if spec.get("restart"):
            run.inputs.append(f"{path} " + hashlib.sha256(spec["content"].encode()).hexdigest())
        if spec.get("absent"):
            if path.exists():
                run.change(f"{path} removed", restart=spec.get("restart", False))
                if not run.check:
                    path.unlink()
            continue
        if write_file(path, spec["content"].encode(), int(spec["mode"], 8), run.check):
            run.change(f"{path} written", restart=spec.get("restart", False))


def bashrc_line(run: Run, home: Path) -> None:
    """The loader line is the first line of ~/.bashrc (replaced in place when it changed)."""
    line, marker = run.cfg["bashrc_line"], run.cfg["bashrc_marker"]
    bashrc = home / ".bashrc"
    try:
        lines = bashrc.read_text().splitlines(keepends=True)
    except FileNotFoundError:
        lines = []
    ours = [i for i, text in enumerate(lines) if text.rstrip("\n").endswith(marker)]
    if ours and lines[ours[-1]].rstrip("\n") == line:
        return
    if ours:
        lines[ours[-1]] = line + "\n"
    else:
        lines.insert(0, line + "\n")
    run.change(f"{bashrc} loads the environment")
    if not run.check:
        write_file(bashrc, "".join(lines).encode(), 0o644, False)


def translations(run: Run, env: dict[str, str]) -> None:
    if run.check:
        return   # makemessages rewrites .po files: nothing to look at without running it
    cfg = run.cfg
    state = Path(cfg["state_dir"])
    argv = [f"{cfg['venv']}/bin/python", str(state / "bin" / "django_env_i18n.py"),
            "--project", cfg["project_dir"], "--manage", str(state / "bin" / "manage"),
            "--state", str(state / "i18n.json")]
    argv += [f"--locale={locale}" for locale in cfg["locales"]]
    argv += ["--makemessages"] if cfg["makemessages"] else []
    argv += [f"--makemessages-arg={arg}" for arg in cfg["makemessages_args"]]
    argv += ["--use-fuzzy"] if cfg["use_fuzzy"] else []
    done = sh(argv, env=env)
    if done.returncode != 0:
        # The helper's first line names the manage.py command; a traceback means Django could not
        # load the project or a package of the virtualenv: that is what failed, not a .po file.
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        step = next((line.split(": ", 1)[1].rstrip(":") for line in lines if line.startswith("django_env i18n: ")), "")
        if any(line.startswith("Traceback (most recent call last)") for line in lines):
            raise Failure(f"django_env: the project could not be loaded ({step or 'manage.py'}: the project's code, "
                          f"its settings (django_env_settings_module) or a package of the virtualenv {cfg['venv']} "
                          f"raised), so django_env_locales could not be built: {tail(done.stderr, 12)}")
        raise Failure(f"django_env_locales: the translations could not be built{f' ({step})' if step else ''}: "
                      f"{tail(done.stderr, 20)}")
    report = json.loads(done.stdout)
    run.fuzzy = report["fuzzy"]
    if report["changed"]:
        # runserver does not always notice a new .mo file: a restart loads it.
        run.change("translations compiled: " + ", ".join(report["compiled"] or report["updated"]), restart=True)


def migrate_digest(run: Run) -> str:
    """What `migrate` depends on, when the database is the stack's own (its container's ID
    names it: a new or re-created database container is a new ID): the env file, the installed
    requirements (third-party migrations) and every file of the project's migrations folders
    (path, size, modification time). '' when the database is not known this way."""
    cfg = run.cfg
    if not cfg.get("migrate_identity"):
        return ""
    digest = hashlib.sha256(cfg["migrate_identity"].encode())
    for path in (Path(cfg["state_dir"]) / "env", Path(cfg["venv"]) / ".devstack-requirements"):
        try:
            digest.update(path.read_bytes())
        except OSError:
            return ""
    for root, dirs, names in os.walk(cfg["project_dir"]):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules", "__pycache__"))
        if os.path.basename(root) != "migrations":
            continue
        for name in sorted(names):
            path = os.path.join(root, name)
            try:
                info = os.stat(path)
            except OSError:
                continue
            digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def migrate(run: Run, env: dict[str, str]) -> None:
    if not run.cfg["migrate"]:
        return
    # Another database (django_env_database_url: the team's shared one, say) is migrated only
    # when asked: a development checkout's migrations must not reach it by accident.
    if not run.cfg.get("database_is_stacks", True) and not run.cfg.get("migrate_external", False):
        run.skipped.append("migrate: DATABASE_URL (django_env_database_url) is not the stack's own database; "
                           "set django_env_migrate_external: true to migrate it")
        return
    manage = str(Path(run.cfg["state_dir"]) / "bin" / "manage")
    stamp = Path(run.cfg["state_dir"]) / "migrate.stamp"
    wanted = migrate_digest(run)
    try:
        if wanted and stamp.read_text() == wanted:
            return   # nothing migrate depends on changed since it last succeeded
    except OSError:
        pass
    if run.check:
        if Path(manage).exists() and Path(run.cfg["venv"], "bin", "python").exists():
            if sh([manage, "migrate", "--check", "--noinput"], env=env).returncode != 0:
                run.change("database migrated")
        return
    done = sh([manage, "migrate", "--noinput"], env=env)
    if done.returncode != 0:
        raise Failure(f"django_env_migrate: `manage.py migrate` failed: {tail(done.stderr or done.stdout)}")
    if "No migrations to apply" not in done.stdout:
        run.change("database migrated")
    if wanted:
        write_file(stamp, wanted.encode(), 0o644, False)
    else:
        stamp.unlink(missing_ok=True)


def restart_server(run: Run, user: str) -> None:
    """Stops the development server when something it reads changed: the runserver script
    (templates/runserver.j2) starts it again at once when it finds restart-now. Called before
    migrate, so that the server starts while migrate runs (both load Django: on two cores they
    overlap); wait_server() then waits for its answer."""
    if run.check or not run.restart:
        return
    # The pattern is written so that it does not match this program's own command line
    # (python3 -c).
    write_file(Path(run.cfg["state_dir"]) / "restart-now", b"", 0o644, False)
    done = sh(["pkill", "--euid", user, "--full", "manage[.]py runserver"])
    if done.returncode == 0:
        run.change("development server restarted")


def wait_server(run: Run) -> None:
    cfg = run.cfg
    if run.check or not cfg["runserver"]:
        return
    url = f"http://127.0.0.1:{cfg['runserver_port']}/"
    deadline = time.monotonic() + cfg["runserver_timeout"]
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except urllib.error.HTTPError:
            return   # any HTTP answer: the server runs
        except OSError as error:
            if time.monotonic() > deadline:
                raise Failure(f"django_env_runserver_timeout: the development server did not answer on {url} "
                              f"within {cfg['runserver_timeout']} s ({error}); see `docker logs` of the work "
                              "container") from None
            time.sleep(0.25)


def user_phase(run: Run, user: pwd.struct_passwd) -> None:
    env = {"HOME": user.pw_dir, "USER": user.pw_name, "LOGNAME": user.pw_name, "LANG": "C.UTF-8",
           "PATH": "/usr/local/bin:/usr/bin:/bin"}
    # Over http(s) git gives up on a transfer slower than 1 kB/s for 60 s.
    git_env = {**env, "GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": SSH_DEFAULT,
               "GIT_HTTP_LOW_SPEED_LIMIT": "1000", "GIT_HTTP_LOW_SPEED_TIME": "60"}
    if not run.cfg["repo_url"]:
        sample_repository(run, git_env)
    project(run, git_env)
    head = sh(["git", "-C", run.cfg["project_dir"], "rev-parse", "HEAD"], env=git_env)
    if head.returncode == 0:
        run.inputs.append("commit " + head.stdout.strip())
    virtualenv(run, env)
    files(run)
    bashrc_line(run, Path(user.pw_dir))
    venv = Path(run.cfg["venv"], "bin", "python").exists()
    if venv:
        translations(run, env)
    restart_server(run, user.pw_name)
    if venv:
        migrate(run, env)
    wait_server(run)


def as_user(run: Run, user: pwd.struct_passwd) -> None:
    """Runs the user phase in a child that has become the user; merges its report."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        result: dict[str, Any] = {"failed": False, "msg": ""}
        try:
            os.setgroups(os.getgrouplist(user.pw_name, user.pw_gid))
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            os.chdir(user.pw_dir)
            os.umask(0o022)
            user_phase(run, user)
        except Failure as error:
            result.update(failed=True, msg=str(error))
        except Exception:   # noqa: BLE001 - reported, never a traceback lost in a child
            result.update(failed=True, msg="django_env: " + traceback.format_exc(limit=3))
        result.update(changed=run.changed, skipped=run.skipped, fuzzy=run.fuzzy, fingerprint=run.fingerprint())
        with os.fdopen(write_end, "w") as out:
            out.write(json.dumps(result))
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as inp:
        data = inp.read()
    os.waitpid(pid, 0)
    child = json.loads(data) if data else {"failed": True, "msg": "django_env: the user phase died", "changed": []}
    run.changed = child["changed"]
    run.skipped = child.get("skipped", [])
    run.fuzzy = child.get("fuzzy", {})
    run.child_fingerprint = child.get("fingerprint", "")
    if child["failed"]:
        raise Failure(child["msg"])


def main() -> None:
    global STEP_TIMEOUT
    cfg = json.load(sys.stdin)
    STEP_TIMEOUT = cfg["step_timeout"]
    run = Run(cfg)
    report: dict[str, Any] = {"failed": False, "msg": ""}
    try:
        try:
            user = pwd.getpwnam(cfg["user"])
        except KeyError:
            raise Failure(f"django_env_user {cfg['user']} does not exist in the work container") from None
        report.update(uid=user.pw_uid, gid=user.pw_gid)
        root_phase(run, user)
        as_user(run, user)   # the child starts from this run: its report includes the root phase's
    except Failure as error:
        report.update(failed=True, msg=str(error))
    report.update(changed=run.changed, skipped=run.skipped, fuzzy=run.fuzzy, fingerprint=run.child_fingerprint)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
