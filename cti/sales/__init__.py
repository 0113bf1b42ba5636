"""Sales support: which product to offer a caller next, and why (cross-sell), in the caller's language.

Pure: no I/O, no clock. The screen pop (:mod:`cti.services`) feeds it the customer's holdings, the catalog,
the segment's figures and the active promotions; docs/scripting.md explains the scoring.
"""

from cti.sales._crosssell import (
    NO_MARKETING_CONSENT,
    Complement,
    Consent,
    Customer,
    Offer,
    Policy,
    Product,
    Promotion,
    Ranking,
    Reason,
    SegmentStats,
    rank_offers,
)

__all__ = [
    "NO_MARKETING_CONSENT",
    "Complement",
    "Consent",
    "Customer",
    "Offer",
    "Policy",
    "Product",
    "Promotion",
    "Ranking",
    "Reason",
    "SegmentStats",
    "rank_offers",
]
