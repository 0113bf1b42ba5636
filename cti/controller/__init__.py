"""Adapters around the call-center core: ARI events in, ARI requests and persistence out."""

from cti.controller.call_controller import CallController, UnknownExtension, offer_failure_reason

__all__ = ["CallController", "UnknownExtension", "offer_failure_reason"]
