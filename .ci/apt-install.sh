# Sourced by .ci/services.sh and .ci/conformance-servers.sh: installs Debian packages with their
# services kept down. policy-rc.d refuses service starts during the install, so Debian's own
# PostgreSQL cluster or nginx (port 80) never starts: the scripts and tests run their own.
apt_install_quietly() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  local policy=/usr/sbin/policy-rc.d created_policy=0 status=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  apt-get install -y -qq "$@" >&2 || status=$?
  if [[ $created_policy == 1 ]]; then rm -f "$policy"; fi
  return "$status"
}
