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

"""Index a ring's sorted points in Python: the reference path of a build.

:func:`hashring._table.build` takes this path where NumPy is not there
(:mod:`hashring._fast` gives the very same table), and for the points of
names that repeat one another (``a`` and ``aa``), whose points collide:
the lower name keeps each.  An update whose insertions widened the bisect
window too far indexes its points again here (:func:`anchor`).
"""

import array
from collections.abc import Sequence
import itertools
import logging
import sys
from typing import Any

from hashring import _bulk
from hashring import _sizing
from hashring import _table
from hashring import exception
from hashring import hashing

LOG = logging.getLogger(__name__)


def index(
    points: list[bytes],
    members: list[tuple[bytes, Any, int]],
    numbered: list[Any],
    size: int,
) -> tuple[list[Any], 'array.array[int]', int, Any, 'array.array[int]']:
    """Index sorted points; return owners, index, span, words and offsets.

    Points of two members that collide are dropped, the lower number's
    kept, and the rest indexed again.  The words returned are the first
    word of each point (:attr:`hashring._table.Table.words`), or None on
    small rings.
    """
    dropped = False
    while True:
        firsts, numbers = _bulk.words(points, size + _table.TAG, 0, size)
        bits = _sizing.bits_for(len(points), size, len(numbered))
        try:
            direct, span, collided, offsets = _index(
                points, firsts, numbers, bits, len(numbered)
            )
        except OverflowError:
            # A run of more points than two-byte entries count: a hash
            # far from uniform.
            direct, span, collided, offsets = _index(
                points, firsts, numbers, bits, len(numbered), _sizing.WIDE
            )
        if not collided:
            break
        LOG.warning(
            '%d ring points collide between members (one name repeats '
            'another, as "a" and "aa" do); the lowest name keeps each',
            len(collided),
        )
        # The lower number sorts first; the later points go, and the
        # points left are indexed again.
        for i in reversed(collided):
            del points[i]
        dropped = True
    # Kept only where the table keeps them: the build's peak holds them
    # while the owners are made.
    words = firsts if len(points) >= _table.WORDS_MIN_POINTS else None
    del firsts
    owners = list(map(numbered.__getitem__, numbers))
    if dropped:
        _check_collisions(members, owners)
    return owners, direct, span, words, offsets


def _check_collisions(
    members: list[tuple[bytes, Any, int]], owners: list[Any]
) -> None:
    """Refuse a ring in which collisions left a member without a point."""
    lost = {member for _, member, _ in members}.difference(owners)
    if lost:
        name, member = min((hashing.encode(m), m) for m in lost)
        raise exception.InvalidMemberError(
            member, 'every point of it collides with another member'
        )


def _index(
    points: list[bytes],
    firsts: Any,
    numbers: Any,
    bits: int,
    members: int,
    typecode: str | None = None,
) -> tuple['array.array[int]', int, list[int], 'array.array[int]']:
    """Return the bucket index described in :class:`Table`, and its span.

    :param points: the sorted points.
    :param firsts: the first 32-bit word of each point.
    :param numbers: the owner number of each point.
    :param bits: the number of bits of a bucket, at most 32.
    :param members: how many numbers there are.
    :param typecode: the index's, where not :func:`_sizing.typecode`'s.
    :returns: the index, its span, the points whose digest repeats the one
        before them (their owners' names repeat each other), for the
        caller to drop and index again, and the index's block offsets.
    :raises OverflowError: a run holds more points than the entries
        count.

    Runtime complexity: ``O(P + 2**bits)``, a step in Python per point.
    """
    # NOTE: one loop in Python measured faster than the same work as
    # passes of map() and compress() in C, each of which converts every
    # entry to an int and back.
    direct = array.array(typecode or _sizing.typecode(members))
    entry = [
        n.to_bytes(direct.itemsize, sys.byteorder, signed=True)
        for n in range(members)
    ]
    frombytes = direct.frombytes
    append = direct.append
    shift = 32 - bits
    size = len(points[0]) - _table.TAG
    # The first point of each run: there, its entries start counting.
    starts = _table.run_starts(firsts, shift + _table.RUN_BITS, bits)
    collided = []
    last = -1
    start = 0
    span = 1
    previous = -1
    for lo, hi in zip(starts, [*starts[1:], len(points)]):
        # A copy of a run's words and numbers at a time; a ring of one run
        # (of fewer than 8,192 points) reads its own, which its peak holds.
        run = (
            (firsts, numbers)
            if len(starts) == 1
            else (firsts[lo:hi], numbers[lo:hi])
        )
        for i, first, number in zip(itertools.count(), *run):
            bucket = first >> shift
            if bucket != last:
                # The empty buckets before this one go to this point's
                # owner: it owns the first point above every hash in them.
                frombytes(entry[number] * (bucket - last - 1))
                append(~i)
                last = bucket
                start = i
            else:
                if i - start >= span:
                    span = i - start + 1
                # Equal digests sort next to each other, in one bucket,
                # and start with the same word: comparing the words first
                # spares two slices per point (the loop was 15% faster).
                if first == previous and (
                    points[lo + i][:size] == points[lo + i - 1][:size]
                ):
                    collided.append(lo + i)
            previous = first
    # Past the last point, keys wrap round to the first point's owner.
    frombytes(entry[numbers[0]] * ((1 << bits) - 1 - last))
    return direct, span, collided, _table.offsets(starts, bits)


def anchor(
    points: Sequence[bytes], direct: 'array.array[int]', bits: int
) -> tuple[int, 'array.array[int]']:
    """Point every occupied bucket at its first point; return span, offsets.

    The entries count from the first point of their run, as in a build.
    An update (:func:`hashring._patch.update`) calls it where the points
    it inserted widened the bisect window too far.

    :raises OverflowError: a run holds more points than the entries count.

    Runtime complexity: ``O(P)``, a step in Python per point.
    """
    # NOTE: one loop measured faster than passes of map() and compress()
    # in C (25 ms against 34 ms at 100,000 points), as in _index().
    setitem = direct.__setitem__
    buckets = list(_bulk.buckets(points, bits))
    starts = _table.run_starts(buckets, _table.RUN_BITS, bits)
    last = -1
    start = 0
    span = 1
    for lo, hi in zip(starts, [*starts[1:], len(points)]):
        for i, bucket in enumerate(buckets[lo:hi], lo):
            if bucket != last:
                if i - start > span:
                    span = i - start
                setitem(bucket, lo + ~i)
                last = bucket
                start = i
    return max(span, len(points) - start), _table.offsets(starts, bits)
