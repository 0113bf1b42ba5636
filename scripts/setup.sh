# Shared setup for scripts/demo and scripts/test: installs what cti needs on Debian, idempotently.
# Sourced, not run. Needs root or sudo for apt, mounts and chroot (Asterisk runs in a Debian sid root).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
export CTI_ASTERISK_ROOT="${CTI_ASTERISK_ROOT:-/var/cache/cti/asterisk-root}"
APT_PACKAGES=(debootstrap sip-tester redis-server postgresql python3-venv ca-certificates espeak-ng libespeak-ng1 sox chromium)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

ensure_venv() {
    local python="${PYTHON:-python3}"
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "cti needs Python >= 3.11 (found $("$python" --version))" >&2; exit 1; }
    [ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$python" -m venv "$VENV"; }
    local stamp="$VENV/.cti-installed" want
    want="$(sha256sum "$REPO/pyproject.toml" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        say "installing cti and its dependencies into $VENV"
        "$VENV/bin/pip" install -q --upgrade pip >/dev/null
        "$VENV/bin/pip" install -q -e "$REPO[test]"
        echo "$want" > "$stamp"
    fi
}

ensure_asterisk_root() {
    if [ ! -x "$CTI_ASTERISK_ROOT/usr/sbin/asterisk" ]; then
        say "building the Asterisk 22 root (Debian sid, about a minute) in $CTI_ASTERISK_ROOT"
    fi
    as_root "$VENV/bin/cti" asterisk build >/dev/null
}

ensure_redis() {
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        say "starting Redis on 127.0.0.1:6379"
        as_root mkdir -p /var/lib/redis /var/log/redis
        as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/cti.log
        for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return; sleep 0.1; done
        echo "Redis did not start" >&2; exit 1
    fi
}

# PostgreSQL for the tests: a 'cti' role (new random password each run) that may create databases.
ensure_postgres() {
    if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
        say "starting PostgreSQL"
        as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
        for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.1; done
    fi
    local password
    password="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
    as_root runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cti') THEN CREATE ROLE cti LOGIN CREATEDB; END IF;
END \$\$;
ALTER ROLE cti PASSWORD '$password';
SQL
    if ! as_root runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname='cti_test'" -d postgres | grep -q 1; then
        as_root runuser -u postgres -- createdb -O cti cti_test
    fi
    export CTI_TEST_POSTGRES_URL="postgresql+asyncpg://cti:$password@127.0.0.1:5432/cti_test"
}
