#!/usr/bin/env bash
# Wall-clock timings of the things a person waits for. Prints one "name seconds" line each
# and appends them to bench/results/timings.txt (gitignored).
#   bench/timings.sh            cached image build, setup.yml re-run, --check, verify, redis scenario
#   bench/timings.sh --cold     first removes the project's images (a full rebuild follows)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/bin/bootstrap"
export PATH="$root/.venv/bin:$PATH" DEVSTACK_ROOT="$root"
mkdir -p bench/results
out="bench/results/timings.txt"

timed() {
  local name="$1"; shift
  local start end
  start=$(date +%s.%N)
  "$@" > "bench/results/$name.log" 2>&1
  end=$(date +%s.%N)
  printf '%s %s %s\n' "$(date -u +%FT%TZ)" "$name" "$(python3 -c "print(f'{$end - $start:.1f}')")" | tee -a "$out"
}

if [[ "${1:-}" == "--cold" ]]; then
  # Only the project's own images (label org.devstack.project=devstack), never others.
  docker image ls -q --filter label=org.devstack.project=devstack | sort -u | xargs -r docker image rm -f > /dev/null
  timed images-cold ansible-playbook playbooks/images.yml -e @molecule/shared/images.yml
fi
timed images-cached ansible-playbook playbooks/images.yml -e @molecule/shared/images.yml
timed setup-rerun ansible-playbook setup.yml
timed setup-check ansible-playbook setup.yml --check
timed verify ansible-playbook playbooks/verify.yml
timed molecule-redis bash -c "cd roles/redis && DEVSTACK_ROLE=redis molecule test"
