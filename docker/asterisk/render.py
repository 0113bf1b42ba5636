"""Render cti's Asterisk configuration from CTI_* environment variables inside the Asterisk container.

The same placeholders as cti/asterisk/provision.py; kept dependency-free because this image has no cti.
"""

import os
import re
from pathlib import Path

values = {
    "HTTP_BIND": "0.0.0.0",
    "HTTP_PORT": "8088",
    "ARI_USER": os.environ.get("CTI_ARI_USER", "cti"),
    "ARI_PASSWORD": os.environ["CTI_ARI_PASSWORD"],
    "ARI_ORIGINS": os.environ.get("CTI_ARI_ORIGINS", ""),
    "SIP_BIND": os.environ.get("CTI_SIP_BIND", "0.0.0.0:5060"),
    "PSTN_MATCH": os.environ.get("CTI_PSTN_MATCH", "127.0.0.1"),
    "PSTN_GATEWAY": os.environ.get("CTI_PSTN_GATEWAY", "127.0.0.1:5070"),
    "RTP_START": os.environ.get("CTI_RTP_START", "10000"),
    "RTP_END": os.environ.get("CTI_RTP_END", "10200"),
}
etc = Path("/etc/asterisk")
for old in etc.glob("*.conf"):
    old.unlink()
for src in [*Path("/opt/cti/asterisk-conf").glob("*.conf"), *Path("/opt/cti/dialplans").glob("*.conf")]:
    (etc / src.name).write_text(re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], src.read_text()))
agents = []
for item in filter(None, os.environ.get("CTI_SOFTPHONES", "").split(",")):
    ext, _, password = item.partition(":")
    agents.append(f"[{ext}](agent-endpoint)\nauth = {ext}\naors = {ext}\n\n"
                  f"[{ext}](agent-auth)\nusername = {ext}\npassword = {password}\n\n[{ext}](agent-aor)\n\n")
(etc / "pjsip_agents.conf").write_text("".join(agents))
