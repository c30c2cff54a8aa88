# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sort and index a ring's points with NumPy, where it is installed.

An optional path of :func:`hashring._table.build`, which takes it when
NumPy can be imported (``pip install oslo.hashring[fast]``) and keeps its
own, the reference, otherwise.  Both give the very same table: the ring's
tests run on each.  The points are hashed alike; sorting them, reading
their owners and filling the bucket index are then passes of NumPy instead
of a sort of byte strings and a step in Python per point.
"""

import array
from collections.abc import Callable
from collections.abc import Sequence
import importlib
from typing import Any

from hashring import _bulk
from hashring import _sizing
from hashring import _table

try:
    np: Any = importlib.import_module('numpy')
except ImportError:
    np = None

# Points are read a sixty-fourth at a time and at least so many
# (columns()), and indexes turned into ints so many at a time (gather()),
# so that the copies made on the way stay small next to the ring.
_CHUNK = 1 << 10

# Runs of buckets filled (indexed()) and items picked out of an array of
# them (gather()), a thirty-second of them at a time and at least so many:
# chunks of _CHUNK weighed on the peak of rings of under 2,048 points.
_PICKED = 1 << 8

# Sequences of at most so many items are gathered out of an array of them
# (8 bytes an item) rather than through their indexes as ints (gather()).
_OBJECTS = 1 << 14

#: Fewer points take the pure path.  From here on NumPy built in 0.71 to
#: 0.75 of tooz's time (the pure path 0.92 to 0.95, 640 to 1,600 points),
#: and its copies kept the build's peak within 1.3 of tooz's; at 512
#: points it reached 1.35 (measured on the day of this change).
MIN_POINTS = 640

#: Whether builds take this path: NumPy is there (tests turn it off to
#: run the pure path).
ENABLED = np is not None


def index(
    points: list[bytes],
    numbered: list[Any],
    size: int,
    bits: int,
    typecode: str,
) -> (
    tuple[
        list[bytes],
        list[Any],
        'array.array[int]',
        int,
        Any,
        'array.array[int]',
    ]
    | None
):
    """Sort a ring's points and index them, or return None.

    :param points: digests of ``size`` bytes, each followed by its
        owner's number (:data:`hashring._table.TAG` bytes), in any order.
        Emptied when they are sorted, so that the build's peak holds one
        list of them.
    :param numbered: the members by number.
    :param size: the digests' size, a multiple of 4.
    :param bits: the number of bits of a bucket, at most 32.
    :param typecode: the :mod:`array` typecode of the index.
    :returns: the sorted points, their owners, the index, its span, the
        points' words (:attr:`hashring._table.Table.words`, or None) and
        the index's block offsets, as :func:`hashring._table.build` makes
        them; or None where NumPy is not there, there are fewer than
        :data:`MIN_POINTS`, or two points share their top 64 bits (where
        one name repeats another, as ``a`` and ``aa`` do): the pure path
        sorts those out.

    Runtime complexity: ``O(P log P + 2**bits)``, in C.
    """
    if not ENABLED or len(points) < MIN_POINTS or size % 4:
        return None
    # The tag is read as one 32-bit word, as _pure._index() reads it.
    # (Not columns(): a join takes 80 bytes an item for a while, and
    # chunks small enough for a small ring's peak cost more time.)
    read = _bulk.words(points, size + _table.TAG, 0, 4, size)
    high = np.asarray(read[0], dtype=np.uint64) << np.uint64(32)
    high |= np.asarray(read[1], dtype=np.uint32)
    numbers = np.asarray(read[2], dtype=np.uint32)
    del read
    order = np.argsort(high, kind='stable')
    high = high[order]
    if (high[1:] == high[:-1]).any():
        return None
    numbers = numbers[order]
    # The same objects in order: new ones would take the bytes of every
    # point once more.
    ordered = gather(points, order)
    points.clear()
    del order
    buckets = buckets_of(high, bits)
    words = top_words(high)
    del high
    first, buckets = occupied(buckets)
    direct, span, offsets = indexed(first, buckets, numbers, bits, typecode)
    del first, buckets
    return ordered, gather(numbered, numbers), direct, span, words, offsets


def columns(points: Sequence[bytes], width: int) -> tuple[Any, Any]:
    """Return the top 64 bits and the tags of points, as NumPy arrays.

    :param points: byte strings of ``width`` bytes, at least 8.
    :param width: their length.

    Runtime complexity: ``O(P)``, in C.
    """
    count = len(points)
    high = np.empty(count, dtype=np.uint64)
    tags = np.empty(count, dtype=np.uint32)
    step = max(_CHUNK, count >> 6)
    for start in range(0, count, step):
        joined = b''.join(points[start : start + step])
        n = len(joined) // width
        high[start : start + n] = np.ndarray((n,), '>u8', joined, 0, (width,))
        tags[start : start + n] = np.ndarray(
            (n,), '>u4', joined, width - 4, (width,)
        )
    return high, tags


def arcs(
    points: Sequence[bytes], numbers: list[int] | None, count: int
) -> list[int] | None:
    """Return the arcs of :func:`hashring._arcs.of`, or None.

    :param points: a table's real points, sorted.
    :param numbers: the owner number of each, or None where their tags
        give it.
    :param count: how many owner numbers there are.
    :returns: the arcs, or None where NumPy is not there.

    Runtime complexity: ``O(P)``, in C.
    """
    if not ENABLED or not points:
        return None
    high, tags = columns(points, len(points[0]))
    if numbers is not None:
        tags = np.asarray(numbers, dtype=np.uint32)
    return measured_arcs(high, tags, count)


def top_words(high: Any) -> 'array.array[int] | None':
    """Return the top words of sorted points where the table keeps them.

    :param high: the top 64 bits of each point.
    :returns: :attr:`hashring._table.Table.words` without the sentinels, or
        None on a ring too small to keep them.
    """
    if len(high) < _table.WORDS_MIN_POINTS:
        return None
    found = array.array(_table.WORD)
    found.frombytes(
        (high >> np.uint64(32)).astype(f'=u{found.itemsize}').tobytes()
    )
    return found


def buckets_of(high: Any, bits: int) -> Any:
    """Return the bucket of each point, as int32, from its top 64 bits.

    :param high: the top 64 bits of each point.
    :param bits: the number of bits of a bucket.
    """
    return (high >> np.uint64(64 - bits)).astype(np.int32)


def occupied(buckets: Any) -> tuple[Any, Any]:
    """Return the first point of each occupied bucket, and that bucket.

    :param buckets: the bucket of each sorted point, as int32.
    """
    first = np.flatnonzero(changes(buckets)).astype(np.int32)
    return first, buckets[first]


def indexed(
    first: Any,
    buckets: Any,
    numbers: Any,
    bits: int,
    typecode: str,
    runs: int | None = None,
    refill: 'Callable[[str], array.array[int] | None] | None' = None,
) -> tuple['array.array[int]', int, 'array.array[int]']:
    """Return the bucket index of sorted points, its span and offsets.

    :param first: the first point of each occupied bucket, in order.
    :param buckets: those buckets (:func:`occupied`).
    :param numbers: the owner number of each point.
    :param bits: the number of bits of a bucket.
    :param typecode: the :mod:`array` typecode of the index, widened
        where a run holds more points than it counts, as the pure path
        widens it.
    :param runs: how many runs of buckets to fill at a time; by default a
        thirty-second of them, at least :data:`_PICKED`.
    :param refill: called with the index's typecode, it may return an
        index whose empty buckets are filled already (a merge's:
        :func:`hashring._merge._refilled`), or None.
    """
    run_count = _table.runs(bits)
    if run_count == 1:
        # The entries count from the first point: no copies, which would
        # weigh on a small ring's peak (1.31 of tooz's at 640 points).
        starts, relative = [0], first
    else:
        # The first point of each run: that of its first occupied bucket
        # (past the last, the count of points).
        edges = np.arange(run_count, dtype=np.int64)
        bases = np.append(first, np.int32(len(numbers)))[
            np.searchsorted(buckets, edges << _table.RUN_BITS)
        ]
        starts = bases.tolist()
        relative = first - bases[buckets >> _table.RUN_BITS]
    if typecode == _sizing.SHORT and relative.max() >= _sizing.SHORT_LIMIT:
        typecode = _sizing.WIDE
    direct = None if refill is None else refill(typecode)
    if direct is not None:
        found = np.frombuffer(direct, dtype=typecode)
        found[buckets] = ~relative
    else:
        direct = array.array(typecode, [0]) * (1 << bits)
        found = np.frombuffer(direct, dtype=typecode)
        if runs is None:
            runs = max(_PICKED, len(first) >> 5)
        _fill(found, first, buckets, numbers, relative, runs)
    span = max(int(_steps(first, 0).max()), len(numbers) - int(first[-1]))
    return direct, span, _table.offsets(starts, bits)


def measured_arcs(high: Any, numbers: Any, count: int) -> list[int]:
    """Return the arcs of :func:`hashring._arcs.of` of sorted points.

    :param high: the top 64 bits of each point.
    :param numbers: the owner number of each point.
    :param count: how many owner numbers there are.
    """
    # Exact in unsigned 64-bit arithmetic, which wraps the first arc round
    # the ring; only an owner of every point, whose arcs make 2**64, wraps
    # to zero.
    arc = np.empty_like(high)
    np.subtract(high[:1], high[-1:], out=arc[:1])
    np.subtract(high[1:], high[:-1], out=arc[1:])
    found = np.zeros(count, dtype=np.uint64)
    np.add.at(found, numbers, arc)
    arcs: list[int] = found.tolist()
    if (numbers == numbers[0]).all():
        arcs[numbers[0]] = 1 << _table.ARC_BITS
    return arcs


def _fill(
    found: Any,
    first: Any,
    occupied: Any,
    numbers: Any,
    relative: Any,
    chunk: int,
) -> None:
    """Fill an index of zeros in place.

    :param found: the index.
    :param first: the first point of each occupied bucket, in order.
    :param occupied: those buckets.
    :param numbers: the owner number of each point.
    :param relative: the first points counted from their runs'.
    :param chunk: how many runs to fill at a time.
    """
    # The buckets from the one after the occupied bucket before go to the
    # owner of its first point (it owns the first point above every hash
    # in them), and the bucket itself to the point; past the last point,
    # keys wrap round to the first's owner.  A chunk of runs at a time,
    # so that the copies made on the way stay small next to the index.
    start = 0
    for k in range(0, len(first), chunk):
        points = first[k : k + chunk]
        buckets = occupied[k : k + chunk]
        run = np.repeat(
            numbers[points].astype(found.dtype),
            _steps(buckets, start - 1),
        )
        found[start : start + len(run)] = run
        found[buckets] = ~relative[k : k + chunk]
        start = int(buckets[-1]) + 1
    found[start:] = numbers[0]


def gather(sequence: Any, indexes: Any) -> list[Any]:
    """Return the items of a sequence at NumPy indexes, a chunk at a time.

    The list is made at its size, as the ring keeps it.  The items of a
    sequence of at most :data:`_OBJECTS`, and no longer than the indexes
    (a ring's members, a small ring's points), are picked out of an array
    of them: that was faster at every size measured, 1.2 to 2.5 times, and
    takes no int per index.  Those of a longer one are got through their
    indexes as ints, a chunk at a time, since the array would take 8 bytes
    per item.

    :param sequence: the items.
    :param indexes: a NumPy array of indexes into them.
    :returns: the items at the indexes, in order.

    Runtime complexity: ``O(n + k)`` for ``n`` items and ``k`` indexes.
    """
    found: list[Any] = [None] * len(indexes)
    if len(sequence) <= min(_OBJECTS, len(indexes)):
        objects = np.empty(len(sequence), dtype=object)
        objects[:] = sequence
        step = max(_PICKED, len(indexes) >> 5)
        for start in range(0, len(indexes), step):
            found[start : start + step] = objects[
                indexes[start : start + step]
            ].tolist()
        return found
    # A chunk's ints take 56 bytes each for a while: all of them at once
    # would weigh on the build's peak.
    for start in range(0, len(indexes), _CHUNK):
        chunk = indexes[start : start + _CHUNK].tolist()
        found[start : start + len(chunk)] = _bulk.gather(sequence, chunk)
    return found


def changes(values: Any) -> Any:
    """Return where values differ from the one before (the first does)."""
    found = np.empty(len(values), dtype=bool)
    found[:1] = True
    np.not_equal(values[1:], values[:-1], out=found[1:])
    return found


def _steps(values: Any, start: int) -> Any:
    """Return each value less the one before it (the first, ``start``)."""
    found = np.empty_like(values)
    found[0] = values[0] - start
    np.subtract(values[1:], values[:-1], out=found[1:])
    return found
