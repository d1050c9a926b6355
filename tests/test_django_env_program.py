"""Unit tests of the program django_env runs in the work container
(roles/django_env/files/devstack_django_env.py): the parts that decide what changes."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import pwd
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("devstack_django_env", ROOT / "roles/django_env/files/devstack_django_env.py")
prog = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(prog)

LINE = "[ -r /home/dev/.devstack/bashrc ] && . /home/dev/.devstack/bashrc  # devstack: django_env"
MARKER = "# devstack: django_env"


def run(tmp_path: Path, check: bool = False, **cfg) -> "prog.Run":
    base = {"check": check, "bashrc_line": LINE, "bashrc_marker": MARKER, "state_dir": str(tmp_path / "state"),
            "repo_url": "", "repo_version": "main", "repo_update": False, "project_dir": str(tmp_path / "data/sample"),
            "sample_files": {}, "files": []}
    return prog.Run({**base, **cfg})


def test_write_file_reports_only_real_changes_and_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "env"
    assert prog.write_file(path, b"A=1\n", 0o600, check=True) and not path.exists()
    assert prog.write_file(path, b"A=1\n", 0o600, check=False)
    assert path.stat().st_mode & 0o777 == 0o600
    assert not prog.write_file(path, b"A=1\n", 0o600, check=False)
    assert prog.write_file(path, b"A=1\n", 0o644, check=False)   # the mode alone counts


def test_bashrc_line_goes_first_once_and_is_replaced_in_place(tmp_path):
    (tmp_path / ".bashrc").write_text("alias ll='ls -l'\n")
    r = run(tmp_path)
    prog.bashrc_line(r, tmp_path)
    assert (tmp_path / ".bashrc").read_text().splitlines() == [LINE, "alias ll='ls -l'"]
    again = run(tmp_path)
    prog.bashrc_line(again, tmp_path)
    assert again.changed == []
    moved = run(tmp_path, bashrc_line=LINE.replace(".devstack", ".state"))
    prog.bashrc_line(moved, tmp_path)
    assert (tmp_path / ".bashrc").read_text().splitlines()[0].startswith("[ -r /home/dev/.state/bashrc")
    assert len((tmp_path / ".bashrc").read_text().splitlines()) == 2


def test_sample_hash_is_the_one_earlier_versions_wrote():
    """Jinja's sort (case-insensitive) ordered the lines: README.md comes after locale/; an upgrade keeps it."""
    files = {name: {"mode": "0644", "b64": base64.b64encode(name.encode()).decode()}
             for name in ("README.md", "locale/x.po", ".gitignore", "manage.py")}
    order = [".gitignore", "locale/x.po", "manage.py", "README.md"]
    lines = [f"{n} 0644 {__import__('hashlib').sha256(n.encode()).hexdigest()}" for n in order]
    # Joined by a backslash and an n: what the Jinja of earlier versions produced.
    assert prog.sample_hash(files) == __import__("hashlib").sha256("\\n".join(lines).encode()).hexdigest()


def test_sample_hash_depends_on_content_and_mode():
    files = {"manage.py": {"mode": "0755", "b64": base64.b64encode(b"x").decode()}}
    other = {"manage.py": {"mode": "0644", "b64": base64.b64encode(b"x").decode()}}
    assert prog.sample_hash(files) != prog.sample_hash(other)
    assert prog.sample_hash(files) == prog.sample_hash(dict(files))


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture()
def origin(tmp_path) -> Path:
    repo = tmp_path / "origin"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "a.txt").write_text("1\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "--quiet", "-m", "one")
    return repo


def test_checkout_clones_once_then_leaves_the_work_alone(tmp_path, origin):
    r = run(tmp_path, repo_url=str(origin))
    prog.checkout(r, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert (tmp_path / "data/sample/a.txt").read_text() == "1\n" and r.restart
    (origin / "a.txt").write_text("2\n")
    git(origin, "commit", "--quiet", "-am", "two")
    again = run(tmp_path, repo_url=str(origin))
    prog.checkout(again, {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert again.changed == [] and (tmp_path / "data/sample/a.txt").read_text() == "1\n"


def test_update_is_a_fast_forward_and_never_loses_a_local_commit(tmp_path, origin):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    prog.checkout(run(tmp_path, repo_url=str(origin)), env)
    (origin / "a.txt").write_text("2\n")
    git(origin, "commit", "--quiet", "-am", "two")
    check = run(tmp_path, check=True, repo_url=str(origin), repo_update=True)
    prog.checkout(check, env)
    assert check.changed == ["project updated to main"]
    assert (tmp_path / "data/sample/a.txt").read_text() == "1\n"      # check mode moved nothing
    update = run(tmp_path, repo_url=str(origin), repo_update=True)
    prog.checkout(update, env)
    assert (tmp_path / "data/sample/a.txt").read_text() == "2\n" and update.changed
    # A local commit the origin does not have, then the origin moves on: no fast-forward.
    work = tmp_path / "data/sample"
    (work / "mine.txt").write_text("unpushed\n")
    git(work, "add", "mine.txt")
    git(work, "commit", "--quiet", "-m", "mine")
    (origin / "a.txt").write_text("3\n")
    git(origin, "commit", "--quiet", "-am", "three")
    with pytest.raises(prog.Failure, match="django_env_repo_url .* could not be cloned or updated"):
        prog.checkout(run(tmp_path, repo_url=str(origin), repo_update=True), env)
    assert (work / "mine.txt").exists() and "mine" in git(work, "log", "--format=%s")


@pytest.mark.parametrize("version", ["-f", "--orphan=x", "--detach"])
def test_an_option_as_the_version_is_refused_before_git_runs(tmp_path, origin, version):
    """The program does not depend on the role's check: an option-like version never reaches
    git's argv (`git checkout --quiet -f --` checked out the default branch, forcibly)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    with pytest.raises(prog.Failure, match=f"django_env_repo_version '{version}' is not a branch, tag or commit"):
        prog.checkout(run(tmp_path, repo_url=str(origin), repo_version=version), env)
    assert not (tmp_path / "data/sample").exists()
    prog.checkout(run(tmp_path, repo_url=str(origin)), env)   # a clone, then an update asked with an option
    with pytest.raises(prog.Failure, match=f"django_env_repo_version '{version}'"):
        prog.checkout(run(tmp_path, repo_url=str(origin), repo_version=version, repo_update=True), env)


def test_a_folder_that_is_not_a_checkout_is_refused_not_overwritten(tmp_path, origin):
    project = tmp_path / "data/sample"
    project.mkdir(parents=True)
    (project / "notes.txt").write_text("mine\n")
    with pytest.raises(prog.Failure, match="is not a git checkout"):
        prog.checkout(run(tmp_path, repo_url=str(origin)), {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert (project / "notes.txt").read_text() == "mine\n"


def _planted(tmp_path: Path) -> tuple[Path, "prog.Run"]:
    """A root-only folder (as /etc or /root is) and a run of the root phase for the user nobody."""
    target = tmp_path / "root-only"
    target.mkdir()
    os.chmod(target, 0o700)
    return target, run(tmp_path, os_packages=[], ca_certificates=[])


@pytest.mark.skipif(os.geteuid() != 0, reason="the root phase's chown needs root")
@pytest.mark.parametrize("where", ["leaf", "parent"])
def test_the_root_phase_follows_no_symlink_the_user_planted(tmp_path, where):
    """The user owns <state>: a symlink planted there (bin -> /etc, or the state folder itself)
    must not make the root phase chown/chmod its target to the user (issue 30, item 13)."""
    nobody = pwd.getpwnam("nobody")
    target, r = _planted(tmp_path)
    state = tmp_path / "state"
    if where == "leaf":
        state.mkdir()
        os.chown(state, nobody.pw_uid, nobody.pw_gid)
        (state / "bin").symlink_to(target)
        link = state / "bin"
    else:
        state.symlink_to(target)
        link = state
    r.cfg["user_dirs"] = [str(state), str(state / "bin")] if where == "leaf" else [str(state / "bin")]
    with pytest.raises(prog.Failure, match=f"{link} is a symbolic link"):
        prog.root_phase(r, nobody)
    info = target.stat()
    assert (info.st_uid, info.st_mode & 0o7777) == (0, 0o700)
    assert list(target.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="the root phase's chown needs root")
def test_the_root_phase_makes_and_owns_the_users_folders(tmp_path):
    nobody = pwd.getpwnam("nobody")
    state = tmp_path / "state"
    r = run(tmp_path, os_packages=[], ca_certificates=[], user_dirs=[str(state), str(state / "bin")])
    prog.root_phase(r, nobody)
    for folder in (state, state / "bin"):
        info = folder.stat()
        assert (info.st_uid, info.st_gid, info.st_mode & 0o7777) == (nobody.pw_uid, nobody.pw_gid, 0o755)
    assert r.changed == [f"folder {state}", f"folder {state / 'bin'}"]
    again = run(tmp_path, os_packages=[], ca_certificates=[], user_dirs=[str(state), str(state / "bin")])
    prog.root_phase(again, nobody)
    assert again.changed == []


def test_missing_requirements_name_the_variable(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    r = run(tmp_path, venv=str(venv), requirements_file="requirements.txt", pip_extra_args=[],
            pip_cache_dir=str(tmp_path / "cache"))
    with pytest.raises(prog.Failure, match="django_env_requirements_file requirements.txt is not in the project"):
        prog.virtualenv(r, {"PATH": "/usr/bin:/bin"})


def test_a_stamp_of_earlier_versions_rebuilds_the_virtualenv_once(tmp_path):
    """Earlier versions installed over what was there, so their virtualenv may hold packages no
    requirements file names (issue 30, item 21): their stamp (no "venv") makes it anew once;
    the stamp written since is what a re-run finds, and it installs nothing."""
    project = tmp_path / "data/sample"
    project.mkdir(parents=True)
    (project / "requirements.txt").write_text("Django\n")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    digest = __import__("hashlib").sha256(b"Django\n").hexdigest()
    cfg = {"venv": str(venv), "requirements_file": "requirements.txt", "pip_extra_args": [],
           "pip_cache_dir": str(tmp_path / "cache")}
    (venv / ".devstack-requirements").write_text(json.dumps({"requirements": digest, "pip_extra_args": []}))
    earlier = run(tmp_path, check=True, **cfg)
    prog.virtualenv(earlier, {"PATH": "/usr/bin:/bin"})
    assert earlier.changed == ["requirements requirements.txt installed into a new virtualenv "
                               "(what they no longer name is removed)"]
    (venv / ".devstack-requirements").write_text(
        json.dumps({"requirements": digest, "pip_extra_args": [], "venv": "exact"}))
    now = run(tmp_path, **cfg)
    prog.virtualenv(now, {"PATH": "/usr/bin:/bin"})
    assert now.changed == []


def _fingerprint(tmp_path: Path, env: str, requirements: str) -> str:
    """The fingerprint one run reports, with the virtualenv stamped as installed (no pip)."""
    project = tmp_path / "data/sample"
    project.mkdir(parents=True, exist_ok=True)
    (project / "requirements.txt").write_text(requirements)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True, exist_ok=True)
    (venv / "bin" / "python").touch()
    digest = __import__("hashlib").sha256(requirements.encode()).hexdigest()
    (venv / ".devstack-requirements").write_text(
        json.dumps({"requirements": digest, "pip_extra_args": [], "venv": "exact"}))
    r = run(tmp_path, venv=str(venv), requirements_file="requirements.txt", pip_extra_args=[],
            pip_cache_dir=str(tmp_path / "cache"),
            files=[{"path": str(tmp_path / "state/env"), "mode": "0600", "restart": True, "content": env},
                   {"path": str(tmp_path / "state/bashrc"), "mode": "0644", "content": "# " + env}])
    prog.virtualenv(r, {"PATH": "/usr/bin:/bin"})
    prog.files(r)
    return r.fingerprint()


def test_the_fingerprint_follows_the_env_file_and_the_requirements_only(tmp_path):
    """Workers are re-created when it changes: a changed env file or requirements changes it;
    the same inputs give the same value."""
    first = _fingerprint(tmp_path / "a", "export A=1\n", "Django\n")
    assert len(first) == 16 and int(first, 16) >= 0
    assert _fingerprint(tmp_path / "b", "export A=1\n", "Django\n") != first   # other paths, other inputs
    assert _fingerprint(tmp_path / "a", "export A=1\n", "Django\n") == first
    assert _fingerprint(tmp_path / "a", "export A=2\n", "Django\n") != first
    assert _fingerprint(tmp_path / "a", "export A=1\n", "Django\ncelery\n") != first


def test_migrate_digest_follows_the_database_env_file_requirements_and_migrations(tmp_path):
    state, venv, project = tmp_path / "state", tmp_path / "venv", tmp_path / "data/sample"
    (project / "app/migrations").mkdir(parents=True)
    (project / "app/migrations/0001_initial.py").write_text("# one\n")
    (project / "app/views.py").write_text("# not a migration\n")
    state.mkdir()
    venv.mkdir()
    (state / "env").write_text("export DATABASE_URL=postgres://a\n")
    (venv / ".devstack-requirements").write_text('{"requirements": "x"}')

    def digest(identity="container-1"):
        return prog.migrate_digest(run(tmp_path, venv=str(venv), migrate_identity=identity))

    first = digest()
    assert first and first == digest()
    assert digest("") == ""                            # an unknown database: migrate always runs
    assert digest("container-2") != first              # another (re-created) database container
    (project / "app/views.py").write_text("# edited, not a migration\n")
    assert digest() == first
    (project / "app/migrations/0002_more.py").write_text("# two\n")
    second = digest()
    assert second != first
    (state / "env").write_text("export DATABASE_URL=postgres://b\n")
    assert digest() != second
    (state / "env").unlink()
    assert digest() == ""                              # no env file: migrate runs


def test_i18n_inputs_digest_follows_project_files_and_options(tmp_path):
    spec = importlib.util.spec_from_file_location("django_env_i18n", ROOT / "roles/django_env/files/bin/django_env_i18n.py")
    i18n = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(i18n)
    project = tmp_path / "sample"
    (project / "locale/zh_Hans/LC_MESSAGES").mkdir(parents=True)
    po = project / "locale/zh_Hans/LC_MESSAGES/django.po"
    po.write_text('msgid "a"\nmsgstr "b"\n')
    (project / "node_modules").mkdir()
    args = i18n.argparse.Namespace(locale=["zh_Hans"], makemessages=True, makemessages_arg=[], use_fuzzy=False)
    first = i18n.inputs_digest(project, args)
    assert first == i18n.inputs_digest(project, args)
    (project / "node_modules/x.js").write_text("skipped folder")
    assert i18n.inputs_digest(project, args) == first
    po.write_text('msgid "a"\nmsgstr "c, edited"\n')
    edited = i18n.inputs_digest(project, args)
    assert edited != first
    args.use_fuzzy = True
    assert i18n.inputs_digest(project, args) != edited


def test_migrate_leaves_a_database_that_is_not_the_stacks_alone_unless_asked(tmp_path, monkeypatch):
    calls = []

    def fake_sh(argv, cwd=None, env=None, stdin=None):
        calls.append(argv)
        return subprocess.CompletedProcess(argv, 0, "Operations to perform:\n  Apply all migrations\n", "")

    monkeypatch.setattr(prog, "sh", fake_sh)
    shared = run(tmp_path, migrate=True, database_is_stacks=False, migrate_external=False, venv=str(tmp_path / "venv"))
    prog.migrate(shared, {})
    assert calls == [] and shared.changed == []
    assert shared.skipped == ["migrate: DATABASE_URL (django_env_database_url) is not the stack's own database; "
                              "set django_env_migrate_external: true to migrate it"]
    for cfg in ({"database_is_stacks": False, "migrate_external": True}, {"database_is_stacks": True}):
        asked = run(tmp_path, migrate=True, venv=str(tmp_path / "venv"), **cfg)
        prog.migrate(asked, {})
        assert calls[-1][1:] == ["migrate", "--noinput"] and asked.skipped == []
    assert len(calls) == 2


def test_the_server_is_restarted_before_migrate_and_waited_for_after_it(tmp_path, monkeypatch):
    """A change the server reads (the env file here) stops it before migrate, so that it starts
    again while migrate runs; the answer on its port is waited for last. Without a change it
    is not stopped."""
    calls = []

    def fake_sh(argv, cwd=None, env=None, stdin=None):
        if argv[0] != "git":   # pkill, or manage.py's command
            calls.append("pkill" if argv[0] == "pkill" else argv[1])
        return subprocess.CompletedProcess(argv, 0, "No migrations to apply.\n", "")

    monkeypatch.setattr(prog, "sh", fake_sh)
    monkeypatch.setattr(prog, "translations", lambda run, env: calls.append("translations"))
    monkeypatch.setattr(prog, "wait_server", lambda run: calls.append("wait"))
    for name in ("sample_repository", "project", "virtualenv", "bashrc_line"):
        monkeypatch.setattr(prog, name, lambda *args: None)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    user = type("User", (), {"pw_dir": str(tmp_path), "pw_name": "dev"})()
    env_file = {"path": str(tmp_path / "state/env"), "mode": "0600", "restart": True, "content": "A=1\n"}
    changed = run(tmp_path, venv=str(venv), migrate=True, files=[env_file], runserver=True)
    prog.user_phase(changed, user)
    assert calls == ["translations", "pkill", "migrate", "wait"]
    assert "development server restarted" in changed.changed
    calls.clear()
    prog.user_phase(run(tmp_path, venv=str(venv), migrate=True, files=[env_file], runserver=True), user)
    assert calls == ["translations", "migrate", "wait"]


def test_a_step_that_does_not_finish_is_stopped_and_named(tmp_path, monkeypatch):
    """Every command the program runs (git, pip, apt ...) has a bounded time, django_env_step_timeout
    (issue 30, item 4): the command and what it started are killed, and the failure names the
    step and the variable."""
    monkeypatch.setattr(prog, "STEP_TIMEOUT", 1)
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(prog.Failure) as failure:
        prog.sh(["bash", "-c", f"sleep 60 & echo $! > {pid_file}; wait"])
    assert time.monotonic() - started < 10
    assert str(failure.value).startswith("django_env_step_timeout: `bash` did not finish within 1 s")
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{grandchild}").exists() and Path(f"/proc/{grandchild}/stat").read_text().split()[2] != "Z":
        assert time.monotonic() < deadline, "the step's own child (sleep 60) still runs"
        time.sleep(0.05)


@pytest.mark.parametrize(("argv", "step"), [
    (["git", "clone", "--quiet", "--", "https://h/x.git", "/data/x"], "git clone"),
    (["git", "-C", "/data/x", "rev-parse", "HEAD"], "git rev-parse"),
    (["/home/dev/.devstack/venv/bin/pip", "install", "--requirement", "r.txt"], "pip install"),
    (["apt-get", "install", "-y", "gettext"], "apt-get install"),
    (["/home/dev/.devstack/bin/manage", "migrate", "--noinput"], "manage migrate"),
])
def test_a_step_is_named_by_its_command_and_subcommand_only(argv, step):
    assert prog.step_name(argv) == step


def test_the_step_timeout_comes_from_the_configuration(monkeypatch, capsys):
    monkeypatch.setattr(prog, "STEP_TIMEOUT", None)
    monkeypatch.setattr(prog.sys, "stdin", __import__("io").StringIO(json.dumps(
        {"user": "no-such-user-here", "step_timeout": 7})))
    prog.main()
    assert prog.STEP_TIMEOUT == 7
    assert "django_env_user no-such-user-here does not exist" in json.loads(capsys.readouterr().out)["msg"]


def _wheel(folder: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
    """A minimal pure-Python wheel (a module and its metadata), for pip without an index."""
    import zipfile
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}.py": f"VERSION = {version!r}\n",
             f"{dist}/METADATA": "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n"
             + "".join(f"Requires-Dist: {r}\n" for r in requires),
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    files[f"{dist}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{dist}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{name}-{version}-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)


def _installed(venv: Path) -> set[str]:
    out = subprocess.run([str(venv / "bin/python"), "-c",
                          "import importlib.metadata as m; print('\\n'.join(sorted(d.metadata['Name'] for d in m.distributions())))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split()) - {"pip", "setuptools"}


@pytest.fixture()
def wheels(tmp_path) -> Path:
    folder = tmp_path / "wheels"
    folder.mkdir()
    _wheel(folder, "appdep", "1.0")
    _wheel(folder, "stalec", "3.1.18")                       # as psycopg-c, pulled in by an extra
    _wheel(folder, "app", "1.0", ("appdep==1.0", "stalec==3.1.18"))
    _wheel(folder, "app", "2.0", ("appdep==1.0",))
    return folder


def _venv_run(tmp_path: Path, wheels: Path, requirements: str) -> "prog.Run":
    project = tmp_path / "data/sample"
    project.mkdir(parents=True, exist_ok=True)
    (project / "requirements.txt").write_text(requirements)
    return run(tmp_path, venv=str(tmp_path / "state/venv"), requirements_file="requirements.txt",
               pip_extra_args=["--no-index", "--find-links", str(wheels)], pip_cache_dir=str(tmp_path / "cache"))


def test_the_virtualenv_holds_only_what_the_requirements_name(tmp_path, wheels):
    """A requirement dropped from the file leaves nothing behind (issue 30, item 21: psycopg-c
    3.1.18 of an earlier requirements file stayed and broke psycopg 3.3.9 on every run)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    venv = tmp_path / "state/venv"
    prog.virtualenv(_venv_run(tmp_path, wheels, "app==1.0\n"), env)
    assert _installed(venv) == {"app", "appdep", "stalec"}
    later = _venv_run(tmp_path, wheels, "app==2.0\n")
    prog.virtualenv(later, env)
    assert _installed(venv) == {"app", "appdep"}
    assert "requirements requirements.txt installed" in later.changed[0]
    assert not venv.with_name("venv.previous").exists()
    again = _venv_run(tmp_path, wheels, "app==2.0\n")
    prog.virtualenv(again, env)
    assert again.changed == []


def test_requirements_that_cannot_be_resolved_fail_before_the_virtualenv_moves(tmp_path, wheels, monkeypatch):
    """The running server's virtualenv is not moved for requirements pip cannot resolve: its
    autoreloader would see a new virtualenv and stop the server (the side effect test's PID)."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    venv = tmp_path / "state/venv"
    prog.virtualenv(_venv_run(tmp_path, wheels, "app==1.0\n"), env)
    stamp = (venv / ".devstack-requirements").read_text()
    moved = []
    monkeypatch.setattr(prog.os, "rename", lambda *args: moved.append(args))
    with pytest.raises(prog.Failure, match="django_env_requirements_file requirements.txt could not be installed"):
        prog.virtualenv(_venv_run(tmp_path, wheels, "app==1.0\nno-such-package==1\n"), env)
    assert moved == []
    assert _installed(venv) == {"app", "appdep", "stalec"}
    assert (venv / ".devstack-requirements").read_text() == stamp


def test_an_install_that_fails_after_the_move_puts_the_previous_virtualenv_back(tmp_path, wheels, monkeypatch):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    venv = tmp_path / "state/venv"
    prog.virtualenv(_venv_run(tmp_path, wheels, "app==1.0\n"), env)
    stamp = (venv / ".devstack-requirements").read_text()
    real_rename, moved = os.rename, []
    monkeypatch.setattr(prog.os, "rename", lambda *args: moved.append(args) or real_rename(*args))
    # The dry run resolves; the install into the new virtualenv then fails (pip made unusable).
    real_make_venv = prog.make_venv

    def make_venv_without_pip(path, env):
        real_make_venv(path, env)
        (path / "bin/pip").write_text("#!/bin/sh\necho 'ERROR: the install failed' >&2\nexit 1\n")

    monkeypatch.setattr(prog, "make_venv", make_venv_without_pip)
    with pytest.raises(prog.Failure, match="could not be installed into .*: ERROR: the install failed"):
        prog.virtualenv(_venv_run(tmp_path, wheels, "app==2.0\n"), env)
    assert [Path(a).name for a, _ in moved] == ["venv", "venv.previous"]      # moved aside, then put back
    assert _installed(venv) == {"app", "appdep", "stalec"}
    assert (venv / ".devstack-requirements").read_text() == stamp
    assert not venv.with_name("venv.previous").exists()


def test_a_rebuild_stopped_half_way_gives_the_last_good_virtualenv_back(tmp_path, wheels):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    venv = tmp_path / "state/venv"
    prog.virtualenv(_venv_run(tmp_path, wheels, "app==1.0\n"), env)
    venv.rename(venv.with_name("venv.previous"))              # as a run stopped during the rebuild left it
    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").touch()
    same = _venv_run(tmp_path, wheels, "app==1.0\n")
    prog.virtualenv(same, env)
    assert same.changed == [] and _installed(venv) == {"app", "appdep", "stalec"}
    assert not venv.with_name("venv.previous").exists()


PSYCOPG_STALE = """django_env i18n: `manage.py makemessages --locale=zh_Hans` failed (rc 1):
Traceback (most recent call last):
  File "/data/sample/manage.py", line 8, in <module>
  File "/home/dev/.devstack/venv/lib/python3.11/site-packages/psycopg/pq/__init__.py", line 120, in import_from_libpq
AttributeError: module 'psycopg_c.pq' has no attribute 'PGcancelConn'
"""


def test_a_project_that_does_not_load_is_named_not_the_translations(tmp_path, monkeypatch):
    """Issue 30, item 21: a package of the virtualenv that broke Django's start was reported as
    "django_env_locales: the translations could not be built", the step that noticed."""
    monkeypatch.setattr(prog, "sh", lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "", PSYCOPG_STALE))
    r = run(tmp_path, venv="/home/dev/.devstack/venv", locales=["zh_Hans"], makemessages=True,
            makemessages_args=[], use_fuzzy=False)
    with pytest.raises(prog.Failure) as failure:
        prog.translations(r, {})
    message = str(failure.value)
    assert message.startswith("django_env: the project could not be loaded (`manage.py makemessages "
                              "--locale=zh_Hans` failed (rc 1): the project's code, its settings")
    assert "a package of the virtualenv /home/dev/.devstack/venv raised" in message
    assert message.endswith("AttributeError: module 'psycopg_c.pq' has no attribute 'PGcancelConn'")


def test_a_translation_error_still_names_the_locales(tmp_path, monkeypatch):
    err = "django_env i18n: `manage.py compilemessages` failed (rc 1):\nCommandError: django.po:12: bad msgstr\n"
    monkeypatch.setattr(prog, "sh", lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "", err))
    r = run(tmp_path, venv="/v", locales=["zh_Hans"], makemessages=False, makemessages_args=[], use_fuzzy=False)
    with pytest.raises(prog.Failure, match=r"^django_env_locales: the translations could not be built "
                                           r"\(`manage.py compilemessages` failed \(rc 1\)\): .*bad msgstr"):
        prog.translations(r, {})


def test_a_timed_out_step_whose_descendant_left_its_session_still_ends(tmp_path, monkeypatch):
    """A descendant in a session of its own (setsid, an ssh master) survives the kill of the
    step's group and keeps its output pipe open: the run must still end, not wait on it."""
    monkeypatch.setattr(prog, "STEP_TIMEOUT", 1)
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    try:
        with pytest.raises(prog.Failure, match="django_env_step_timeout: `bash` did not finish within 1 s"):
            prog.sh(["bash", "-c", f"setsid sleep 30 & echo $! > {pid_file}; wait"])
        assert time.monotonic() - started < 20
    finally:
        if pid_file.exists():
            subprocess.run(["kill", "-KILL", pid_file.read_text().strip()], check=False)
