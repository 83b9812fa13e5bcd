"""Every literal message in the templates, and every vocabulary label, has an English entry."""

from __future__ import annotations

import re

from training.rules import levels
from training.settings import PROJECT_ROOT
from training.web.i18n import load_catalogues

_LITERAL = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')\s*\)""")


def _template_messages() -> set[str]:
    found: set[str] = set()
    for path in (PROJECT_ROOT / "templates").rglob("*.html"):
        for double, single in _LITERAL.findall(path.read_text(encoding="utf-8")):
            found.add(double or single)
    return found


def _vocabulary() -> set[str]:
    labels: set[str] = set()
    for name, value in vars(levels).items():
        if name.isupper() and isinstance(value, dict):
            labels.update(v for v in value.values() if isinstance(v, str))
    return labels


def test_every_template_message_has_an_english_translation():
    english = load_catalogues().gettext("en")
    missing = sorted(m for m in _template_messages() if english(m) == m)
    assert not missing, f"add these to training/locale/en/LC_MESSAGES/<area>.po: {missing}"


def test_every_vocabulary_label_has_an_english_translation():
    english = load_catalogues().gettext("en")
    missing = sorted(m for m in _vocabulary() if english(m) == m)
    assert not missing, f"add these to training/locale/en/LC_MESSAGES/<area>.po: {missing}"
