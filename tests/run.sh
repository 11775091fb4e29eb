#!/usr/bin/env bash
# Runs the whole test suite. The chart tests call helm and kubectl, so this
# installs them first when they are missing (see tests/k8s-tools.sh).
# Extra arguments go to cargo nextest, for example a test name filter.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=tests/k8s-tools.sh
source tests/k8s-tools.sh
install_k8s_tools

exec cargo nextest run --locked --no-fail-fast "$@"
