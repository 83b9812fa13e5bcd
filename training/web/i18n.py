"""Languages: Chinese is the source language of every message; English comes from a gettext
catalogue (``training/locale/en/LC_MESSAGES/messages.po``) compiled in memory at start-up."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT = "zh"


@dataclass(frozen=True, slots=True)
class Catalogues:
    by_language: dict[str, NullTranslations]

    def gettext(self, language: str) -> Callable[[str], str]:
        return self.by_language.get(language, self.by_language[DEFAULT]).gettext


def load_catalogues() -> Catalogues:
    """Every ``*.po`` file under ``locale/<language>/LC_MESSAGES`` (one per area) is merged."""
    by_language: dict[str, NullTranslations] = {"zh": NullTranslations()}
    for language in LANGUAGES:
        folder = resources.files("training").joinpath(f"locale/{language}/LC_MESSAGES")
        if language == DEFAULT or not folder.is_dir():
            continue
        merged: Translations | None = None
        for po in sorted((p for p in folder.iterdir() if p.name.endswith(".po")), key=lambda p: p.name):
            catalog = read_po(io.StringIO(po.read_text(encoding="utf-8")), locale=language)
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            translations = Translations(fp=buffer)
            merged = translations if merged is None else merged.merge(translations)
        if merged is not None:
            by_language[language] = merged
    return Catalogues(by_language)


def pick_language(cookie: str | None, accept_language: str | None, default: str = DEFAULT) -> str:
    if cookie in LANGUAGES:
        return cookie
    return default if default in LANGUAGES else DEFAULT
