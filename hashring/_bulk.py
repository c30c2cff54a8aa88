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

"""Read many points or digests at once, in C: their words and buckets.

The table (:mod:`hashring._table`), its updates (:mod:`hashring._patch`)
and the ring's batch lookups read fixed-width fields out of many byte
strings, items out of many indexes, and the places of a few members among
many owners; a build sorts many points (:func:`sort`).  A Python step
per string or per index would cost several times what these passes in C
cost.
"""

import array
import collections
from collections.abc import Iterable
from collections.abc import Sequence
import itertools
import operator
import sys
from typing import Any

_from_bytes = int.from_bytes

# Points are read out of their joined bytes a sixty-fourth of them at a
# time, at least 32 and at most this many, so that the copies made on the
# way (a join keeps 80 bytes per item it joins) stay small next to the
# ring, small rings' included.
_CHUNK = 1 << 12

#: Up to so many members removed, :func:`places` finds their points with a
#: pass of ``list.index`` each, in C, rather than test every point's
#: owner: for one member of a thousand that took 0.28 of the time.
INDEX_PASSES = 2

#: :func:`sort` deals at least so many points into buckets of about
#: SORT_BUCKET points each (13 KiB of md5 points, which the cache holds),
#: and sorts fewer whole.  Buckets of 64 or 1,024 points were slower.
SORT_MIN_POINTS = 1 << 18
SORT_BUCKET = 256


def words(points: Sequence[bytes], width: int, *offsets: int) -> list[Any]:
    """Return 32-bit big-endian words of each point, as arrays.

    :param points: byte strings of ``width`` bytes.
    :param width: their length.
    :param offsets: where each word starts in a point, in bytes.
    :returns: for each offset, an ``array('I')`` of the words (a list
        where the words are not aligned on four bytes).

    Runtime complexity: ``O(P)``, in C where the words are aligned.
    """
    if any(o % 4 for o in (width, *offsets)) or array.array('I').itemsize != 4:
        return [
            [_from_bytes(p[o : o + 4], 'big') for p in points] for o in offsets
        ]
    columns = [o // 4 for o in offsets]
    out = [array.array('I') for _ in columns]
    stride = width // 4
    # One pass over the points for every column: once sorted, the points
    # lie all over memory, and a pass costs a cache miss per point.  A
    # chunk at a time, since the joined bytes of every point would add a
    # third to the build's peak.
    step = max(32, min(_CHUNK, len(points) >> 6))
    for start in range(0, len(points), step):
        chunk = array.array('I')
        chunk.frombytes(b''.join(points[start : start + step]))
        for column, found in zip(columns, out):
            found.extend(chunk[column::stride])
    if sys.byteorder == 'little':
        for found in out:
            found.byteswap()
    return out


def words64(high: Any, low: Any) -> list[int]:
    """Return 64-bit values out of their high and low 32-bit words.

    :param high: the high words, as :func:`words` reads them.
    :param low: the low words, as many.
    :returns: a list of ``high << 32 | low``.

    Runtime complexity: ``O(n)`` for ``n`` words, in C.
    """
    shifted = map(operator.lshift, high, itertools.repeat(32))
    return list(map(operator.or_, shifted, low))


def buckets(digests: Sequence[bytes], bits: int) -> Iterable[int]:
    """Return the bucket of each digest: the top ``bits`` bits of it.

    :param digests: digests (or points) of one size.
    :param bits: the number of bits of a bucket, at most the digests'.
    :returns: an iterable of the buckets, in the order of the digests.

    Runtime complexity: ``O(n)`` for ``n`` digests, mostly in C.
    """
    if not digests:
        return []
    size = len(digests[0])
    if size % 4 or bits > 32:
        shift = size * 8 - bits
        return [_from_bytes(d, 'big') >> shift for d in digests]
    # Every digest's first 32-bit word, straight out of the joined
    # digests: several times cheaper than an int per digest.  (A builtin
    # function is called faster than a bound method such as __rrshift__.)
    return map(
        operator.rshift, *words(digests, size, 0), itertools.repeat(32 - bits)
    )


def gather(sequence: Any, indexes: Iterable[int]) -> list[Any]:
    """Return ``[sequence[i] for i in indexes]``, the items got in C.

    :func:`operator.itemgetter` calls the sequence's own item look-up
    for each index: a third cheaper than ``map(sequence.__getitem__, ...)``,
    which goes through a bound method for each.

    Runtime complexity: ``O(n)`` for ``n`` indexes.
    """
    indexes = tuple(indexes)
    if len(indexes) > 1:
        return list(operator.itemgetter(*indexes)(sequence))
    # itemgetter of one index gives an item, not a tuple.
    return [sequence[i] for i in indexes]


def places(owners: list[Any], removed: set[Any]) -> list[int]:
    """Return where the points of members removed are, in order.

    Their own points, and the dead points they took
    (:func:`hashring._patch.update`).

    :param owners: the owner of each point.
    :param removed: the members removed.

    Runtime complexity: ``O(P)`` for ``P`` points, in C: a pass of
    ``list.index`` per member removed, or one pass testing every owner
    where more than :data:`INDEX_PASSES` go.
    """
    if len(removed) > INDEX_PASSES:
        return list(
            itertools.compress(
                itertools.count(), map(removed.__contains__, owners)
            )
        )
    found = []
    for member in removed:
        i = -1
        try:
            while True:
                i = owners.index(member, i + 1)
                found.append(i)
        except ValueError:
            pass
    found.sort()
    return found


def sort(points: list[bytes]) -> None:
    """Sort points in place, to the order ``points.sort()`` gives.

    A plain sort of a big ring's points reads two points that lie anywhere
    in memory at each comparison.  From :data:`SORT_MIN_POINTS` points,
    they are first dealt into buckets of about :data:`SORT_BUCKET` points
    by their top bits (:func:`buckets`), in C, and each bucket is sorted
    while its points are in the processor's cache.  Without NumPy, a build
    of a million points took 0.89 of its time, and one of 320,000 points
    0.95 (in one process against the plain sort; no gain at 160,000).

    :param points: byte strings of one size.

    Runtime complexity: ``O(P log P)`` for ``P`` points, in C.
    """
    count = len(points)
    if count < SORT_MIN_POINTS:
        points.sort()
        return
    bits = min(32, (count // SORT_BUCKET).bit_length() - 1)
    piles: list[list[bytes]] = [[] for _ in range(1 << bits)]
    # The points' own order is the order of their hashing: the pass reads
    # them where they lie, one after the other.
    collections.deque(
        map(
            list.append,
            map(piles.__getitem__, buckets(points, bits)),
            points,
        ),
        maxlen=0,
    )
    points.clear()
    for pile in piles:
        pile.sort()
        points += pile
        # Freed as they go: the build's peak is not raised.
        pile.clear()
