"""The staff review app: the bot as its own process on a real database, staff accounts made
with the real command, feedback stored through the real record store; HTTP checks with a
client, and the main flow and accessibility in Debian's Chromium (Playwright).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import aiohttp
import pytest
from yarl import URL

from bot.staff.texts import TEXTS
from bot.storage.database import create_database_engine
from bot.storage.records import SqlRecordStore
from dialogs.records import AnswerRating, FeedbackSubmission, UnansweredQuestion, new_key
from tests.conftest import one_rate_window
from tests.integration.conftest import (
    AXE,
    ROOT,
    migrated_sqlite_url,
    needs_chromium,
    start_bot,
    stop_bot,
)

ADMIN, REVIEWER = ("coordinator", "correct horse battery"), ("reviewer1", "staple battery horse")
SCRIPT = "<script>alert('x')</script> Ruoka oli kylmää"
FORMULA = '=HYPERLINK("http://evil.example","klikkaa")'


def manage(database_url: str, *args: str, password: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.manage", *args, "--password-stdin"],
        cwd=ROOT,
        env=dict(os.environ, DATABASE_URL=database_url),
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def feedback(text: str, code: str = "kasko-meals", unit: str = "Kallion ala-aste", **more):
    now = datetime.now(UTC).isoformat()
    values = dict(
        reference=f"T{new_key()[:3].upper()}-TEST-{new_key()[:4].upper()}",
        category="school_meals",
        service_code=code,
        service_name="Kouluruoka",
        title=f"Kouluruoka: {unit}",
        description=text,
        language="fi",
        channel="directline",
        conversation="c",
        requested_at=now,
        unit=unit,
    )
    values.update(more)
    return FeedbackSubmission(**values)


@pytest.fixture(scope="module")
def staff_db(tmp_path_factory):
    url = migrated_sqlite_url(tmp_path_factory.mktemp("staff"))
    manage(url, "create-admin", ADMIN[0], password=ADMIN[1])
    manage(url, "add-staff", REVIEWER[0], "--role", "reviewer", password=REVIEWER[1])
    engine = create_database_engine(url)
    store = SqlRecordStore(engine)
    items = [
        feedback(SCRIPT),
        feedback(FORMULA, code="kasko-communication", unit="Vuosaaren lukio"),
        feedback(
            "Kiitos hyvästä opetuksesta",
            code="kasko-teaching",
            language="sv",
            contact_method="email",
            contact="huoltaja@example.com",
            consented_at=datetime.now(UTC).isoformat(),
        ),
    ] + [feedback(f"Täytepalaute {n}", code="kasko-premises") for n in range(30)]

    async def seed():
        for item in items:
            await store.save(item)
        for topic, helpful in [
            ("ruuti_budget", True),
            ("ruuti_budget", False),
            ("youth_council", True),
        ]:
            await store.save(
                AnswerRating(
                    key=new_key(),
                    topic=topic,
                    helpful=helpful,
                    language="fi",
                    channel="directline",
                    conversation="c",
                    created_at=datetime.now(UTC).isoformat(),
                )
            )
        for text in [
            "Paljonko bussikortti maksaa?",
            "paljonko bussikortti maksaa",
            "Mistä saan bussikortin hinnan?",
            "Milloin on syysloma?",
        ]:
            await store.save(
                UnansweredQuestion(
                    key=new_key(),
                    text=text,
                    reason="out_of_scope",
                    language="fi",
                    channel="directline",
                    conversation="c",
                    created_at=datetime.now(UTC).isoformat(),
                    guesses=[{"intent": "out_of_scope", "confidence": 0.8}],
                )
            )

    asyncio.run(seed())
    engine.dispose()
    return url, {item.description: item.reference for item in items}


@pytest.fixture(scope="module")
def staff_bot(rasa_server, staff_db, bot_log):
    url, _ = staff_db
    # Every test signs in from 127.0.0.1: the sign-in limit has its own test below.
    process, base = start_bot(rasa_server, url, bot_log, RATE_LIMIT_STAFF_LOGINS="1000")
    yield base
    stop_bot(process)


def client() -> aiohttp.ClientSession:
    # Cookies for 127.0.0.1: aiohttp's default jar ignores those of bare IP addresses.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def sign_in(session: aiohttp.ClientSession, base: str, who: tuple[str, str]) -> int:
    async with session.get(f"{base}/staff/login") as response:
        page = await response.text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    data = {"csrf": token, "username": who[0], "password": who[1]}
    async with session.post(f"{base}/staff/login", data=data, allow_redirects=False) as response:
        return response.status


async def csrf_of(session: aiohttp.ClientSession, url: str) -> str:
    async with session.get(url) as response:
        return re.search(r'name="csrf" value="([^"]+)"', await response.text()).group(1)


async def test_not_signed_in_goes_to_the_login_page(staff_bot):
    async with client() as session:
        for path in ("/staff", "/staff/feedback", "/staff/users", "/staff/feedback.csv"):
            async with session.get(f"{staff_bot}{path}", allow_redirects=False) as response:
                assert response.status == 302
                location = response.headers["Location"]
                assert location.startswith("/staff/login") or location == "/staff/feedback"
        async with session.get(f"{staff_bot}/staff/feedback") as response:
            assert response.url.path == "/staff/login"
            page = await response.text()
            assert "Välkommen" in page and 'lang="fi"' in page


async def test_after_signing_in_the_page_asked_for_opens_and_an_ended_session_says_so(
    staff_bot,
):
    async with client() as session:
        session.cookie_jar.update_cookies({"kasko_staff": "ended"}, URL(staff_bot))
        asked = "/staff/unanswered?show=all"
        async with session.get(f"{staff_bot}{asked}") as response:
            page = await response.text()
            assert response.url.path == "/staff/login"
            assert TEXTS["fi"]["expired"] in page
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        sent = re.search(r'name="next" value="([^"]+)"', page).group(1)
        data = {"csrf": token, "username": ADMIN[0], "password": ADMIN[1], "next": sent}
        async with session.post(f"{staff_bot}/staff/login", data=data, allow_redirects=False) as r:
            assert r.headers["Location"] == asked
        data["csrf"] = await csrf_of(session, f"{staff_bot}/staff/login")
        data["next"] = "//elsewhere.example/staff/"
        async with session.post(f"{staff_bot}/staff/login", data=data, allow_redirects=False) as r:
            assert r.headers["Location"] == "/staff/feedback"  # never another site


async def test_the_app_speaks_swedish_once_chosen_and_names_roles_in_words(staff_bot):
    sv = TEXTS["sv"]
    async with client() as session:
        async with session.get(f"{staff_bot}/staff/login?lang=sv") as response:
            page = await response.text()
        assert '<html lang="sv">' in page and sv["sign_in"] in page
        assert page.count("Välkommen") == 1  # the Finnish page greets in Swedish too, once
        assert 'href="?lang=fi" lang="fi"' in page and 'href="?lang=en" lang="en"' in page
        await sign_in(session, staff_bot, ADMIN)
        async with session.get(f"{staff_bot}/staff/users") as response:  # the cookie keeps it
            page = await response.text()
        assert '<html lang="sv">' in page and sv["users"] in page
        assert f"({sv['role_admin']})" in page  # not the role's id, "admin"
        assert '<option value="reviewer">handläggare</option>' in page
        assert sv["deactivate"] in page  # a verb on the button, not "– Aktiv"


async def test_unknown_pages_get_the_apps_own_error_page(staff_bot):
    async with client() as session:
        await sign_in(session, staff_bot, ADMIN)
        for path in ("/staff/nothing-here", "/staff/users/nobody/active/x"):
            async with session.get(f"{staff_bot}{path}") as response:
                page = await response.text()
                assert response.status == 404 and response.content_type == "text/html"
                assert TEXTS["fi"]["not_found"] in page and "<main" in page
        async with session.get(f"{staff_bot}/staff/logout") as response:
            assert response.status == 405 and TEXTS["fi"]["method"] in await response.text()


async def test_filters_name_categories_languages_and_channels_in_words(staff_bot):
    async with client() as session:
        await sign_in(session, staff_bot, ADMIN)
        async with session.get(f"{staff_bot}/staff/feedback?q=KYLMÄÄ") as response:
            page = await response.text()
    assert '<option value="kasko-meals" >Kouluruoka</option>' in page
    assert '<option value="fi" >suomi</option>' in page
    assert '<option value="directline" >verkkochat</option>' in page
    assert "&lt;script&gt;alert" in page  # "KYLMÄÄ" found "kylmää" on SQLite too


async def test_a_username_that_would_break_its_own_page_is_refused(staff_bot):
    async with client() as session:
        await sign_in(session, staff_bot, ADMIN)
        token = await csrf_of(session, f"{staff_bot}/staff/users")
        data = {"csrf": token, "username": "<b>x</b>", "password": "x" * 14, "role": "reviewer"}
        async with session.post(f"{staff_bot}/staff/users", data=data) as response:
            page = await response.text()
        assert response.status == 400 and TEXTS["fi"]["username_rules"] in page


async def test_session_cookie_is_httponly_and_samesite(staff_bot):
    async with client() as session:
        async with session.get(f"{staff_bot}/staff/login") as response:
            token = re.search(r'name="csrf" value="([^"]+)"', await response.text()).group(1)
        data = {"csrf": token, "username": ADMIN[0], "password": ADMIN[1]}
        async with session.post(f"{staff_bot}/staff/login", data=data, allow_redirects=False) as r:
            cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/staff" in cookie


async def test_reviewer_is_denied_admin_pages_and_exports(staff_bot, staff_db):
    _, references = staff_db
    async with client() as session:
        assert await sign_in(session, staff_bot, REVIEWER) == 302
        for path in (
            "/staff/users",
            "/staff/audit",
            "/staff/feedback.csv",
            "/staff/unanswered.csv",
            f"/staff/feedback/{references[SCRIPT]}/open311.json",
        ):
            async with session.get(f"{staff_bot}{path}") as response:
                assert response.status == 403, path
        async with session.get(f"{staff_bot}/staff/feedback") as response:
            assert response.status == 200 and "/staff/users" not in await response.text()


async def test_post_without_csrf_token_is_403(staff_bot, staff_db):
    _, references = staff_db
    reference = references["Täytepalaute 1"]
    async with client() as session:
        await sign_in(session, staff_bot, ADMIN)
        url = f"{staff_bot}/staff/feedback/{reference}/status"
        for data in ({"phase": "done"}, {"phase": "done", "csrf": "forged"}):
            async with session.post(url, data=data) as response:
                assert response.status == 403
        async with session.post(f"{staff_bot}/staff/login", data={"username": "x"}) as response:
            assert response.status == 403  # the sign-in form has its own token too
        async with session.get(f"{staff_bot}/staff/feedback/{reference}") as response:
            page = await response.text()
        assert "<dd>Valmis</dd>" not in page and "<dd>Vastaanotettu</dd>" in page  # unchanged


async def test_wrong_passwords_lock_the_account(staff_bot, staff_db):
    url, _ = staff_db
    manage(url, "add-staff", "locktest", password="a long enough password")
    async with client() as session:
        statuses = [
            await sign_in(session, staff_bot, ("locktest", "wrong password!")) for _ in range(5)
        ]
        assert statuses == [401, 401, 401, 401, 423]
        assert await sign_in(session, staff_bot, ("locktest", "a long enough password")) == 423


async def test_status_change_is_recorded_with_history_and_audit(staff_bot, staff_db):
    _, references = staff_db
    reference = references["Täytepalaute 2"]
    async with client() as session:
        await sign_in(session, staff_bot, REVIEWER)
        detail = f"{staff_bot}/staff/feedback/{reference}"
        token = await csrf_of(session, detail)
        data = {"csrf": token, "phase": "allocated", "note": "Rehtorille"}
        async with session.post(f"{detail}/status", data=data) as response:
            page = await response.text()
        assert "Osoitettu" in page and "Rehtorille" in page and "reviewer1" in page
        await session.post(f"{staff_bot}/staff/logout", data={"csrf": token})
        await sign_in(session, staff_bot, ADMIN)
        async with session.get(f"{staff_bot}/staff/feedback/{reference}/open311.json") as response:
            record = await response.json(content_type=None)
        assert record["service_request_id"] == reference and record["status"] == "open"
        assert [h["phase"] for h in record["extended_attributes"]["history"]] == [
            "received",
            "allocated",
        ]
        async with session.get(f"{staff_bot}/staff/audit") as response:
            audit = await response.text()
        assert "reviewer1" in audit and "status" in audit and reference in audit


async def test_the_audit_log_pages_from_the_newest(staff_bot):
    async with client() as session:
        await sign_in(session, staff_bot, ADMIN)
        for _ in range(105):  # each view of the list is an audited event
            async with session.get(f"{staff_bot}/staff/feedback") as response:
                assert response.status == 200
        async with session.get(f"{staff_bot}/staff/audit") as response:
            first = await response.text()
        async with session.get(f"{staff_bot}/staff/audit?page=2") as response:
            second = await response.text()
        async with session.get(f"{staff_bot}/staff/audit?page=abc") as response:
            assert response.status == 200 and "page=2" in await response.text()
    assert first.count("<tr><td>") == 100 and 'href="/staff/audit?page=2"' in first
    assert 0 < second.count("<tr><td>") and 'href="/staff/audit?page=1"' in second


async def test_csv_export_is_rfc4180_and_formula_safe(staff_bot, staff_db):
    async with client() as session:
        await sign_in(session, staff_bot, ADMIN)
        async with session.get(
            f"{staff_bot}/staff/feedback.csv?service_code=kasko-communication"
        ) as r:
            assert r.headers["Content-Type"].startswith("text/csv")
            raw = await r.read()
    assert raw.startswith(codecs.BOM_UTF8)  # Excel reads it as UTF-8
    body = raw.decode("utf-8-sig")
    assert body.endswith("\r\n") and "\r\n" in body
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "reference" and len(rows) == 2
    description = rows[1][rows[0].index("description")]
    assert description == "'" + FORMULA  # neutralised: a spreadsheet shows it as text


async def test_login_attempts_are_rate_limited(rasa_server, bot_log, tmp_path):
    # A database of its own: counters are shared through the database, and the other
    # tests' sign-ins of this minute are counted in theirs.
    url = migrated_sqlite_url(tmp_path)
    process, base = start_bot(rasa_server, url, bot_log)  # the default: 10 a minute
    try:
        await one_rate_window(needed_seconds=20)
        async with client() as session:
            statuses = [await sign_in(session, base, ("nobody", "x" * 12)) for _ in range(12)]
    finally:
        stop_bot(process)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]


async def test_unanswered_questions_are_grouped_and_can_be_marked_handled(staff_bot):
    async with client() as session:
        await sign_in(session, staff_bot, REVIEWER)
        async with session.get(f"{staff_bot}/staff/unanswered") as response:
            page = await response.text()
        rows = re.findall(r"<tr>\s*<td>(\d+)</td>", page)
        assert rows[0] == "2"  # "Paljonko bussikortti maksaa?" twice, as one group
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        ids = re.search(r'name="ids" value="([^"]+)"', page).group(1)
        await session.post(
            f"{staff_bot}/staff/unanswered/handled", data={"csrf": token, "ids": ids}
        )
        async with session.get(f"{staff_bot}/staff/unanswered") as response:
            after = re.findall(r"<tr>\s*<td>(\d+)</td>", await response.text())
        assert len(after) == len(rows) - 1
        async with session.get(f"{staff_bot}/staff/unanswered?handled=1") as response:
            everything = await response.text()
    # The handled group is shown as handled, with no button to mark it again.
    assert TEXTS["fi"]["handled"] in everything and TEXTS["fi"]["hide_handled"] in everything
    assert everything.count('name="ids"') == len(rows) - 1


async def test_dashboard_draws_charts_from_the_records(staff_bot):
    async with client() as session:
        await sign_in(session, staff_bot, REVIEWER)
        async with session.get(f"{staff_bot}/staff/dashboard") as response:
            page = await response.text()
    # Topics by their titles (the content's), not their ids.
    assert page.count("<svg") == 4 and "Ruutiraha" in page and "ruuti_budget" not in page
    assert "Kouluruoka" in page and "kasko-premises" not in page  # categories by name
    assert "<td>50</td>" in page  # 1 of 2 ruuti_budget ratings helpful


# -- in the browser: last in this module (Playwright's sync API holds the event loop) ------

browser_only = needs_chromium


def browser_sign_in(page, base: str, who: tuple[str, str]) -> None:
    page.goto(f"{base}/staff/feedback")
    page.get_by_label("Käyttäjätunnus").fill(who[0])
    page.get_by_label("Salasana").fill(who[1])
    page.get_by_role("button", name="Kirjaudu sisään").click()
    page.get_by_role("heading", name="Palautteet").wait_for()


@browser_only
def test_coordinator_flow_in_the_browser(chromium, staff_bot, staff_db, tmp_path):
    _, references = staff_db
    context = chromium.new_context(accept_downloads=True)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        browser_sign_in(page, staff_bot, ADMIN)
        page.get_by_label("Aihe").select_option("kasko-meals")
        page.get_by_label("Haku").fill("kylmää")
        page.get_by_role("button", name="Suodata").click()
        page.get_by_text("1 palautetta").wait_for()
        page.get_by_role("link", name=references[SCRIPT]).click()
        # The <script> in the feedback is shown as text and never runs.
        assert page.locator(".feedback-text").inner_text() == SCRIPT
        page.get_by_label("Tila").select_option("handling")
        page.get_by_label("Muistiinpano").fill("Otettu käsittelyyn, keittiölle tiedoksi.")
        page.get_by_role("button", name="Tallenna").click()
        page.get_by_text("Tila tallennettu.").wait_for()
        history = page.locator("table").last.inner_text()
        assert "Käsittelyssä" in history and "keittiölle" in history
        page.get_by_role("link", name="Takaisin listaan").click()
        with page.expect_download() as download:
            page.get_by_role("link", name="Vie CSV").click()
        saved = tmp_path / "export.csv"
        download.value.save_as(saved)
        rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
        assert len(rows) > 30 and any(row[7] == "'" + FORMULA for row in rows[1:])
        assert dialogs == []
    finally:
        context.close()


@browser_only
def test_staff_pages_have_no_serious_accessibility_violations(chromium, staff_bot, staff_db):
    _, references = staff_db
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        page.goto(f"{staff_bot}/staff/login")
        pages = ["/staff/login"]
        browser_sign_in(page, staff_bot, ADMIN)
        pages += [
            "/staff/feedback",
            f"/staff/feedback/{references[SCRIPT]}",
            "/staff/dashboard",
            "/staff/unanswered",
            "/staff/users",
            "/staff/audit",
            "/staff/feedback?lang=en",
            "/staff/dashboard?lang=sv",
            "/staff/feedback?lang=sv",
        ]
        found = {}
        for path in pages[1:]:
            page.goto(f"{staff_bot}{path}")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document)")
            serious = [
                v["id"] for v in result["violations"] if v["impact"] in ("serious", "critical")
            ]
            if serious:
                found[path] = serious
        assert found == {}
    finally:
        context.close()


@browser_only
def test_access_rules_in_the_browser(chromium, staff_bot, staff_db):
    """Not signed in -> the sign-in page; a reviewer -> 403 on admin pages; a POST without
    the CSRF token -> 403; a <script> in the list view stays text."""
    _, references = staff_db
    context = chromium.new_context()
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(f"{staff_bot}/staff/dashboard")
        assert URL(page.url).path == "/staff/login"
        assert page.get_by_role("button", name="Kirjaudu sisään").is_visible()
        browser_sign_in(page, staff_bot, REVIEWER)
        assert page.get_by_role("link", name="Käyttäjät").count() == 0
        for path in ("/staff/users", "/staff/audit", "/staff/feedback.csv"):
            response = page.goto(f"{staff_bot}{path}")
            assert response.status == 403, path
            assert page.get_by_role(
                "heading", name="Sinulla ei ole oikeutta tähän sivuun."
            ).is_visible()
        reference = references["Täytepalaute 3"]
        forged = page.request.post(
            f"{staff_bot}/staff/feedback/{reference}/status", form={"phase": "done"}
        )
        assert forged.status == 403
        page.goto(f"{staff_bot}/staff/feedback?q=kylmää")
        assert SCRIPT in page.locator("tbody").inner_text()
        assert dialogs == []
    finally:
        context.close()
