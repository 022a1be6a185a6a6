"""Interface language of the web pages: Chinese first (``zh``), English available (``en``).

A page label is written once as a pair, ``t("能耗", "Energy")``; the cookie ``pc_lang`` (set by
``/web/lang/{lang}``) selects which one is shown. Numbers, units and codes are never translated.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["DEFAULT_LANG", "LANGS", "LANG_COOKIE", "translator"]

LANG_COOKIE = "pc_lang"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"


def translator(lang: str) -> Callable[[str, str], str]:
    """``t(zh, en)`` for ``lang`` (unknown languages fall back to Chinese)."""
    if lang == "en":
        return lambda zh, en: en
    return lambda zh, en: zh
