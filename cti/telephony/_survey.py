"""The post-call survey on the line: the caller of a call whose survey was offered goes, when the agent's side
ends the call, to the IVR's survey flow instead of being hung up (:class:`cti.services.PostCallSurveys`)."""

from __future__ import annotations

import contextlib

from cti.ari import AriClient, AriError
from cti.ivr import Finished, Transfer
from cti.services import SURVEY_FLOW, PostCallSurveys, SurveyOffer
from cti.telephony._ivr import IvrCall, IvrRunner

ANSWERS = ("satisfaction", "solved")
"""The survey flow's questions; a caller who answered both and hung up at the comment has answered in full (the
comment is optional)."""


class SurveyHandoff:
    """Where a caller goes when the survey flow is over: their answers (and spoken comment) are stored, then they
    are hung up."""

    def __init__(self, surveys: PostCallSurveys, offer: SurveyOffer, ari: AriClient, ivr: IvrRunner) -> None:
        self._surveys = surveys
        self._offer = offer
        self._ari = ari
        self._ivr = ivr

    async def ivr_transfer(self, call: IvrCall, transfer: Transfer, finished: Finished) -> None:
        # The flow gave up (its guard): nobody is waiting to take a survey caller; what they said is kept.
        self._store(call, {**call.attributes, **finished.attributes}, complete=False)
        with contextlib.suppress(AriError):
            await self._ari.hangup(call.channel_id)

    async def ivr_end(self, call: IvrCall, finished: Finished) -> None:
        attributes = {**call.attributes, **finished.attributes}
        self._store(call, attributes, complete=finished.outcome != "abandoned_in_ivr"
                    or all(attributes.get(name) for name in ANSWERS))

    def _store(self, call: IvrCall, attributes: dict[str, str], *, complete: bool) -> None:
        """In the background: a comment cut by the caller's hang-up arrives after this (on the same channel's
        events, which must not wait for it)."""
        record_id = attributes.get("comment")
        comment = None if record_id is None else self._ivr.recorded_audio(call, record_id)
        self._surveys.keep(self._offer, attributes, complete=complete, comment=comment)

async def run_survey(ivr: IvrRunner, surveys: PostCallSurveys, offer: SurveyOffer, ari: AriClient,
                     bridge_id: str) -> None:
    """Hand the caller's channel (up) to the survey flow, out of the call's bridge first (its cleanup destroys it
    too, but the first prompt must not play into a bridge)."""
    with contextlib.suppress(AriError):
        await ari.remove_channel(bridge_id, offer.channel_id)
    await ivr.start(offer.channel_id, offer.caller_number, None, offer.service_number, SURVEY_FLOW,
                    SurveyHandoff(surveys, offer, ari, ivr), language=offer.language, answered=True)
