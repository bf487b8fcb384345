"""RawEvents: a finished stream's raw events (every SSE event's data as received), kept compactly.

A stream's `RawResponse.body` is the events in order. While the stream is live they are appended to a plain list
(cheap); when the step ends they become one RawEvents: the events' UTF-8 joined in one `bytes` plus an `array` of
end offsets, about 4 bytes per event beyond the data itself, where a list of str costs ~57 more (a pointer and a str
object each). It reads as an immutable `Sequence[str]` (len, index, slice, iteration, `==` with a list of the same
events, the list's repr) and serialises exactly as the list did: pydantic's `model_dump` / `model_dump_json` give the
list of str (also inside `Any` fields), and so do `list(body)` and `body.tolist()` for `json.dumps`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate
from typing import Any, overload

_ENC = "utf-8"
_ERR = "surrogatepass"  # any str survives the round trip, even a lone surrogate


class _Serializer:
    """`RawEvents.__pydantic_serializer__`, built on first use (pydantic serialises any value that has one with it,
    also inside an `Any` field), so importing this module imports nothing of pydantic."""

    _built: Any = None

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if _Serializer._built is None:
            from pydantic_core import SchemaSerializer, core_schema

            _Serializer._built = SchemaSerializer(core_schema.any_schema(
                serialization=core_schema.plain_serializer_function_ser_schema(
                    RawEvents.tolist, return_schema=core_schema.list_schema(core_schema.str_schema()))))
        return _Serializer._built


class RawEvents(Sequence[str]):
    """The raw events of a stream, in order, as received: an immutable, compact `Sequence[str]`."""

    __slots__ = ("_data", "_ends")
    __pydantic_serializer__ = _Serializer()

    _data: bytes
    _ends: array[int]

    def __init__(self, events: Iterable[str] = ()) -> None:
        encoded = [e.encode(_ENC, _ERR) for e in events]
        try:
            self._ends = array("I", accumulate(map(len, encoded)))  # 4 bytes per event
        except OverflowError:  # over 4 GiB of events
            self._ends = array("Q", accumulate(map(len, encoded)))
        self._data = b"".join(encoded)

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        """An event (str) by index; a slice is a list of str, as a list's slice is."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._ends)))]
        ends = self._ends
        if index < 0:
            index += len(ends)
        if not 0 <= index < len(ends):
            raise IndexError("RawEvents index out of range")
        start = ends[index - 1] if index else 0
        return self._data[start:ends[index]].decode(_ENC, _ERR)

    def __iter__(self) -> Iterator[str]:
        data, start = self._data, 0
        for end in self._ends:
            yield data[start:end].decode(_ENC, _ERR)
            start = end

    def tolist(self) -> list[str]:
        """The events as a plain list of str (what `json.dumps` takes)."""
        return list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RawEvents):
            return self._data == other._data and list(self._ends) == list(other._ends)
        if isinstance(other, (list, tuple)):
            return len(other) == len(self._ends) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._data, self._ends.tobytes()))

    def __repr__(self) -> str:
        return repr(self.tolist())

    def __reduce__(self) -> tuple[Any, ...]:
        return (RawEvents, (self.tolist(),))

    def __sizeof__(self) -> int:
        """Bytes this object holds: itself, the joined data and the offsets."""
        return object.__sizeof__(self) + self._data.__sizeof__() + self._ends.__sizeof__()
