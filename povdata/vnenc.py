"""Vietnamese legacy text encodings: TCVN3 (ABC), VNI-Windows, Windows-1258; detection.

No maintained PyPI package decodes TCVN3 or VNI (the registry lists none; Python's
codecs know only ``cp1258``), so this module holds a small table-driven converter.

* **TCVN3 (ABC, TCVN 5712:1993 VN3)**: one byte per letter.  The table
  :data:`TCVN3_LOWER` lists the 134 lower-case letters with diacritics and the seven
  upper-case letters the encoding has (Ă Â Đ Ê Ô Ơ Ư).  Upper-case letters with tone
  marks were written with the same bytes in the ``.VnTimeH`` fonts, so a word whose
  other letters are all capitals is upper-cased after decoding.
* **VNI-Windows**: a base letter followed by one modifier byte (``a`` + ``ï`` = ạ), plus
  single bytes for ơ ư đ and some forms of i and y.  The table is built from
  :data:`VNI_MODIFIERS` (byte → combining marks).
* **Windows-1258**: Python's ``cp1258`` codec, then NFC (it writes tones as combining marks).

Bytes come in as ``latin-1`` strings too: a DBF read with ``encoding="latin1"`` keeps each
byte as the code point of the same value, so ``text.encode("latin1")`` gets the bytes back.

:func:`detect_encoding` decodes a sample with every candidate and keeps the one whose
words are most often well-formed Vietnamese syllables (initial consonant, vowel nucleus,
final consonant, at most one tone mark; :func:`syllable_score`).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Encodings offered to the user, in order of preference when scores tie.
ENCODINGS = ("utf-8", "cp1258", "tcvn3", "vni")
ENCODING_LABELS = {"utf-8": "Unicode (UTF-8)", "cp1258": "Windows-1258", "tcvn3": "TCVN3 (ABC)", "vni": "VNI-Windows",
                   "utf-16": "Unicode (UTF-16)"}  # UTF-16 only with its byte-order mark (Excel's "Unicode text")

# ---- TCVN3 -------------------------------------------------------------------
#: Unicode letter → TCVN3 byte (as a latin-1 character).
TCVN3_LOWER: dict[str, str] = {
    "à": "µ", "á": "¸", "ả": "¶", "ã": "·", "ạ": "¹",
    "ă": "¨", "ằ": "»", "ắ": "¾", "ẳ": "¼", "ẵ": "½", "ặ": "Æ",
    "â": "©", "ầ": "Ç", "ấ": "Ê", "ẩ": "È", "ẫ": "É", "ậ": "Ë",
    "đ": "®",
    "è": "Ì", "é": "Ð", "ẻ": "Î", "ẽ": "Ï", "ẹ": "Ñ",
    "ê": "ª", "ề": "Ò", "ế": "Õ", "ể": "Ó", "ễ": "Ô", "ệ": "Ö",
    "ì": "×", "í": "Ý", "ỉ": "Ø", "ĩ": "Ü", "ị": "Þ",
    "ò": "ß", "ó": "ã", "ỏ": "á", "õ": "â", "ọ": "ä",
    "ô": "«", "ồ": "å", "ố": "è", "ổ": "æ", "ỗ": "ç", "ộ": "é",
    "ơ": "¬", "ờ": "ê", "ớ": "í", "ở": "ë", "ỡ": "ì", "ợ": "î",
    "ù": "ï", "ú": "ó", "ủ": "ñ", "ũ": "ò", "ụ": "ô",
    "ư": "\u00ad", "ừ": "õ", "ứ": "ø", "ử": "ö", "ữ": "÷", "ự": "ù",
    "ỳ": "ú", "ý": "ý", "ỷ": "û", "ỹ": "ü", "ỵ": "þ",
    "Ă": "¡", "Â": "¢", "Đ": "§", "Ê": "£", "Ô": "¤", "Ơ": "¥", "Ư": "¦",
}
_TCVN3_DECODE = {v: k for k, v in TCVN3_LOWER.items()}
_TCVN3_TRANS = str.maketrans(_TCVN3_DECODE)
_TCVN3_ENCODE = str.maketrans({unicodedata.normalize("NFC", k.upper()): v
                               for k, v in TCVN3_LOWER.items() if k.islower()} | TCVN3_LOWER)

# ---- VNI ---------------------------------------------------------------------
_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
_CIRC, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_TONES = {"ø": _GRAVE, "ù": _ACUTE, "û": _HOOK, "õ": _TILDE, "ï": _DOT}
#: VNI modifier byte (lower-case form) → combining marks, by the base vowel it follows.
VNI_MODIFIERS: dict[str, dict[str, str]] = {
    "a": _TONES | {"â": _CIRC, "à": _CIRC + _GRAVE, "á": _CIRC + _ACUTE, "å": _CIRC + _HOOK, "ã": _CIRC + _TILDE,
                   "ä": _CIRC + _DOT, "ê": _BREVE, "è": _BREVE + _GRAVE, "é": _BREVE + _ACUTE,
                   "ú": _BREVE + _HOOK, "ü": _BREVE + _TILDE, "ë": _BREVE + _DOT},
    "e": _TONES | {"â": _CIRC, "à": _CIRC + _GRAVE, "á": _CIRC + _ACUTE, "å": _CIRC + _HOOK, "ã": _CIRC + _TILDE,
                   "ä": _CIRC + _DOT},
    "o": _TONES | {"â": _CIRC, "à": _CIRC + _GRAVE, "á": _CIRC + _ACUTE, "å": _CIRC + _HOOK, "ã": _CIRC + _TILDE,
                   "ä": _CIRC + _DOT},
    "u": _TONES, "y": _TONES,
    "ô": _TONES,  # ô is ơ in VNI; ô + tone = ơ with a tone
    "ö": _TONES,  # ö is ư
}
#: VNI bytes that are a whole letter on their own.
VNI_SINGLE = {"ì": "ì", "í": "í", "æ": "ỉ", "ó": "ĩ", "ò": "ị", "î": "ỵ", "ñ": "đ", "ô": "ơ", "ö": "ư"}
_VNI_BASE = {"ô": "o" + _HORN, "ö": "u" + _HORN}
#: VNI's capital horned-vowel bytes (Ô = Ơ, Ö = Ư): upper case although they follow a lower-case-looking base
VNI_UPPER_MARKS = "ÔÖ"


def _vni_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for base, mods in VNI_MODIFIERS.items():
        letter = _VNI_BASE.get(base, base)
        for mod, marks in mods.items():
            for b, m in ((base, mod), (base.upper(), mod.upper()), (base.upper(), mod)):
                up = b.isupper() or b in VNI_UPPER_MARKS
                seq = (letter.upper() if up else letter) + marks
                table[b + m] = unicodedata.normalize("NFC", seq)
    for k, v in VNI_SINGLE.items():
        table[k] = v
        table[k.upper()] = v.upper()
    return table


VNI_TABLE = _vni_table()
_VNI_RE = re.compile("|".join(re.escape(k) for k in sorted(VNI_TABLE, key=len, reverse=True)))
_VNI_ENCODE = {v: k for k, v in sorted(VNI_TABLE.items(), key=lambda kv: -len(kv[0]))}


# ---- decoding ----------------------------------------------------------------
def _upper_words(text: str, latin: str) -> str:
    """Restore capitals TCVN3 could not write: text in capitals ('L¹NG S¥N' → 'LẠNG SƠN'),
    and the first letter of a word in a name after a capitalised word ('Xã ¶nh' → 'Xã Ảnh')."""
    words = list(re.finditer(r"[\w']+", text))
    letters = [c for c in latin if c.isascii() and c.isalpha()]
    if letters and all(c.isupper() for c in letters) and any(
            sum(c.isascii() and c.isalpha() for c in latin[m.start():m.end()]) >= 2 for m in words):
        return text.upper()
    out = list(text)
    for i, m in enumerate(words):
        w = m.group(0)
        if not (w[0].islower() and not latin[m.start()].isascii()):
            continue
        prev_up = i > 0 and words[i - 1].group(0)[0].isupper()
        next_up = i == 0 and len(words) > 1 and words[1].group(0)[0].isupper()
        if prev_up or next_up:
            out[m.start()] = w[0].upper()
    return "".join(out)


def to_bytes(text: str) -> bytes | None:
    """The bytes behind a latin-1 string, or None when it holds other characters."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def decode_bytes(raw: bytes, encoding: str) -> str:
    """Decode bytes of a file in ``encoding`` (one of :data:`ENCODINGS`) to NFC Unicode.

    Raises ``UnicodeDecodeError`` for bytes that are not valid UTF-8 when ``utf-8`` is asked.
    """
    if encoding == "utf-8":
        return unicodedata.normalize("NFC", raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf")
                                     else raw.decode("utf-8"))
    if encoding == "cp1258":
        return unicodedata.normalize("NFC", raw.decode("cp1258", errors="replace"))
    latin = raw.decode("latin-1")
    if encoding == "tcvn3":
        return unicodedata.normalize("NFC", _upper_words(latin.translate(_TCVN3_TRANS), latin))
    if encoding == "vni":
        return unicodedata.normalize("NFC", _VNI_RE.sub(lambda m: VNI_TABLE[m.group(0)], latin))
    raise ValueError(f"unknown encoding {encoding!r}; expected one of {ENCODINGS}")


def decode_text(text: str, encoding: str) -> str:
    """Re-decode a string that holds raw bytes as latin-1 characters; other strings are
    already Unicode and only NFC-normalised."""
    raw = to_bytes(text)
    if raw is None:
        return unicodedata.normalize("NFC", text)
    try:
        return decode_bytes(raw, encoding)
    except UnicodeDecodeError:
        return unicodedata.normalize("NFC", text)


def encode_text(text: str, encoding: str) -> bytes:
    """Unicode → bytes in ``encoding`` (to build test files; the reverse of :func:`decode_bytes`)."""
    text = unicodedata.normalize("NFC", text)
    if encoding == "utf-8":
        return text.encode("utf-8")
    if encoding == "cp1258":
        out = bytearray()
        for ch in text:  # cp1258 has few precomposed letters: write base + combining tone
            try:
                out += ch.encode("cp1258")
            except UnicodeEncodeError:
                d = unicodedata.normalize("NFD", ch)
                base, marks = d[0], d[1:]
                tone = "".join(c for c in marks if c in (_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT))
                rest = unicodedata.normalize("NFC", base + "".join(c for c in marks if c not in tone))
                out += rest.encode("cp1258") + tone.encode("cp1258")
        return bytes(out)
    if encoding == "tcvn3":
        return text.translate(_TCVN3_ENCODE).encode("latin-1")
    if encoding == "vni":
        return "".join(_VNI_ENCODE.get(ch, ch) for ch in text).encode("latin-1")
    raise ValueError(f"unknown encoding {encoding!r}")


# ---- detection ---------------------------------------------------------------
_INITIALS = "ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|b|c|d|đ|g|h|k|l|m|n|p|q|r|s|t|v|x"
#: Vowel nuclei that end in a glide and take no final consonant ('au', 'oai')...
_OPEN_NUCLEI = ("iêu|yêu|oai|oay|oao|oeo|uây|uôi|uya|uyu|ươi|ươu|"
                "ai|ao|au|âu|ay|ây|eo|êu|ia|iu|oi|ôi|ơi|ua|ui|ưa|ưi|ưu")
#: ...and those that may take one ('iê' + 'ng').
_CLOSABLE_NUCLEI = "uyê|iê|oa|oă|oe|oo|uâ|uê|uô|uơ|uy|ươ|yê|a|ă|â|e|ê|i|o|ô|ơ|u|ư|y"
_FINALS = "ch|ng|nh|c|m|n|p|t"
_SYLLABLE = re.compile(rf"^(?:{_INITIALS})?(?:(?:{_OPEN_NUCLEI})|(?:{_CLOSABLE_NUCLEI})(?:{_FINALS})?)$")
_TONE_MARKS = {_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT}


def is_syllable(word: str) -> bool:
    """A well-formed Vietnamese syllable (any case, at most one tone mark)?"""
    d = unicodedata.normalize("NFD", word.lower())
    if sum(c in _TONE_MARKS for c in d) > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(c for c in d if c not in _TONE_MARKS))
    return bool(_SYLLABLE.match(base))


def syllable_score(texts: Iterable[str]) -> float:
    """Share of words (runs of non-space, non-digit characters) that are Vietnamese syllables."""
    good = total = 0
    for t in texts:
        for w in re.split(r"[\s\d.,;:()\-/_'\"]+", t):
            if not w:
                continue
            total += 1
            good += is_syllable(w)
    return good / total if total else 0.0


def detect_encoding(samples: Iterable[str | bytes], candidates: Iterable[str] = ENCODINGS) -> tuple[str, dict[str, float]]:
    """The most likely encoding of some text values, with each candidate's score.

    ``samples`` are bytes, or strings holding bytes as latin-1 characters (strings with
    other characters are already Unicode: they are scored as they are and make
    ``utf-8`` win).  Text that is plain ASCII gives ``utf-8``.
    """
    raws: list[bytes] = []
    unicode_texts: list[str] = []
    for s in samples:
        if isinstance(s, bytes):
            raws.append(s)
        elif isinstance(s, str):
            b = to_bytes(s)
            (raws.append(b) if b is not None else unicode_texts.append(s))
    scores: dict[str, float] = {}
    if not any(any(c > 127 for c in r) for r in raws):
        return "utf-8", {c: 1.0 for c in candidates}
    for enc in candidates:
        texts = list(unicode_texts)
        try:
            texts += [decode_bytes(r, enc) for r in raws]
        except UnicodeDecodeError:
            scores[enc] = -1.0
            continue
        scores[enc] = syllable_score(texts)
    best = max(candidates, key=lambda e: (scores[e], -list(ENCODINGS).index(e)))
    return best, scores


def detect_text_encoding(values: Iterable[str], raw_latin1: bool) -> tuple[str, dict[str, float]]:
    """The encoding of text values read from a file, with each candidate's score.

    ``raw_latin1``: the values hold the file's bytes as latin-1 characters (a DBF read with
    ``encoding="latin1"``), so ``utf-8`` means decoding those bytes.  Otherwise the values
    are Unicode already (GeoJSON, GeoPackage) and ``utf-8`` means keeping them; the legacy
    candidates re-decode values that hold only latin-1 characters (legacy bytes stored as
    Unicode by a converter that did not know better).
    """
    vals = [v for v in values if isinstance(v, str) and any(ord(c) > 127 for c in v)]
    if not vals:
        return "utf-8", {c: 1.0 for c in ENCODINGS}
    scores: dict[str, float] = {}
    for enc in ENCODINGS:
        if raw_latin1:
            try:
                texts = [decode_bytes(v.encode("latin-1"), enc) for v in vals]
            except (UnicodeDecodeError, UnicodeEncodeError):
                scores[enc] = -1.0
                continue
        else:
            texts = [unicodedata.normalize("NFC", v) if enc == "utf-8" else decode_text(v, enc) for v in vals]
        scores[enc] = syllable_score(texts)
    best = max(ENCODINGS, key=lambda e: (scores[e], -ENCODINGS.index(e)))
    return best, scores
