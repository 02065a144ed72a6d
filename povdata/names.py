"""Matching Vietnamese unit names spelled many ways to registry codes.

Handles: with/without diacritics, NFC vs NFD, 'Ð' (U+00D0) or 'ð' written for 'Đ',
type prefixes present, missing or abbreviated ('TP.', 'TX', 'H.'), stray spaces and
punctuation.  Names are compared by a *key* (ASCII, lower case, no type prefix, no
spaces); ties and near-misses are resolved by similarity within the parent unit.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence

import pandas as pd
from unidecode import unidecode

from povdata.messages import Msg, with_messages

#: Đ and its look-alikes (the Icelandic Ð, ð) folded to 'd'
_D_FOLD = str.maketrans({"\u0110": "D", "\u0111": "d", "\u00d0": "D", "\u00f0": "d"})

# longest first so that 'thanh pho' wins over 'thanh'
_TYPE_PREFIXES = [
    "thanh pho", "thi xa", "thi tran", "tinh", "huyen", "quan", "phuong", "xa",
    "tp", "tx", "tt", "h", "p", "q", "x",
]
_PREFIX_RE = re.compile(r"^(?:%s)(?:\s+|\.\s*)" % "|".join(re.escape(p) for p in _TYPE_PREFIXES))
_ABBREV_RE = re.compile(r"^(?:tp|tx|tt|h|p|q|x)\.\s*")
_ABBREV_TYPES = {"tp": "thanh pho", "tx": "thi xa", "tt": "thi tran", "h": "huyen", "p": "phuong", "q": "quan", "x": "xa"}
_TYPED_ABBREV_RE = re.compile(r"^(%s)(?:\.\s*|\s+)" % "|".join(_ABBREV_TYPES))


def fold(text: str) -> str:
    """Lower-case ASCII form: NFC, the Đ look-alikes mapped to 'd', accents removed."""
    t = unicodedata.normalize("NFC", str(text)).strip()
    t = t.translate(_D_FOLD)
    t = unidecode(t).lower()
    # control characters and invisible ones (a zero-width space becomes ' ') pasted round a name
    return re.sub(r"[\s\x00-\x1f\x7f]+", " ", t).strip()


def _strip_type(t: str) -> str:
    """A folded name without its type prefix (one at most: 'X. Quan Sơn' is Quan Sơn, not a
    Quận named Sơn)."""
    abbrev = _ABBREV_RE.match(t)
    if abbrev:
        return t[abbrev.end():]
    stripped = _PREFIX_RE.sub("", t, count=1)
    # a bare one-letter prefix is only dropped before a real name ('x Tân Văn'), not e.g. 'Quan'
    if stripped and not (len(t) - len(stripped) <= 2 and "." not in t[:3]
                         and t.split(" ")[0] in {"h", "p", "q", "x"}):
        return stripped
    return t


def name_key(text: str, drop_type: bool = True) -> str:
    """Comparison key of a unit name: ``'Huyện Đình Lập'`` and ``'Ðình Lập'`` → ``'dinhlap'``."""
    t = fold(text)
    if drop_type:
        t = _strip_type(t)
    return re.sub(r"[^a-z0-9]", "", t)


_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng
_TONE_PAIR = re.compile(f"([ou])([{_TONES}]?)([aey])([{_TONES}]?)")


def _tone_at_end(nfd: str) -> str:
    """'hoà' and 'hòa', 'thuỷ' and 'thủy' (old and new tone placement, both correct) → one form."""
    return _TONE_PAIR.sub(lambda m: m.group(1) + m.group(3) + (m.group(2) or m.group(4)), nfd)


def spelling(text: str) -> str:
    """A name as spelt, without its type prefix, case, spaces and punctuation, diacritics
    kept: ``'huyện  Đình Lập'`` → ``'đìnhlập'``; ``'Ðình Lập'`` (U+00D0) keeps its Ð."""
    t = re.sub(r"[\s\x00-\x1f\x7f\u200b\ufeff]+", " ", unicodedata.normalize("NFC", str(text))).strip().lower()
    f = fold(t)
    if len(f) == len(t):  # one folded character per character: cut the same prefix
        t = t[len(f) - len(_strip_type(f)):]
    return unicodedata.normalize("NFC", _tone_at_end(unicodedata.normalize("NFD", re.sub(r"[\W_]", "", t))))


def spelt_differently(name: str, official: str) -> bool:
    """Whether a name that has the official name's key is spelt otherwise *with* diacritics
    ('Ngân Son' for 'Ngân Sơn', 'Son Ðộng' with U+00D0): a misspelling to review.  A name
    written wholly without diacritics ('Dinh Lap') is a convention, not a misspelling."""
    s = spelling(name)
    if s.isascii():
        return False
    return s != spelling(official)


def _typed_key(text: str) -> str:
    """Key that keeps the type, abbreviations spelled out: ``'TT. Chi Lăng'`` → ``'thitranchilang'``."""
    t = _TYPED_ABBREV_RE.sub(lambda m: _ABBREV_TYPES[m.group(1)] + " ", fold(text), count=1)
    return re.sub(r"[^a-z0-9]", "", t)


def match_names(
    names: Sequence[str],
    candidates: pd.DataFrame,
    codes: Sequence[str | None] | None = None,
    min_score: float = 0.85,
) -> pd.DataFrame:
    """Match input names (and optional codes) to candidate units.

    Parameters
    ----------
    names : the names as written in the file.
    candidates : registry rows to match against, with ``code`` and ``name`` (and
        optionally ``short_name``); restrict them to the parent unit beforehand.
    codes : codes from the file, used first when they are known candidates.
    min_score : similarity (0-1) below which a fuzzy match is not accepted.

    Returns
    -------
    DataFrame with one row per input: ``input_name``, ``input_code``, ``code``,
    ``matched_name``, ``method`` (``code`` | ``name`` | ``similar`` | ``none``),
    ``score`` (1.0 for code and name matches) and ``note``.
    """
    cand = candidates.reset_index(drop=True)
    by_code = dict(zip(cand["code"].astype(str), cand["name"]))
    key_to_codes: dict[str, list[str]] = {}
    for code, name in zip(cand["code"].astype(str), cand["name"]):
        key_to_codes.setdefault(name_key(name), []).append(code)
    if "short_name" in cand:
        for code, short in zip(cand["code"].astype(str), cand["short_name"]):
            k = name_key(short, drop_type=False)
            if code not in key_to_codes.setdefault(k, []):
                key_to_codes[k].append(code)
    keys = list(key_to_codes)
    rows = []
    codes = list(codes) if codes is not None else [None] * len(names)
    for name, code in zip(names, codes):
        code_s = None if code is None or (isinstance(code, float) and pd.isna(code)) else str(code).strip()
        row = dict(input_name=name, input_code=code_s, code=None, matched_name=None, method="none",
                   score=0.0, note="")
        if code_s and code_s in by_code:
            row.update(code=code_s, matched_name=by_code[code_s], method="code", score=1.0)
            if name and name_key(name) != name_key(by_code[code_s]):
                row["note"] = Msg("names.other_name")
            rows.append(row)
            continue
        key = name_key(name) if isinstance(name, str) and name.strip() else ""
        hits = key_to_codes.get(key, [])
        if not hits and key:  # a name whose first word looks like a type ('Tĩnh Túc')
            hits = key_to_codes.get(name_key(name, drop_type=False), [])
        if len(hits) > 1:  # 'Thị trấn Đình Lập' and 'Xã Đình Lập' in one district: the type decides
            typed = [h for h in hits if _typed_key(by_code[h]) == _typed_key(name)]
            hits = typed if len(typed) == 1 else hits
        if len(hits) == 1 and spelt_differently(name, by_code[hits[0]]):
            # same letters, other accents or look-alike characters: held for review, never exact
            row.update(code=hits[0], matched_name=by_code[hits[0]], method="similar", score=0.99,
                       note=Msg("names.spelt_differently"))
        elif len(hits) == 1:
            row.update(code=hits[0], matched_name=by_code[hits[0]], method="name", score=1.0)
        elif len(hits) > 1:
            row["note"] = Msg("names.same_name", units=", ".join(f"{by_code[h]} ({h})" for h in hits))
        elif key:
            # ratio = 2·matches / (len(a) + len(b)) ≤ 2·min / sum: keys too short or too long for
            # min_score are never compared (a 10,000-character name took seconds per row)
            la = len(key)
            scored = sorted(((difflib.SequenceMatcher(None, key, k).ratio(), k) for k in keys
                             if 2 * min(la, len(k)) >= min_score * (la + len(k))), reverse=True)
            if scored and scored[0][0] >= min_score and (len(scored) == 1 or scored[0][0] > scored[1][0]):
                best = key_to_codes[scored[0][1]]
                if len(best) == 1:
                    row.update(code=best[0], matched_name=by_code[best[0]], method="similar",
                               score=round(scored[0][0], 3))
        rows.append(row)
    return with_messages(pd.DataFrame(rows), "note", [r["note"] for r in rows])
