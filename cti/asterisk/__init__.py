"""Provisioning of the Asterisk 22 root that cti drives: build, configure, start, stop."""

from cti.asterisk._provision import (
    AsteriskError,
    AsteriskRoot,
    conf_value,
    debian_mirror,
    render_config,
)

__all__ = ["AsteriskError", "AsteriskRoot", "conf_value", "debian_mirror", "render_config"]
