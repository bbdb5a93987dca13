"""Redaction of personal data from free text before anything is stored.

Removes Finnish personal identity codes (henkilötunnus, every century sign,
including the Y X W V U and B C D E F signs in use since 2023), phone numbers
(Finnish and international forms), e-mail addresses, and the writer's name where
the text says it is one: after "nimeni on", "jag heter", "my name is" and the
like, and in a sign-off ("Terveisin Anna Virtanen", "Mvh Erik", "Regards, John
Smith"). A name elsewhere (a teacher named in a complaint) is not found: that
would take a list of every name, and would remove what staff need to act on.
An identity code is
removed when it has the code's shape and a real date, whatever its check
character: a mistyped code (one digit wrong) still gives away a birth date and
most of a person's number, and nothing else that people write in feedback has
that shape (DDMMYY, a century sign, three digits and a character).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS = "+-AYXWVUBCDEF"

IDENTITY_CODE_MARK = "[henkilötunnus]"
PHONE_MARK = "[puhelinnumero]"
EMAIL_MARK = "[sähköposti]"
NAME_MARK = "[nimi]"

_IDENTITY_CODE = re.compile(
    rf"(?<![\w])(\d{{2}})(\d{{2}})(\d{{2}})([{re.escape(CENTURY_SIGNS)}])(\d{{3}})([0-9A-Y])(?![\w])",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?![\w])", re.IGNORECASE)
# A phone number starts with + (international) or 0 (Finnish national form) and has
# 7 to 15 digits, optionally grouped by spaces, hyphens, dots or a bracketed area code.
_PHONE = re.compile(r"(?<![\w+(])\(?(?:\+|00|0)(?:[\s\-.]?\(?\d\)?){6,14}(?![\w])")
_CAPITALISED = r"[A-ZÅÄÖÜ][\w'’-]+"  # two letters or more: not the pronoun "I"
_ONE_NAME = rf"{_CAPITALISED}(?:[ \t]+{_CAPITALISED}){{0,2}}"
# "Terveisin Matti ja Maija", "Mvh Anna och Erik Berg": both names.
_FULL_NAME = rf"{_ONE_NAME}(?:[ \t]*(?:,|&|\bja\b|\boch\b|\band\b)[ \t]*{_ONE_NAME})*"
# What follows these is a name, whatever its case ("nimeni on anna"): one word, or
# capitalised names.
_INTRODUCTION = re.compile(
    r"(?P<lead>(?<![\w])(?i:minun nimeni on|mun nimeni on|nimeni on|minun nimi on|mun nimi on|"
    r"olen nimeltäni|jag heter|mitt namn är|my name is|my name's)[ \t]*[:,]?[ \t]+)"
    rf"(?P<name>{_FULL_NAME}|[\w'’-]+)",
)
# A sign-off is followed by a name only when it is capitalised ("terveisin vanhemmat"
# is no name).
_SIGN_OFF = re.compile(
    r"(?P<lead>(?<![\w])(?i:ystävällisin terveisin|terveisin|terv\.|t\.|med vänliga hälsningar|"
    r"vänliga hälsningar|hälsningar|mvh|kind regards|best regards|regards|sincerely|"
    r"best wishes)[ \t]*[,:]?\s+)"
    rf"(?P<name>{_FULL_NAME})",
)
# Codes and numbers have digits, and addresses an "@": a text with neither (almost
# every question on its way to the NLU) is not searched for them.
_MAY_HAVE_NUMBER = re.compile(r"\d")
_MAY_HAVE_ADDRESS = re.compile("@")


def find_email(text: str) -> str | None:
    """The first e-mail address in a text ("my email is a@b.fi" -> "a@b.fi")."""
    found = _EMAIL.search(text)
    return found.group(0) if found else None


def find_phone(text: str) -> str | None:
    """The first phone number in a text, as written ("call me at 040 123 4567")."""
    found = _PHONE.search(text)
    return found.group(0) if found else None


def is_valid_identity_code(code: str) -> bool:
    """True when `code` (DDMMYYCNNNT) has a real date part and the right check character."""
    match = _IDENTITY_CODE.fullmatch(code.strip())
    if not match or not _has_real_date(match):
        return False
    day, month, year, _sign, number, check = match.groups()
    return check.upper() == CHECK_CHARACTERS[int(f"{day}{month}{year}{number}") % 31]


def _has_real_date(match: re.Match[str]) -> bool:
    day, month = int(match.group(1)), int(match.group(2))
    return 1 <= day <= 31 and 1 <= month <= 12


@dataclass
class Redaction:
    """The cleaned text and how many items of each kind were removed."""

    text: str
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.removed.values())


def redact(text: str, marks: bool = True) -> Redaction:
    """Remove identity codes, e-mail addresses, phone numbers and stated names from `text`.

    `marks`: put "[puhelinnumero]" and the like where they were, for a reader; the
    NLU gets the text without them (a Finnish mark in an English question is noise).
    """
    removed = {"identity_code": 0, "email": 0, "phone": 0, "name": 0}

    def identity(match: re.Match[str]) -> str:
        if not _has_real_date(match):
            return match.group(0)
        removed["identity_code"] += 1
        return IDENTITY_CODE_MARK if marks else ""

    def email(match: re.Match[str]) -> str:
        removed["email"] += 1
        return EMAIL_MARK if marks else ""

    def phone(match: re.Match[str]) -> str:
        digits = sum(ch.isdigit() for ch in match.group(0))
        if not 7 <= digits <= 15:
            return match.group(0)
        removed["phone"] += 1
        return PHONE_MARK if marks else ""

    def name(match: re.Match[str]) -> str:
        removed["name"] += 1
        return match.group("lead") + (NAME_MARK if marks else "")

    cleaned = text
    if _MAY_HAVE_NUMBER.search(text):
        cleaned = _IDENTITY_CODE.sub(identity, cleaned)
    if _MAY_HAVE_ADDRESS.search(cleaned):
        cleaned = _EMAIL.sub(email, cleaned)
    if _MAY_HAVE_NUMBER.search(cleaned):
        cleaned = _PHONE.sub(phone, cleaned)
    cleaned = _INTRODUCTION.sub(name, cleaned)
    cleaned = _SIGN_OFF.sub(name, cleaned)
    return Redaction(cleaned, removed)
