#!/bin/sh
# The 1.20-1.29 official image's /etc/temporal/start-temporal.sh, ported to POSIX sh: SERVICES
# ("history:matching", or comma-separated) becomes one --service flag each.
set -eu

flags=""
for service in $(echo "${SERVICES:-}" | tr ':,' '  '); do
    flags="${flags} --service=${service}"
done

# shellcheck disable=SC2086
exec temporal-server --env docker start ${flags}
