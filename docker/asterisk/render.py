"""Render cti's Asterisk configuration from CTI_* environment variables inside the Asterisk container.

The same placeholders, defaults and safety as cti/asterisk/_provision.py (ARI and SIP on loopback unless
configured, values that cannot add a line, files only Asterisk can read); kept dependency-free because this
image has no cti. tests/unit/test_provision.py renders with both and compares.
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def conf_value(value: str, what: str) -> str:
    """One option value Asterisk reads back unchanged: no line break or control character (refused), no
    surrounding spaces (Asterisk trims them), ``;`` escaped. The error never shows the value."""
    if CONTROL.search(value) or value != value.strip():
        raise SystemExit(f"render.py: the {what} holds a line break, a control character or surrounding spaces")
    return value.replace(";", "\\;")


def placeholders(env: Mapping[str, str]) -> dict[str, str]:
    ari = urlsplit(env.get("CTI_ARI_URL", "http://127.0.0.1:8088"))
    return {
        "HTTP_BIND": ari.hostname or "127.0.0.1",
        "HTTP_PORT": str(ari.port or 8088),
        "ARI_USER": env.get("CTI_ARI_USER", "cti"),
        "ARI_PASSWORD": env["CTI_ARI_PASSWORD"],
        "ARI_ORIGINS": env.get("CTI_ARI_ORIGINS", ""),
        "SIP_BIND": env.get("CTI_SIP_BIND", "127.0.0.1:5060"),
        "PSTN_MATCH": env.get("CTI_PSTN_MATCH", "127.0.0.2"),  # as cti.settings.DEFAULT_PSTN_MATCH
        "PSTN_TRUST_ID": "yes" if env.get("CTI_PSTN_TRUST_ID", "").lower() in ("1", "true", "yes", "on") else "no",
        "PSTN_GATEWAY": env.get("CTI_PSTN_GATEWAY", "127.0.0.1:5070"),
        "RTP_START": env.get("CTI_RTP_START", "10000"),
        "RTP_END": env.get("CTI_RTP_END", "10200"),
    }


def agent_endpoints(env: Mapping[str, str]) -> str:
    """Registering softphones only: the image never has simulated (unauthenticated) agents."""
    agents = []
    for item in filter(None, (part.strip() for part in env.get("CTI_SOFTPHONES", "").split(","))):
        ext, _, password = item.partition(":")
        if not ext.isdigit() or len(password) < 8:
            raise SystemExit("render.py: CTI_SOFTPHONES expects 'extension:password' pairs, passwords of 8+")
        agents.append(f"[{ext}](agent-endpoint)\nauth = {ext}\naors = {ext}\n\n"
                      f"[{ext}](agent-auth)\nusername = {ext}\npassword = {conf_value(password, f'password of {ext}')}"
                      f"\n\n[{ext}](agent-aor)\n\n")
    return "".join(agents)


def write_private(path: Path, text: str, owner: tuple[int, int] | None) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        if owner is not None:
            os.fchown(out.fileno(), *owner)
        out.write(text)


def render(env: Mapping[str, str], etc: Path, conf_dirs: list[Path], owner: tuple[int, int] | None) -> None:
    values = placeholders(env)

    def substitute(match: re.Match[str]) -> str:
        return conf_value(values[match.group(1)], f"value of @@{match.group(1)}@@")

    for old in etc.glob("*.conf"):
        old.unlink()
    for src in [conf for directory in conf_dirs for conf in sorted(directory.glob("*.conf"))]:
        write_private(etc / src.name, re.sub(r"@@([A-Z_]+)@@", substitute, src.read_text()), owner)
    write_private(etc / "pjsip_agents.conf", agent_endpoints(env), owner)


def main() -> None:
    # Asterisk drops to the asterisk user after start: the files are its own, and no one else's to read.
    account = pwd.getpwnam("asterisk")
    render(os.environ, Path("/etc/asterisk"), [Path("/opt/cti/asterisk-conf"), Path("/opt/cti/dialplans")],
           (account.pw_uid, account.pw_gid))


if __name__ == "__main__":
    main()
