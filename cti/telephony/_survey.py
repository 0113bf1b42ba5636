"""The post-call survey on the line: the caller of a call whose survey was offered goes, when the agent's side
ends the call, to the IVR's survey flow instead of being hung up (:class:`cti.services.PostCallSurveys`)."""

from __future__ import annotations

import contextlib
import logging

from cti.ari import AriClient, AriError
from cti.ivr import Finished, Transfer
from cti.services import SURVEY_FLOW, PostCallSurveys, SurveyOffer
from cti.telephony._actions import call_bridge_id
from cti.telephony._ivr import IvrCall, IvrRunner

log = logging.getLogger("cti.telephony")


class SurveyHandoff:
    """Where a caller goes when the survey flow is over: their answers are stored, then they are hung up."""

    def __init__(self, surveys: PostCallSurveys, offer: SurveyOffer, ari: AriClient) -> None:
        self._surveys = surveys
        self._offer = offer
        self._ari = ari

    async def ivr_transfer(self, call: IvrCall, transfer: Transfer, finished: Finished) -> None:
        # The flow gave up (its guard): nobody is waiting to take a survey caller; what they said is kept.
        await self._store(call, finished, complete=False)
        with contextlib.suppress(AriError):
            await self._ari.hangup(call.channel_id)

    async def ivr_end(self, call: IvrCall, finished: Finished) -> None:
        await self._store(call, finished, complete=finished.outcome != "abandoned_in_ivr")

    async def _store(self, call: IvrCall, finished: Finished, *, complete: bool) -> None:
        attributes = {**call.attributes, **finished.attributes}
        try:
            await self._surveys.answered(self._offer, attributes, complete=complete)
        except Exception:  # the caller is gone either way; the log keeps why their answer was lost
            log.exception("post-call survey of call %s not stored", self._offer.call_id)


async def run_survey(ivr: IvrRunner, surveys: PostCallSurveys, offer: SurveyOffer, ari: AriClient) -> None:
    """Hand the caller's channel (up) to the survey flow, out of the call's bridge first (its cleanup destroys it
    too, but the first prompt must not play into a bridge)."""
    with contextlib.suppress(AriError):
        await ari.remove_channel(call_bridge_id(offer.call_id), offer.channel_id)
    await ivr.start(offer.channel_id, offer.caller_number, None, offer.service_number, SURVEY_FLOW,
                    SurveyHandoff(surveys, offer, ari), language=offer.language, answered=True)
