"""Messages for people: a catalogue key and its parameters, said in the UI's language.

Domain code (validation, import, targets…) returns or raises :class:`Msg` instead of a
sentence.  A ``Msg`` *is* its Vietnamese text (a ``str``: the CLI, the logs, the audit trail
and ``str(exc)`` read Vietnamese, as before), and it keeps the key and parameters it came
from, so a page says it in the user's language with :func:`say`::

    raise ValueError(Msg("validate.not_a_number"))
    ...
    st.error(say(exc, lang))          # 'không phải là số' / 'is not a number'

A parameter may itself be a ``Msg`` (said in the same language), a :class:`Num` (a number
written the language's way: 25,95 / 25.95) or a :class:`Lower` (a label in lower case); anything else is inserted as it is (file names,
unit names, cell contents: data, never translated).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

from dataclasses import dataclass

from povdata.i18n import DEFAULT_LANG, fmt_number, t


@dataclass(frozen=True)
class Num:
    """A number inside a message, written the way of the message's language."""
    value: float
    decimals: int = 2

    def __str__(self) -> str:
        return fmt_number(self.value, DEFAULT_LANG, self.decimals)


@dataclass(frozen=True)
class Lower:
    """A label inside a sentence, in lower case ('số hộ nghèo của huyện …')."""
    text: object


def _param(value: object, lang: str) -> object:
    if isinstance(value, Lower):
        return str(_param(value.text, lang)).lower()
    if isinstance(value, Msg):
        return value.say(lang)
    if isinstance(value, Num):
        return fmt_number(value.value, lang, value.decimals)
    return value


class Msg(str):
    """A sentence from the catalogue: its Vietnamese text, plus ``key`` and ``params``."""

    key: str
    params: dict[str, object]

    def __new__(cls, key: str, /, **params: object) -> "Msg":
        obj = super().__new__(cls, t(key, DEFAULT_LANG, **{k: _param(v, DEFAULT_LANG) for k, v in params.items()}))
        obj.key = key
        obj.params = params
        return obj

    def say(self, lang: str) -> str:
        """The message in ``lang`` (its parameters too)."""
        return t(self.key, lang, **{k: _param(v, lang) for k, v in self.params.items()})

    def __reduce__(self):  # a worker process sends messages back to the web process pickled
        return (_rebuild, (self.key, self.params))


def _rebuild(key: str, params: dict) -> Msg:
    return Msg(key, **params)


class FileBody(Msg):
    """A file's message without its 'Tệp x.xlsx: ' head (a problem list names the file itself)."""
    inner: Msg

    def __new__(cls, msg: Msg) -> "FileBody":
        obj = str.__new__(cls, _behead(msg, DEFAULT_LANG))
        obj.key, obj.params, obj.inner = msg.key, msg.params, msg
        return obj

    def say(self, lang: str) -> str:
        return _behead(self.inner, lang)

    def __reduce__(self):
        return (FileBody, (self.inner,))


def _behead(msg: Msg, lang: str) -> str:
    text = msg.say(lang)
    head = t("problem.file", lang, file=msg.params.get("file", "")) + ": "
    return text.removeprefix(head)


def file_body(x: object, name: str) -> str:
    """The reason an exception gives for refusing file ``name``, without the file's name in front."""
    said = x.args[0] if isinstance(x, BaseException) and len(x.args) == 1 else x
    if isinstance(said, Msg) and said.params.get("file") == name:
        return FileBody(said)
    return str(x).removeprefix(t("problem.file", DEFAULT_LANG, file=name) + ": ")


def with_messages(df: "pd.DataFrame", column: str, values) -> "pd.DataFrame":
    """``df`` with ``column`` set to ``values`` as Python objects: pandas would store a list of
    strings as its string dtype and turn each :class:`Msg` back into plain (Vietnamese) text,
    so a page could no longer say it in English."""
    import pandas as pd

    df[column] = pd.Series(list(values), index=df.index, dtype=object)
    return df


def to_plain(msg: Msg) -> dict:
    """``msg`` as JSON-ready data (the audit trail keeps it beside the Vietnamese text)."""
    def value(v: object) -> object:
        if isinstance(v, Msg):
            return {"_msg": to_plain(v)}
        if isinstance(v, Num):
            return {"_num": v.value, "decimals": v.decimals}
        if isinstance(v, Lower):
            return {"_lower": value(v.text)}
        return v if isinstance(v, (int, float, bool)) or v is None else str(v)
    return {"key": msg.key, "params": {k: value(v) for k, v in msg.params.items()}}


def from_plain(data: dict) -> Msg:
    """The :class:`Msg` that :func:`to_plain` wrote; a key no catalogue has any more says itself as the key."""
    def value(v: object) -> object:
        if isinstance(v, dict) and "_msg" in v:
            return from_plain(v["_msg"])
        if isinstance(v, dict) and "_num" in v:
            return Num(float(v["_num"]), int(v.get("decimals", 2)))
        if isinstance(v, dict) and "_lower" in v:
            return Lower(value(v["_lower"]))
        return v
    return Msg(str(data["key"]), **{str(k): value(v) for k, v in dict(data.get("params", {})).items()})


def say(x: object, lang: str) -> str:
    """``x`` in ``lang``: a :class:`Msg`, an exception raised with one (``raise E(Msg(…))``),
    or any other text as it is."""
    if isinstance(x, Msg):
        return x.say(lang)
    if isinstance(x, BaseException) and len(x.args) == 1 and isinstance(x.args[0], Msg):
        return x.args[0].say(lang)
    return str(x)
