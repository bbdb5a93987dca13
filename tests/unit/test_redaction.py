"""Redaction of identity codes, phone numbers, e-mail addresses and the writer's name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.storage.redaction import (
    EMAIL_MARK,
    IDENTITY_CODE_MARK,
    NAME_MARK,
    PHONE_MARK,
    is_valid_identity_code,
    redact,
)

# Check characters computed by hand from DDMMYYNNN mod 31 (131052-308T is the
# example the Digital and Population Data Services Agency publishes).
VALID_CODES = [
    "131052-308T",  # 1900s, hyphen
    "131052A308T",  # 2000s, A
    "131052+308T",  # 1800s, plus
    "010594Y9021",  # 1900s, a sign in use since 2023
    "010594X9021",
    "010594W9021",
    "010594V9021",
    "010594U9021",
    "020304B123P",  # 2000s, signs in use since 2023
    "020304C123P",
    "020304D123P",
    "020304E123P",
    "020304F123P",
    "311299-999E",
    "150620A456C",
    "290200-234v",  # lower-case check character
]
MISTYPED_CODES = [
    "131052-308U",  # wrong check character
    "131052-309T",  # number changed, check no longer fits
    "010190-123A",
]
INVALID_CODES = [
    "321052-308T",  # no 32nd day
    "131352-308T",  # no 13th month
    "131052G308T",  # G is not a century sign
    "131052-30T",  # too short
]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_identity_codes_are_redacted(code):
    assert is_valid_identity_code(code)
    result = redact(f"Lapseni hetu on {code}, kiitos.")
    assert result.text == f"Lapseni hetu on {IDENTITY_CODE_MARK}, kiitos."
    assert result.removed["identity_code"] == 1


@pytest.mark.parametrize("code", MISTYPED_CODES)
def test_mistyped_identity_codes_are_redacted_too(code):
    """A wrong check character is most likely a typo: the birth date and most of the
    number would still be stored."""
    assert not is_valid_identity_code(code)
    result = redact(f"Lapseni hetu on {code}, kiitos.")
    assert result.text == f"Lapseni hetu on {IDENTITY_CODE_MARK}, kiitos."
    assert result.removed["identity_code"] == 1


@pytest.mark.parametrize("code", INVALID_CODES)
def test_what_is_not_an_identity_code_stays(code):
    assert not is_valid_identity_code(code)
    assert code in redact(f"koodi {code} tässä").text


@pytest.mark.parametrize(
    "phone",
    [
        "040 123 4567",
        "0401234567",
        "040-123 4567",
        "+358 40 123 4567",
        "+358401234567",
        "(09) 310 12345",
        "09 310 1234",
        "+46 8 123 456 78",
        "+1 555 123 4567",
        "00358 40 1234567",
    ],
)
def test_phone_numbers_are_redacted(phone):
    result = redact(f"Soittakaa numeroon {phone} iltaisin")
    assert result.text == f"Soittakaa numeroon {PHONE_MARK} iltaisin"
    assert result.removed["phone"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "Koulu alkoi 12.8.2024 ja päättyy 31.5.2025.",
        "Meitä oli 25 oppilasta ja 3 opettajaa.",
        "Ruutirahaa oli 1500 euroa.",
        "Luokka 7B ja huone 204.",
        "Vuonna 2019 kokeiltiin",
    ],
)
def test_ordinary_numbers_stay(text):
    result = redact(text)
    assert result.text == text
    assert not result.changed


@pytest.mark.parametrize(
    "email", ["matti.meikalainen@example.fi", "a+b@koulu.hel.fi", "Maija_M@Example.COM"]
)
def test_emails_are_redacted(email):
    result = redact(f"Vastaus osoitteeseen {email}.")
    assert result.text == f"Vastaus osoitteeseen {EMAIL_MARK}."
    assert result.removed["email"] == 1


def test_everything_at_once():
    text = "Hetu 131052-308T, puh. +358 40 123 4567, maili x@y.fi"
    result = redact(text)
    assert result.text == f"Hetu {IDENTITY_CODE_MARK}, puh. {PHONE_MARK}, maili {EMAIL_MARK}"
    assert result.removed == {"identity_code": 1, "email": 1, "phone": 1, "name": 0}


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Hei, nimeni on Anna Virtanen ja lapseni on ekalla",
            f"Hei, nimeni on {NAME_MARK} ja lapseni on ekalla",
        ),
        (
            "mun nimi on anna, miten pääsen oppilaskuntaan",
            f"mun nimi on {NAME_MARK}, miten pääsen oppilaskuntaan",
        ),
        (
            "Ruoka on kylmää.\nTerveisin\nMatti Meikäläinen",
            f"Ruoka on kylmää.\nTerveisin\n{NAME_MARK}",
        ),
        (
            "Jag heter Erik Svensson och min dotter går i skolan",
            f"Jag heter {NAME_MARK} och min dotter går i skolan",
        ),
        ("Maten är kall. Mvh Erik", f"Maten är kall. Mvh {NAME_MARK}"),
        (
            "Ruoka on kylmää. Terveisin Matti ja Maija Virtanen",
            f"Ruoka on kylmää. Terveisin {NAME_MARK}",
        ),
        ("My name is Anna and I have a question", f"My name is {NAME_MARK} and I have a question"),
        ("My name is John Smith, how do I join?", f"My name is {NAME_MARK}, how do I join?"),
        (
            "The lunch was cold. Kind regards, Mary O'Neill",
            f"The lunch was cold. Kind regards, {NAME_MARK}",
        ),
    ],
)
def test_a_name_the_writer_gives_as_theirs_is_redacted(text, expected):
    result = redact(text)
    assert result.text == expected and result.removed["name"] == 1


@pytest.mark.parametrize(
    "text",
    [
        "terveisin vanhemmat",  # a sign-off without a name
        "Hälsningar från Helsingfors",
        "Kiitos! t. äiti",
        "The teacher Mr Smith does not listen to us",  # a name not said to be the writer's
        "opettaja ei kuuntele meitä, olen tosi huolissani",
        "mikä on Ruuti?",
    ],
)
def test_text_that_gives_no_name_of_the_writer_stays(text):
    assert redact(text).text == text


PIECES = st.sampled_from(
    [
        "131052-308T", "010594Y9021", "+358 40 123 4567", "09 310 1234", "0401234567",
        "x@y.fi", "a+b@koulu.hel.fi", "@", "12.8.2024", "7B", "١٢٣٤٥٦٧", "nimeni on Anna",
        "Terveisin Matti", "010110-1101", "0100 100 101", " ", ", ", ".", "-", "(", "hei",
        "Ä", "koulu", "\n",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(PIECES, st.text(max_size=6)), max_size=12).map("".join))
def test_the_quick_scans_skip_only_what_could_not_match(text):
    """The digit and "@" scans before the patterns change no result (test double: scans
    that always say "maybe", i.e. every pattern always run)."""
    import bot.storage.redaction as redaction

    quick = redaction.redact(text)
    always = re.compile("")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redaction, "_MAY_HAVE_NUMBER", always)
        patch.setattr(redaction, "_MAY_HAVE_ADDRESS", always)
        full = redaction.redact(text)
    assert quick == full
