"""Text spaces every RAMP env uses, whose batches survive ``AsyncVectorEnv``'s shared memory.

``gym.make_vec("RAMP-v0", num_envs=N, vectorization_mode="sync" | "async")`` runs N
copies of the env with gymnasium's own vector envs. Each copy opens the same
prepared corpus read-only (SQLite passage store and memory-mapped tantivy index):
``AsyncVectorEnv`` builds one env in the parent first, which prepares anything
missing, and every worker then only opens the cached files.

The one thing gymnasium 1.4 gets wrong for us: with ``shared_memory=True`` (the
default of ``AsyncVectorEnv``) a :class:`gymnasium.spaces.Text` batch is read out
of shared memory once, when the vector env is created, into a tuple of strings.
Every later ``reset``/``step`` returns that stale tuple: strings of ``"\\t"`` (the
first character of the charset, which is what an all-zero buffer decodes to).
The env's text fields therefore use :class:`SharedMemoryText`, a ``Text`` space
whose shared-memory batch is a live view decoded on access, so the default
``AsyncVectorEnv`` is correct, and ``vector_kwargs={"shared_memory": False}``
(observations pickled through pipes) works too.

Gymnasium's ``Text.__repr__`` prints the whole charset (55k characters here), so
``print(env.observation_space)`` filled a screen. :class:`SharedMemoryText` names
its charset instead, and :class:`TextDict` (the observation ``Dict``) names the
charset its text fields share once, so both reprs stay a line long.
"""

from __future__ import annotations

import copy
import functools
import multiprocessing as mp
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any, overload

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

from ramp_env.errors import InvalidOptionError

__all__ = ["SharedMemoryText", "SharedTextBatch", "TextDict", "describe_charset", "text_space"]

_LISTED_CHARS = 24  # charsets up to this size are printed in full, larger ones summarised


def describe_charset(charset: frozenset[str]) -> str:
    """A short description of a Text space's charset: the characters if few, else a summary."""
    from ramp_env.text.charset import text_charset  # lazy: keeps this module light to import

    if charset is text_charset() or charset == text_charset():
        return f"{len(charset):,} printable BMP chars"  # text_charset(): also \\n and \\t
    chars = sorted(charset)
    if len(chars) <= _LISTED_CHARS:
        return repr("".join(chars))
    return f"{len(chars):,} chars U+{ord(chars[0]):04X}..U+{ord(chars[-1]):04X}"


class SharedMemoryText(spaces.Text):
    """A :class:`gymnasium.spaces.Text` whose batches ``AsyncVectorEnv`` can pass through shared memory.

    Behaves exactly like ``Text`` everywhere else (sampling, ``contains``,
    flattening, equality). In shared memory each string is stored as its length
    followed by its code points (int32), so writing and reading are single numpy
    copies rather than the per-character index lookups of ``Text``.

    Its repr names the charset (:func:`describe_charset`) instead of listing it.
    """

    def __repr__(self) -> str:
        charset = describe_charset(self.character_set)
        return f"Text(min_length={self.min_length}, max_length={self.max_length}, charset=<{charset}>)"


class TextDict(spaces.Dict):
    """A :class:`gymnasium.spaces.Dict` whose repr groups its fields by kind: text fields by
    maximum length under the charset they share (named once), ``Discrete`` fields by size
    (the observation space of every RAMP env). ``repr`` stays under 200 characters.

    Everything but the repr is ``Dict``'s (vector envs, flattening, ``check_env`` see a ``Dict``).
    """

    def __repr__(self) -> str:
        groups: dict[str, list[str]] = {}
        others: list[str] = []
        for key, space in self.spaces.items():
            if isinstance(space, spaces.Text):
                low = f", min_length={space.min_length}" if space.min_length else ""
                label = f"Text(max_length{low}) over {describe_charset(space.character_set)}"
                groups.setdefault(label, []).append(f"{key} {space.max_length}")
            elif isinstance(space, spaces.Discrete):
                label = "Discrete(n)" if int(space.start) == 0 else f"Discrete(n, start={int(space.start)})"
                groups.setdefault(label, []).append(f"{key} {int(space.n)}")
            else:
                others.append(f"{key}: {space!r}")
        parts = [f"{label}: " + ", ".join(fields) for label, fields in groups.items()]
        return "Dict(" + "; ".join(parts + others) + ")"


@functools.lru_cache(maxsize=8)
def _template(charset: frozenset[str]) -> SharedMemoryText:
    return SharedMemoryText(max_length=1, min_length=0, charset=charset)


def text_space(max_length: int, charset: frozenset[str], min_length: int = 0) -> SharedMemoryText:
    """A :class:`SharedMemoryText` over ``charset``, sharing its character tables with every
    other space over the same charset.

    ``Text.__init__`` sorts the charset and indexes every character: for the 55k
    characters of :func:`~ramp_env.text.charset.text_charset` that is ~0.4 s of CPU per
    space, 2 s per env with five text spaces, paid again by every vector-env and Ray
    worker. The tables are read-only, so spaces copy them from one template.
    """
    if not 0 <= min_length <= max_length:
        raise InvalidOptionError(f"need 0 <= min_length <= max_length, got {min_length} and {max_length}")
    space = copy.copy(_template(charset))
    space.min_length, space.max_length = int(min_length), int(max_length)
    space._np_random = None  # its own generator, seeded on first use like any space
    return space


class SharedTextBatch(Sequence[str]):
    """The strings of one text field for all sub-envs, decoded from shared memory when read.

    ``AsyncVectorEnv(copy=True)`` (the default) deep-copies observations, which
    turns this into a plain ``tuple`` of ``str``; with ``copy=False`` callers get
    this live view, which changes on the next step like gymnasium's numpy buffers do.
    """

    def __init__(self, buffer: np.ndarray) -> None:
        self._buffer = buffer  # shape (num_envs, 1 + max_length): length, then code points

    def _decode(self, row: int) -> str:
        length = int(self._buffer[row, 0])
        return self._buffer[row, 1 : 1 + length].tobytes().decode("utf-32-le")

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        if isinstance(index, slice):
            return tuple(self._decode(i) for i in range(len(self))[index])
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} envs")
        return self._decode(index % len(self))

    def __len__(self) -> int:
        return int(self._buffer.shape[0])

    def __iter__(self) -> Iterator[str]:
        return (self._decode(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return tuple(self) == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable view

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        return f"SharedTextBatch({tuple(self)!r})"


def _as_array(shared_memory: Any, space: SharedMemoryText) -> np.ndarray:
    flat = np.frombuffer(shared_memory.get_obj(), dtype=np.int32)
    return flat.reshape(-1, space.max_length + 1)


@create_shared_memory.register(SharedMemoryText)
def _create_shared_text(space: SharedMemoryText, n: int = 1, ctx: ModuleType = mp) -> Any:
    return ctx.Array(np.dtype(np.int32).char, n * (space.max_length + 1))


@read_from_shared_memory.register(SharedMemoryText)
def _read_shared_text(space: SharedMemoryText, shared_memory: Any, n: int = 1) -> SharedTextBatch:
    return SharedTextBatch(_as_array(shared_memory, space)[:n])


@write_to_shared_memory.register(SharedMemoryText)
def _write_shared_text(space: SharedMemoryText, index: int, value: str, shared_memory: Any) -> None:
    codes = np.frombuffer(value.encode("utf-32-le"), dtype=np.int32)
    if codes.size > space.max_length:
        raise ValueError(f"text observation of {codes.size} characters exceeds the space's max_length {space.max_length}")
    row = _as_array(shared_memory, space)[index]
    row[0] = codes.size
    row[1 : 1 + codes.size] = codes
