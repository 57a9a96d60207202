r"""The ``meta`` file of a checkpoint variable: OneFlow's ``VariableMetaInfo`` in protobuf text.

OneFlow writes ``text_format.MessageToString(meta_info)`` for the message (OneFlow v0.3.4
``oneflow/core/framework/variable_meta_info.proto``)::

    message ShapeProto { repeated int64 dim = 1; }
    message VariableMetaInfo { optional ShapeProto shape = 2; optional DataType data_type = 3; }

which looks like ``shape {\n  dim: 2\n  dim: 3\n}\ndata_type: kFloat\n``. This module reads
and writes exactly that message without a protobuf dependency. The reader accepts what
protobuf's text parser accepts for it: any whitespace, ``#`` comments, ``shape {`` or
``shape: {`` (or ``<...>``), repeated ``dim: n`` or the list form ``dim: [2, 3]``, optional
``,``/``;`` separators, and the data type as an enum name (``kFloat``) or number (``2``).
A missing ``shape`` is a rank-0 shape (protobuf omits an empty sub-message).
"""

from __future__ import annotations

import re

from tideflow import dtypes
from tideflow.dtypes import DType

#: OneFlow's ``DataType`` enum (v0.3.4 ``oneflow/core/common/data_type.proto``) for the
#: types a variable can hold. ``kChar`` (a C ``char``) is stored as one signed byte.
_ENUM_TO_DTYPE: dict[str, DType] = {
    "kChar": dtypes.int8, "kFloat": dtypes.float32, "kDouble": dtypes.float64,
    "kInt8": dtypes.int8, "kInt32": dtypes.int32, "kInt64": dtypes.int64,
    "kUInt8": dtypes.uint8, "kFloat16": dtypes.float16,
}
_NUMBER_TO_ENUM = {"1": "kChar", "2": "kFloat", "3": "kDouble", "4": "kInt8", "5": "kInt32",
                   "6": "kInt64", "7": "kUInt8", "9": "kFloat16"}
_TOKEN = re.compile(r"\s+|#[^\n]*|(?P<tok>-?(?:0[xX][0-9a-fA-F]+|\d+)|[A-Za-z_]\w*|[:{}<>\[\],;])")
_INT64_MAX = 2**63 - 1


class MetaFormatError(ValueError):
    """The text is not a valid ``VariableMetaInfo`` (the message says where)."""


def format_meta(shape: tuple[int, ...], dtype: DType) -> str:
    r"""Return the ``meta`` text OneFlow writes for ``shape`` and ``dtype`` (byte for byte).

    Args:
        shape: the variable's shape (``()`` for a scalar: an empty ``shape {}`` block).
        dtype: its data type.

    Example:
        >>> format_meta((2, 3), dtypes.float32)
        'shape {\n  dim: 2\n  dim: 3\n}\ndata_type: kFloat\n'
    """
    dims = "".join(f"  dim: {int(d)}\n" for d in shape)
    return f"shape {{\n{dims}}}\ndata_type: {dtype.proto_name}\n"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise MetaFormatError(f"unexpected character {text[pos]!r} at offset {pos}")
        if m.group("tok") is not None:
            out.append(m.group("tok"))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, what: str = "a token") -> str:
        tok = self.peek()
        if tok is None:
            raise MetaFormatError(f"unexpected end of text; expected {what}")
        self.i += 1
        return tok

    def expect(self, tok: str) -> None:
        got = self.take(repr(tok))
        if got != tok:
            raise MetaFormatError(f"expected {tok!r}; found {got!r}")

    def separator(self) -> None:
        if self.peek() in (",", ";"):
            self.i += 1

    def integer(self) -> int:
        tok = self.take("an integer")
        body = tok.removeprefix("-")
        base = 16 if body[:2].lower() == "0x" else 8 if len(body) > 1 and body[0] == "0" else 10
        try:
            value = int(tok, base)
        except ValueError:
            raise MetaFormatError(f"expected an integer; found {tok!r}") from None
        if not -_INT64_MAX - 1 <= value <= _INT64_MAX:
            raise MetaFormatError(f"integer {tok} does not fit int64")
        return value

    def shape(self) -> tuple[int, ...]:
        if self.peek() == ":":
            self.i += 1
        opening = self.take("'{'")
        if opening not in ("{", "<"):
            raise MetaFormatError(f"expected '{{' after 'shape'; found {opening!r}")
        closing = "}" if opening == "{" else ">"
        dims: list[int] = []
        while self.peek() != closing:
            field = self.take(f"'dim' or {closing!r}")
            if field != "dim":
                raise MetaFormatError(f"unknown field {field!r} in shape (only 'dim')")
            self.expect(":")
            if self.peek() == "[":
                self.i += 1
                while self.peek() != "]":
                    dims.append(self.integer())
                    if self.peek() == ",":
                        self.i += 1
                    elif self.peek() != "]":
                        raise MetaFormatError(f"expected ',' or ']'; found {self.peek()!r}")
                self.i += 1
            else:
                dims.append(self.integer())
            self.separator()
        self.i += 1
        if any(d < 0 for d in dims):
            raise MetaFormatError(f"shape has a negative dim: {dims}")
        return tuple(dims)

    def data_type(self) -> DType:
        self.expect(":")
        tok = self.take("a data type")
        name = _NUMBER_TO_ENUM.get(tok, tok)
        if name not in _ENUM_TO_DTYPE:
            raise MetaFormatError(
                f"data_type {tok!r} is not a variable type tideflow reads; known: "
                f"{', '.join(_ENUM_TO_DTYPE)} (or their numbers)")
        return _ENUM_TO_DTYPE[name]


def parse_meta(text: str) -> tuple[tuple[int, ...], DType]:
    """Parse a ``meta`` file's text into ``(shape, dtype)``.

    Raises:
        MetaFormatError: the text is not a ``VariableMetaInfo`` with a known ``data_type``
            (a field is unknown or repeated, a brace is missing, ``data_type`` is absent).
    """
    p = _Parser(text)
    shape: tuple[int, ...] | None = None
    dtype: DType | None = None
    while p.peek() is not None:
        field = p.take()
        if field == "shape":
            if shape is not None:
                raise MetaFormatError("field 'shape' is given twice")
            shape = p.shape()
        elif field == "data_type":
            if dtype is not None:
                raise MetaFormatError("field 'data_type' is given twice")
            dtype = p.data_type()
        else:
            raise MetaFormatError(f"unknown field {field!r} (VariableMetaInfo has 'shape' and "
                                  "'data_type')")
        p.separator()
    if dtype is None:
        raise MetaFormatError("field 'data_type' is missing")
    return (shape if shape is not None else ()), dtype
