"""Retention: the personal fields of old interactions removed on a schedule, the aggregates kept.

Interactions that arrived more than ``days`` ago lose the caller's number and name, the agent's notes, script
answers and follow-up, the IVR's keyed digits, attributes and prompts, and transfer notes; the CRM's contacts
made before then lose their notes, script answers and follow-up tasks. Times, queues, agents, outcomes,
dispositions and the cross-sell outcome stay, which is all that statistics, reports and the WFM forecast read.
The audio rendered from what the IVR told those callers goes with them, and so do the calls' recordings (files
and rows: a recording is nothing but personal data).

The composition root runs it when the server starts and then once a day; ``cti retention run`` runs it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from cti.errors import Unavailable
from cti.services._ports import ContactRetention, InteractionRetention
from cti.tasks import stop_task
from cti.types import Clock

__all__ = ["Retention", "RetentionReport"]

log = logging.getLogger("cti.services.retention")

RUN_EVERY = 24 * 3600.0
"""Seconds between runs: retention is counted in days."""
RETRY_AFTER = 300.0


@dataclass(frozen=True, slots=True)
class RetentionReport:
    before: datetime
    """Interactions and contacts older than this lost their personal fields."""
    interactions: int
    contacts: int
    prompt_files: int
    recordings: int = 0
    survey_answers: int = 0
    """Surveys answered before ``before`` whose answers (the customer's words) were cleared; scores stay."""
    labels: int = 0
    """Labelled questions the virtual agent forgot, their words cleared with their chats' transcripts."""


class Retention:
    """``discard_prompts`` deletes the audio rendered from prompt texts and says how many files it deleted;
    ``discard_recordings`` deletes the recordings started before a time, and says how many;
    ``discard_survey_answers`` clears the answers of surveys answered before a time, and says how many;
    ``forget_labels`` has the virtual agent forget the labelled questions whose words the purge cleared (with
    their chats' transcripts), and says how many."""

    def __init__(self, interactions: InteractionRetention, contacts: ContactRetention, *, days: int, clock: Clock,
                 discard_prompts: Callable[[Collection[str]], Awaitable[int]] | None = None,
                 discard_recordings: Callable[[datetime], Awaitable[int]] | None = None,
                 discard_survey_answers: Callable[[datetime], Awaitable[int]] | None = None,
                 forget_labels: Callable[[], Awaitable[int]] | None = None,
                 every: float = RUN_EVERY) -> None:
        if days < 1:
            raise ValueError(f"retention must be at least one day, not {days}")
        self._interactions = interactions
        self._contacts = contacts
        self.days = days
        self._clock = clock
        self._discard = discard_prompts
        self._discard_recordings = discard_recordings
        self._discard_survey_answers = discard_survey_answers
        self._forget_labels = forget_labels
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> RetentionReport:
        """One purge, now."""
        now = self._clock()
        before = now - timedelta(days=self.days)
        purged = await self._interactions.purge_personal(before, at=now)
        contacts = await self._contacts.purge_contacts(before)
        files = await self._discard(purged.prompts) if self._discard is not None and purged.prompts else 0
        recordings = await self._discard_recordings(before) if self._discard_recordings is not None else 0
        answers = (await self._discard_survey_answers(before) if self._discard_survey_answers is not None
                   else 0)
        labels = await self._forget_labels() if self._forget_labels is not None and purged.interactions else 0
        report = RetentionReport(before, purged.interactions, contacts, files, recordings, answers, labels)
        if purged.interactions or contacts or files or recordings or answers:
            log.info("retention (%d days): %d interactions, %d contacts, %d prompt files, %d recordings and %d "
                     "survey answers purged", self.days, purged.interactions, contacts, files, recordings, answers)
        return report

    def start(self) -> None:
        """Run now, then every day, until :meth:`close`."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._forever(), name="cti-retention")

    async def close(self) -> None:
        task, self._task = self._task, None
        await stop_task(task)

    async def _forever(self) -> None:
        while True:
            delay = self._every
            try:
                await self.run()
            except Unavailable as exc:  # the database away: soon again, not tomorrow
                delay = min(self._every, RETRY_AFTER)
                log.warning("retention purge failed, trying again in %.0f s: %s", delay, exc)
            await asyncio.sleep(delay)
