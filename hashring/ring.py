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

"""The consistent hash ring: an immutable value with fast lookups."""

import bisect
from collections.abc import Iterable
from collections.abc import Mapping
import types

from hashring import _batch
from hashring import _fastbatch
from hashring import _members
from hashring import _table
from hashring import _validate
from hashring import _walks
from hashring import exception
from hashring import hashing
from hashring import ringvalue

#: Points per member per unit of weight are ``2 ** partition_exponent``.
DEFAULT_PARTITION_EXPONENT = 5
MAX_PARTITION_EXPONENT = 16

#: A ring of more points than this would take gigabytes; refuse it with a
#: clear error rather than exhaust the host.
MAX_POINTS = 2**24

#: The most points per member per unit of weight (``2 ** 16``, as the
#: greatest exponent gives).
MAX_POINTS_PER_WEIGHT = 2**MAX_PARTITION_EXPONENT

# Bound once: the lookup is hot enough for the attribute lookup to show.
_from_bytes = int.from_bytes
_OFFSET_BITS = _table.OFFSET_BITS
_BLOCK_BITS = _walks.BLOCK_BITS
_RUN_BITS = _walks.RUN_BITS
_RUN_MAX = _walks.RUN_MAX

Member = str | bytes
Key = str | bytes | bytearray | memoryview
Members = Iterable[Member] | Mapping[Member, int]


class HashRing(ringvalue.RingValue):
    """An immutable consistent hash ring, bit-for-bit compatible with tooz.

    Each member gets ``2 ** partition_exponent * weight`` points on a circle
    of hash values; a key belongs to the member owning the first point
    strictly above the key's hash, and its replicas to the next distinct
    members round the circle.  At the same members, weights, exponent and
    hash function this is exactly the mapping of
    ``tooz.hashring.HashRing(members, partitions=2 ** partition_exponent)``,
    so old and new services agree during a rolling upgrade.

    A ring never changes once built; :meth:`with_members` returns a new one.
    Rings are therefore safe to share between threads without a lock.

    :param members: the members, ``str`` or ``bytes`` names (a ``str`` is
        the same member as its UTF-8 encoding), either as an iterable or as
        a mapping of name to integer weight.
    :param partition_exponent: points per member per unit of weight are
        ``2 ** partition_exponent``, from 0 to 16; 5 when neither it nor
        ``points`` is given.  Every service sharing the ring must use the
        same value.
    :param hash_function: the name of a fixed-length :mod:`hashlib`
        algorithm; every service sharing the ring must use the same one.
    :param points: points per member per unit of weight, any integer from
        1 to 65536, instead of an exponent: tooz's ``partitions``, which
        Gnocchi sets to 200.  Give one of ``points`` and
        ``partition_exponent``, or both when they agree.
    :raises hashring.exception.InvalidMemberError: a member is not ``str``
        or ``bytes``, is empty, is given twice (``'x'`` and ``b'x'`` count
        as twice), or has a weight that is not an integer of at least 1.
    :raises hashring.exception.InvalidArgumentError: the exponent, points
        or hash function is invalid, or the ring would exceed
        :data:`MAX_POINTS`.

    Runtime complexity of construction: ``O(P log P)`` for ``P`` points.

    A ring pickles (a pickle holds its parameters, and loading rebuilds
    it), and ``copy.copy`` and ``copy.deepcopy`` return the ring itself,
    since it never changes.
    """

    __slots__ = (
        '_base',
        '_batched',
        '_count',
        '_direct',
        '_exponent',
        '_hash_name',
        '_members',
        '_names',
        '_numbered',
        '_offsets',
        '_owners',
        '_per_weight',
        '_plain',
        '_points',
        '_settle',
        '_shift',
        '_span',
        '_table',
        '_walks',
        '_words',
    )

    def __init__(
        self,
        members: Members,
        partition_exponent: int | None = None,
        hash_function: str = hashing.DEFAULT_HASH_FUNCTION,
        points: int | None = None,
    ) -> None:
        per_weight = _validate.points_per_weight(
            partition_exponent,
            points,
            DEFAULT_PARTITION_EXPONENT,
            MAX_PARTITION_EXPONENT,
        )
        hash_ctor = hashing.hash_constructor(hash_function)
        # Copying an empty hash object is much cheaper than calling the
        # constructor with usedforsecurity=False for every key.
        self._base = hash_ctor(b'', usedforsecurity=False)
        self._plain = hashing.plain_constructor(hash_ctor)
        self._hash_name = hash_function
        self._per_weight = per_weight
        # None where the points are no power of two: no exponent gives them.
        self._exponent = (
            per_weight.bit_length() - 1
            if not per_weight & (per_weight - 1)
            else None
        )
        weights, names = _members.normalise(members)
        self._install(weights, names, None)

    def _install(
        self,
        weights: dict[Member, int],
        names: dict[bytes, Member],
        previous: 'HashRing | None',
    ) -> None:
        """Build and put in place the table of these members.

        From ``previous``, a ring of the same parameters, where that costs
        less than a fresh build (:func:`hashring._members.table_of`).
        """
        table = _members.table_of(
            weights,
            names,
            self._per_weight,
            hashing.hash_constructor(self._hash_name),
            MAX_POINTS,
            None if previous is None else (previous._table, previous._members),
        )
        self._members: Mapping[Member, int] = types.MappingProxyType(weights)
        self._names = names
        self._table: _table.Table = table
        self._points = table.points
        self._count = table.npoints
        self._owners = table.owners
        self._direct = table.direct
        self._numbered = table.numbered
        self._span = table.span
        self._shift = table.shift
        self._offsets = table.offsets
        self._words = table.words
        # Made on the first walk that needs them (get_nodes).
        self._walks: _walks.Walks | None = None
        # Made once map_keys has looked up as many keys as there are
        # points in batches of FEW or more, which then pay for the pass
        # over them (with NumPy).
        self._settle: _fastbatch.Settler | None = None
        self._batched = 0
        self._fingerprint: str | None = None
        self._generation: int | None = None

    # Lookups: the hot path.

    def get_node(self, key: Key) -> Member:
        """Return the member that owns a key (its primary).

        Runtime complexity: ``O(1)``, one digest of the key and a table
        index, whatever the number of members.

        :param key: ``str`` (hashed as its UTF-8 encoding) or bytes.
        :returns: the owning member, as it was given to the ring.
        :raises hashring.exception.InvalidKeyError: the key is of another
            type.
        :raises hashring.exception.EmptyRingError: the ring has no members.
        """
        # Exact classes only on the fast paths: a hash takes any buffer, an
        # array.array's machine-order bytes included.  The built-in md5 is
        # called with the data, not copied and updated: 0.94 to 0.98 of
        # the time of a get_node.
        new = self._plain
        if new is not None and key.__class__ is str:
            try:
                digest = new(key.encode()).digest()
            except UnicodeEncodeError:
                digest = hashing.digest(self._base, key)
        elif new is not None and key.__class__ is bytes:
            digest = new(key).digest()
        else:
            h = self._base.copy()
            if key.__class__ is bytes:
                h.update(key)
            else:
                try:
                    h.update(key.encode() if key.__class__ is str else None)
                except (TypeError, UnicodeEncodeError):
                    h.update(hashing.encode(key))
            digest = h.digest()
        bucket = _from_bytes(digest, 'big') >> self._shift
        entry = self._direct[bucket]
        if entry >= 0:
            return self._numbered[entry]  # type: ignore[no-any-return]
        return self._bisect(digest, ~entry, bucket)

    def get_nodes(
        self,
        key: Key,
        ignore_nodes: Iterable[Member] | None = None,
        replicas: int = 1,
    ) -> list[Member]:
        """Return the distinct members for a key, primary first.

        The members come in the ring's walk order, the order in which
        ``tooz.hashring.HashRing.get_nodes`` collects its set.  Ignored
        members are skipped; the owners of other keys do not change.

        Runtime complexity: ``O(r)`` for ``r`` replicas and no ignored
        members, when ``r`` is at most 4 or the next ``r`` points have
        distinct owners (the usual case among many members); otherwise
        ``O(log P + s)`` for ``P`` points, where ``s`` is the number of
        points walked, up to ``P`` when most members are ignored.  The
        first call for more than one replica makes the ring's walk tables
        (:func:`hashring._walks.walks`): ``O(P + B)`` for ``B`` index
        buckets, once per ring (half a build; about a byte per bucket and
        point).

        :param key: ``str`` (hashed as its UTF-8 encoding) or bytes.
        :param ignore_nodes: members to skip; names that are not members
            are allowed and change nothing.
        :param replicas: how many members to return, at least 1; fewer are
            returned when there are fewer members left to choose from.
        :returns: a list of distinct members, primary first; empty only
            when every member is ignored.
        :raises hashring.exception.InvalidKeyError: the key is of another
            type.
        :raises hashring.exception.InvalidArgumentError: replicas is not an
            integer of at least 1.
        :raises hashring.exception.EmptyRingError: the ring has no members.
        """
        if replicas.__class__ is not int or replicas < 1:
            _validate.integer('replicas', replicas, 1)
        if ignore_nodes:
            taken = _members.ignored(self._names, ignore_nodes)
            wanted = min(replicas, len(self._members) - len(taken))
            digest = hashing.digest(self._base, key)
            return _walks.walk(self._table, digest, wanted, taken)
        # As get_node, up to the first point above the key (inlined: a
        # call to hashing.digest() adds about 5% to a replica walk).
        new = self._plain
        if new is not None and key.__class__ is str:
            try:
                digest = new(key.encode()).digest()
            except UnicodeEncodeError:
                digest = hashing.digest(self._base, key)
        elif new is not None and key.__class__ is bytes:
            digest = new(key).digest()
        else:
            h = self._base.copy()
            if key.__class__ is bytes:
                h.update(key)
            else:
                try:
                    h.update(key.encode() if key.__class__ is str else None)
                except (TypeError, UnicodeEncodeError):
                    h.update(hashing.encode(key))
            digest = h.digest()
        bucket = _from_bytes(digest, 'big') >> self._shift
        if replicas == 1:
            entry = self._direct[bucket]
            return [
                self._numbered[entry]
                if entry >= 0
                else self._bisect(digest, ~entry, bucket)
            ]
        walks = self._walks or self._walk_tables()
        start = walks.after[bucket]
        if start:
            i = (start >> _RUN_BITS) + walks.base[bucket >> _BLOCK_BITS]
            # Among many members the next few points mostly have distinct
            # owners: then the walk is a slice of them.
            if start & _RUN_MAX >= replicas:
                return self._owners[i : i + replicas]
        else:
            # The bucket holds points (or the ring none).
            if not self._count:
                raise exception.EmptyRingError('The hash ring has no members')
            i = _walks.above(
                self._table,
                digest,
                _walks.window(self._table, self._direct[bucket], bucket),
            )
        if walks.distinct[i] >= replicas:
            return self._owners[i : i + replicas]
        if replicas <= _walks.SHORT_WALK:
            # Kept: a walk among few members (or every member).
            return list(walks.short[i][:replicas])
        wanted = min(replicas, len(self._members))
        return _walks.walk(self._table, digest, wanted, set(), i)

    def map_keys(self, keys: Iterable[Key]) -> list[Member]:
        """Return the primary of every key, in the order of the keys.

        The same answers as :meth:`get_node` for each key, at a lower cost
        per key: a batch does its table lookups in C.  With NumPy, once a
        ring has mapped as many keys as it has points (in batches of
        :data:`hashring._batch.FEW` or more), it keeps the first
        word and the owner of each point in arrays (6 bytes a point, 2
        where it keeps the words already), with which keys whose bucket
        holds points are settled in C too.

        Runtime complexity: ``O(k)`` for ``k`` keys (and ``O(P)`` once,
        for ``P`` points, to make those arrays).

        :param keys: ``str`` or bytes keys.
        :returns: a list with the owning member of each key.
        :raises hashring.exception.InvalidKeyError: a key is of another type.
        :raises hashring.exception.EmptyRingError: the ring has no members
            (and there is at least one key).
        """
        return self._owners_of(self._digests(keys))

    def with_members(self, members: Members) -> 'HashRing':
        """Return a new ring of other members with the same parameters.

        It maps every key exactly as a ring built afresh of the same
        members does, and costs less when few members change: the points
        of members kept with their weight are kept, not hashed again.

        Runtime complexity: ``O(P)`` copies in C and ``O(a log P)`` for
        ``a`` points added, when few change; as a fresh build otherwise.

        :param members: as for :class:`HashRing`.
        :returns: a new :class:`HashRing`; this ring is unchanged.
        :raises: as :class:`HashRing`.
        """
        weights, names = _members.same_objects(
            *_members.normalise(members), self._names
        )
        ring = HashRing.__new__(HashRing)
        for name in ('_base', '_plain', '_hash_name', '_per_weight'):
            setattr(ring, name, getattr(self, name))
        ring._exponent = self._exponent
        ring._install(weights, names, self)
        return ring

    # Helpers off the hot path.

    def _walk_tables(self) -> _walks.Walks:
        """Make the ring's walk tables, once (see :meth:`get_nodes`)."""
        walks = self._walks = _walks.walks(self._table)
        return walks

    def _digests(self, keys: Iterable[Key]) -> list[bytes]:
        """Return the digests of keys, in order."""
        return hashing.digests(self._base, self._plain, keys)

    def _owners_of(self, digests: list[bytes]) -> list[Member]:
        """Return the owners of digests, in order (the batch hot path)."""
        # Counted where the batch is one that a settler speeds.
        if self._settle is None and len(digests) >= _batch.FEW:
            self._batched += len(digests)
            if self._batched >= self._count:
                self._settle = _fastbatch.settler(self._table)
        return _batch.owners(self._table, digests, self._settle)

    def _bisect(self, digest: bytes, lo: int, bucket: int) -> Member:
        """Return the owner of a digest whose bucket's entry gives ``lo``.

        ``lo`` plus its block's offset is its first point, or in an
        updated ring a lower bound of it (:class:`_table.Table`).
        """
        if not self._count:
            raise exception.EmptyRingError('The hash ring has no members')
        # As _walks.window(), inlined: this is the path of every lookup
        # that lands in a bucket holding points.
        lo += self._offsets[bucket >> _OFFSET_BITS]
        if self._words is not None:
            # A big ring's points lie all over memory: read its words.
            return self._owners[  # type: ignore[no-any-return]
                _walks.above(self._table, digest, lo)
            ]
        return self._owners[  # type: ignore[no-any-return]
            bisect.bisect_right(
                self._points, digest + _table.PAD, lo, lo + self._span
            )
        ]
