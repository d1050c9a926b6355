"""The files the django_env exec writes come from one template lookup (roles/django_env/
templates/files.json.j2, which includes each file's own template): each must be byte for byte
what a lookup of that file alone gives, as the role sent before, or a stack converged earlier
would see its env file, scripts and server changed (and restarted) for nothing. Rendered by
Ansible itself on this machine, with the variables the templates read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, playbook

ROLE = ROOT / "roles" / "django_env"
STATE = "/home/dev/.devstack"

PLAY = """
- name: The django_env files, from files.json.j2 and from each template alone
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
    django_env_state_dir: {state}
    django_env_venv: {state}/venv
    _django_env_project_dir: /data/sample
    _django_env_database_url: "postgres://django:p%40ss@pg:5432/django"  # pragma: allowlist secret
    _django_env_redis_url: "redis://:r@redis:6379/0"  # pragma: allowlist secret
    django_env_email_host: mail
    django_env_email_port: 1025
    _django_env_secret_key_value: not-a-secret
    django_env_allowed_hosts: [localhost, 127.0.0.1]
    _django_env_internal_ips: [127.0.0.1, "::1"]
    django_env_settings_module: sample.settings
    django_env_pip_cache_dir: /home/dev/.cache/pip
    django_env_extra_env: {{A: "1", B: "two words"}}
    _django_env_ref_values: {{C: "redis://:r@redis:6379/1"}}  # pragma: allowlist secret
    django_env_runserver: {runserver}
    django_env_runserver_address: "0.0.0.0:8000"
  tasks:
    - name: Both renderings are written for the test
      ansible.builtin.copy:
        dest: {out}
        mode: "0600"
        content: "{{{{ {{'combined': lookup('ansible.builtin.template', '{role}/templates/files.json.j2') | from_json,
                       'alone': {{'env': lookup('ansible.builtin.template', '{role}/templates/env.j2'),
                                 'bashrc': lookup('ansible.builtin.template', '{role}/templates/bashrc.j2'),
                                 'manage': lookup('ansible.builtin.template', '{role}/templates/manage.j2'),
                                 'runserver': lookup('ansible.builtin.template', '{role}/templates/runserver.j2')}}}}
                     | to_json }}}}"
"""


@pytest.mark.parametrize("runserver", [True, False], ids=["runserver", "no-runserver"])
def test_each_file_is_what_its_own_template_gives(tmp_path: Path, runserver: bool):
    # The playbook's files/ is the role's: files.json.j2 reads bin/django_env_i18n.py from it,
    # as it does from the role's files/ in the role.
    (tmp_path / "files").symlink_to(ROLE / "files")
    out = tmp_path / "rendered.json"
    (tmp_path / "play.yml").write_text(PLAY.format(state=STATE, runserver=str(runserver).lower(), out=out, role=ROLE))
    result = playbook(tmp_path / "play.yml", "-i", "localhost,")
    assert result.returncode == 0, result.output[-3000:]
    rendered = json.loads(out.read_text())
    files = {Path(f["path"]).name: f for f in rendered["combined"]}
    assert sorted(files) == ["bashrc", "django_env_i18n.py", "env", "manage", "runserver"]
    for name in ("env", "bashrc", "manage"):
        assert files[name]["content"] == rendered["alone"][name], name
        assert files[name]["content"].endswith("\n"), name
    assert files["django_env_i18n.py"]["content"] == (ROLE / "files/bin/django_env_i18n.py").read_text()
    assert files["env"]["mode"] == "0600" and files["env"]["restart"] is True
    assert "export B='two words'" in files["env"]["content"]
    if runserver:
        assert files["runserver"]["content"] == rendered["alone"]["runserver"]
        assert files["runserver"]["absent"] is False
    else:
        assert files["runserver"] == {"path": f"{STATE}/runserver", "mode": "0755", "restart": True,
                                      "absent": True, "content": ""}
