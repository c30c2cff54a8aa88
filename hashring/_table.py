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
first words: :data:`WORDS_MIN_POINTS`).  The work per lookup does not
grow with the number of members; on rings of millions of points it waits
longer on memory, as ``python -m benchmarks.huge`` measures.
"""

import array
from collections.abc import Sequence
import itertools
import operator
from typing import Any
from typing import NamedTuple

from hashring import _bulk
from hashring import _fast
from hashring import _pure
from hashring import hashing


# Bound once, as in the ring: it runs once per point patched.
_from_bytes = int.from_bytes

#: Bytes of owner number after each point's digest.
TAG = 4

#: What a key's digest is padded with before a bisect of the points: it
#: sorts above every tag, so a point of the very digest of a key (a key
#: that is a member's name repeated) counts as below the key, as in tooz.
PAD = b'\xff' * TAG

#: Buckets per point are at least 2**BUCKET_SLACK_BITS, so that at most
#: about one key in five lands in a bucket that needs a bisect.  More
#: buckets make fewer bisects but a larger index: at three bits, the index
#: of a thousand members' ring no longer fits a core's cache, and lookups
#: and builds were both slower in benchmarks/run.py.
BUCKET_SLACK_BITS = 2

#: Cap on the bucket index: 2**26 buckets of 4 bytes are 256 MiB, reached
#: past eight million points (whose digests take twice that), so that a
#: ring of ten million points still has six buckets per point.  At 2**24,
#: 46% of that ring's buckets held points and get_node cost 3.4 md5s.
MAX_BUCKET_BITS = 26

#: An updated table's index moves on by blocks of 2**OFFSET_BITS buckets
#: (:attr:`Table.offsets`): small enough that few new points fall in one
#: block, which each widen the window, and large enough that the offsets
#: are a small share of the index.
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

#: Arcs (:func:`arcs`) are measured on the top 64 bits of each point:
#: exact to one part in 2**64, and read in C.
ARC_BITS = 64

# Index entries in 4 bytes where the platform has them (it does, but C
# only promises 2 for an int); in 2 bytes where they fit, which halves the
# index of a small ring (a third of its memory).
_ENTRY = 'i' if array.array('i').itemsize >= 4 else 'l'
#: The typecode of an index of two-byte entries.
SHORT = 'h'
_SHORT_LIMIT = 1 << (8 * array.array(SHORT).itemsize - 1)
#: The typecode of :attr:`Table.words`.
WORD = 'I' if array.array('I').itemsize >= 4 else 'L'
#: The word of the sentinels (:attr:`Table.points`).
_LAST_WORD = 0xFFFFFFFF


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
    #: the bucket holds points, ``~i`` (negative) for its first point ``i``
    #: (in an updated table, ``i`` plus its block's offset is a lower
    #: bound of it)
    direct: 'array.array[int]'
    #: the members by number, as the index and the tags give them
    numbered: list[Any]
    #: the most points any bucket holds: a bucket's bisect window (in an
    #: updated table, wider by the most points inserted into one block)
    span: int
    #: right shift that turns a digest, read as an integer, into a bucket
    shift: int
    #: the real points that are dead: points of members that an update
    #: (:func:`hashring._patch.update`) removed, each owned by the owner
    #: of the next live point, so that every key maps as if they were gone
    dead: frozenset[bytes] = frozenset()
    #: per owner number, the hash space it owns (:func:`arcs`), where
    #: they were measured, or carried from the table an update patched
    arcs: list[int] | None = None
    #: None where every occupied bucket's entry is its first point; else,
    #: per block of 2**OFFSET_BITS buckets, the points an update inserted
    #: before the block, which the entries there leave out
    offsets: 'array.array[int] | None' = None
    #: where there are :data:`WORDS_MIN_POINTS` points or more, the
    #: first 32-bit word of each of ``points``, sentinels included
    #: (all ones), read big-endian; else None
    words: 'array.array[int] | None' = None

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
        direct = array.array(SHORT, [~0])
        return Table((), 0, [], direct, numbered, 0, size * 8)
    indexed = _fast.index(
        points,
        numbered,
        size,
        bits_for(len(points), size),
        typecode(len(points), len(numbered)),
    )
    if indexed is not None:
        points, owners, direct, span, words = indexed
    else:
        points.sort()
        owners, direct, span, words = _pure.index(
            points, members, numbered, size
        )
    return assemble(points, owners, direct, numbered, span, size, words)


def assemble(
    points: Sequence[bytes],
    owners: list[Any],
    direct: 'array.array[int]',
    numbered: list[Any],
    span: int,
    size: int,
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
    found.extend(itertools.repeat(_LAST_WORD, span))
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


def bits_for(count: int, size: int) -> int:
    """Return how many top bits of a digest make a bucket.

    :param count: how many points the ring has.
    :param size: the digests' size, in bytes.
    """
    return min(
        count.bit_length() + BUCKET_SLACK_BITS, MAX_BUCKET_BITS, size * 8
    )


def tag(number: int) -> bytes:
    """Return the bytes that follow a point's digest: its owner's number."""
    return number.to_bytes(TAG, 'big')


def typecode(points: int, members: int) -> str:
    """Return the typecode of an index of so many points and members.

    Its entries run from ``~(points - 1)`` to ``members - 1``.
    """
    return SHORT if max(points, members) <= _SHORT_LIMIT else _ENTRY


def arcs(table: Table) -> list[int]:
    """Return how much of the hash space each owner number owns.

    A key goes to the first point above its digest, so each point owns
    the arc from the point before it (the first, from the last).  A dead
    point's arc is its live owner's.

    :param table: a table with points.
    :returns: per owner number, the sum of its arcs on the top
        :data:`ARC_BITS` bits of the points; they add up to
        ``2**ARC_BITS``, and members gone own none.

    Runtime complexity: ``O(P)``, a step in Python per point; in C where
    NumPy is installed (:func:`hashring._fast.arcs`).
    """
    count = table.npoints
    points = table.points[:count]
    size = len(points[0]) - TAG
    numbers = None
    if table.dead:
        # A dead point's tag names the member it was built for.
        number = {m: n for n, m in enumerate(table.numbered)}
        numbers = list(map(number.__getitem__, table.owners[:count]))
    found = _fast.arcs(points, numbers, len(table.numbered))
    if found is not None:
        return found
    high, low, tags = _bulk.words(points, size + TAG, 0, 4, size)
    if numbers is None:
        numbers = tags
    starts = _bulk.words64(high, low)
    found = [0] * len(table.numbered)
    for n, arc in zip(
        numbers, map(operator.sub, starts, starts[-1:] + starts[:-1])
    ):
        found[n] += arc
    # The first point's arc runs from the last point, round the ring.
    found[numbers[0]] += 1 << ARC_BITS
    return found
