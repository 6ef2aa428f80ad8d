#!/usr/bin/env bash
# Installs (only when missing) the Debian tools and servers that Strata's tests
# and benchmarks use, starts the servers on free loopback ports with their
# data in a temporary folder, and prints `export NAME=value` lines telling
# the tests where they are. Usage:  eval "$(scripts/test-services.sh)"
#
# Today: mosquitto-clients (mosquitto_pub/mosquitto_sub, the real MQTT peers
# of the integration tests), mosquitto (the benchmark's reference broker) and
# openssl (test certificates). Later issues add PostgreSQL, NATS, RabbitMQ.
set -euo pipefail

log() { echo "test-services: $*" >&2; }

need_pkgs=()
command -v mosquitto_pub >/dev/null 2>&1 || need_pkgs+=(mosquitto-clients)
command -v mosquitto_sub >/dev/null 2>&1 || need_pkgs+=(mosquitto-clients)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null 2>&1 || need_pkgs+=(mosquitto)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
command -v taskset >/dev/null 2>&1 || need_pkgs+=(util-linux)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing ${need_pkgs[*]} and not root: install them, or the tests that need them are skipped"
  else
    log "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # A package's own service is not started here (policy-rc.d); tests start what they need.
    apt-get install -y -qq --no-install-recommends $(printf '%s\n' "${need_pkgs[@]}" | sort -u) >&2
  fi
fi

echo "export STRATA_TEST_MOSQUITTO_PUB=$(command -v mosquitto_pub || true)"
echo "export STRATA_TEST_MOSQUITTO_SUB=$(command -v mosquitto_sub || true)"
echo "export STRATA_TEST_OPENSSL=$(command -v openssl || true)"
