#!/bin/sh
# The 1.20-1.29 official image's /etc/temporal/entrypoint.sh (temporalio/docker-builds), ported to POSIX sh
# for busybox: the same variables, the same hand-over to start-temporal.sh. Not reproduced here: rendering
# config/config_template.yaml into config/docker.yaml with dockerize (this image has no dockerize: mount a
# config/docker.yaml instead), and the `autosetup`, `develop` and `bash` arguments.
set -eu

: "${BIND_ON_IP:=$(hostname -i | awk '{print $1}')}"
export BIND_ON_IP

if [ -z "${TEMPORAL_CLI_ADDRESS:-}" ]; then
    case "${BIND_ON_IP}" in
        *:*) TEMPORAL_CLI_ADDRESS="[${BIND_ON_IP}]:7233" ;;
        *) TEMPORAL_CLI_ADDRESS="${BIND_ON_IP}:7233" ;;
    esac
    echo "TEMPORAL_CLI_ADDRESS is not set, setting it to ${TEMPORAL_CLI_ADDRESS}"
    export TEMPORAL_CLI_ADDRESS
fi

exec /etc/temporal/start-temporal.sh
