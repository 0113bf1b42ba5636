"""Provisioning of the Asterisk 22 root that cti drives: build, configure, start, stop; and other Asterisks from
the same root with folders and ports of their own (a cluster's media nodes, the test workers')."""

from cti.asterisk._instance import (
    INSTANCE_MOUNT,
    INSTANCE_SUBDIRS,
    AsteriskInstance,
    instance_cli_command,
    instance_command,
    instance_config,
)
from cti.asterisk._provision import (
    AsteriskError,
    AsteriskRoot,
    conf_value,
    debian_mirror,
    render_config,
)

__all__ = ["INSTANCE_MOUNT", "INSTANCE_SUBDIRS", "AsteriskError", "AsteriskInstance", "AsteriskRoot", "conf_value",
           "debian_mirror", "instance_cli_command", "instance_command", "instance_config", "render_config"]
