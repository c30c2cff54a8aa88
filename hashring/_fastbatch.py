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

"""Find the owners of many digests with NumPy, where it is installed.

The optional path of :func:`hashring._batch.owners`, which otherwise
looks the digests up one at a time, as it answers.  The digests' buckets
and index entries are read in passes of NumPy.  Given a ring's
:class:`Settler`, the digests whose bucket holds points are settled in
NumPy too, by the first 32-bit words of the points in their bucket's
window: only a digest whose first word equals one of theirs (about one in
a hundred million) is left to a bisect in Python.
"""

import array
from typing import Any
from typing import NamedTuple

from hashring import _bulk
from hashring import _fast
from hashring import _table

#: The least digests in occupied buckets that a settler settles: fewer
#: take less time bisected in Python than its passes' fixed cost.
SETTLE_MIN = 64


class Settler(NamedTuple):
    """What settles, in C, the digests whose bucket holds points.

    Made by :func:`settler` from a ring's table, once: 4 bytes a point for
    the words (none where the table keeps them,
    :attr:`hashring._table.Table.words`) and 2 for the numbers (4 past
    65,536 members).
    """

    #: the first 32-bit word of each point, sentinels included
    words: Any
    #: the number of the owner of each point, sentinels included
    numbers: Any
    #: the bisect window of the table's buckets
    span: int


def settler(table: _table.Table) -> Settler | None:
    """Return a table's :class:`Settler`, or None where NumPy is not there.

    :param table: a ring's table, with points.

    Runtime complexity: ``O(P)`` for ``P`` points, in C (a look-up of each
    point's owner in Python's C code where an update left dead points).
    """
    np = _fast.np
    if not _fast.ENABLED or not table.npoints:
        return None
    count = table.npoints
    width = len(table.points[0])
    kept = table.words
    firsts: Any = None
    if table.dead:
        # Dead points belong to the owner of the next live point, not to
        # the member their tag names (_patch.update()).
        number = {m: n for n, m in enumerate(table.numbered)}
        numbers = np.fromiter(
            map(number.__getitem__, table.owners), np.uint32, len(table.owners)
        )
        if kept is None:
            firsts = table.first_words()
    else:
        # One pass over the points, which lie all over memory.
        *read, tags = _bulk.words(
            table.points[:count],
            width,
            *(() if kept is not None else (0,)),
            width - _table.TAG,
        )
        firsts = read[0] if read else None
        numbers = np.empty(len(table.points), dtype=np.uint32)
        numbers[:count] = tags
        numbers[count:] = numbers[0]  # the sentinels': the first point's
    if kept is not None:
        words = np.frombuffer(kept, dtype=f'=u{kept.itemsize}')
    else:
        words = np.empty(len(table.points), dtype=np.uint32)
        words[:count] = np.asarray(firsts[:count], dtype=np.uint32)
        words[count:] = _table.LAST_WORD
    if len(table.numbered) <= 1 << 16:
        numbers = numbers.astype(np.uint16)
    return Settler(words, numbers, table.span)


def owners(
    digests: list[bytes],
    direct: 'array.array[int]',
    bits: int,
    offsets: 'array.array[int]',
    numbered: list[Any],
    settle: Settler | None = None,
) -> tuple[list[Any], list[int], list[int]] | None:
    """Look digests up in a ring's index, or return None.

    :param digests: the keys' digests, of one size.
    :param direct: the ring's index (:class:`hashring._table.Table`).
    :param bits: how many top bits of a digest make its bucket.
    :param offsets: the index's block offsets.
    :param numbered: the members by number.
    :param settle: the ring's :class:`Settler`, or None.
    :returns: the owner of each digest (a placeholder for those left
        unsettled), the positions of the digests left unsettled (without
        ``settle``, or where fewer than :data:`SETTLE_MIN` digests fall in
        buckets that hold points, every one of those), and where each of
        their bisect windows starts; or None where NumPy is not there, or
        the digests are not read in 32-bit words.

    Runtime complexity: ``O(k)`` for ``k`` digests, in C.
    """
    np = _fast.np
    if not _fast.ENABLED or not digests or len(digests[0]) % 4 or bits > 32:
        return None
    firsts = np.frombuffer(b''.join(digests), dtype='>u4')
    firsts = firsts[:: len(digests[0]) // 4]
    # As indexes, in the platform's width: NumPy takes those faster.
    buckets = (firsts >> np.uint32(32 - bits)).astype(np.intp)
    entries = np.frombuffer(direct, dtype=direct.typecode)[buckets]
    spans = np.flatnonzero(entries < 0)
    lows = ~entries[spans].astype(np.intp)
    blocks = buckets[spans] >> _table.OFFSET_BITS
    lows += np.frombuffer(offsets, dtype=offsets.typecode)[blocks]
    if settle is not None and len(spans) >= SETTLE_MIN:
        # Sorted, the window's points below a digest come first: they
        # count to the first point above it, as a bisect finds it.  The
        # points whose first word is the digest's come next, and may lie
        # either side of it: the first of them, if any, is that point.
        words, first = settle.words, firsts[spans]
        above = lows + (words[lows] < first)
        for step in range(1, settle.span):
            above += words[lows + step] < first
        entries[spans] = settle.numbers[above]
        tied = words[above] == first
        spans, lows = spans[tied], lows[tied]
    entries[spans] = 0
    if len(entries) < len(numbered):
        # An array of every member would cost more than the keys: a few
        # keys on a ring of thousands of members.
        found = _fast.gather(numbered, entries)
    else:
        found = np.array(numbered, dtype=object)[entries].tolist()
    return found, spans.tolist(), lows.tolist()
