# Shared setup for scripts/demo and scripts/test: installs what cti needs on Debian, idempotently.
# Sourced, not run. Needs root or sudo for apt, mounts and chroot (Asterisk runs in a Debian sid root).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
export CTI_ASTERISK_ROOT="${CTI_ASTERISK_ROOT:-/var/cache/cti/asterisk-root}"
# This machine's cti secrets, outside the repository (the Redis password); cti.sim.local_redis_url reads the
# same place.
export CTI_CONFIG_DIR="${CTI_CONFIG_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/cti}"
REDIS_PORT="${CTI_SETUP_REDIS_PORT:-6379}"
APT_PACKAGES=(debootstrap sip-tester baresip-core redis-server postgresql python3-venv ca-certificates espeak-ng libespeak-ng1 sox chromium
              kamailio kamailio-redis-modules redis-sentinel haproxy supervisor  # scripts/cluster (docs/scaling.md#topology)
              flite)  # English voices of the speech benchmarks' corpora (bench/asr_corpus.py, bench/steering_corpus.py)

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
        # scripts/cluster runs its own Kamailio, Sentinels, haproxy and supervisord: the system services these
        # packages start (a Kamailio on every address's port 5060 would take the test Asterisk's) are stopped and
        # disabled, but only when this run installed them.
        if [ -d /run/systemd/system ]; then
            local pkg
            for pkg in "${missing[@]}"; do
                case "$pkg" in
                    kamailio|redis-sentinel|haproxy|supervisor) as_root systemctl disable --now "$pkg" >/dev/null 2>&1 || true ;;
                esac
            done
        fi
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

# The password of the Redis these scripts start: made once, then kept (0600) in $CTI_CONFIG_DIR.
redis_password() {
    local file="$CTI_CONFIG_DIR/redis-password"
    if [ ! -s "$file" ]; then
        (
            umask 077
            mkdir -p "$CTI_CONFIG_DIR"
            head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$file.new"
            mv "$file.new" "$file"
        )
    fi
    chmod 600 "$file"
    cat "$file"
}

# Redis on 127.0.0.1:$REDIS_PORT with the password above; exports CTI_REDIS_URL (unless set) carrying it.
# The password reaches redis-server on its standard input and redis-cli in REDISCLI_AUTH: never on a
# command line, which every local user can read.
ensure_redis() {
    local password reply
    password="$(redis_password)"
    reply="$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>&1 || true)"
    if [ "$reply" = "PONG" ]; then
        # Not one of ours (those ask for the password): left as it is, others may be using it.
        say "warning: the Redis on 127.0.0.1:$REDIS_PORT takes clients without a password; cti uses it as it" \
            "is (stop it, or give it the password in $CTI_CONFIG_DIR/redis-password, see docs/operations.md)"
        export CTI_REDIS_URL="${CTI_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT/0}"
        return
    fi
    if [[ "$reply" != NOAUTH* ]]; then
        say "starting Redis on 127.0.0.1:$REDIS_PORT (password in $CTI_CONFIG_DIR/redis-password)"
        as_root mkdir -p /var/lib/redis /var/log/redis
        printf '%s\n' "bind 127.0.0.1" "port $REDIS_PORT" "daemonize yes" 'save ""' "appendonly no" \
            "dir /var/lib/redis" "logfile /var/log/redis/cti-$REDIS_PORT.log" \
            "pidfile /var/run/redis-cti-$REDIS_PORT.pid" "requirepass $password" | as_root redis-server - >/dev/null
    fi
    for _ in $(seq 50); do
        reply="$(REDISCLI_AUTH="$password" redis-cli --no-auth-warning -h 127.0.0.1 -p "$REDIS_PORT" ping 2>&1 || true)"
        if [ "$reply" = "PONG" ]; then
            export CTI_REDIS_URL="${CTI_REDIS_URL:-redis://:$password@127.0.0.1:$REDIS_PORT/0}"
            return
        fi
        [[ "$reply" == *WRONGPASS* ]] && break
        sleep 0.1
    done
    echo "Redis on 127.0.0.1:$REDIS_PORT did not accept the password in $CTI_CONFIG_DIR/redis-password" >&2
    exit 1
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
