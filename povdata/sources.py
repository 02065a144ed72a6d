"""Sources cited by title, issuer and date, never by an internal file name.

Our published figures and targets name the article or plan they come from by the file name
of its copy (``001_942a5448306982b8``); ``data/published/sources.csv`` gives each one's title,
issuer and date, and :func:`cite` writes them in wherever a source is shown (pages, tables,
the briefing pack).
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

SOURCES_PATH = Path(__file__).resolve().parents[1] / "data" / "published" / "sources.csv"
_SEED = re.compile(r"(\()?(?:\b(?:bài|article)\s+)?\b(\d{3}_[0-9a-f]{16})(?:\.txt)?(\))?")


@lru_cache(maxsize=1)
def sources() -> dict[str, dict[str, str]]:
    with SOURCES_PATH.open(encoding="utf-8", newline="") as fh:
        return {r["seed"]: r for r in csv.DictReader(fh)}


def citation(seed: str, lang: str = "vi") -> str:
    """'«Title», issuer, date' of a source, or the seed itself when it is not listed.  An
    article whose issuer or date the copy does not give says so (in ``lang``): the file
    leaves them empty rather than guessing."""
    from povdata.i18n import t

    s = sources().get(seed)
    if not s:
        return seed
    issuer = s["issuer"] or t(f"source.unnamed_{'article' if s.get('kind') == 'article' else 'issuer'}", lang)
    date = s["date"] or t("source.no_date", lang)
    return f"«{s['title']}», {issuer}, {date}"


def cite(text: object, lang: str = "vi") -> str:
    """``text`` with every source file name written as its citation."""
    t = "" if text is None else str(text)
    def one(m: re.Match) -> str:
        c = citation(m.group(2), lang)
        return f"({c})" if m.group(1) and m.group(3) else (m.group(1) or "") + c + (m.group(3) or "")
    return _SEED.sub(one, t)
