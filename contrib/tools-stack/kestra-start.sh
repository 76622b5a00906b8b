#!/usr/bin/env bash
# Starts Kestra for an ops repository's `scripts/docker/start-stacks.sh --phase tools`.
#
#   SKIP_Kestra_AUTO_START=1   skip Kestra (the other Tools services still start); exit 0
#   exit 0                     Kestra is ready
#   exit 7                     a port or container name Kestra needs is taken: kestractl has
#                              printed the holder and the .env line to change (with a free port);
#                              the caller should go on with its other services and report this
#   other non-zero             kestractl's own exit code (README "Exit codes")
#
# Arguments go to `kestractl start` (e.g. --pull missing --wait-timeout 5m). Run it from the
# directory of the ops repository's .env, where kestractl reads its settings.
set -u
if [[ ${SKIP_Kestra_AUTO_START:-0} == 1 ]]; then
  echo "Kestra: not started (SKIP_Kestra_AUTO_START=1)"
  exit 0
fi
kestractl start "$@"
rc=$?
if ((rc == 7)); then
  echo "Kestra: not started: a port or container name it needs is taken (see above);" \
    "change the .env line named above and run this again. The other services go on." >&2
fi
exit "$rc"
