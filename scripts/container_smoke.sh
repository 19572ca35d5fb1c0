#!/usr/bin/env bash
# Build the container image and smoke-test it (.ci/run calls this). On these machines no container registry is
# reachable, so the base image is made locally with debootstrap and imported under its public name
# (/work/shared/reference/containers.md); elsewhere `FROM debian:bookworm-slim` is simply pulled.
#
# The smoke test runs the image as compose.yaml does, against the host's PostgreSQL: the web container migrates and
# serves, the sign-in page answers 200 (behind a TLS proxy, as in production), static files are served, it runs as a
# non-root user, `manage.py check --deploy` passes inside, a worker container from the same image starts, and both
# stop on SIGTERM within seconds. Everything it starts it removes, by name; it never prunes anything else.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/inkweld:ci}
BASE=docker.io/library/debian:bookworm-slim
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=${SMOKE_DB:-inkweld_container_smoke}
NAME=inkweld-smoke-$$
WORK=$(mktemp -d /tmp/inkweld-container-XXXXXX)
STOP_LIMIT=10  # seconds a container may take to stop on SIGTERM

started=$SECONDS
step_started=$SECONDS
step() {
  echo "   ($((SECONDS - step_started)) s)"
  step_started=$SECONDS
  echo "== Container: $*"
}
fail() {
  echo "container smoke test FAILED: $*" >&2
  exit 1
}

cleanup() {
  local status=$?
  for name in "$NAME-worker" "$NAME"; do
    if podman container exists "$name" 2>/dev/null; then
      [ $status -eq 0 ] || { echo "--- logs of $name ---"; podman logs --tail 60 "$name" 2>&1 || true; }
      podman rm -f "$name" >/dev/null 2>&1 || true
    fi
  done
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT

echo "== Container: tools (podman, runc, debootstrap)"
missing=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi

# podman's defaults fail here: it cannot raise rlimits past the sandbox's hard limits, and Debian's crun refuses this
# host's cgroup layout. Both settings live in a file of our own, pointed at by CONTAINERS_CONF.
hard_nofile=$(ulimit -Hn); hard_nproc=$(ulimit -Hu)
nofile=20000; [ "$hard_nofile" != unlimited ] && [ "$hard_nofile" -lt $nofile ] && nofile=$hard_nofile
nproc=32768; [ "$hard_nproc" != unlimited ] && [ "$hard_nproc" -lt $nproc ] && nproc=$hard_nproc
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"

step "base image $BASE"
if podman image exists "$BASE"; then
  echo "   present"
else
  # The Debian mirror apt already uses on this machine.
  mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  security=$(sed -n 's/^URIs: *\([^ ]*debian-security\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  security=${security:-http://deb.debian.org/debian-security}
  rootfs="$WORK/rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap could not make the base image"; }
  # As the published image: updates and security fixes too, and no package lists left behind.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | podman import --quiet - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

step "build $IMAGE"
# pip inside the build trusts the host's CA bundle (HTTPS to the package index is re-signed here); it is mounted for
# the build only, never copied in. --format docker keeps the HEALTHCHECK (OCI images have none).
podman build --quiet --format docker --tag "$IMAGE" \
  --volume /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt . >/dev/null
podman image inspect "$IMAGE" --format '   {{.Id}} {{.Size}} bytes' | cut -c1-80

step "start web (migrations at start) against PostgreSQL"
psql "$PG/postgres" -v ON_ERROR_STOP=1 -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')
salt=$(python3 -c 'import secrets; print(secrets.token_urlsafe(30))')
# Production settings, as behind a TLS-terminating proxy. --network=host reaches the host's PostgreSQL; the server
# listens on loopback only.
run_args=(
  --init --network=host
  -e "DATABASE_URL=$PG/$DB" -e "SECRET_KEY=$secret" -e "SALT_KEY=$salt"
  -e "ALLOWED_HOSTS=127.0.0.1,localhost" -e "CSRF_TRUSTED_ORIGINS=https://127.0.0.1"
  -e SECURE_PROXY_SSL_HEADER=true -e HOST=127.0.0.1 -e "PORT=$port"
  -e AI_IMAGE_ENABLED=true -e AI_IMAGE_DEFAULT_PROVIDER=stable-diffusion
)
# (podman's periodic health checks need systemd, which is not here: its complaint goes to a log; the check itself
# is run once below.)
podman run -d --name "$NAME" "${run_args[@]}" "$IMAGE" >/dev/null 2>>"$WORK/podman.log" \
  || { cat "$WORK/podman.log"; fail "the web container did not start"; }
for _ in $(seq 1 120); do
  curl -fsS -o /dev/null "$base/healthz" 2>/dev/null && break
  [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || fail "the web container exited"
  sleep 0.5
done
curl -fsS "$base/healthz" | grep -qx ok || fail "/healthz did not answer ok"
podman healthcheck run "$NAME" || fail "the image's HEALTHCHECK does not pass"
echo "   healthy at $base"

step "sign-in page, static files, user, check --deploy"
status=$(curl -sS -o "$WORK/login.html" -w '%{http_code}' -H 'X-Forwarded-Proto: https' "$base/accounts/login/")
[ "$status" = 200 ] || fail "the sign-in page answered $status, not 200"
grep -q 'Sign in' "$WORK/login.html" || fail "the sign-in page has no 'Sign in'"
css=$(grep -o 'href="/static/[^"]*\.css"' "$WORK/login.html" | head -1 | cut -d'"' -f2)
[ -n "$css" ] || fail "the sign-in page links no stylesheet"
[[ "$css" =~ \.[0-9a-f]{12}\.css$ ]] || fail "the stylesheet $css is not the hashed name collectstatic makes"
status=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Forwarded-Proto: https' "$base$css")
[ "$status" = 200 ] || fail "the stylesheet $css answered $status"
echo "   GET /accounts/login/ 200; GET $css 200"
uid=$(podman exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the container runs as root"
echo "   runs as uid $uid ($(podman exec "$NAME" id -un))"
podman exec "$NAME" python manage.py check --deploy --fail-level WARNING

step "worker from the same image"
podman run -d --name "$NAME-worker" "${run_args[@]}" "$IMAGE" worker >/dev/null 2>>"$WORK/podman.log" \
  || { cat "$WORK/podman.log"; fail "the worker container did not start"; }
for _ in $(seq 1 60); do
  podman logs "$NAME-worker" 2>&1 | grep -q "Starting worker" && break
  [ "$(podman inspect -f '{{.State.Running}}' "$NAME-worker")" = true ] || fail "the worker container exited"
  sleep 0.5
done
podman logs "$NAME-worker" 2>&1 | grep -q "Starting worker" || fail "the worker did not start"
echo "   $(podman logs "$NAME-worker" 2>&1 | grep -m1 'Starting worker')"

step "SIGTERM stops both within $STOP_LIMIT s"
for name in "$NAME" "$NAME-worker"; do
  t0=$(date +%s.%N)
  podman kill --signal TERM "$name" >/dev/null
  code=$(timeout $((STOP_LIMIT + 5)) podman wait "$name" || echo timeout)
  took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  echo "   $name stopped in $took s with exit code $code"
  [ "$code" != timeout ] || fail "$name did not stop on SIGTERM"
  python3 -c "import sys; sys.exit(float(sys.argv[1]) > $STOP_LIMIT)" "$took" || fail "$name took $took s to stop"
  [ "$code" = 0 ] || fail "$name exited with $code after SIGTERM"
done

step "done"
echo "== Container smoke test passed in $((SECONDS - started)) s"
