"""Provisioning of the Asterisk 22 root that cti drives: build, configure, start, stop."""

from cti.asterisk._provision import (
    AsteriskError,
    AsteriskRoot,
    debian_mirror,
)

__all__ = ["AsteriskError", "AsteriskRoot", "debian_mirror"]
