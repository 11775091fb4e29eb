# shellcheck shell=bash
# Logging, bounded waits and the check runner shared by the e2e scripts.

# Counters and names of the checks run so far.
E2E_PASSED=0
E2E_FAILED=0
E2E_SKIPPED=0
E2E_FAILED_NAMES=()

# Prints a progress line to stderr so that stdout stays for data.
log() {
  printf 'e2e: %s\n' "$*" >&2
}

# Prints an error and exits the current shell with status 1. Inside a check it
# prints the check's FAIL line instead.
die() {
  if [[ -n "${E2E_CURRENT_CHECK:-}" ]]; then
    printf 'FAIL %s: %s\n' "$E2E_CURRENT_CHECK" "$*"
  else
    printf 'e2e: ERROR: %s\n' "$*" >&2
  fi
  exit 1
}

# Fails the running check with a message; only valid inside a check function.
fail() {
  printf 'FAIL %s: %s\n' "${E2E_CURRENT_CHECK:-?}" "$*"
  exit 1
}

# Prints an intermediate note of the running check.
note() {
  printf '  %s: %s\n' "${E2E_CURRENT_CHECK:-?}" "$*"
}

# Marks the running check as skipped with a reason and ends it.
skip_check() {
  printf 'SKIP %s: %s\n' "${E2E_CURRENT_CHECK:-?}" "$*"
  exit 3
}

# Fails unless every named command is on PATH.
require_commands() {
  local missing=()
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if ((${#missing[@]} > 0)); then
    die "missing required command(s): ${missing[*]}; install them and run again"
  fi
}

# Prints N random lowercase hex characters.
random_hex() {
  local count=$1
  od -An -N"$count" -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$count"
}

# wait_until DESCRIPTION TIMEOUT_SECONDS COMMAND [ARG...]
# Runs COMMAND once a second until it succeeds. On timeout prints what it was
# waiting for and the last output of COMMAND, and returns 1.
wait_until() {
  local description=$1 timeout=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  local output=""
  while true; do
    if output=$("$@" 2>&1); then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      printf '  timed out after %ss waiting for %s; last output: %s\n' \
        "$timeout" "$description" "${output:-<none>}" >&2
      return 1
    fi
    sleep 1
  done
}

# holds_for DESCRIPTION SECONDS COMMAND [ARG...]
# Checks that COMMAND keeps succeeding for SECONDS seconds; prints what broke.
holds_for() {
  local description=$1 duration=$2
  shift 2
  local deadline=$((SECONDS + duration))
  local output=""
  while ((SECONDS < deadline)); do
    if ! output=$("$@" 2>&1); then
      printf '  %s stopped holding: %s\n' "$description" "${output:-<none>}" >&2
      return 1
    fi
    sleep 1
  done
}

# run_check NAME
# Runs the function NAME in a subshell with errexit, so that the first failing
# command ends the check with a FAIL line that names the command and line.
run_check() {
  local name=$1
  local status=0
  if [[ -n "${E2E_ONLY:-}" && ! "$name" =~ $E2E_ONLY ]]; then
    return 0
  fi
  printf -- '--- %s\n' "$name"
  set +e
  (
    set -eEuo pipefail
    E2E_CURRENT_CHECK=$name
    trap 'printf "FAIL %s: command failed with status %s at %s:%s: %s\n" \
      "$E2E_CURRENT_CHECK" "$?" "${BASH_SOURCE[0]##*/}" "$LINENO" "$BASH_COMMAND"; exit 1' ERR
    "$name"
  )
  status=$?
  set -e
  stop_background_jobs
  case $status in
    0)
      printf 'PASS %s\n' "$name"
      E2E_PASSED=$((E2E_PASSED + 1))
      ;;
    3)
      E2E_SKIPPED=$((E2E_SKIPPED + 1))
      ;;
    *)
      E2E_FAILED=$((E2E_FAILED + 1))
      E2E_FAILED_NAMES+=("$name")
      ;;
  esac
}

# Stops the background loops that a check started and recorded in *.bgpid files.
stop_background_jobs() {
  local file
  for file in "${E2E_WORKDIR:-/nonexistent}"/*.bgpid; do
    [[ -f "$file" ]] || continue
    kill "$(<"$file")" 2>/dev/null || true
    rm -f "$file"
  done
}

# Prints the summary; the last line is "N passed, N failed" alone on a line.
print_summary() {
  if ((${#E2E_FAILED_NAMES[@]} > 0)); then
    printf 'failed checks: %s\n' "${E2E_FAILED_NAMES[*]}"
  fi
  if ((E2E_SKIPPED > 0)); then
    printf '%d passed, %d failed, %d skipped\n' "$E2E_PASSED" "$E2E_FAILED" "$E2E_SKIPPED"
  else
    printf '%d passed, %d failed\n' "$E2E_PASSED" "$E2E_FAILED"
  fi
}
