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

"""Make a ring's walk tables with NumPy, where it is installed.

An optional path of :func:`hashring._walks.walks`, which takes it on rings
of :data:`MIN_POINTS` points or more where NumPy can be imported, and keeps
its own, the reference, otherwise.  Both give the very same tables: the
walk tests run on each.  A ring makes its walk tables on its first walk
of more than one replica, on the calling thread; in Python that costs a
step per point, seconds on a ring of millions of points.
"""

import array
from typing import Any

from hashring import _fast
from hashring import _table

#: Smaller rings take the pure path, whose tables cost milliseconds.  The
#: NumPy path took 0.47 of its time at 102,400 points, 0.24 at a million
#: and 0.38 at ten million (in one process, on the day of this change).
MIN_POINTS = 1 << 15

# Buckets whose first points are found at a time: a chunk's temporary
# arrays take 8 bytes a bucket.
_CHUNK = 1 << 18


def tables(
    table: _table.Table, block_bits: int, run_bits: int, short_walk: int
) -> tuple[Any, ...] | None:
    """Return a table's walk starts, bases and distinct runs, or None.

    :param table: a ring's table.
    :param block_bits: the bits of a block of buckets whose starts count
        from its base (:data:`hashring._walks.BLOCK_BITS`).
    :param run_bits: the bits of a start that keep its point's run
        (:data:`hashring._walks.RUN_BITS`).
    :param short_walk: :data:`hashring._walks.SHORT_WALK`.
    :returns: ``(after, base, distinct, members, short)``: the first
        three as :class:`hashring._walks.Walks` holds them, the number of
        distinct owners, and the points whose distinct run is shorter
        than ``short_walk``; or None where the pure path is due (no
        NumPy, or a small ring).

    Runtime complexity: ``O(P log P + B)`` for ``P`` points and ``B``
    buckets, in C.
    """
    np = _fast.np
    count = table.npoints
    if not _fast.ENABLED or count < MIN_POINTS:
        return None
    words = table.first_words()
    # They are a list where the points' words are not four-byte ones.
    if (
        not isinstance(words, array.array)
        or words.itemsize != 4
        or array.array('I').itemsize != 4
    ):
        return None
    of_point = np.frombuffer(words, dtype=np.uint32, count=count) >> (
        np.uint32(32 - table.bits)
    )
    number = {m: n for n, m in enumerate(table.numbered)}
    numbers = np.fromiter(
        map(number.__getitem__, table.owners[: count + 1]),
        dtype=np.int32,
        count=count + 1,
    )
    runs = _distinct(np, numbers)
    after, base = _starts(
        np, of_point, len(table.direct), block_bits, run_bits, runs
    )
    members = int(np.count_nonzero(np.bincount(numbers)))
    short = np.flatnonzero(runs < short_walk).tolist()
    distinct = array.array('B', [0]) * len(runs)
    np.frombuffer(distinct, dtype=np.uint8)[:] = runs
    return after, base, distinct, members, short


def _starts(
    np: Any,
    of_point: Any,
    nbuckets: int,
    block_bits: int,
    run_bits: int,
    runs: Any,
) -> tuple['array.array[int]', 'array.array[int]']:
    """Return :func:`hashring._walks._starts`'s tables, made in NumPy.

    :param runs: the distinct runs of the points and the first sentinel.
    """
    count = len(of_point)
    blocks = max(1, nbuckets >> block_bits)
    # Searched with values of the points' own type: others would convert
    # every point first (3 s of 6 at ten million points).
    kind = of_point.dtype.type
    base = np.searchsorted(
        of_point, np.arange(blocks, dtype=of_point.dtype) << kind(block_bits)
    )
    most = int(np.diff(np.append(base, count)).max()) << run_bits
    typecode = 'B' if most < 1 << 8 else 'H' if most < 1 << 16 else 'I'
    # Filled in place: an array made of bytes would keep a sixteenth more
    # than it needs, and the bytes would add to the peak.
    found = array.array(typecode, [0]) * nbuckets
    after = np.frombuffer(found, dtype=typecode)
    for start in range(0, nbuckets, _CHUNK):
        stop = min(nbuckets, start + _CHUNK)
        low, high = np.searchsorted(
            of_point, np.array([start, stop], dtype=of_point.dtype)
        ).tolist()
        # A bucket's first point is the count of points below it.
        counts = np.bincount(
            of_point[low:high].astype(np.int64) - start,
            minlength=stop - start,
        )
        first = np.empty(stop - start, dtype=np.int64)
        first[0] = low
        np.cumsum(counts[:-1], out=first[1:])
        first[1:] += low
        packed = np.minimum(runs[first], (1 << run_bits) - 1).astype(np.int64)
        first -= base[np.arange(start, stop) >> block_bits]
        packed |= first << run_bits
        # A bucket that holds points: its walks start at one of them.
        packed[counts > 0] = 0
        after[start:stop] = packed
    bases = array.array('I', [0]) * blocks
    np.frombuffer(bases, dtype=np.uint32)[:] = base
    return found, bases


def _distinct(np: Any, numbers: Any) -> Any:
    """Return :func:`hashring._walks._distinct`'s runs, made in NumPy.

    :param numbers: the owner number of each point and of the first
        sentinel, which stands for the first point again.
    """
    size = len(numbers)
    # Each point's next point of the same owner, else past the sentinel:
    # a stable sort by owner lists each owner's points in ring order.
    # (Numbers of two bytes sort by radix: 0.3 of the time at a million
    # points.)
    keys = (
        numbers.astype(np.uint16)
        if size and numbers.max() < 1 << 16
        else numbers
    )
    order = np.argsort(keys, kind='stable')
    ranked = keys[order]
    same = ranked[1:] == ranked[:-1]
    following = np.full(size, size, dtype=np.int32)
    following[order[:-1][same]] = order[1:][same]
    # The points from i on are distinct up to the nearest such point.
    end = np.minimum.accumulate(following[::-1])[::-1]
    runs = end - np.arange(size, dtype=np.int32)
    return np.minimum(runs, 255).astype(np.uint8)
