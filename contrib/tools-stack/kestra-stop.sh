#!/usr/bin/env bash
# Stops Kestra (data kept) for an ops repository's `scripts/docker/stop-stacks.sh`; call it after
# the rest of the Tools stack is down, so nothing still sends Kestra work while it stops.
# Arguments go to `kestractl stop` (e.g. --grace 60s). Exit code: kestractl's.
set -u
exec kestractl stop "$@"
