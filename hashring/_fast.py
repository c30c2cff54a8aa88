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
from collections.abc import Sequence
import importlib
import itertools
from typing import Any

from hashring import _bulk
from hashring import _table

try:
    np: Any = importlib.import_module('numpy')
except ImportError:
    np = None

# Indexes are turned into ints a chunk at a time, so that the copies made
# on the way stay small next to the ring (_gather()).
_CHUNK = 1 << 10

# Runs of buckets are filled, and items picked out of an array of them
# (_gather()), a sixty-fourth at a time and at least so many: few chunks
# on a big ring, whose copies stay small next to it, and on a small ring
# chunks small next to its points.
_RUNS = 1 << 8

# Sequences of at most so many items are gathered out of an array of them
# (8 bytes an item) rather than through their indexes as ints (_gather()).
_OBJECTS = 1 << 14

#: Fewer points take the pure path.  From here on NumPy builds in 0.69 to
#: 0.86 of tooz's time (the pure path 0.87 to 1.16), and its copies keep
#: the build's peak within 1.3 of tooz's; at 512 points it reached 1.35
#: (measured on the day of this change, 512 to 1,920 points).
MIN_POINTS = 640

#: Changes of tables of fewer points are patched (:mod:`hashring._patch`),
#: which costs less than a merge there: a join at 960 points took 222 us
#: patched, 276 us merged.
MERGE_MIN_POINTS = 1 << 11

#: Changes of a table that add or drop at least one point in this many
#: are merged by NumPy (:func:`merge`); fewer, a step in Python per point
#: changed (:mod:`hashring._patch`) costs less.
MERGE_SHARE = 48

#: Whether builds take this path: NumPy is there (tests turn it off to
#: run the pure path).
ENABLED = np is not None


def index(
    points: list[bytes],
    numbered: list[Any],
    size: int,
    bits: int,
    typecode: str,
) -> tuple[list[bytes], list[Any], 'array.array[int]', int, Any] | None:
    """Sort a ring's points and index them, or return None.

    :param points: digests of ``size`` bytes, each followed by its
        owner's number (:data:`hashring._table.TAG` bytes), in any order.
        Emptied when they are sorted, so that the build's peak holds one
        list of them.
    :param numbered: the members by number.
    :param size: the digests' size, a multiple of 4.
    :param bits: the number of bits of a bucket, at most 32.
    :param typecode: the :mod:`array` typecode of the index.
    :returns: the sorted points, their owners, the index, its span and
        the points' words (:attr:`hashring._table.Table.words`, or None),
        as :func:`hashring._table.build` makes them; or None where NumPy is
        not there, there are fewer than :data:`MIN_POINTS`, or two points
        share their top 64 bits (where one name repeats another, as ``a``
        and ``aa`` do): the pure path sorts those out.

    Runtime complexity: ``O(P log P + 2**bits)``, in C.
    """
    if not ENABLED or len(points) < MIN_POINTS or size % 4:
        return None
    # The tag is read as one 32-bit word, as _table._index() reads it.
    columns = _bulk.words(points, size + _table.TAG, 0, 4, size)
    high = np.asarray(columns[0], dtype=np.uint64) << np.uint64(32)
    high |= np.asarray(columns[1], dtype=np.uint32)
    order = np.argsort(high, kind='stable')
    high = high[order]
    if (high[1:] == high[:-1]).any():
        return None
    numbers = np.asarray(columns[2], dtype=np.uint32)[order]
    del columns
    # The same objects in order: new ones would take the bytes of every
    # point once more.
    ordered = _gather(points, order)
    points.clear()
    del order
    buckets = (high >> np.uint64(64 - bits)).astype(np.int32)
    words = _words(high)
    del high
    first, occupied = _occupied(buckets)
    del buckets
    runs = max(_RUNS, len(first) >> 6)
    direct, span = _indexed(first, occupied, numbers, bits, typecode, runs)
    del first, occupied
    return ordered, _gather(numbered, numbers), direct, span, words


def merges(points: int, changed: int) -> bool:
    """Return whether :func:`merge` is worth it for a change of a table.

    :param points: how many points the table has, dead ones included.
    :param changed: how many points the change adds, removes or drops.
    """
    return (
        ENABLED
        and points >= MERGE_MIN_POINTS
        and changed * MERGE_SHARE >= points
    )


def merge(
    points: Sequence[bytes],
    gone: list[int],
    added: list[bytes],
    numbered: list[Any],
    size: int,
    arcs: bool,
) -> (
    tuple[
        Sequence[bytes],
        list[Any],
        'array.array[int]',
        int,
        list[int] | None,
        Any,
    ]
    | None
):
    """Drop and add points of a table, and index them afresh; or None.

    :param points: the table's real points, sorted.
    :param gone: the owner numbers whose points are dropped.
    :param added: new points, each followed by its owner's number.
    :param numbered: the members by number, the new ones included.
    :param size: the digests' size, in bytes.
    :param arcs: whether to measure the arcs
        (:func:`hashring._table.arcs`) of the merged points.
    :returns: the merged points, their owners, the index of
        :func:`hashring._table.bits_for` bits, its span, the arcs (or
        None) and the words (:attr:`hashring._table.Table.words`, or
        None), as a build of the same points gives them; or None where
        two points would share their top 64 bits: a fresh build sorts
        those out.

    Runtime complexity: ``O(P)`` in C, and ``O(a)`` steps in Python for
    ``a`` points added.
    """
    width = size + _table.TAG
    high, numbers = _columns(points, width)
    if gone:
        alive = np.ones(len(numbered), dtype=bool)
        alive[gone] = False
        kept = alive[numbers]
        points = list(itertools.compress(points, kept.tolist()))
        high = high[kept]
        numbers = numbers[kept]
    if added:
        new_high, new_numbers = _columns(added, width)
        order = np.argsort(new_high)
        new_high = new_high[order]
        new_numbers = new_numbers[order]
        if (new_high[1:] == new_high[:-1]).any():
            return None
        at = np.searchsorted(high, new_high)
        if (
            len(high)
            and (high[np.minimum(at, len(high) - 1)] == new_high).any()
        ):
            return None
        points = _inserted(points, at.tolist(), added, order.tolist())
        # Where the new points are once merged, and the old ones.
        at += np.arange(len(at))
        old = np.ones(len(points), dtype=bool)
        old[at] = False
        high = _placed(high, new_high, at, old)
        numbers = _placed(numbers, new_numbers, at, old)
    if not points:
        return None
    bits = _table.bits_for(len(points), size)
    first, occupied = _occupied(
        (high >> np.uint64(64 - bits)).astype(np.int32)
    )
    direct, span = _indexed(
        first,
        occupied,
        numbers,
        bits,
        _table.typecode(len(points), len(numbered)),
        # At once: a change's copies weigh on no build's peak.
        len(first),
    )
    owners = np.array(numbered, dtype=object)[numbers].tolist()
    found = _arcs(high, numbers, len(numbered)) if arcs else None
    return points, owners, direct, span, found, _words(high)


def owners(
    digests: list[bytes],
    direct: 'array.array[int]',
    bits: int,
    offsets: 'array.array[int] | None',
    numbered: list[Any],
) -> tuple[list[Any], list[int], list[int]] | None:
    """Look digests up in a ring's index, or return None.

    :param digests: the keys' digests, of one size.
    :param direct: the ring's index (:class:`hashring._table.Table`).
    :param bits: how many top bits of a digest make its bucket.
    :param offsets: the index's block offsets, or None.
    :param numbered: the members by number.
    :returns: the owner of each digest whose bucket holds no point (a
        placeholder for the others), the positions of the others, and
        where each of their bisect windows starts; or None where NumPy is
        not there, or the digests are not read in 32-bit words.

    Runtime complexity: ``O(k)`` for ``k`` digests, in C.
    """
    if not ENABLED or not digests or len(digests[0]) % 4 or bits > 32:
        return None
    words = np.frombuffer(b''.join(digests), dtype='>u4')
    buckets = words[:: len(digests[0]) // 4] >> np.uint32(32 - bits)
    entries = np.frombuffer(direct, dtype=direct.typecode)[buckets]
    spans = np.flatnonzero(entries < 0)
    lows = ~entries[spans].astype(np.intp)
    if offsets is not None:
        blocks = buckets[spans] >> np.uint32(_table.OFFSET_BITS)
        lows += np.frombuffer(offsets, dtype=offsets.typecode)[blocks]
    entries[spans] = 0
    if len(entries) < len(numbered):
        # An array of every member would cost more than the keys: a few
        # keys on a ring of thousands of members.
        found = _gather(numbered, entries)
    else:
        found = np.array(numbered, dtype=object)[entries].tolist()
    return found, spans.tolist(), lows.tolist()


def _columns(points: Sequence[bytes], width: int) -> tuple[Any, Any]:
    """Return the top 64 bits and the tags of points, as NumPy arrays."""
    joined = b''.join(points)
    count = len(points)
    high = np.ndarray((count,), '>u8', joined, 0, (width,)).astype(np.uint64)
    tags = np.ndarray((count,), '>u4', joined, width - 4, (width,))
    return high, tags.astype(np.uint32)


def _words(high: Any) -> 'array.array[int] | None':
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


def _inserted(
    points: Sequence[bytes],
    at: list[int],
    added: list[bytes],
    order: list[int],
) -> list[bytes]:
    """Return sorted points with new ones inserted.

    :param points: the sorted points.
    :param at: where each new point goes, before the point there, in order.
    :param added: the new points.
    :param order: the new points in order, as indexes of ``added``.
    """
    # The slices between the new points are copied in C: one step in
    # Python per new point.
    found: list[bytes] = []
    for i, j, k in zip([0, *at], at, order):
        found += points[i:j]
        found.append(added[k])
    found += points[at[-1] :]
    return found


def _placed(old: Any, new: Any, at: Any, kept: Any) -> Any:
    """Return old values with new ones placed among them.

    :param old: the old values.
    :param new: the new ones.
    :param at: where each new value goes, in the result.
    :param kept: where the old values go, as a mask of the result.
    """
    found = np.empty(len(old) + len(new), dtype=old.dtype)
    found[at] = new
    found[kept] = old
    return found


def _occupied(buckets: Any) -> tuple[Any, Any]:
    """Return the first point of each occupied bucket, and that bucket."""
    first = np.flatnonzero(_changes(buckets)).astype(np.int32)
    return first, buckets[first]


def _indexed(
    first: Any,
    occupied: Any,
    numbers: Any,
    bits: int,
    typecode: str,
    chunk: int,
) -> tuple['array.array[int]', int]:
    """Return the bucket index of sorted points, and its span.

    :param first: the first point of each occupied bucket, in order.
    :param occupied: those buckets.
    :param numbers: the owner number of each point.
    :param bits: the number of bits of a bucket.
    :param typecode: the :mod:`array` typecode of the index.
    :param chunk: how many runs of buckets to fill at a time.
    """
    direct = array.array(typecode, [0]) * (1 << bits)
    found = np.frombuffer(direct, dtype=typecode)
    _fill(found, first, occupied, numbers, chunk)
    span = max(int(_steps(first, 0).max()), len(numbers) - int(first[-1]))
    return direct, span


def _arcs(high: Any, numbers: Any, count: int) -> list[int]:
    """Return the arcs of :func:`hashring._table.arcs` of sorted points.

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
    found: Any, first: Any, occupied: Any, numbers: Any, chunk: int
) -> None:
    """Fill an index of zeros in place.

    :param found: the index.
    :param first: the first point of each occupied bucket, in order.
    :param occupied: those buckets.
    :param numbers: the owner number of each point.
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
        found[buckets] = ~points
        start = int(buckets[-1]) + 1
    found[start:] = numbers[0]


def _gather(sequence: Any, indexes: Any) -> list[Any]:
    """Return the items of a sequence at NumPy indexes, a chunk at a time.

    The list is made at its size, as the ring keeps it.  The items of a
    sequence of at most :data:`_OBJECTS` (a ring's members, a small ring's
    points) are picked out of an array of them: that was faster at every
    size measured, 1.2 to 2.5 times, and takes no int per index.  Those of
    a longer one are got through their indexes as ints, a chunk at a time,
    since the array would take 8 bytes per item.
    """
    found: list[Any] = [None] * len(indexes)
    if len(sequence) <= _OBJECTS:
        objects = np.empty(len(sequence), dtype=object)
        objects[:] = sequence
        step = max(_RUNS, len(indexes) >> 6)
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


def _changes(values: Any) -> Any:
    """Return where values differ from the one before (the first does)."""
    found = np.empty(len(values), dtype=bool)
    found[0] = True
    np.not_equal(values[1:], values[:-1], out=found[1:])
    return found


def _steps(values: Any, start: int) -> Any:
    """Return each value less the one before it (the first, ``start``)."""
    found = np.empty_like(values)
    found[0] = values[0] - start
    np.subtract(values[1:], values[:-1], out=found[1:])
    return found
