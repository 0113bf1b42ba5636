"""CPU of one audit-log batch: ``AuditRepository.append`` (one INSERT of many rows) against the ORM object per
entry it used before December 7 (see docs/benchmarks.md, "Web chat", third round).

Run from the repository root inside the venv::

    python bench/audit_batch.py      # 100-entry batches (one flush at 444 chat messages/s), 30 of each, twice

A fresh SQLite file, migrated to head (the audit log's triggers included). CPU is the process's (the event loop's
thread and aiosqlite's); one JSON object as the last line of stdout.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from cti.persistence import AuditRepository, Database  # noqa: E402
from cti.persistence._tables import AuditRow  # noqa: E402
from cti.records import AuditRecord  # noqa: E402

BATCH = 100
BATCHES = 30


async def main() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/audit.db")
        await db.start()
        await db.upgrade()
        repo = AuditRepository(db)
        now = datetime.now(UTC)
        batch = [AuditRecord(audit_id=0, at=now, actor=f"agent-{i % 100:03d}", role="agent", action="create",
                             subject_type="route", subject_id="/api/chats/{chat_id}/messages", source="127.0.0.1",
                             detail={"method": "POST", "status": 201, "chat_id": f"chat-{i:032x}"})
                 for i in range(BATCH)]

        async def orm(entries: list[AuditRecord]) -> None:  # as before: an ORM object per entry
            rows = [AuditRow(at=e.at, actor=e.actor, role=e.role, action=e.action, subject_type=e.subject_type,
                             subject_id=e.subject_id, source=e.source, detail=e.detail) for e in entries]
            async with db.transaction("write the audit log") as session:
                session.add_all(rows)

        result: dict[str, list[float]] = {"orm_cpu_ms": [], "insert_cpu_ms": []}
        for _ in range(2):
            for name, write in (("orm_cpu_ms", orm), ("insert_cpu_ms", repo.append)):
                cpu = time.process_time()
                for _ in range(BATCHES):
                    await write(batch)
                result[name].append(round((time.process_time() - cpu) / BATCHES * 1000, 1))
        written = len(await repo.search(limit=1000))
        await db.close()
    return {"benchmark": "audit_batch", "entries_per_batch": BATCH, "batches": BATCHES, **result,
            "rows_read_back_of_last_1000": written}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main())))
