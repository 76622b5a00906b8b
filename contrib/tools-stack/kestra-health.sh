#!/usr/bin/env bash
# Kestra's line for `scripts/maintenance/health-check-all.sh` and the Service Launcher's probe:
# Kestra's management /health (one request, 2 s, with the stack's credential: the port asks it),
# else the container's state. Call this rather than fetching healthUrl: a plain GET gets 401.
#   exit 0  UP (or, for a user who cannot read the credential, Docker's health check says healthy)
#   exit 3  not UP: /health says otherwise, or does not answer (the container's state is printed)
#   exit 1  neither /health nor Docker answers
# `-o json` gives id, healthy, health, source, container, healthUrl and uiUrl.
set -u
exec kestractl status --probe "$@"
