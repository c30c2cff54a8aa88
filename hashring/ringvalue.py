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

"""What a ring tells of itself, and how it behaves as a value.

The part of :class:`hashring.HashRing` that is neither a lookup nor its
construction: its members and parameters, its fingerprint and generation,
membership tests, its length, and copies (a ring never changes, so a copy
is the ring itself).
"""

from collections.abc import Mapping
import typing
from typing import Any

from hashring import _fingerprint
from hashring import exception
from hashring import hashing

if typing.TYPE_CHECKING:
    from hashring import _table
    from hashring import ring


class RingValue:
    """The attributes and value behaviour of a ring (a mixin)."""

    # Set by the ring's construction; the fingerprint is measured once.
    __slots__ = ('_fingerprint', '_generation')
    _fingerprint: str | None
    _generation: int | None

    if typing.TYPE_CHECKING:
        # What HashRing provides, for the type checker.
        _members: Mapping[ring.Member, int]
        _names: dict[bytes, ring.Member]
        _table: _table.Table
        _exponent: int | None
        _per_weight: int
        _hash_name: str

    @property
    def members(self) -> Mapping['ring.Member', int]:
        """The members and their weights (a read-only mapping)."""
        return self._members

    @property
    def partition_exponent(self) -> int | None:
        """Points per member per unit of weight are ``2 ** exponent``.

        None for a ring built with a number of ``points`` that is no power
        of two.
        """
        return self._exponent

    @property
    def points(self) -> int:
        """Points per member per unit of weight (tooz's ``partitions``)."""
        return self._per_weight

    @property
    def hash_function(self) -> str:
        """The name of the hashlib algorithm the ring uses."""
        return self._hash_name

    @property
    def fingerprint(self) -> str:
        """A short string, equal for rings that map every key alike.

        Services that share a ring can publish it to check that they agree.
        It is derived from where ownership changes round the circle, so it
        differs when any key would map differently, even to a replica, and
        is equal for rings that place the same points, such as weights 2
        and 2 at exponent 5 and weights 1 and 1 at exponent 6.

        Runtime complexity: ``O(P)`` the first time, then ``O(1)``.
        """
        if self._fingerprint is None:
            self._fingerprint = _fingerprint.fingerprint(
                self._table, self._names, self._hash_name
            )
        return self._fingerprint

    @property
    def generation(self) -> int | None:
        """The generation a :class:`hashring.RingManager` gave this ring.

        It grows by one each time the manager's ring of a group changes;
        None for a ring built directly.
        """
        return self._generation

    def __contains__(self, member: object) -> bool:
        """Tell whether a name is a member (``'x'`` and ``b'x'`` alike)."""
        try:
            return hashing.encode(member) in self._names
        except exception.HashRingError:
            return False

    def __len__(self) -> int:
        """Return the number of members."""
        return len(self._members)

    def __repr__(self) -> str:
        return (
            f'<HashRing members={len(self._members)} '
            f'points={self._per_weight} '
            f'hash_function={self._hash_name}>'
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # The parameters rebuild the ring; pickle then sets the generation.
        return (
            self.__class__,
            (dict(self._members), None, self._hash_name, self._per_weight),
            (None, {'_generation': self._generation}),
        )

    # A ring never changes: a copy of it is the ring itself.

    def __copy__(self) -> 'RingValue':
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> 'RingValue':
        return self


def checked(name: str, value: Any) -> Any:
    """Return value if it is a ring, else raise an error naming it.

    :param name: the argument's name, for the message.
    :raises hashring.exception.InvalidArgumentError: it is not a
        :class:`hashring.HashRing` (a ``compat.ToozHashRing``, say).
    """
    if not isinstance(value, RingValue):
        raise exception.InvalidArgumentError(
            f'{name} must be a hashring.HashRing, not '
            f'{type(value).__name__} {value!r:.80}'
        )
    return value
