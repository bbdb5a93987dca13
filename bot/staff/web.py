"""The staff review app under /staff: server-rendered pages (aiohttp-jinja2, autoescaped).

Access is denied by default: every /staff page needs a signed-in session except
the sign-in page itself; admin pages also need the admin role (403 otherwise).
Every form carries a CSRF token (the session's; on the sign-in page a
double-submit cookie) and a POST without the right one gets 403. Cookies are
HttpOnly and SameSite=Strict, and Secure when the app is reached over HTTPS.
Pages hold personal data, so they are never cached and never framed.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy import Engine
from yarl import URL

from bot.config import AppConfig
from bot.ratelimit import Limit, RateLimiter, client_address
from bot.staff import charts
from bot.staff.accounts import ROLES, AccountError, Accounts, SignedIn
from bot.staff.review import PHASES, FeedbackFilter, Review, csv_text, local_time
from bot.staff.texts import LANGUAGE_LINKS, TEXTS
from bot.storage.retention import purge

HERE = Path(__file__).parent
SESSION_COOKIE = "kasko_staff"
LOGIN_CSRF_COOKIE = "kasko_staff_login"
LANG_COOKIE = "kasko_staff_lang"
SIGNED_IN = web.AppKey("staff_signed_in", SignedIn)
ADMIN_ONLY = ("/staff/users", "/staff/audit", "/staff/purge", ".csv", "/open311.json")
PUBLIC = ("/staff/login", "/staff/static/")
AUDIT_PAGE_SIZE = 100
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class StaffApp:
    def __init__(
        self,
        config: AppConfig,
        engine: Engine,
        limiter: RateLimiter,
        titles: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """`titles`: each topic's and conversation intent's title per language (the
        content's), so that staff read "Ruutiraha", not "ruuti_budget"."""
        self.config = config
        self.engine = engine
        self.accounts = Accounts(engine)
        self.review = Review(engine)
        self.limiter = limiter
        self.titles = titles or {}

    def topic_name(self, topic: str, language: str) -> str:
        return self.titles.get(topic, {}).get(language, topic)

    # -- plumbing ------------------------------------------------------------------------

    @staticmethod
    def language(request: web.Request) -> str:
        chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE, "fi")
        return chosen if chosen in TEXTS else "fi"

    def secure(self, request: web.Request) -> bool:
        forwarded = request.headers.get("X-Forwarded-Proto", "")
        return request.secure or (
            self.config.rate_limits.trust_forwarded_for and forwarded == "https"
        )

    def cookie(self, response: web.StreamResponse, request: web.Request, name: str, value: str):
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="Strict",
            secure=self.secure(request),
            path="/staff",
        )

    def render(self, request: web.Request, template: str, status: int = 200, **context):
        language = self.language(request)
        signed_in = request.get(SIGNED_IN)
        response = aiohttp_jinja2.render_template(
            template,
            request,
            {
                "t": TEXTS[language],
                "lang": language,
                "other_languages": {k: v for k, v in LANGUAGE_LINKS.items() if k != language},
                "topic_name": lambda topic: self.topic_name(topic, language),
                "user": signed_in,
                "csrf": signed_in.csrf_token if signed_in else "",
                "path": request.path,
                **context,
            },
            status=status,
        )
        if "lang" in request.query:
            self.cookie(response, request, LANG_COOKIE, language)
        return response

    def not_found(self, request: web.Request) -> web.Response:
        return self.render(request, "message.html", status=404, message="not_found")

    async def audit(self, request: web.Request, action: str, target: str = "", detail: str = ""):
        actor = request[SIGNED_IN].username if SIGNED_IN in request else "-"
        await asyncio.to_thread(self.accounts.audit, actor, action, target, detail or None)

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Sign-in, role and CSRF checks for everything under /staff; security headers."""
        if not request.path.startswith("/staff"):
            return await handler(request)
        try:
            response = await self._guarded(request, handler)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as error:
            # The app's own page, in its language and layout, not the API's JSON error.
            message = "not_found" if error.status == 404 else "method"
            response = self.render(request, "message.html", status=error.status, message=message)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(PUBLIC):
            return await handler(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        signed_in = await asyncio.to_thread(self.accounts.session, token) if token else None
        if signed_in is None:
            # Back to the page after signing in; a session that ended says so.
            query = {"next": _return_path(request)}
            if token:
                query["expired"] = "1"
            raise web.HTTPFound(URL("/staff/login").with_query(query))
        request[SIGNED_IN] = signed_in
        admin_page = any(part in request.path for part in ADMIN_ONLY)
        if admin_page and not signed_in.is_admin:
            await self.audit(request, "denied", request.path)
            return self.render(request, "message.html", status=403, message="forbidden")
        if request.method == "POST":
            form = await request.post()
            sent = str(form.get("csrf", ""))
            if not sent or not hmac.compare_digest(sent, signed_in.csrf_token):
                return self.render(request, "message.html", status=403, message="csrf")
        return await handler(request)

    # -- sign in / out -------------------------------------------------------------------

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        token = secrets.token_urlsafe(24)
        error = "expired" if request.query.get("expired") == "1" else None
        response = self.render(
            request,
            "login.html",
            login_csrf=token,
            error=error,
            next=_safe_next(request.query.get("next")),
        )
        self.cookie(response, request, LOGIN_CSRF_COOKIE, token)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        if not cookie or not hmac.compare_digest(sent, cookie):
            return self.render(request, "message.html", status=403, message="csrf")
        back = _safe_next(str(form.get("next", "")))
        address = client_address(request, self.config.rate_limits.trust_forwarded_for)
        per_minute = self.config.rate_limits.staff_logins_per_address_per_minute
        limit = Limit("staff sign-in", f"login:{address}", per_minute)
        if await self.limiter.check([limit]) is not None:
            return self.render(
                request, "login.html", status=429, error="too_many", login_csrf=cookie, next=back
            )
        username = str(form.get("username", ""))[:120]
        password = str(form.get("password", ""))[:1024]
        token, outcome = await asyncio.to_thread(self.accounts.sign_in, username, password)
        if token is None:
            await asyncio.to_thread(self.accounts.audit, username or "-", f"login_{outcome}")
            status = 423 if outcome == "locked" else 401
            return self.render(
                request,
                "login.html",
                status=status,
                error=outcome,
                login_csrf=cookie,
                next=back,
                username=username,
            )
        await asyncio.to_thread(self.accounts.audit, username, "login")
        response = web.HTTPFound(back or "/staff/feedback")
        self.cookie(response, request, SESSION_COOKIE, token)
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/staff")
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        await self.audit(request, "logout")
        await asyncio.to_thread(self.accounts.sign_out, request.cookies.get(SESSION_COOKIE, ""))
        response = web.HTTPFound("/staff/login")
        response.del_cookie(SESSION_COOKIE, path="/staff")
        raise response

    # -- feedback ------------------------------------------------------------------------

    async def feedback_list(self, request: web.Request) -> web.StreamResponse:
        chosen = FeedbackFilter.from_query(request.query)
        page = await asyncio.to_thread(self.review.page, chosen)
        await self.audit(request, "view_list", "feedback", chosen.query_string())
        return self.render(request, "feedback_list.html", page=page, chosen=chosen, phases=PHASES)

    async def feedback_csv(self, request: web.Request) -> web.StreamResponse:
        chosen = FeedbackFilter.from_query(request.query)
        rows = await asyncio.to_thread(self.review.all_matching, chosen)
        await self.audit(
            request, "export_csv", "feedback", f"{len(rows)} rows; {chosen.query_string()}"
        )
        body = await asyncio.to_thread(self.review.csv, rows)
        return download(body, "text/csv", "feedback")

    async def feedback_detail(self, request: web.Request) -> web.StreamResponse:
        reference = request.match_info["reference"]
        row = await asyncio.to_thread(self.review.feedback, reference)
        if row is None:
            return self.not_found(request)
        await self.audit(request, "view", reference)
        return self.render(
            request, "feedback_detail.html", row=row, phases=PHASES, saved="saved" in request.query
        )

    async def change_status(self, request: web.Request) -> web.StreamResponse:
        reference = request.match_info["reference"]
        form = await request.post()
        phase = str(form.get("phase", ""))
        note = str(form.get("note", "")).strip()[:2000]
        if phase not in PHASES:
            return self.render(request, "message.html", status=400, message="not_found")
        actor = request[SIGNED_IN].username
        changed = await asyncio.to_thread(self.review.change_phase, reference, phase, note, actor)
        if not changed:
            return self.not_found(request)
        await self.audit(request, "status", reference, phase)
        raise web.HTTPFound(f"/staff/feedback/{reference}?saved=1")

    async def open311(self, request: web.Request) -> web.StreamResponse:
        reference = request.match_info["reference"]
        row = await asyncio.to_thread(self.review.feedback, reference)
        if row is None:
            return self.not_found(request)
        await self.audit(request, "export_open311", reference)
        body = json.dumps(self.review.open311(row), ensure_ascii=False, indent=2)
        return download(body, "application/json", reference)

    # -- quality -------------------------------------------------------------------------

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        figures = await asyncio.to_thread(self.review.dashboard)
        language = self.language(request)
        t = TEXTS[language]
        shares = {
            topic: round(100 * up / (up + down)) for topic, (up, down) in figures["ratings"].items()
        }
        named_shares = {self.topic_name(topic, language): share for topic, share in shares.items()}
        languages = {t.get(f"lang_{k}", k): v for k, v in figures["languages"].items()}
        channels = {t.get(f"channel_{k}", k): v for k, v in figures["channels"].items()}
        svgs = {
            "per_week": charts.stacked_weeks(
                t["per_week"], figures["per_week"], figures["category_names"]
            ),
            "ratings": charts.horizontal_bars(t["ratings"], named_shares, " %"),
            "languages": charts.horizontal_bars(t["language_mix"], languages),
            "channels": charts.horizontal_bars(t["channel_mix"], channels),
        }
        await self.audit(request, "view_dashboard")
        return self.render(request, "dashboard.html", figures=figures, svgs=svgs, shares=shares)

    async def unanswered(self, request: web.Request) -> web.StreamResponse:
        show_handled = request.query.get("handled") == "1"
        groups = await asyncio.to_thread(self.review.unanswered_groups, show_handled)
        await self.audit(request, "view_unanswered")
        return self.render(request, "unanswered.html", groups=groups, show_handled=show_handled)

    async def unanswered_handled(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        ids = [int(i) for i in str(form.get("ids", "")).split(",") if i.strip().isdigit()][:5000]
        count = await asyncio.to_thread(self.review.mark_handled, ids)
        await self.audit(request, "unanswered_handled", "", f"{count} questions")
        raise web.HTTPFound("/staff/unanswered")

    async def unanswered_csv(self, request: web.Request) -> web.StreamResponse:
        groups = await asyncio.to_thread(self.review.unanswered_groups, True)
        rows = [
            [
                len(g["ids"]),
                g["texts"][0],
                " | ".join(sorted(set(g["texts"]))[1:6]),
                ", ".join(f"{k} {v}" for k, v in g["languages"].most_common()),
                ", ".join(f"{k} {v}" for k, v in g["guesses"].most_common(3)),
            ]
            for g in groups
        ]
        await self.audit(request, "export_unanswered", "", f"{len(rows)} groups")
        body = csv_text(rows, ("count", "question", "similar", "languages", "top_guesses"))
        return download(body, "text/csv", "unanswered")

    # -- admin ---------------------------------------------------------------------------

    async def users(self, request: web.Request) -> web.StreamResponse:
        users = await asyncio.to_thread(self.accounts.list)
        await self.audit(request, "view_users")
        return self.render(
            request, "users.html", users=users, roles=ROLES, error=request.query.get("error", "")
        )

    async def create_user(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        username, role = str(form.get("username", "")), str(form.get("role", ""))
        try:
            await asyncio.to_thread(
                self.accounts.create, username, str(form.get("password", "")), role
            )
        except AccountError as error:
            users = await asyncio.to_thread(self.accounts.list)
            return self.render(
                request, "users.html", status=400, users=users, roles=ROLES, error=error.code
            )
        await self.audit(request, "user_created", username, role)
        raise web.HTTPFound("/staff/users")

    async def set_active(self, request: web.Request) -> web.StreamResponse:
        username = request.match_info["username"]
        form = await request.post()
        active = form.get("active") == "1"
        if username == request[SIGNED_IN].username and not active:
            return self.render(request, "message.html", status=400, message="forbidden")
        try:
            await asyncio.to_thread(self.accounts.set_active, username, active)
        except AccountError:
            return self.not_found(request)
        await self.audit(request, "user_active" if active else "user_disabled", username)
        raise web.HTTPFound("/staff/users")

    async def audit_page(self, request: web.Request) -> web.StreamResponse:
        """The newest events first, AUDIT_PAGE_SIZE a page (?page=2 for older ones)."""
        raw = request.query.get("page", "1")
        page = max(1, int(raw)) if raw.isdigit() else 1
        offset = (page - 1) * AUDIT_PAGE_SIZE
        # One more than a page: whether there is an older page to link to.
        events = await asyncio.to_thread(self.accounts.audit_log, AUDIT_PAGE_SIZE + 1, offset)
        await self.audit(request, "view_audit")
        older = len(events) > AUDIT_PAGE_SIZE
        return self.render(
            request, "audit.html", events=events[:AUDIT_PAGE_SIZE], page=page, older=older
        )

    async def purge_now(self, request: web.Request) -> web.StreamResponse:
        counts = await asyncio.to_thread(
            purge,
            self.engine,
            self.config.retention,
            datetime.now(UTC),
            timedelta(seconds=self.config.directline.conversation_ttl_seconds),
        )
        await self.audit(request, "purge", "", json.dumps(counts))
        return self.render(request, "message.html", message="purged", counts=counts)

    async def index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/staff/feedback")


def download(body: str, content_type: str, name: str) -> web.Response:
    """An export as a file download, named with the time it was made."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    extension = "json" if content_type == "application/json" else "csv"
    if extension == "csv":
        body = "\ufeff" + body  # the byte order mark: Excel then reads UTF-8 ("kylmää")
    return web.Response(
        text=body,
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.{extension}"'},
    )


def setup_staff(
    app: web.Application,
    config: AppConfig,
    engine: Engine,
    limiter: RateLimiter,
    titles: dict[str, dict[str, str]] | None = None,
):
    staff = StaffApp(config, engine, limiter, titles)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        app_key=aiohttp_jinja2.APP_KEY,
    )
    aiohttp_jinja2.get_env(app).filters["local"] = local_time
    app.middlewares.append(staff.guard)
    add = app.router
    add.add_get("/staff", staff.index)
    add.add_get("/staff/login", staff.login_page)
    add.add_post("/staff/login", staff.login)
    add.add_post("/staff/logout", staff.logout)
    add.add_get("/staff/feedback", staff.feedback_list)
    add.add_get("/staff/feedback.csv", staff.feedback_csv)
    add.add_get("/staff/feedback/{reference}", staff.feedback_detail)
    add.add_post("/staff/feedback/{reference}/status", staff.change_status)
    add.add_get("/staff/feedback/{reference}/open311.json", staff.open311)
    add.add_get("/staff/dashboard", staff.dashboard)
    add.add_get("/staff/unanswered", staff.unanswered)
    add.add_post("/staff/unanswered/handled", staff.unanswered_handled)
    add.add_get("/staff/unanswered.csv", staff.unanswered_csv)
    add.add_get("/staff/users", staff.users)
    add.add_post("/staff/users", staff.create_user)
    add.add_post("/staff/users/{username}/active", staff.set_active)
    add.add_get("/staff/audit", staff.audit_page)
    add.add_post("/staff/purge", staff.purge_now)
    add.add_static("/staff/static/", HERE / "static")
    return staff


def _return_path(request: web.Request) -> str:
    """Where to go after signing in: the page asked for, or for a form sent after the
    session ended, the page the form was on (its Referer, when it is ours)."""
    if request.method == "GET":
        return request.path_qs
    referer = URL(request.headers.get("Referer", ""))
    same_site = not referer.host or referer.host == request.host.split(":")[0]
    return (
        referer.path_qs if same_site and referer.path.startswith("/staff/") else "/staff/feedback"
    )


def _safe_next(value: str | None) -> str | None:
    """A page of this app only: never another site ("//evil", "https://...")."""
    if not value or not value.startswith("/staff/") or value.startswith("/staff/login"):
        return None
    return value if "//" not in value and "\\" not in value else None
