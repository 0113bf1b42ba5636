"""The cluster of issue 21 on one machine, for the demo, the tests and the benchmarks: Asterisk media nodes from
the shared root, Kamailio dispatching callers to them, Redis with a replica and three Sentinels, PostgreSQL, standby
cti controllers, cti web front ends and haproxy in front of them (docs/scaling.md#topology). ``cti cluster
start|stop|status`` drives it."""

from cti.topology._cluster import Cluster, ClusterError
from cti.topology._plan import ClusterPlan, MediaNode, PlanError, plan_from_env

__all__ = ["Cluster", "ClusterError", "ClusterPlan", "MediaNode", "PlanError", "plan_from_env"]
