"""`python -m bot.botframework.package`: the Teams app package that Teams admins upload.

Fills teams/manifest.json with the bot's app id and the city's addresses, adds
the localisations and the two icons, checks the result and writes a zip:

    MICROSOFT_APP_ID=<guid> TEAMS_PRIVACY_URL=https://... TEAMS_TERMS_URL=https://... \\
        .venv/bin/python -m bot.botframework.package --out dist/kasko-teams.zip

The privacy and terms addresses have no default: they must be the city's real
pages, so they are asked for instead of guessed. The icons are drawn here (a
speech bubble in Helsinki's blue) so that no binary file lives in the repository;
put color.png (192x192) and outline.png (32x32) in teams/ to use designed ones.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import zipfile
import zlib
from pathlib import Path

from bot.config import PROJECT_ROOT

TEAMS_DIR = PROJECT_ROOT / "teams"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
HELSINKI_BLUE = (0x00, 0x00, 0xBF)


class PackageError(ValueError):
    """The package cannot be built; the message says what to set."""


def _png(width: int, height: int, pixel) -> bytes:
    """An RGBA PNG; `pixel(x, y)` returns (r, g, b, a)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _in_bubble(x: float, y: float) -> bool:
    """A speech bubble in the unit square: a rounded box with a tail at the lower left."""
    left, top, right, bottom, radius = 0.18, 0.2, 0.82, 0.66, 0.12
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    in_box = (
        left <= x <= right and top <= y <= bottom and (x - cx) ** 2 + (y - cy) ** 2 <= radius**2
    )
    in_tail = 0.3 <= x <= 0.46 and bottom <= y <= 0.82 and (x - 0.3) <= (0.82 - y) * 1.0
    return in_box or in_tail


def color_icon() -> bytes:
    def pixel(x: int, y: int):
        inside = _in_bubble((x + 0.5) / 192, (y + 0.5) / 192)
        return (255, 255, 255, 255) if inside else (*HELSINKI_BLUE, 255)

    return _png(192, 192, pixel)


def outline_icon() -> bytes:
    """White outline on transparent, as Teams requires of the 32x32 icon."""

    def pixel(x: int, y: int):
        here = _in_bubble((x + 0.5) / 32, (y + 0.5) / 32)
        near = [
            _in_bubble((x + 0.5 + dx * 1.5) / 32, (y + 0.5 + dy * 1.5) / 32)
            for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
        ]
        edge = here and not all(near)
        return (255, 255, 255, 255) if edge else (255, 255, 255, 0)

    return _png(32, 32, pixel)


def _https(name: str, value: str) -> str:
    if not re.match(r"^https://[^\s/]+\.[^\s/]+", value or ""):
        raise PackageError(f"{name} must be an https address of the city's page (got {value!r})")
    return value


def build(out: Path, environ: dict[str, str]) -> Path:
    app_id = environ.get("MICROSOFT_APP_ID", "")
    if not _GUID.match(app_id):
        raise PackageError("MICROSOFT_APP_ID must be the Azure Bot's app id (a GUID)")
    values = {
        "MICROSOFT_APP_ID": app_id,
        "TEAMS_WEBSITE_URL": _https(
            "TEAMS_WEBSITE_URL", environ.get("TEAMS_WEBSITE_URL", "https://www.hel.fi")
        ),
        "TEAMS_PRIVACY_URL": _https("TEAMS_PRIVACY_URL", environ.get("TEAMS_PRIVACY_URL", "")),
        "TEAMS_TERMS_URL": _https("TEAMS_TERMS_URL", environ.get("TEAMS_TERMS_URL", "")),
    }
    template = (TEAMS_DIR / "manifest.json").read_text(encoding="utf-8")
    manifest_text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    manifest = json.loads(manifest_text)
    files = {"manifest.json": json.dumps(manifest, ensure_ascii=False, indent=2).encode()}
    for language in manifest["localizationInfo"]["additionalLanguages"]:
        path = TEAMS_DIR / language["file"]
        json.loads(path.read_text(encoding="utf-8"))  # must parse
        files[language["file"]] = path.read_bytes()
    for name, draw in (("color.png", color_icon), ("outline.png", outline_icon)):
        designed = TEAMS_DIR / name
        files[name] = designed.read_bytes() if designed.is_file() else draw()
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Teams app package (zip).")
    parser.add_argument("--out", default=str(PROJECT_ROOT / "dist" / "kasko-teams.zip"))
    args = parser.parse_args(argv)
    try:
        out = build(Path(args.out), dict(os.environ))
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Teams app package written: {out} (upload it in Teams admin center or sideload it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
