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

"""Build the lookup table of a ring: tooz's points plus a bucket index.

This is the construction half of :class:`hashring.ring.HashRing`; the
lookups live in :mod:`hashring.ring`.

The points are exactly tooz's: member ``m`` with ``c`` points has the
digests of ``m*2, m*3, ..., m*(c+1)`` (one hash object, updated with the
name before each digest).  They are kept as digest *bytes*: equal-length
big-endian byte strings sort exactly as tooz's ``int(hexdigest, 16)`` does,
and comparing them skips a conversion per point and per key.  Each point
carries its owner's number in :data:`TAG` bytes after the digest, so that
one sort of bytes orders the points and tells their owners, and the
owners and the index are then read out of the sorted points in C, with
no dict look-up per point.  A key's digest is padded with ``0xff`` bytes
before it is compared with them (:data:`PAD`): it then sorts above a point
of an equal digest, as tooz's strict "first point above the key" wants.

On top of the sorted points sits a bucket index over the top bits of the
hash space, with several buckets per point, in an :mod:`array` of two-
or four-byte entries.  A key's owner is the owner of the first point
strictly above its hash, so every key in a bucket that holds no point has
the same owner, whose number the index stores.  Most buckets hold no
point, so most lookups are one digest and two indexes; the rest bisect
only the few points of their own bucket (on rings of many points, their
first words: :data:`WORDS_MIN_POINTS`).  Such a bucket's entry counts its
first point from the first point of its run of buckets (:data:`RUN_BITS`,
:attr:`Table.offsets`), so that entries take two bytes on rings of any
size with up to 32,768 members.  The work per lookup does not grow with
the number of members; on rings of millions of points it waits longer on
memory, as ``python -m benchmarks.huge`` measures.
"""

import array
import bisect
from collections.abc import Sequence
import itertools
import operator
from typing import Any
from typing import NamedTuple

from hashring import _bulk
from hashring import _fast
from hashring import _pure
from hashring import _sizing
from hashring import hashing


# Bound once, as in the ring: it runs once per point patched.
_from_bytes = int.from_bytes

#: Bytes of owner number after each point's digest.
TAG = 4

#: What a key's digest is padded with before a bisect of the points: it
#: sorts above every tag, so a point of the very digest of a key (a key
#: that is a member's name repeated) counts as below the key, as in tooz.
PAD = b'\xff' * TAG

#: An occupied bucket's entry counts its first point from the first point
#: of its run of 2**RUN_BITS buckets, which holds 4,096 points at most on
#: average: far fewer than two bytes count.  A build indexes a run at a
#: time, with no step per point to find its run.
RUN_BITS = 15

#: :attr:`Table.offsets` holds, per block of 2**OFFSET_BITS buckets, the
#: point its entries count from: its run's first in a build, moved on by
#: the points an update inserts before the block.  Small enough that few
#: new points fall in one block, each of which widens the bisect window;
#: large enough that the offsets are a small share of the index.
OFFSET_BITS = 8

#: Rings of at least so many points keep the first 32-bit word of each
#: point in an array (:attr:`Table.words`): a lookup that bisects its
#: bucket then reads a few adjacent words instead of a point object each,
#: and on rings whose points outgrow the processor's caches each of those
#: is a miss.  ``get_node`` took 0.90 of its time at a million points and
#: 0.91 at ten million, but 0.95 at 320,000 and 0.99 at 100,000.  The
#: words cost 4 bytes a point, 5% of a ring's memory, which smaller rings
#: keep.
WORDS_MIN_POINTS = 1 << 19

#: Arcs (:func:`hashring._arcs.of`) are measured on the top 64 bits of
#: each point: exact to one part in 2**64, and read in C.
ARC_BITS = 64

#: The typecode of :attr:`Table.words`.
WORD = 'I' if array.array('I').itemsize >= 4 else 'L'
#: The word of the sentinels (:attr:`Table.points`).
LAST_WORD = 0xFFFFFFFF


class Table(NamedTuple):
    """The immutable lookup structure of a ring."""

    #: the sorted, distinct points, as digests each followed by its
    #: owner's number in :data:`TAG` bytes, and then ``span`` sentinels
    #: that sort above every point, so that a bucket's bisect window never
    #: runs off the end (a tuple: see :func:`assemble`)
    points: tuple[bytes, ...]
    #: how many of ``points`` are real
    npoints: int
    #: the member owning each point; the sentinels' owner is the first
    #: point's, so that a bisect past the last point wraps without a branch
    owners: list[Any]
    #: per bucket: the number of the owner of every key in it or, when
    #: the bucket holds points, ``~i`` (negative), where ``i`` plus the
    #: offset of its block (``offsets``) is its first point (in an updated
    #: table, a lower bound of it)
    direct: 'array.array[int]'
    #: the members by number, as the index and the tags give them
    numbered: list[Any]
    #: the most points any bucket holds: a bucket's bisect window (in an
    #: updated table, wider by the most points inserted into one block)
    span: int
    #: right shift that turns a digest, read as an integer, into a bucket
    shift: int
    #: per block of 2**OFFSET_BITS buckets, the point from which the
    #: entries of its occupied buckets count: its run's first point
    #: (:data:`RUN_BITS`), moved on in an updated table by the points
    #: inserted before the block
    offsets: 'array.array[int]'
    #: the real points that are dead: points of members that an update
    #: (:func:`hashring._patch.update`) removed, each owned by the owner
    #: of the next live point, so that every key maps as if they were gone
    dead: frozenset[bytes] = frozenset()
    #: per owner number, the hash space it owns (:func:`hashring._arcs.of`),
    #: where they were measured, or carried from the table an update
    #: patched
    arcs: list[int] | None = None
    #: where there are :data:`WORDS_MIN_POINTS` points or more, the
    #: first 32-bit word of each of ``points``, sentinels included
    #: (all ones), read big-endian; else None
    words: 'array.array[int] | None' = None

    def first_words(self) -> Any:
        """Return the first 32-bit word of each point, read big-endian.

        :attr:`words` where the table keeps them (the sentinels' after
        the points'); else read from the real points, a pass over them
        (a list where their size is no multiple of four bytes).
        """
        if self.words is not None:
            return self.words
        return _bulk.words(
            self.points[: self.npoints], len(self.points[0]), 0
        )[0]

    @property
    def live(self) -> int:
        """How many points are real and not dead: tooz's point count."""
        return self.npoints - len(self.dead)

    @property
    def bits(self) -> int:
        """How many top bits of a digest make its bucket."""
        return len(self.direct).bit_length() - 1


def build(
    members: list[tuple[bytes, Any, int]],
    hash_ctor: hashing.HashConstructor,
) -> Table:
    """Build the table of a ring.

    :param members: ``(encoded name, member, point count)`` triples, with
        distinct names.  Their order does not matter.
    :param hash_ctor: a constructor from :func:`hashing.hash_constructor`.
    :returns: the :class:`Table`.

    Where NumPy is installed, the points are sorted and indexed by
    :func:`hashring._fast.index`, to the same table.

    Runtime complexity: ``O(P log P)`` for ``P`` points in all.
    """
    # Numbered in name order: where two members' points collide (possible
    # when one name repeats another, as 'a' and 'aa' do), the lower
    # number sorts first and keeps the point.  tooz keeps whichever its
    # set iteration wrote last, which differs between processes.
    ordered = sorted(members, key=operator.itemgetter(0))
    numbered = [member for _, member, _ in ordered]
    size = hash_ctor(b'', usedforsecurity=False).digest_size
    points: list[bytes] = []
    extend = points.extend
    for number, (name, _, count) in enumerate(ordered):
        extend(digests(name, 0, count, hash_ctor, tag(number)))
    if not points:
        # One bucket whose window is empty: the ring raises its error.
        direct = array.array(_sizing.SHORT, [~0])
        offsets = array.array(_sizing.WIDE, [0])
        return Table((), 0, [], direct, numbered, 0, size * 8, offsets)
    indexed = _fast.index(
        points,
        numbered,
        size,
        _sizing.bits_for(len(points), size, len(numbered)),
        _sizing.typecode(len(numbered)),
    )
    if indexed is not None:
        points, owners, direct, span, words, offsets = indexed
    else:
        _bulk.sort(points)
        owners, direct, span, words, offsets = _pure.index(
            points, members, numbered, size
        )
    return assemble(
        points, owners, direct, numbered, span, size, offsets, words
    )


def assemble(
    points: Sequence[bytes],
    owners: list[Any],
    direct: 'array.array[int]',
    numbered: list[Any],
    span: int,
    size: int,
    offsets: 'array.array[int]',
    words: Any = None,
    **updated: Any,
) -> Table:
    """Return the table of sorted points, their owners and their index.

    :param points: the sorted points, to which the sentinels are added
        (a list is emptied); or a table's own points, a tuple with its
        sentinels, where an update moved none and kept its ``span``: the
        new table shares them.
    :param owners: their owners, a list the table keeps, likewise.
    :param direct: the index.
    :param numbered: the members by number.
    :param span: the index's bisect window.
    :param size: the digests' size, in bytes.
    :param offsets: the index's block offsets.
    :param words: the first word of each point, where the caller has
        them (:attr:`Table.words`); with a list of points, of the real
        ones, and the table keeps them where it keeps words; with a table's
        own points, that table's words.  Read from the points where they
        are missing and the table keeps words.
    :param updated: the fields of an updated table (:class:`Table`).
    """
    count = len(owners)
    # Longer than any point and all ones, a sentinel sorts above them all.
    sentinels = (b'\xff' * (size + TAG + 1),) * span
    if count < WORDS_MIN_POINTS:
        words = None
    elif isinstance(points, list) or words is None:
        words = _words(points, words, count, size, span)
    # A tuple of bytes holds nothing the garbage collector follows, so it
    # stops tracking it: a list of them costs every full collection a
    # cache miss per point, 20 ms per ring of 320,000 points.
    if isinstance(points, list):
        points += sentinels
        found = tuple(points)
        points.clear()
    else:
        found = tuple(points)
    owners.extend(itertools.repeat(owners[0], span))
    shift = size * 8 - (len(direct).bit_length() - 1)
    return Table(
        found,
        count,
        owners,
        direct,
        numbered,
        span,
        shift,
        offsets,
        words=words,
        **updated,
    )


def _words(
    points: Sequence[bytes], words: Any, count: int, size: int, span: int
) -> 'array.array[int]':
    """Return :attr:`Table.words` of points, from their words if given."""
    if words is None:
        # A pass over points that lie all over memory: a tenth of a build,
        # which the builds and merges spare by passing the words they read.
        words = _bulk.words(points[:count], size + TAG, 0)[0]
    found: array.array[int] = (
        words
        if isinstance(words, array.array) and words.typecode == WORD
        else array.array(WORD, words)
    )
    found.extend(itertools.repeat(LAST_WORD, span))
    return found


def digests(
    name: bytes,
    first: int,
    stop: int,
    hash_ctor: hashing.HashConstructor,
    suffix: bytes = b'',
) -> list[bytes]:
    """Return the digests of a member's points ``first`` to ``stop - 1``.

    :param name: the member's encoded name.
    :param first: the first point's number.
    :param stop: the number past the last point's.
    :param hash_ctor: the ring's hash constructor.
    :param suffix: bytes to follow each digest (a build's :func:`tag`):
        joined here, a member's digests take no list of their own for a
        while, which on a ring of few members weighs on the build's peak.

    Runtime complexity: ``O(stop)`` digests.
    """
    # One hash object updated with the name before each digest, as tooz.
    h = hash_ctor(name, usedforsecurity=False)
    update = h.update
    digest = h.digest
    for _ in itertools.repeat(None, first):
        update(name)
    found: list[bytes] = []
    append = found.append
    for _ in itertools.repeat(None, stop - first):
        update(name)
        append(digest() + suffix)
    return found


def runs(bits: int) -> int:
    """Return how many runs of :data:`RUN_BITS` buckets an index has.

    :param bits: the number of bits of a bucket.
    """
    return max(1, (1 << bits) >> RUN_BITS)


def run_starts(values: Sequence[int], shift: int, bits: int) -> list[int]:
    """Return the first point of each run of the index (:func:`runs`).

    :param values: per sorted point, a value whose top bits past
        ``shift`` are its run: its bucket (``shift`` of
        :data:`RUN_BITS`), or its first word.
    :param shift: the bits below a run in ``values``.
    :param bits: the number of bits of a bucket.
    :returns: per run, its first point (past the last, the point count).

    Runtime complexity: ``O(R log P)`` for ``R`` runs and ``P`` points.
    """
    return [
        bisect.bisect_left(values, run << shift) for run in range(runs(bits))
    ]


def offsets(starts: Sequence[int], bits: int) -> 'array.array[int]':
    """Return the block offsets of a build's index.

    :param starts: the first point of each run, in order (:func:`runs`).
    :param bits: the number of bits of a bucket.
    :returns: per block of 2**OFFSET_BITS buckets, its run's first point.
    """
    per = max(1, (1 << bits) >> OFFSET_BITS) // len(starts)
    return array.array(
        _sizing.WIDE,
        itertools.chain.from_iterable(
            map(itertools.repeat, starts, itertools.repeat(per))
        ),
    )


def tag(number: int) -> bytes:
    """Return the bytes that follow a point's digest: its owner's number."""
    return number.to_bytes(TAG, 'big')
