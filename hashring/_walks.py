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

"""Where a ring's replica walks start, and how far they go in C.

:meth:`hashring.HashRing.get_nodes` walks the ring from the first point
above a key, collecting distinct owners.  The bucket index of
:mod:`hashring._table` gives a key's owner, not that point, and a walk in
Python costs several lookups; the tables here, made once per ring on its
first walk, give the point and, for most points, the walk as a slice of
the owners.
"""

import array
import bisect
import itertools
import operator
from typing import Any
from typing import NamedTuple

from hashring import _fastwalks
from hashring import _table
from hashring import exception

_from_bytes = int.from_bytes

# Point indices in 4 bytes where the platform has them (it does, but C
# only promises 2 for an unsigned int).
_INDEX_TYPE = 'I' if array.array('I').itemsize >= 4 else 'L'

#: A walk of up to this many replicas is a slice of the owners, or one
#: of the walks :func:`walks` keeps: past it, get_nodes walks in Python.
SHORT_WALK = 4

#: :attr:`Walks.after` counts a bucket's first point from the first point
#: of its block of 2**BLOCK_BITS buckets, which holds 4 to 16 points on
#: average (at 4 to 16 buckets a point): with the bits of its run
#: (:data:`RUN_BITS`), one byte a bucket where no block holds 32 points,
#: where indices of the whole ring took two, and four from 65,536 points.
#: The blocks' bases take a 16th of a byte a bucket, where blocks of 256
#: buckets took a 64th: the walk tables of 1,000 members at exponent 10
#: took 9.8 MiB, and 9.4.
BLOCK_BITS = 6

#: :attr:`Walks.after` keeps, in the low RUN_BITS of a bucket's entry,
#: how many points from its first point on have distinct owners (at most
#: :data:`RUN_MAX`): a walk of three replicas among many members then
#: reads one entry, not a start and the run of its point in another
#: table, nor the index.  Three replicas took 0.81 to 0.93 of their time
#: at 1,000 members and exponent 5 or 10, 100 at 10, and 10,000 at 5 (in
#: two runs each, against get_node: at 1,000 members and exponent 10,
#: 1.69 to 1.85 times its time, where they took 1.99 to 2.09), and the
#: same among 10 members, whose walks are mostly short.  Their tables
#: took 1.2 times as long to make with NumPy, 1.3 without.
RUN_BITS = 3

#: The most :attr:`Walks.after` counts of a run, and the mask of its bits.
RUN_MAX = (1 << RUN_BITS) - 1

# Maps a distinct run (a byte) to the run the starts keep.
_RUNS = bytes(min(run, RUN_MAX) for run in range(256))


class Walks(NamedTuple):
    """Where walks of the ring start, and how far they go in C."""

    #: per bucket that holds no point, the index of the first point
    #: above its start, counted from its block's ``base`` (past the last
    #: point, the first sentinel's: the walk wraps round to the first
    #: point), shifted left by :data:`RUN_BITS` above that point's
    #: ``distinct`` run, at most :data:`RUN_MAX`; 0 for a bucket that
    #: holds points, whose keys' walks start at one of them or after
    after: 'array.array[int]'
    #: per block of 2**BLOCK_BITS buckets, the first point at or above
    #: its first bucket (past the last point, the first sentinel)
    base: 'array.array[int]'
    #: per point, how many points from it on have distinct owners (at
    #: most 255, counting the first point again after the last)
    distinct: 'array.array[int]'
    #: for each point from which fewer than :data:`SHORT_WALK` points
    #: have distinct owners, the first distinct owners of its walk (that
    #: many, or every member of a smaller ring)
    short: dict[int, tuple[Any, ...]]


def walks(table: _table.Table) -> Walks:
    """Return the :class:`Walks` of a table.

    For a bucket that holds no point the index gives the owner of every
    key in it, not the point a walk of replicas starts from; and a walk
    whose next points have distinct owners is a slice of the owners.
    :meth:`hashring.HashRing.get_nodes` makes them on its first walk.
    They are found from the points, not the index, whose entries an
    :func:`hashring._patch.update` leaves as mere lower bounds.

    Runtime complexity: ``O(P + B)`` for ``P`` points and ``B`` buckets,
    a step in Python per point; with NumPy, from
    :data:`hashring._fastwalks.MIN_POINTS` points, ``O(P log P + B)`` in C
    (0.24 of the time at a million points, 0.38 at ten million).

    :param table: a ring's table.
    """
    nbuckets = len(table.direct)
    count = table.npoints
    if not count:
        return Walks(
            array.array('B', [0]) * nbuckets,
            array.array(_INDEX_TYPE, [0]) * max(1, nbuckets >> BLOCK_BITS),
            array.array('B'),
            {},
        )
    owners = table.owners
    made = _fastwalks.tables(table, BLOCK_BITS, RUN_BITS, SHORT_WALK)
    if made is not None:
        after, base, distinct, members, shorter = made
    else:
        # A big ring's words spare a pass over the points, a cache miss
        # each.
        of_point = list(
            map(
                operator.rshift,
                table.first_words()[:count],
                itertools.repeat(32 - table.bits),
            )
        )
        distinct, members = _distinct(owners, count)
        after, base = _starts(of_point, nbuckets, distinct)
        shorter = itertools.compress(
            itertools.count(),
            map(operator.gt, itertools.repeat(SHORT_WALK), distinct),
        )
    # Few points, but most of them on a ring of few members.
    short = {}
    for i in shorter:
        found: dict[Any, None] = {}
        j = i
        while len(found) < SHORT_WALK and len(found) < members:
            found[owners[j]] = None
            j = j + 1 if j + 1 < count else 0
        short[i] = tuple(found)
    return Walks(after, base, distinct, short)


def window(table: _table.Table, entry: int, bucket: int) -> int:
    """Return where the bisect window of an occupied bucket starts.

    :param table: a ring's table.
    :param entry: the bucket's entry in the index, ``~i`` (negative).
    :param bucket: the bucket.
    """
    return ~entry + table.offsets[bucket >> _table.OFFSET_BITS]


def above(
    table: _table.Table, digest: bytes, lo: int, hi: int | None = None
) -> int:
    """Return the first point above a digest, in its bucket's window.

    Or, given ``hi``, among the points from ``lo`` up to ``hi``: the
    whole ring's, where the digest's bucket holds none.

    :param table: a ring's table.
    :param digest: a key's digest.
    :param lo: where the points searched start: the bucket's window's
        start (:func:`window`) for a digest in an occupied bucket.
    :param hi: where they end; the window's end when None.
    :returns: the index of the point in ``table.points``; a sentinel's
        (or ``hi``) past the last point searched.

    Runtime complexity: ``O(1)`` where the point is the first searched or
    the next (for most keys), else ``O(log S)`` for the ``S`` points
    searched.
    """
    # Most buckets that hold points hold one: the answer is mostly the
    # first point searched or the next, which two comparisons in Python
    # find sooner than a bisect.  In one process against the bisect alone,
    # get_node took 0.97 to 0.98 of its time and map_keys 0.94 to 0.98 on
    # rings of 320,000 to ten million points, the same below.  The
    # sentinels after the last point stand above every key.
    if hi is None:
        hi = lo + table.span
    words = table.words
    if words is not None:
        word = _from_bytes(digest[:4], 'big')
        first = words[lo]
        if word < first:
            return lo
        if first < word < words[lo + 1]:
            return lo + 1
        i = bisect.bisect_right(words, word, lo, hi)
        # Points of other words are below or above the key as their words
        # are; one of the key's very word may be either: its digest tells.
        if i == lo or words[i - 1] != word:
            return i
    key = digest + _table.PAD
    points = table.points
    if key < points[lo]:
        return lo
    if key < points[lo + 1]:
        return lo + 1
    return bisect.bisect_right(points, key, lo + 2, hi)


def walk(
    table: _table.Table,
    digest: bytes,
    wanted: int,
    taken: set[Any],
    i: int | None = None,
) -> list[Any]:
    """Walk a table's points from a digest, collecting distinct owners.

    :param table: a ring's table.
    :param digest: the key's digest.
    :param wanted: how many owners to collect; there must be as many
        owners not in ``taken``.
    :param taken: the owners to skip, to which those collected are added.
    :param i: the first point above the digest, where it is known.
    :returns: the owners, in walk order.
    :raises hashring.exception.EmptyRingError: the table has no points.

    Runtime complexity: ``O(log P + s)`` for ``P`` points, where ``s`` is
    the number of points walked.
    """
    end = table.npoints
    if not end:
        raise exception.EmptyRingError('The hash ring has no members')
    owners = table.owners
    if i is None:
        # The first point above the key: its bucket's window when the
        # bucket holds points, else a bisect of the whole ring (of its
        # words, where it keeps them).
        bucket = _from_bytes(digest, 'big') >> table.shift
        entry = table.direct[bucket]
        if entry < 0:
            i = above(table, digest, window(table, entry, bucket))
        else:
            i = above(table, digest, 0, end)
    found: list[Any] = []
    while len(found) < wanted:
        if i >= end:
            i = 0
        owner = owners[i]
        i += 1
        if owner not in taken:
            taken.add(owner)
            found.append(owner)
    return found


def _distinct(owners: list[Any], count: int) -> tuple['array.array[int]', int]:
    """Return :attr:`Walks.distinct`, and how many owners there are.

    :param owners: the owner of each point, sentinels after them.
    :param count: how many points are real.
    """
    # From the end back: the points from i on are distinct up to the
    # nearest next point of one of their owners.  The first sentinel
    # stands for the first point again; the runs stop there.
    distinct = array.array('B', bytes(count + 1))
    seen: dict[Any, int] = {}
    end = count + 1
    get = seen.get
    for i in range(count, -1, -1):
        owner = owners[i]
        j = get(owner, end)
        if j < end:
            end = j
        seen[owner] = i
        if end - i < 255:
            distinct[i] = end - i
        else:
            distinct[i] = 255
    return distinct, len(seen)


def _starts(
    of_point: list[int], nbuckets: int, distinct: 'array.array[int]'
) -> tuple['array.array[int]', 'array.array[int]']:
    """Return :attr:`Walks.after` and :attr:`Walks.base`.

    :param of_point: the bucket of each point, in order.
    :param nbuckets: how many buckets the index has.
    :param distinct: :attr:`Walks.distinct`.
    """
    count = len(of_point)
    blocks = max(1, nbuckets >> BLOCK_BITS)
    base = array.array(
        _INDEX_TYPE,
        [bisect.bisect_left(of_point, b << BLOCK_BITS) for b in range(blocks)],
    )
    # Counted from their block's base, the starts go up to the points of
    # the fullest block.
    most = max(map(operator.sub, [*base[1:], count], base)) << RUN_BITS
    after = array.array(
        'B' if most < 1 << 8 else 'H' if most < 1 << 16 else _INDEX_TYPE
    )
    run = array.array(after.typecode, [0])
    extend = after.extend
    append = after.append
    # The runs, at most RUN_MAX, in C.
    runs = distinct.tobytes().translate(_RUNS)
    shift = BLOCK_BITS
    last = -1
    # Where the block of the bucket ``last`` ends, and its base.
    end = first = 0
    # The first point of each bucket that holds points: where the bucket
    # differs from the point's before.  The empty buckets before it start
    # there: counted from the base of the block of the bucket before
    # them, and as 0 in every later block, whose base is that very point.
    for i in itertools.compress(
        itertools.count(), map(operator.ne, of_point, [-1, *of_point])
    ):
        bucket = of_point[i]
        if bucket < end:
            run[0] = (i - first) << RUN_BITS | runs[i]
            extend(run * (bucket - 1 - last))
        else:
            if last >= 0:
                run[0] = (i - first) << RUN_BITS | runs[i]
                extend(run * (end - 1 - last))
            run[0] = runs[i]
            extend(run * (bucket - end))
            end = ((bucket >> shift) + 1) << shift
            first = i
        # Its own walks start at one of its points.
        append(0)
        last = bucket
    # Past the last point, likewise from the first sentinel.
    end = min(nbuckets, end)
    run[0] = (count - first) << RUN_BITS | runs[count]
    extend(run * (end - 1 - last))
    run[0] = runs[count]
    extend(run * (nbuckets - end))
    return after, base
