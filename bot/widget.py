"""The web widget and its demo pages, served by the bot service itself (no CDN).

    /                      demo page: a city-style page with the widget embedded
    /widget/kasko-chat.js  the widget (one script tag embeds it on any page)
    /widget/*.css          its styles and the Helsinki Design System files it uses
    /webchat-demo          Microsoft's Web Chat (botframework-webchat) on our Direct Line

The npm packages (widget/package.json) are installed by the set-up script. The
HDS token file declares its variables on `:root`; the widget lives in a shadow
root, where `:root` matches nothing, so the file is served with `:host` instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from bot.config import PROJECT_ROOT

logger = logging.getLogger(__name__)

WIDGET_DIR = PROJECT_ROOT / "widget"
SOURCE = WIDGET_DIR / "src"
MODULES = WIDGET_DIR / "node_modules"
PAGES = Path(__file__).parent / "static"
VENDOR = {
    "hds-tokens.css": MODULES / "hds-design-tokens" / "lib" / "all.min.css",
    "hds-button.css": MODULES / "hds-core" / "lib" / "components" / "button" / "button.min.css",
}
WEBCHAT = MODULES / "botframework-webchat" / "dist" / "webchat.js"
# Every page's resources come from this service; the stream is a WebSocket to it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self' ws: wss:; font-src 'self' data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)


def _page(name: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(PAGES / name)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    return handler


def _file(path: Path, content_type: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        if not path.is_file():
            raise web.HTTPNotFound(reason=f"{path.name} is not installed: run ./scripts/setup.sh")
        return web.FileResponse(path, headers={"Content-Type": content_type})

    return handler


def _tokens_for_shadow_root(path: Path) -> bytes | None:
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").replace(":root", ":host").encode()


def setup_widget(app: web.Application) -> None:
    missing = [p for p in (*VENDOR.values(), WEBCHAT) if not p.is_file()]
    if missing:
        logger.warning("widget packages missing (%s): run ./scripts/setup.sh", missing[0].name)
    tokens = _tokens_for_shadow_root(VENDOR["hds-tokens.css"])

    async def hds_tokens(request: web.Request) -> web.Response:
        if tokens is None:
            raise web.HTTPNotFound(reason="hds-design-tokens is not installed")
        return web.Response(body=tokens, content_type="text/css")

    async def favicon(request: web.Request) -> web.Response:
        # Browsers ask for it on every page; the pages declare none.
        return web.Response(status=204)

    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/", _page("index.html"))
    app.router.add_get("/webchat-demo", _page("webchat.html"))
    app.router.add_get("/widget/kasko-chat.js", _file(SOURCE / "kasko-chat.js", "text/javascript"))
    app.router.add_get("/widget/kasko-chat.css", _file(SOURCE / "kasko-chat.css", "text/css"))
    app.router.add_get("/widget/vendor/hds-tokens.css", hds_tokens)
    app.router.add_get("/widget/vendor/hds-button.css", _file(VENDOR["hds-button.css"], "text/css"))
    app.router.add_get("/webchat/webchat.js", _file(WEBCHAT, "text/javascript"))
    app.router.add_get(
        "/static/webchat-demo.js", _file(PAGES / "webchat-demo.js", "text/javascript")
    )
    app.router.add_get("/static/demo.css", _file(PAGES / "demo.css", "text/css"))
