"""A web front end's composition (``cti front``; docs/scaling.md, *Web front ends*): its hub fed by the leader's
frame stream, an HTTP client to the leader, the routes. No database, no Asterisk, no lease."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cti.live import FrameStream
from cti.settings import Settings
from cti.web import MAX_BODY, FrontEnd, Hub, error_middleware, mount_front

__all__ = ["create_front_app"]


def create_front_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY)
    source = FrameStream(settings.redis_url, settings.redis_prefix)
    front = FrontEnd(Hub(), source)
    mount_front(app, front)

    async def running(app: web.Application) -> AsyncIterator[None]:
        front.start()
        try:
            yield
        finally:
            await front.close()
            await source.close()

    app.cleanup_ctx.append(running)
    return app
