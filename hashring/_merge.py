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

"""Merge a change of many points into a table with NumPy.

:func:`hashring._patch.update` patches a table point by point changed;
where a change adds or drops many points (:func:`merges`) and NumPy is
installed, it calls :func:`merged` instead, which drops the points of
members gone and the dead points, inserts the new ones (:func:`merge`),
and indexes them afresh with :mod:`hashring._fast`, as a build of the
same points does.
"""

import array
from collections.abc import Sequence
import functools
import itertools
from typing import Any

from hashring import _fast
from hashring import _sizing
from hashring import _table

# None where NumPy is not there, and then merge() is never called.
np = _fast.np

#: Changes of tables of fewer points are patched (:mod:`hashring._patch`),
#: which costs less than a merge there: a join at 960 points took 222 us
#: patched, 276 us merged.
MIN_POINTS = 1 << 11

#: Changes of a table that add or drop at least one point in this many
#: are merged by NumPy (:func:`merge`); fewer, a step in Python per point
#: changed (:mod:`hashring._patch`) costs less.
SHARE = 48

#: Merges that add or drop at most one point in this many fill again only
#: the index entries that change (:func:`_refilled`); more, filling every
#: entry costs less.  Filling the index of 10,240 points when a tenth of
#: them went took 1.35 times as long that way, when a thirtieth went 0.52.
REFILL_SHARE = 20


def merges(points: int, changed: int) -> bool:
    """Return whether :func:`merge` is worth it for a change of a table.

    :param points: how many points the table has, dead ones included.
    :param changed: how many points the change adds, removes or drops.
    """
    return _fast.ENABLED and points >= MIN_POINTS and changed * SHARE >= points


def merged(
    table: _table.Table,
    removed: set[Any],
    hashed: list[tuple[Any, list[bytes]]],
    numbered: list[Any],
    number: dict[Any, int],
    carried: list[int] | None,
    live: int,
) -> _table.Table | None:
    """Return the table of :func:`hashring._patch.update`, merged, or None.

    :param table: the table changed.
    :param removed: the members whose points go.
    :param hashed: each member added with its new points, tagged
        (:func:`hashring._patch._hashed`).
    :param numbered: the members by number, the new ones included.
    :param number: the number of each member, likewise.
    :param carried: the arcs per owner number, or None: the merged
        table's arcs are then not measured.
    :param live: how many live points the merged table has.

    The points of members removed, and dead points, are dropped rather
    than kept dead, and the index is made afresh: the table is the one a
    build of the same points gives, but for the numbering.  None where
    a fresh build is due (:func:`merge`), or where live points would be
    dropped with the dead ones.
    """
    size = len(table.points[0]) - _table.TAG
    # A dead point's tag names the member gone that it was made for.
    gone = {number[m] for m in removed}
    gone.update(int.from_bytes(p[size:], 'big') for p in table.dead)
    added: list[bytes] = []
    for _, found in hashed:
        added += found
    result = merge(
        table.points[: table.npoints],
        sorted(gone),
        added,
        numbered,
        size,
        carried is not None,
        # A table with dead points indexes them as their live successors'
        # owners' points, not as a build of its points would.
        None if table.dead else table.direct,
    )
    # Points go by their owner's number: a member back with fewer points
    # than it left with has live points and dead ones under one number,
    # and all of them would go.  A build sorts them out.
    if result is None or len(result[0]) != live:
        return None
    points, owners, direct, span, arcs, words, offsets = result
    return _table.assemble(
        points, owners, direct, numbered, span, size, offsets, words, arcs=arcs
    )


def merge(
    points: Sequence[bytes],
    gone: list[int],
    added: list[bytes],
    numbered: list[Any],
    size: int,
    arcs: bool,
    previous: 'array.array[int] | None' = None,
) -> (
    tuple[
        Sequence[bytes],
        list[Any],
        'array.array[int]',
        int,
        list[int] | None,
        Any,
        'array.array[int]',
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
        (:func:`hashring._arcs.of`) of the merged points.
    :param previous: the index of ``points`` as a build makes it, or
        None: where the merged points' index has as many buckets and
        entries as wide, and few points change (:data:`REFILL_SHARE`), it
        is this one with the entries that change filled again
        (:func:`_refilled`), rather than every entry.
    :returns: the merged points, their owners, the index of
        :func:`hashring._sizing.bits_for` bits, its span, the arcs (or
        None), the words (:attr:`hashring._table.Table.words`, or None)
        and the index's offsets, as a build of the same points gives
        them; or None where two points would share their top 64 bits: a
        fresh build sorts those out.

    Runtime complexity: ``O(P)`` in C, and ``O(a)`` steps in Python for
    ``a`` points added.
    """
    width = size + _table.TAG
    high, numbers = _fast.columns(points, width)
    # The top bits of the points dropped and added.
    changed = []
    if gone:
        alive = np.ones(len(numbered), dtype=bool)
        alive[gone] = False
        kept = alive[numbers]
        points = list(itertools.compress(points, kept.tolist()))
        changed.append(high[~kept])
        high = high[kept]
        numbers = numbers[kept]
    if added:
        new_high, new_numbers = _fast.columns(added, width)
        order = np.argsort(new_high)
        new_high = new_high[order]
        changed.append(new_high)
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
    bits = _sizing.bits_for(len(points), size, len(numbered))
    first, buckets = _fast.occupied(_fast.buckets_of(high, bits))
    typecode = _sizing.typecode(len(numbered))
    refill = None
    if (
        previous is not None
        and len(previous) == 1 << bits
        and 0 < sum(map(len, changed)) * REFILL_SHARE <= len(points)
    ):
        refill = functools.partial(
            _refilled,
            previous,
            _fast.buckets_of(np.concatenate(changed), bits),
            first,
            buckets,
            numbers,
        )
    # At once: a change's copies weigh on no build's peak.
    direct, span, offsets = _fast.indexed(
        first, buckets, numbers, bits, typecode, len(first), refill
    )
    # At once, as the index: 0.93 of the time of _fast.gather()'s chunks.
    owners = np.array(numbered, dtype=object)[numbers].tolist()
    found = _fast.measured_arcs(high, numbers, len(numbered)) if arcs else None
    words = _fast.top_words(high)
    return points, owners, direct, span, found, words, offsets


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


def _refilled(
    previous: 'array.array[int]',
    changed: Any,
    first: Any,
    buckets: Any,
    numbers: Any,
    typecode: str,
) -> 'array.array[int] | None':
    """Return an index with the empty buckets that a merge changes filled.

    A key in an empty bucket goes to the owner of the first point of the
    next occupied bucket.  That changes only before an occupied bucket at
    or after a point dropped or added (which may have been its first
    point, or the first of a bucket in between), so only the empty
    buckets before those are filled again, as
    :func:`hashring._fast.indexed` fills them, and the buckets past the
    last point.  The occupied buckets' entries are left to the caller.

    :param previous: the index of the points before the merge, as a build
        makes it, with as many buckets.
    :param changed: the bucket of each point dropped or added, as int32.
    :param first: the first merged point of each occupied bucket.
    :param buckets: those buckets (:func:`hashring._fast.occupied`).
    :param numbers: the owner number of each merged point.
    :param typecode: the typecode of the merged points' index.
    :returns: the index, or None where its entries are wider than
        ``previous``'s: a fresh one is due.

    Runtime complexity: ``O(c log P + e)`` for ``c`` points changed and
    ``e`` entries filled, and a copy of the index, rather than ``O(B)``
    steps for ``B`` buckets.
    """
    if previous.typecode != typecode:
        return None
    # The occupied buckets whose empty buckets before them change (past
    # the last, those past the last point, filled below).
    stale = np.sort(np.searchsorted(buckets, changed))
    # Once each (np.unique() took six times as long).
    stale = stale[_fast.changes(stale) & (stale < len(buckets))]
    ends = buckets[stale]
    starts = np.where(stale > 0, buckets[stale - 1] + 1, 0)
    lengths = ends - starts
    direct = previous[:]
    found = np.frombuffer(direct, dtype=typecode)
    total = int(lengths.sum())
    if total:
        # Each stale run's entries at once: the run's start plus the
        # place of the entry within it.
        within = np.cumsum(lengths) - lengths
        found[np.arange(total) + np.repeat(starts - within, lengths)] = (
            np.repeat(numbers[first[stale]].astype(found.dtype), lengths)
        )
    # Past the last point, keys wrap round to the first point's owner.
    found[int(buckets[-1]) + 1 :] = numbers[0]
    return direct


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
