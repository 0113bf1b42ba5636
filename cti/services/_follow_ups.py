"""Follow-ups: what someone must still do for a customer, and the staff's task list of them.

A follow-up is a contact's (:class:`cti.crm.FollowUpTask`): an agent's wrap-up sets one (a date and a task), and a
customer who leaves a message out of hours (the portal's chat, :meth:`FollowUps.leave_message`) chooses how to be
answered:

- **by e-mail**: an e-mail task in the queue the rules would have put their chat in; the agent who completes it
  writes the answer, which goes to the customer's address through the SMTP mailer the portal's sign-in codes use,
  and is an ``email`` contact in their history;
- **by a call**: a scheduled callback through the portal's own request (:meth:`PortalSelfService.request_callback`:
  as soon as the calling hours begin, one pending, a few a day, the contact policy first), its reason the message;
  the message itself is a ``chat`` contact in their history, which the pop of the callback's preview shows.

Who sees which task, as for callbacks (:class:`cti.services.Policy`): an agent the tasks of the queues they are
qualified for, the ones they set in a wrap-up and the ones they took, never one another agent took; a supervisor
their scope's (its queues, its teams' agents); an admin all. An agent takes a task (no one else may then), and
completes it; a supervisor or admin may complete one in their reach too (an agent gone home). Completing is
audited, and marks the task done by whom and when.

Every change reaches at once the desktops that list the task, by the same rule, on the agents' own topics
(``agent:<id>``, as chat offers and screen pops do): a ``task`` frame (``change`` ``created`` or ``taken``, and the
task as ``GET /api/tasks`` shows it) to each agent who sees the task after the change, a ``task_removed`` frame
(``task_id`` and ``change``: ``taken``, ``completed``) to each agent who saw it before and no longer does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from cti.acd import Routing, ScheduledCallback, qualified
from cti.chat import clean_text
from cti.crm import ContactRecord, CustomerRecord, FollowUpTask, NewContact
from cti.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from cti.records import Reach, UserRecord
from cti.services._audit import AuditTrail
from cti.services._chat import CHAT_SERVICE_NUMBER
from cti.services._policy import Policy
from cti.services._portal_selfservice import PortalSelfService, customer_actor
from cti.services._query import CenterView
from cti.services._screenpop import agent_topic
from cti.types import Clock, Language, Publisher, utc_now

__all__ = ["ANSWER_LENGTH", "AnswerMailer", "FollowUpStore", "FollowUps", "LeftMessage", "ReplyBy", "TaskChange",
           "task_view"]

log = logging.getLogger("cti.services.follow_ups")

ReplyBy = Literal["email", "call"]
ANSWER_LENGTH: Final = 10000
"""The longest answer an agent may mail (characters)."""
_EXCERPT: Final = 300
"""How much of a left message a callback's reason repeats (the whole is in the customer's history)."""
_TASK_TEXT: Final = {"email": "Answer the message the customer left by chat, by e-mail"}
TaskChange = Literal["created", "taken", "completed"]


def task_view(task: FollowUpTask) -> dict[str, Any]:
    """A task as the staff's list (``GET /api/tasks``) and the desktops' ``task`` frames show it."""
    return {
        "task_id": task.task_id, "customer_id": task.customer_id, "customer_name": task.customer_name,
        "kind": "email" if task.reply == "email" else "call" if task.reply == "call" else "follow_up",
        # A contact with no agent is the customer's own: a message they left; else an agent's wrap-up.
        "source": "left_message" if task.agent_id is None and task.channel == "chat" else "wrap_up",
        "task": task.task, "notes": task.notes, "reason": task.reason, "queue": task.queue,
        "agent_id": task.agent_id, "call_id": task.call_id, "language": task.language,
        "created_at": task.created_at.isoformat(), "due_at": task.due_at.isoformat(),
        "claimed_by": task.claimed_by, "claimed_at": task.claimed_at.isoformat() if task.claimed_at else None,
        "done_by": task.done_by, "done_at": task.done_at.isoformat() if task.done_at else None,
    }


class FollowUpStore(Protocol):
    async def open_tasks(self, *, within: Reach | None = None, agent: str | None = None,
                         limit: int = 100) -> list[FollowUpTask]: ...

    async def get(self, task_id: int) -> FollowUpTask | None: ...

    async def claim(self, task_id: int, agent_id: str, at: datetime) -> FollowUpTask | None: ...

    async def complete(self, task_id: int, *, by: str, at: datetime,
                       answer: NewContact | None = None) -> FollowUpTask | None: ...


class FollowUpCustomers(Protocol):
    async def customer(self, customer_id: str) -> CustomerRecord | None: ...

    async def add_contact(self, contact: NewContact) -> ContactRecord: ...


class AnswerMailer(Protocol):
    """Mails an agent's answer to a customer (:class:`cti.messaging.SmtpMailer`)."""

    async def send_answer(self, to: str, answer: str, *, language: Language, message: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class LeftMessage:
    """What a left message became: an e-mail task (``task_id``), or a scheduled callback (``callback``)."""

    reply_by: ReplyBy
    task_id: int | None = None
    callback: ScheduledCallback | None = None


class FollowUps:
    def __init__(self, store: FollowUpStore, customers: FollowUpCustomers, policy: Policy, query: CenterView,
                 portal: PortalSelfService, audit: AuditTrail, *, mailer: AnswerMailer | None,
                 clock: Clock = utc_now, hub: Publisher | None = None) -> None:
        """``hub``: where the desktops hear of each change (none: they see it on their next load)."""
        self._store = store
        self._hub = hub
        self._customers = customers
        self._policy = policy
        self._query = query
        self._portal = portal
        self._audit = audit
        self._mailer = mailer
        self._clock = clock
        self._watchers: list[Callable[[str], None]] = []

    def watch(self, changed: Callable[[str], None]) -> None:
        """Tell ``changed`` the id of each customer whose history a follow-up changed (the screen pop's cache)."""
        self._watchers.append(changed)

    # -- the customer leaves a message -------------------------------------------------------------------------
    def reply_by(self, customer: CustomerRecord) -> ReplyBy:
        """How a customer who did not choose is answered: by e-mail if they have an address and agreed to mails
        (and cti can send them), else by a call if they have a phone and agreed to calls; else whatever they have
        on file, and the refusal then says what is missing."""
        if customer.email and customer.consent.email and self._mailer is not None:
            return "email"
        if customer.phones and customer.consent.phone_calls:
            return "call"
        return "email" if customer.email else "call"

    async def leave_message(self, customer: CustomerRecord, text: str, *, reply_by: ReplyBy | None = None,
                            topic: str | None = None, source: str) -> LeftMessage:
        """Out of hours (or with the queue full), a signed-in customer leaves a message and how to answer it."""
        how = reply_by or self.reply_by(customer)
        message, now = clean_text(text), self._clock()
        reason = topic or "chat_message"
        if how == "call":
            if not customer.phones:
                raise InvalidInput("you have no phone number on file: add one to your details, or choose an e-mail "
                                   "answer", code="no_phone", params={"reply_by": "call"})
            excerpt = message if len(message) <= _EXCERPT else message[:_EXCERPT - 1] + "…"
            callback = await self._portal.request_callback(customer, at=None, topic=f"message left by chat: "
                                                                                      f"{excerpt}", source=source)
            await self._customers.add_contact(NewContact(
                customer_id=customer.customer_id, channel="chat", at=now, reason=reason, notes=message,
                language=customer.language))
            self._changed(customer.customer_id)
            return LeftMessage("call", callback=callback)
        if not customer.email:
            raise InvalidInput("you have no e-mail address on file: add one to your details, or choose a call",
                               code="no_email", params={"reply_by": "email"})
        if not customer.consent.email:
            raise Conflict("you have not agreed to e-mails from us: allow e-mails in your preferences first, or "
                           "choose a call", code="no_email_consent", params={"reply_by": "email"})
        if self._mailer is None:
            raise Conflict("we cannot answer by e-mail at the moment: choose a call", code="mail_unavailable",
                           params={"reply_by": "email"})
        queue = self._chat_queue(customer, topic)
        contact = await self._customers.add_contact(NewContact(
            customer_id=customer.customer_id, channel="chat", at=now, reason=reason, notes=message,
            language=customer.language, follow_up_at=now, follow_up_task=_TASK_TEXT["email"], follow_up_queue=queue,
            follow_up_reply="email"))
        task_id = contact.contact_id
        await self._audit.record(customer_actor(customer), "create", "task", str(task_id), source=source,
                                 detail={"customer_id": customer.customer_id, "reply_by": "email", "queue": queue})
        self._changed(customer.customer_id)
        await self.announce(task_id)
        return LeftMessage("email", task_id=task_id)

    def _chat_queue(self, customer: CustomerRecord, topic: str | None) -> str:
        """The queue the rules would put this customer's chat in: its agents answer the message."""
        routing = Routing(language=customer.language, product=topic, value_tier=customer.value_tier,
                          region=customer.region, country=customer.country)
        route, _, _ = self._query.rules.place(routing, CHAT_SERVICE_NUMBER)
        return route.queue

    async def announce(self, task_id: int) -> None:
        """A task was set (a left message, a wrap-up's follow-up): the desktops that list it show it now. Never
        raises: the task is stored already, and a desktop that missed it lists it on its next load."""
        if self._hub is None:
            return
        try:
            task = await self._store.get(task_id)
        except Exception as exc:  # the database away: the desktops list it on their next load
            log.warning("task %s not pushed to the desktops: %s", task_id, exc)
            return
        if task is not None:
            self._publish(None, task, "created")

    # -- staff: the task list ------------------------------------------------------------------------------------
    async def tasks(self, actor: UserRecord, *, limit: int = 100, source: str) -> list[FollowUpTask]:
        """The open tasks the actor reaches, the earliest due first (audited: they carry customers' words)."""
        reach = self._reach(actor)
        found = await self._store.open_tasks(within=reach, agent=self._agent(actor), limit=limit)
        await self._audit.record(actor, "list", "task", "*", source=source, detail={"results": len(found)})
        return found

    async def get(self, actor: UserRecord, task_id: int) -> FollowUpTask:
        """The open task, if the actor reaches it; else not found (in the same words as one that is not there)."""
        task = await self._store.get(task_id)
        if task is None or task.done_at is not None or not self._sees(actor, task):
            raise NotFound(f"no task {task_id}", code="task_not_found", params={"task_id": task_id})
        return task

    async def claim(self, actor: UserRecord, task_id: int, *, source: str) -> FollowUpTask:
        """An agent takes the task: nobody else may complete it then (a supervisor or admin still may)."""
        if actor.role != "agent" or not actor.agent_id:
            raise Forbidden("only an agent takes a task", code="agents_only_take")
        task = await self.get(actor, task_id)
        if task.claimed_by == actor.agent_id:
            return task  # theirs already: as asked
        taken = await self._store.claim(task_id, actor.agent_id, self._clock())
        if taken is None:
            raise NotFound(f"no task {task_id}", code="task_not_found", params={"task_id": task_id})
        if taken.claimed_by != actor.agent_id:
            raise Conflict(f"task {task_id} is taken by another agent", code="task_taken",
                           params={"task_id": task_id})
        self._publish(task, taken, "taken")
        await self._audit.record(actor, "change", "task", str(task_id), source=source,
                                 detail={"customer_id": taken.customer_id, "step": "take"})
        return taken

    async def complete(self, actor: UserRecord, task_id: int, *, answer: str | None = None,
                       source: str) -> FollowUpTask:
        """The task done: an e-mail task's ``answer`` is mailed to the customer first and recorded as an ``email``
        contact in their history. An agent takes the task as they complete it (one not yet taken)."""
        task = await self.get(actor, task_id)
        text = (answer or "").strip()
        if task.reply == "email" and not text:
            raise InvalidInput("write the answer to mail to the customer", code="answer_required")
        if task.reply != "email" and text:
            raise InvalidInput("only an e-mail task takes an answer to mail", code="answer_not_mailed")
        if len(text) > ANSWER_LENGTH:
            raise InvalidInput(f"an answer is at most {ANSWER_LENGTH} characters", code="answer_too_long",
                               params={"limit": ANSWER_LENGTH})
        if actor.role == "agent" and task.claimed_by != actor.agent_id:
            task = await self.claim(actor, task_id, source=source)
        now = self._clock()
        contact = None
        if task.reply == "email":
            customer = await self._mailable(task)
            assert self._mailer is not None and customer.email is not None  # checked by _mailable
            try:
                await self._mailer.send_answer(customer.email, text, language=customer.language, message=task.notes)
            except Exception as exc:  # the mail server away or refusing: the task stays open, the agent retries
                log.warning("could not mail the answer to task %s: %s", task_id, exc)
                raise Unavailable(f"the answer could not be mailed: {type(exc).__name__}",
                                  code="mail_failed") from exc
            contact = NewContact(customer_id=task.customer_id, channel="email", at=now, reason="follow_up_answer",
                                 disposition="answered", notes=text, agent_id=actor.agent_id,
                                 language=customer.language)
        done = await self._store.complete(task_id, by=actor.name, at=now, answer=contact)
        if done is None:
            raise Conflict(f"task {task_id} was completed meanwhile", code="task_done", params={"task_id": task_id})
        self._publish(task, done, "completed")
        await self._audit.record(actor, "change", "task", str(task_id), source=source,
                                 detail={"customer_id": task.customer_id, "step": "complete",
                                         "mailed": contact is not None})
        self._changed(task.customer_id)
        return done

    async def _mailable(self, task: FollowUpTask) -> CustomerRecord:
        """The customer, if an answer may be mailed to them now (an address, their consent, a mail server)."""
        customer = await self._customers.customer(task.customer_id)
        if customer is None or customer.forgotten_at is not None:
            raise NotFound(f"no task {task.task_id}", code="task_not_found", params={"task_id": task.task_id})
        if not customer.email or not customer.consent.email:
            raise Conflict("the customer has no e-mail address or no longer agrees to e-mails: answer them another "
                           "way", code="not_mailable", params={"task_id": task.task_id})
        if self._mailer is None:
            raise Conflict("cti has no mail server to send the answer", code="mail_unavailable",
                           params={"task_id": task.task_id})
        return customer

    # -- who sees what ---------------------------------------------------------------------------------------------
    def _reach(self, actor: UserRecord) -> Reach | None:
        """An agent's: the queues they are qualified for, and themself; staff's: their policy reach."""
        if actor.role != "agent":
            return self._policy.reach(actor)
        if not actor.agent_id:
            return Reach()
        queues = frozenset(name for name in self._query.rules.queues if self._serves(actor.agent_id, name))
        return Reach(queues=queues, agents=frozenset({actor.agent_id}))

    @staticmethod
    def _agent(actor: UserRecord) -> str | None:
        return (actor.agent_id or "") if actor.role == "agent" else None

    def _serves(self, agent_id: str, queue: str | None) -> bool:
        """Is the agent qualified for the queue (its skills, at its levels)?"""
        rule = None if queue is None else self._query.rules.queues.get(queue)
        return rule is not None and self._query.has_agent(agent_id) and qualified(self._query.agent(agent_id), rule)

    def _agent_sees(self, agent_id: str, task: FollowUpTask) -> bool:
        """The agents' rule (the list's, in SQL, is the same): a task of a queue they are qualified for, one they
        set or took; never one another agent took."""
        if task.claimed_by not in (None, agent_id):
            return False
        return agent_id in (task.agent_id, task.claimed_by) or self._serves(agent_id, task.queue)

    def _sees(self, actor: UserRecord, task: FollowUpTask) -> bool:
        if actor.role == "agent":
            return bool(actor.agent_id) and self._agent_sees(actor.agent_id or "", task)
        reach = self._policy.reach(actor)
        if reach is None:
            return True
        return (task.queue in reach.queues or task.agent_id in reach.agents or task.claimed_by in reach.agents)

    def _desktops(self, task: FollowUpTask | None) -> set[str]:
        """The agents whose Tasks panel lists ``task`` (none once it is done)."""
        if task is None or task.done_at is not None:
            return set()
        candidates = {*self._query.agent_map(), *(a for a in (task.agent_id, task.claimed_by) if a)}
        return {agent_id for agent_id in candidates if self._agent_sees(agent_id, task)}

    def _publish(self, before: FollowUpTask | None, after: FollowUpTask, change: TaskChange) -> None:
        """Tell the desktops that list the task now what it is, and those that listed it that it is gone."""
        if self._hub is None:
            return
        was, now = self._desktops(before), self._desktops(after)
        if now:
            shown = json.dumps({"change": change, "task": task_view(after)}, separators=(",", ":"))
            for agent_id in sorted(now):
                self._hub.publish_json(agent_topic(agent_id), "task", shown)
        if was - now:
            gone = json.dumps({"task_id": after.task_id, "change": change}, separators=(",", ":"))
            for agent_id in sorted(was - now):
                self._hub.publish_json(agent_topic(agent_id), "task_removed", gone)

    def _changed(self, customer_id: str) -> None:
        for changed in self._watchers:
            changed(customer_id)
