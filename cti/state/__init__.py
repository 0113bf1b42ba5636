"""Live state (Redis): agents and calls as the controller sees them right now."""

from cti.state.live_store import LiveStore, LiveStoreError

__all__ = ["LiveStore", "LiveStoreError"]
