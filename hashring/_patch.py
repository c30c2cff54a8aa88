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

"""Patch the lookup table of a ring when few of its members change.

:func:`update` is the incremental half of :mod:`hashring._table`: the
points of the members kept are kept, those of members gone stay as dead
points, and the new ones are merged in, so that a change of one member
hashes only that member's points.  The updated table maps every key as a
table built afresh of the same members.  Where NumPy is installed, a
change of many points is merged by :func:`hashring._merge.merged` instead.
"""

import array
import bisect
import collections
from collections.abc import Sequence
import itertools
import operator
from typing import Any

from hashring import _bulk
from hashring import _merge
from hashring import _pure
from hashring import _sizing
from hashring import _table
from hashring import hashing

# Bound once: it runs once per point patched.
_from_bytes = int.from_bytes

#: An updated table (:func:`update`) widens its bisect window by the most
#: points it inserts into one block of the index; past this width, which
#: lookups do not notice, it finds the first point of every occupied
#: bucket again.
MAX_UPDATED_SPAN = 64


def update(
    table: _table.Table,
    removed: set[Any],
    removed_points: int,
    added: list[tuple[bytes, Any, int, int]],
    hash_ctor: hashing.HashConstructor,
) -> _table.Table | None:
    """Return the table of a ring with some members changed, or None.

    Each member's points depend only on its name and point count, so the
    points of members kept are kept; those of members removed stay as dead
    points owned by the next live point's owner (keys map as if they were
    gone), and new points are merged in.  The index is patched where it
    changes: an occupied bucket keeps its entry from before the
    insertions, and the offset of its block of the index (2**OFFSET_BITS
    buckets) moves on by the points inserted before the block, so that
    their sum is a lower bound of its first point, and the bisect window
    widens by the most points inserted into one block.  The table's arcs
    (:func:`hashring._arcs.of`), where it has them, are carried point
    by point changed.

    A change of many points (:func:`hashring._merge.merges`) is merged by
    NumPy instead: the points of members removed and the dead points are
    dropped, the new ones inserted, and the index and arcs made afresh,
    as a build of the same points makes them.

    :param table: the table of a ring built without colliding points.
    :param removed: the members whose points go.
    :param removed_points: how many live points they have.
    :param added: ``(encoded name, member, first, stop)``: the member's
        points numbered ``first`` to ``stop - 1`` are added (a member
        kept with a greater weight adds the points past its old count).
    :param hash_ctor: the ring's hash constructor.
    :returns: the new table, or None where a fresh build is due: the
        index would need another size, too many points would be dead, a
        new point equals a live one already there, or every member goes.
        A new point that equals a dead one revives it.

    Runtime complexity: ``O(P)`` list copies in C, and ``O(a log P)``
    for ``a`` points added; merged, ``O(P)`` in C and ``O(a)`` steps in
    Python.
    """
    count = table.npoints
    inserted = sum(stop - first for _, _, first, stop in added)
    live = table.live - removed_points + inserted
    if removed_points >= table.live:
        # Every member goes (or the ring has no point): no live point is
        # left to own the dead ones, and a build keeps nothing less.
        return None
    size = len(table.points[0]) - _table.TAG
    # A whole point read as an integer: its bucket is above ``shift`` bits.
    shift = table.shift + _table.TAG * 8
    merging = _merge.merges(count, inserted + removed_points + len(table.dead))
    built = _sizing.bits_for(live, size, len(table.numbered))
    if not merging and (
        (len(table.dead) + removed_points) * 2 > live
        or abs(built - table.bits) > 1
    ):
        return None
    numbered = list(table.numbered)
    number = {m: n for n, m in enumerate(numbered)}
    carried = None if table.arcs is None else list(table.arcs)
    hashed, tags = _hashed(
        added, numbered, number, carried, hash_ctor, tagged=merging
    )
    if merging:
        return _merge.merged(
            table, removed, hashed, numbered, number, carried, live
        )
    new: dict[bytes, Any] = {}
    for member, digests in hashed:
        new.update(zip(digests, itertools.repeat(member)))
    if len(new) != inserted:
        return None  # points of two new members collide
    # The table's own points, sentinels and all (read up to count), until
    # a point is added or changed: then a list of the real ones.  A leave
    # moves no point, and the new table shares them.
    points: Sequence[bytes] = table.points
    words = table.words
    owners = table.owners[:count]
    direct = table.direct[:]
    dead = set(table.dead)
    # Points whose owner changed, with the owner each had and has: the
    # empty buckets before each, and its arc, go to it (_settle()).
    moves: list[tuple[int, Any, Any]] = []

    def claim(i: int, owner: Any) -> None:
        # Dead points from i down now go to owner, as far as their run
        # goes: every dead point of a run has the same owner.
        while i >= 0 and points[i] in dead and owners[i] is not owner:
            moves.append((i, owners[i], owner))
            owners[i] = owner
            i -= 1

    if removed:
        gone = _bulk.places(owners, removed)
        dead.update(_bulk.gather(points, gone))
        # Each dead point goes to the next live point's owner; past the
        # last, keys wrap round to the first live point.
        after = next(o for o in owners if o not in removed)
        for i in reversed(gone):
            after = owners[i + 1] if i + 1 < count else after
            moves.append((i, owners[i], after))
            owners[i] = after
    if direct.typecode != _sizing.typecode(len(numbered)):
        return None  # the members' numbers need wider entries
    # Where each new point goes, below the first old point above it.
    at = []
    for digest in sorted(new):
        i = bisect.bisect_left(points, digest)
        if i < count and points[i][:size] == digest:
            if points[i] not in dead:
                return None
            # A member back with the name it had (a service restarted):
            # its dead points come back to life where they stand.
            dead.discard(points[i])
            member = new.pop(digest)
            if points[i][size:] != tags[member]:
                # Back as another object of its name (str for bytes),
                # under another number, which its tag must name.
                listed = (
                    points
                    if isinstance(points, list)
                    else list(points[:count])
                )
                listed[i] = digest + tags[member]
                if points is not listed and words is not None:
                    words = words[:count]
                points = listed
            moves.append((i, owners[i], member))
            owners[i] = member
            claim(i - 1, member)
        else:
            at.append(i)
    _settle(table.bits, points, count, direct, number, carried, moves)
    moves.clear()
    span = table.span
    offsets = table.offsets
    if new:
        # Merge in C: slices of the old lists between the new points.  (A
        # tag orders only equal digests, so the points sort as the
        # digests placed above.)
        ordered = sorted(
            map(operator.add, new, map(tags.__getitem__, new.values()))
        )
        merged_points: list[bytes] = []
        merged_owners: list[Any] = []
        for i, j, point in zip([0, *at], at, ordered):
            merged_points += points[i:j]
            merged_owners += owners[i:j]
            merged_points.append(point)
            merged_owners.append(new[point[:size]])
        merged_points += points[at[-1] : count]
        merged_owners += owners[at[-1] :]
        if words is not None:
            words = _inserted_words(words, at, ordered, count)
        before, last = owners, count
        points, owners, count = (
            merged_points,
            merged_owners,
            len(merged_points),
        )
        fresh = list(_bulk.buckets(ordered, table.bits))
        # Every occupied bucket of a block has moved on by at least the
        # points inserted before the block; those inserted within it
        # widen the window.
        bits = _table.OFFSET_BITS
        per_block = collections.Counter(b >> bits for b in fresh)
        inserted_at = [0] * len(offsets)
        for block, n in per_block.items():
            inserted_at[block] = n
        # Summed in C: with a bisect of the new points per block, a join
        # took 1.06 to 1.10 times as long (4,096 to 16,384 blocks).
        moved_on = itertools.accumulate(inserted_at, initial=0)
        offsets = array.array(
            offsets.typecode, map(operator.add, offsets, moved_on)
        )
        span += max(per_block.values())
        try:
            for n, (i, bucket) in enumerate(zip(at, fresh)):
                # Where it is now: after the old points below it and the
                # new points before it.
                q = i + n
                if direct[bucket] >= 0:
                    direct[bucket] = ~(q - offsets[bucket >> bits])
                # It takes the start of the arc of the old point after it
                # (past the last, the first).
                moves.append((q, before[i if i < last else 0], owners[q]))
                if dead:
                    claim(q - 1, owners[q])
            if span > MAX_UPDATED_SPAN:
                span, offsets = _pure.anchor(points, direct, table.bits)
        except OverflowError:
            # A run of more points than two-byte entries count: a fresh
            # build widens them.
            return None
    if points[count - 1] in dead:
        # Dead points past the last live one wrap to the first live one,
        # which a point added or revived may have changed.
        claim(
            count - 1, next(o for p, o in zip(points, owners) if p not in dead)
        )
    _settle(table.bits, points, count, direct, number, carried, moves)
    # Past the last point, keys wrap round to the first point's owner.
    start = (_from_bytes(points[count - 1], 'big') >> shift) + 1
    direct[start:] = array.array(direct.typecode, [number[owners[0]]]) * (
        len(direct) - start
    )
    return _table.assemble(
        points,
        owners,
        direct,
        numbered,
        span,
        size,
        offsets,
        words,
        dead=frozenset(dead),
        arcs=carried,
    )


def _hashed(
    added: list[tuple[bytes, Any, int, int]],
    numbered: list[Any],
    number: dict[Any, int],
    carried: list[int] | None,
    hash_ctor: hashing.HashConstructor,
    tagged: bool = False,
) -> tuple[list[tuple[Any, list[bytes]]], dict[Any, bytes]]:
    """Hash the points added, and number their members.

    :param added: as for :func:`update`.
    :param numbered: the members by number, to which new ones are added.
    :param number: the number of each member, likewise.
    :param carried: the arcs per owner number, to which new ones are
        added, or None.
    :param hash_ctor: the ring's hash constructor.
    :param tagged: whether each digest is followed by its member's tag, as
        a point is (a merge's), or bare (a patch's).
    :returns: each member added with the digests of its new points, and
        each member's tag.
    """
    hashed = []
    tags = {}
    # Descending names, as in _table.build(), should points of two collide.
    for name, member, first, stop in sorted(added, reverse=True):
        if member in number:
            # Back under its old number (a service restarted): its dead
            # points carry that number in their tags.
            numbered[number[member]] = member
        else:
            number[member] = len(numbered)
            numbered.append(member)
            if carried is not None:
                carried.append(0)
        tags[member] = _table.tag(number[member])
        suffix = tags[member] if tagged else b''
        hashed.append(
            (member, _table.digests(name, first, stop, hash_ctor, suffix))
        )
    return hashed, tags


def _inserted_words(
    words: 'array.array[int]', at: list[int], ordered: list[bytes], count: int
) -> 'array.array[int]':
    """Return a table's words with new points' inserted, as update() does.

    :param words: the table's words (:attr:`hashring._table.Table.words`).
    :param at: where each new point goes, before the point there, in order.
    :param ordered: the new points, in order.
    :param count: how many of the words are real points'.
    """
    # Read from the new points rather than from the merged ones: those lie
    # all over memory, and a pass over them costs a tenth of a build.
    found = words[:0]
    for i, j, point in zip([0, *at], at, ordered):
        found += words[i:j]
        found.append(_from_bytes(point[:4], 'big'))
    found += words[at[-1] : count]
    return found


def _settle(
    bits: int,
    points: Sequence[bytes],
    count: int,
    direct: 'array.array[int]',
    number: dict[Any, int],
    carried: list[int] | None,
    moves: list[tuple[int, Any, Any]],
) -> None:
    """Give the empty buckets before points, and their arcs, to their owners.

    :param bits: how many top bits of a point make its bucket.
    :param points: its points as they are now (sentinels may follow).
    :param count: how many of them are real.
    :param direct: the index, patched in place.
    :param number: the owner number of each member.
    :param carried: the arcs per owner number, moved in place, or None.
    :param moves: ``(i, old, new)``: point ``i`` of ``points`` went from
        ``old`` to ``new``, in the order they moved (a point may move
        twice).  The buckets before it are those after the bucket of the
        point before it (before the first point, from the first bucket).
        A new point's old owner is that of the old point after it, whose
        arc's start it takes.

    Runtime complexity: ``O(m)`` for ``m`` moves, mostly in C.
    """
    if not moves:
        return
    indexes = [i for i, _, _ in moves]
    # The top 64 bits of each point and of the point before it, read in C
    # at once; before the first point is the last, whose arc wraps round.
    high, low = _bulk.words(
        _bulk.gather(
            points, indexes + [i - 1 if i else count - 1 for i in indexes]
        ),
        len(points[0]),
        0,
        4,
    )
    m = len(moves)
    shift = 32 - bits
    units: dict[int, array.array[int]] = {}
    for (i, _, new), top, under in zip(moves, high, high[m:]):
        n = number[new]
        top >>= shift
        under = under >> shift if i else -1
        if top - under > 1:
            unit = units.get(n)
            if unit is None:
                # One array of the entry per owner number, made once: a
                # leave fills a run per point it removes.
                unit = units[n] = array.array(direct.typecode, [n])
            direct[under + 1 : top] = unit * (top - under - 1)
    if carried is None:
        return
    ends = _bulk.words64(high, low)
    for (i, old, new), arc in zip(moves, map(operator.sub, ends, ends[m:])):
        if not i:
            arc += 1 << _table.ARC_BITS
        carried[number[old]] -= arc
        carried[number[new]] += arc
