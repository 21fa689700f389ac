# Shared by the scripts of the "minimal" OS definition (sourced, not run).
# Scripts run in the OS directory with a clean environment; see
# ganeti-os-interface(7) for the variables.

DEFAULT_LABEL=root
MAX_LABEL_LENGTH=16

log() {
  echo "minimal: $*" >&2
}

die() {
  log "$*"
  exit 1
}

# Scripts other than verify take no arguments.
check_no_arguments() {
  if [ $# -gt 0 ]; then
    echo "Usage: $0 (run by Ganeti with the OS environment, no arguments)" >&2
    exit 1
  fi
}

# The variant asked for; an instance without one gets the first listed.
variant() {
  case "${OS_VARIANT:-default}" in
    default|blank) echo "${OS_VARIANT:-default}" ;;
    *) die "unknown variant '$OS_VARIANT' (known: default, blank)" ;;
  esac
}

# The first disk's path, or nothing if the instance has no usable disk.
root_disk() {
  if [ "${DISK_COUNT:-0}" -gt 0 ] && [ -n "${DISK_0_PATH:-}" ] && [ -e "$DISK_0_PATH" ]; then
    echo "$DISK_0_PATH"
  fi
}

label() {
  echo "${OSP_LABEL:-$DEFAULT_LABEL}"
}
