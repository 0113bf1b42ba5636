"""Standby controllers: exactly one leads, by a lease in Redis with a fencing token (docs/scaling.md).

:class:`Leadership` decides from the lease's answers and the time alone; :class:`RedisLease` keeps the lease in
Redis; :class:`Elector` runs the election and gives the leader's fencing token to the live store, whose writes
Redis refuses once a newer term began (:class:`cti.live.Fenced`).
"""

from cti.cluster._elector import Elector, Lease
from cti.cluster._leadership import Leadership, LeaseTerms, Role
from cti.cluster._redis import LeaseUnavailable, RedisLease, holder_name

__all__ = ["Elector", "Leadership", "Lease", "LeaseTerms", "LeaseUnavailable", "RedisLease", "Role", "holder_name"]
