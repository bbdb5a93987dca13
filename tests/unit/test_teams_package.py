"""The Teams app package: manifest filled in and checked, localisations, icons of the right size."""

from __future__ import annotations

import json
import struct
import zipfile

import pytest

from bot.botframework.package import PackageError, build

APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
ENVIRONMENT = {
    "MICROSOFT_APP_ID": APP_ID,
    "TEAMS_PRIVACY_URL": "https://example.org/privacy",
    "TEAMS_TERMS_URL": "https://example.org/terms",
}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_package_has_a_filled_manifest_localisations_and_icons(tmp_path):
    out = build(tmp_path / "app.zip", ENVIRONMENT)
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("color.png")) == (192, 192)
        assert png_size(archive.read("outline.png")) == (32, 32)
        for language in manifest["localizationInfo"]["additionalLanguages"]:
            localised = json.loads(archive.read(language["file"]))
            assert localised["name.short"] and localised["description.full"]
    assert names == {"manifest.json", "color.png", "outline.png", "sv.json", "en.json"}
    assert manifest["id"] == APP_ID and manifest["bots"][0]["botId"] == APP_ID
    assert manifest["developer"]["privacyUrl"] == "https://example.org/privacy"
    assert "{{" not in json.dumps(manifest)
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    assert set(manifest["bots"][0]["scopes"]) == {"personal", "team", "groupChat"}


@pytest.mark.parametrize(
    "change, named",
    [
        ({"MICROSOFT_APP_ID": "not-a-guid"}, "MICROSOFT_APP_ID"),
        ({"TEAMS_PRIVACY_URL": ""}, "TEAMS_PRIVACY_URL"),
        ({"TEAMS_TERMS_URL": "http://plain.example.org"}, "TEAMS_TERMS_URL"),
    ],
)
def test_missing_or_bad_values_are_named(tmp_path, change, named):
    with pytest.raises(PackageError, match=named):
        build(tmp_path / "app.zip", {**ENVIRONMENT, **change})
