"""``cti cluster start|stop|status|cli|edge``: the cluster of issue 21 on this machine (docs/scaling.md#topology):
its infrastructure, its PostgreSQL, its standby controllers and its web front ends.

Configured by the ``CTI_CLUSTER_*`` variables (other ``CTI_*`` settings, such as ``CTI_LEASE_SECONDS``, go to its
controllers); ``start`` writes what cti and the tests need to use it into ``<dir>/cluster.json`` and
``<dir>/cluster.env`` (0600: they hold the passwords and the admin token).
Exit status: 0 done (``status``: everything running), 1 failed, 3 (``status``) something not running.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

__all__ = ["add_cluster_commands"]


def add_cluster_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cluster = sub.add_parser("cluster", help="Asterisk nodes, Kamailio, Redis with Sentinel, PostgreSQL, standby cti "
                                             "controllers, web front ends and haproxy on this machine: start, stop, "
                                             "status, cli, edge")
    cluster.add_argument("action", choices=["start", "stop", "status", "cli", "edge"])
    cluster.add_argument("words", nargs="*", help="for 'cli': the node (a, b, ...) and the Asterisk CLI command; "
                                                  "for 'edge': the INVITEs a second Kamailio lets in (0: no bound) "
                                                  "and, optionally, the shed callers a second told why (without "
                                                  "words: the bounds in force)")
    cluster.add_argument("--json", action="store_true", help="status: one JSON object")
    cluster.add_argument("--timeout", type=float, default=60.0, help="start: seconds to wait for every part")
    cluster.set_defaults(func=_cluster)


def _cluster(args: argparse.Namespace) -> int:
    from cti.topology import Cluster, ClusterError, PlanError, plan_from_env

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        cluster = Cluster(plan_from_env(os.environ))
        if args.action == "start":
            cluster.start(timeout=args.timeout, say=say)
            print(f"cluster running; {cluster.dir / 'cluster.json'} and cluster.env say where everything is")
        elif args.action == "stop":
            cluster.stop(say=say)
            print("cluster stopped")
        elif args.action == "status":
            report = cluster.status()
            print(json.dumps(report, indent=1) if args.json else _status_text(report))
            return 0 if report["running"] else 3
        elif args.action == "edge":
            if args.words:
                try:
                    bounds = [int(word) for word in args.words[:2]]
                except ValueError:
                    say("usage: cti cluster edge [RATE [MESSAGE_RATE]] (whole numbers)")
                    return 2
                cluster.set_edge_rate(bounds[0], bounds[1] if len(bounds) > 1 else None)
            edge = cluster.edge_rate()
            print(f"edge: {edge['rate'] or 'no bound'} INVITEs a second let in, "
                  f"{edge['message_rate']} shed callers a second told why")
        else:
            if len(args.words) < 2:
                say("usage: cti cluster cli NODE COMMAND...")
                return 2
            print(cluster.cli(cluster.plan.node(args.words[0]), " ".join(args.words[1:])), end="")
    except (ClusterError, PlanError) as exc:
        print(f"cti: {exc}", file=sys.stderr)
        return 1
    return 0


def _status_text(report: dict[str, object]) -> str:
    lines = [f"cluster in {report['directory']}"]
    processes = report["processes"]
    supervised = report.get("supervised")
    assert isinstance(processes, dict)
    kept = supervised if isinstance(supervised, dict) else {}
    for name, pid in processes.items():
        line = f"  {name:16} {'running, pid ' + str(pid) if pid else 'not running'}"
        if name in kept:  # supervisord's state, and how often it started the part again since it started
            line += f" (supervisord: {kept[name]['state']}, restarted {kept[name]['restarts']} times)"
        lines.append(line)
    for key, title in (("dispatcher", "Kamailio's nodes"), ("web_backends", "haproxy's web front ends")):
        states = report.get(key)
        if isinstance(states, dict):
            lines.append(f"  {title}: " + (", ".join(f"{n} {s}" for n, s in states.items()) or "none"))
    if "redis_master" in report:
        lines.append(f"  Redis master (Sentinel): {report['redis_master'] or 'unknown'}")
    if "leader" in report:
        lines.append(f"  leading controller (the lease): {report['leader'] or 'none'}")
    others = report.get("other_processes")
    if isinstance(others, dict):
        for name, pid in others.items():
            lines.append(f"  {name:16} {'running, pid ' + str(pid) if pid else 'not running'} (not in this plan)")
    return "\n".join(lines)
