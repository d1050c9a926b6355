"""The secret scanner (tools/scan_secrets.py, Yelp's detect-secrets): the tracked tree holds no
secret, and a generated password that reached a log would be found. bin/test ends with the same
scanner over the tree and every log of the run (.test-output/)."""

from __future__ import annotations

import secrets
import shutil
import string
import subprocess
import sys

from conftest import OUTPUT, ROOT

SCANNER = [sys.executable, str(ROOT / "tools" / "scan_secrets.py")]


def test_the_tracked_tree_holds_no_secret():
    done = subprocess.run([*SCANNER, "--tree"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 possible secret(s) found" in done.stdout


def test_a_generated_password_in_a_log_is_found_and_not_printed():
    # What the roles generate (letters and digits, 32 of them), as a careless task would log it.
    password = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    probe = OUTPUT / "scan-probe"
    probe.mkdir(parents=True, exist_ok=True)
    try:
        (probe / "leak.log").write_text(f'TASK [redis : x]\nok: [localhost] => {{"redis_password": "{password}"}}\n')
        done = subprocess.run(SCANNER, cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        shutil.rmtree(probe)
    assert done.returncode == 1, done.stdout + done.stderr
    assert ".test-output/scan-probe/leak.log:2:" in done.stdout
    assert password not in done.stdout + done.stderr
