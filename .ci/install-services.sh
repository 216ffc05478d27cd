#!/usr/bin/env bash
# Install the Debian packages behind tests/services.py (real sshd, Slurm, munge,
# a system Python for the remote venv). Idempotent; starts nothing: the pytest
# fixtures start and stop every daemon themselves. Run as root on Debian 12.
set -euo pipefail

packages=(
  openssh-server   # sshd for the SSH executor
  openssh-client   # ssh, ssh-keygen
  munge            # Slurm authentication
  slurmctld        # Slurm controller
  slurmd           # Slurm compute node daemon
  slurm-client     # sbatch, squeue, scontrol, sacct
  python3          # the remote user's Python (3.11 on Debian 12)
  python3-venv
  patchelf         # another minor Python for the remote side, from pyenv (tests/services.py)
  procps           # ps, pgrep for the tests' leak checks
)

if [ "$(id -u)" -ne 0 ]; then
  echo "install-services.sh: must run as root" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  # "dpkg -s" also succeeds for removed packages that left their config files
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-services.sh: all packages already installed"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# These packages ship /etc/init.d scripts: without systemd, their postinst would start
# sshd on port 22 (all interfaces), munged and slurmd. policy-rc.d "exit 101" forbids it.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
trap 'if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi' EXIT

echo "install-services.sh: installing ${missing[*]}"
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-services.sh: done"
