"""The web widget in a real browser: Debian's Chromium driven by Playwright, against the bot
as its own process with the real Rasa model.

Screenshots go to test-artifacts/ (not committed). Where Chromium is not installed
(the test command installs it), these tests are skipped and the summary says why.
"""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import AXE, ROOT, needs_chromium, start_bot, stop_bot

ARTIFACTS = ROOT / "test-artifacts"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def browser(chromium):
    return chromium


@pytest.fixture
def page(browser, bot_url, request):
    """A fresh page (own sessionStorage), recording every request and console error.

    Tests marked `inject_axe` get a context that lets axe-core's script in past the
    page's Content-Security-Policy (which allows only the service's own scripts).
    """
    bypass = request.node.get_closest_marker("inject_axe") is not None
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=bypass)
    page = context.new_page()
    page.requests_seen = []
    page.problems = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.on(
        "console",
        lambda message: page.problems.append(message.text) if message.type == "error" else None,
    )
    yield page
    context.close()


def open_widget(page, url: str):
    page.goto(url + "/")
    launcher = page.get_by_role("button", name=re.compile("Kysy osallistumisesta"))
    launcher.click()
    log = page.get_by_role("log", name="Keskustelu")
    log.locator(".kc-msg--bot").first.wait_for()
    return log


def ask(page, text: str) -> str:
    """Type a question and send it with Enter; return the text of the bot's answer."""
    log = page.locator(".kc-log")
    before = log.locator(".kc-msg--bot").count()
    textbox = page.get_by_role("textbox")
    textbox.fill(text)
    textbox.press("Enter")
    log.locator(".kc-msg--bot").nth(before).wait_for()
    return log.locator(".kc-msg--bot").nth(before).inner_text()


def bot_messages(page):
    return page.locator(".kc-log .kc-msg--bot")


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    found = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    for violation in found:
        print(violation["id"], [node["target"] for node in violation["nodes"]])
    return found


@pytest.mark.parametrize(
    "question, language, topic_start",
    [
        ("mikä on ruutiraha?", "fi", ("ruuti_budget", None)),
        ("how do I join the youth council?", "en", ("youth_council", None)),
        ("hur kan jag påverka på daghemmet?", "sv", ("parent_committee", "ecec")),
        ("mikä on ruutiraha? sano helposti", "fi-x-selko", ("ruuti_budget", None)),
    ],
)
def test_a_conversation_in_each_language(page, bot_url, content, question, language, topic_start):
    open_widget(page, bot_url)
    answer = ask(page, question)
    topic, level = topic_start
    entry = content.topics[topic]
    expected = entry.variants[level][language] if level else entry.answer[language]
    assert answer.split("\n")[-1].strip() or answer
    assert expected.split("\n")[0][:40] in answer
    last = bot_messages(page).last
    assert last.get_attribute("lang") == ("fi" if language == "fi-x-selko" else language)
    # Every request of the page went to the bot service: no CDN, no fonts from elsewhere.
    assert all(
        url.startswith(bot_url) or url.startswith(("data:", "ws://127.0.0.1"))
        for url in page.requests_seen
    )


def test_quick_reply_click_and_language_switch(page, bot_url, content):
    open_widget(page, bot_url)
    page.get_by_role("group", name="Vastausvaihtoehdot").get_by_role(
        "button", name="Svenska"
    ).click()
    page.get_by_role("button", name=re.compile("Fråga om delaktighet")).wait_for()
    switched = bot_messages(page).last
    assert switched.get_attribute("lang") == "sv"
    # The UI follows the conversation's language.
    assert page.get_by_role("textbox", name="Skriv ett meddelande").is_visible()
    answer = ask(page, "vad är ungdomsfullmäktige?")
    assert content.topics["youth_council"].answer["sv"][:30] in answer
    choices = page.get_by_role("group", name="Svarsalternativ")
    choices.get_by_role("button").first.click()
    expected_count = 4  # greeting, language note, switch confirmation and the answer before it
    bot_messages(page).nth(expected_count).wait_for()


def test_keyboard_only_use(page, bot_url):
    page.goto(bot_url + "/")
    launcher = page.get_by_role("button", name=re.compile("Kysy osallistumisesta"))
    launcher.focus()
    page.keyboard.press("Enter")
    assert launcher.get_attribute("aria-expanded") == "true"
    textbox = page.get_by_role("textbox", name="Kirjoita viesti")
    assert textbox.evaluate("node => node.getRootNode().activeElement === node")
    bot_messages(page).first.wait_for()
    page.keyboard.type("mitä osaat?")
    page.keyboard.press("Enter")
    bot_messages(page).nth(2).wait_for()
    page.keyboard.press("Escape")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert launcher.evaluate("node => node.getRootNode().activeElement === node")


@pytest.mark.inject_axe
def test_accessibility_closed_and_open_with_screenshots(page, bot_url):
    page.goto(bot_url + "/")
    closed = axe_violations(page)
    assert closed == [], [(v["id"], v["help"]) for v in closed]
    ARTIFACTS.mkdir(exist_ok=True)
    open_widget(page, bot_url)
    ask(page, "miten pääsen oppilaskuntaan?")
    opened = axe_violations(page)
    assert opened == [], [(v["id"], v["help"]) for v in opened]
    page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(ARTIFACTS / "widget-360px.png"))
    narrow = axe_violations(page)
    assert narrow == [], [(v["id"], v["help"]) for v in narrow]


def test_pages_keep_their_content_security_policy(page, bot_url):
    """The widget and the Web Chat page run under a policy that allows only this service."""
    open_widget(page, bot_url)
    ask(page, "mikä on ruutiraha?")
    page.goto(bot_url + "/webchat-demo")
    page.locator("[data-id='webchat-sendbox-input']").wait_for(timeout=20_000)
    assert not [p for p in page.problems if "Content Security Policy" in p], page.problems


def test_reload_keeps_the_conversation(page, bot_url):
    open_widget(page, bot_url)
    ask(page, "mikä on ruutiraha?")
    count = bot_messages(page).count()
    page.reload()
    page.get_by_role("button", name=re.compile("Kysy osallistumisesta")).click()
    bot_messages(page).nth(count - 1).wait_for()
    assert bot_messages(page).count() == count  # the same conversation, shown once


def test_web_chat_interop_page(page, bot_url, content):
    page.goto(bot_url + "/webchat-demo")
    sendbox = page.locator("[data-id='webchat-sendbox-input']")
    sendbox.wait_for(timeout=20_000)
    page.get_by_text(content.conversation["greet"].answer["fi"][:30]).first.wait_for()
    sendbox.fill("how do I join the youth council?")
    sendbox.press("Enter")
    page.get_by_text(content.topics["youth_council"].answer["en"][:40]).first.wait_for()
    assert all(
        url.startswith(bot_url) or url.startswith(("data:", "ws://127.0.0.1", "blob:"))
        for url in page.requests_seen
    )


def test_server_drop_reconnects_and_an_unsent_message_is_kept(
    browser, rasa_server, database_url, bot_log, content
):
    """The bot process goes away under an open widget and comes back on the same port."""
    from nlu.service import free_port

    port = free_port()
    process, url = start_bot(rasa_server, database_url, bot_log, BOT_PORT=str(port))
    context = browser.new_context()
    page = context.new_page()
    try:
        open_widget(page, url)
        ask(page, "mikä on ruutiraha?")
        stop_bot(process)  # every socket drops
        textbox = page.get_by_role("textbox")
        textbox.fill("miten pääsen oppilaskuntaan?")
        textbox.press("Enter")
        failed = page.locator(".kc-msg--failed")
        failed.wait_for()
        assert "miten pääsen oppilaskuntaan?" in failed.inner_text()  # nothing lost
        process, url = start_bot(rasa_server, database_url, bot_log, BOT_PORT=str(port))
        before = bot_messages(page).count()
        failed.get_by_role("button", name="Yritä uudelleen").click()
        bot_messages(page).nth(before).wait_for()
        assert page.locator(".kc-msg--failed").count() == 0
        # The stream reconnected to the new process: a reply pushed after the restart arrives.
        answer = ask(page, "mikä on nuorisoneuvosto?")
        assert content.topics["youth_council"].answer["fi"][:30] in answer
    finally:
        context.close()
        stop_bot(process)
