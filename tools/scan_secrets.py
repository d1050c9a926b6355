#!/usr/bin/env python3
"""Secret scan of the tree and of the test run's logs (issue 12), with Yelp's detect-secrets.

    python3 tools/scan_secrets.py            # the files git tracks, and .test-output/**/*.log
    python3 tools/scan_secrets.py --tree     # the tracked files only (tests/test_static.py)

Prints each finding as file:line: type (never the value) and exits 1 when there is one.
A line that holds a made-up test value on purpose says so with detect-secrets' own marker,
`pragma: allowlist secret`, in a comment on that line.

The logs are scanned without the hex-entropy detector: they are full of image IDs, layer
digests and config hashes, none of them secret; the project's generated passwords are
letters and digits, which the base64-entropy and keyword detectors look for.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scan(files: list[str], *extra: str) -> list[tuple[str, int, str]]:
    if not files:
        return []
    tool = Path(sys.executable).with_name("detect-secrets")
    done = subprocess.run([str(tool), "scan", *extra, *files], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        sys.exit(f"scan_secrets: detect-secrets failed (rc {done.returncode}): {done.stderr[-2000:]}")
    results = json.loads(done.stdout)["results"]
    return sorted((name, found["line_number"], found["type"]) for name, findings in results.items()
                  for found in findings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="store_true", help="only the files git tracks")
    args = parser.parse_args()
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split("\0")
    tree = [name for name in tracked if name and (ROOT / name).is_file()]
    findings = scan(tree)
    logs = [] if args.tree else sorted(str(p.relative_to(ROOT)) for p in (ROOT / ".test-output").rglob("*.log"))
    findings += scan(logs, "--disable-plugin", "HexHighEntropyString")
    for name, line, kind in findings:
        print(f"{name}:{line}: {kind}")
    print(f"scan_secrets: {len(tree)} tracked files and {len(logs)} logs scanned, "
          f"{len(findings)} possible secret(s) found")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
