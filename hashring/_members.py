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

"""A ring's members: validated, encoded, and matched to a previous ring's.

A ring is given its members as names (``str`` or ``bytes``), optionally
with weights.  :func:`normalise` checks them and encodes their names once,
in the order of the encoded names, so that nothing about a ring depends on
the order the members came in; :func:`same_objects` hands an update the
previous ring's objects for members read afresh, and :func:`table_of`
the table of the members, which :func:`changed_table` patches from that
ring's where few changed.
:func:`ignored` finds the members among the names a walk skips.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import itertools
from typing import Any

from hashring import _patch
from hashring import _table
from hashring import _validate
from hashring import exception
from hashring import hashing

#: Owner numbers of members gone that a table keeps, past twice its
#: members, before a change builds it afresh (:func:`changed_table`).
SPARE_NUMBERS = 16


def normalise(
    members: Iterable[Any] | Mapping[Any, int],
) -> tuple[dict[Any, int], dict[bytes, Any]]:
    """Validate members; return their weights and their encoded names.

    :param members: names, or a mapping of name to weight, as
        :class:`hashring.HashRing` takes them.
    :returns: each member's weight, and each encoded name's member: both
        dicts in the order of the encoded names, so that nothing about
        the ring depends on the order the members were given in.
    :raises hashring.exception.InvalidArgumentError: ``members`` is no
        collection.
    :raises hashring.exception.InvalidMemberError: a member is not
        ``str`` or ``bytes``, cannot be encoded, is empty, is given twice,
        or has a weight that is not an integer of at least 1.

    Runtime complexity: ``O(m log m)`` for ``m`` members.
    """
    if isinstance(members, (str, bytes)) or not isinstance(members, Iterable):
        raise exception.InvalidArgumentError(
            f'members must be a collection of names or a mapping of name to '
            f'weight, not {members!r}'
        )
    # Pairs iterated, not listed: a tuple per member would be garbage the
    # collector walks (a manager's refresh builds many rings).
    pairs: Iterable[tuple[Any, Any]] = (
        members.items()
        if isinstance(members, Mapping)
        else zip(members, itertools.repeat(1))
    )
    names: dict[bytes, Any] = {}
    weights: dict[bytes, int] = {}
    for member, weight in pairs:
        if member.__class__ is str:
            try:
                name = member.encode()
            except UnicodeEncodeError as exc:
                raise exception.InvalidMemberError(
                    member, f'it cannot be encoded as UTF-8: {exc.reason}'
                ) from exc
        elif member.__class__ is bytes:
            name = member
        else:
            name = _encode_member(member)
        if not name:
            raise exception.InvalidMemberError(member, 'a name is required')
        if name in names:
            _validate.repeated(member, names[name])
        if weight.__class__ is not int or weight < 1:
            weight = _validate.weight(member, weight)
        names[name] = member
        weights[name] = weight
    ordered = sorted(names)
    return (
        {names[name]: weights[name] for name in ordered},
        {name: names[name] for name in ordered},
    )


def _encode_member(member: Any) -> bytes:
    """Encode a member that is not exactly ``str`` or ``bytes``."""
    if not isinstance(member, (str, bytes)):
        raise exception.InvalidMemberError(
            member, 'members must be str or bytes'
        )
    try:
        return hashing.encode(member)
    except exception.HashRingError as exc:
        raise exception.InvalidMemberError(member, str(exc)) from exc


def same_objects(
    weights: dict[Any, int],
    names: dict[bytes, Any],
    kept: dict[bytes, Any],
) -> tuple[dict[Any, int], dict[bytes, Any]]:
    """Return members as a previous ring's objects where they are equal.

    The points an update keeps are owned by the previous ring's objects,
    and the ring tells owners apart by identity (one ``is`` per point is
    what keeps its scans in C), so a member read afresh (a new ``str`` of
    the same name) must be the very object that owns its old points.

    :param weights: the members' weights, as :func:`normalise` gives them.
    :param names: their encoded names, likewise.
    :param kept: the previous ring's members by encoded name.
    :returns: ``weights`` and ``names``, with the previous ring's objects
        for the members equal to one of them.

    Runtime complexity: ``O(m)`` for ``m`` members.
    """
    same = {}
    for name, member in names.items():
        old = kept.get(name)
        if (
            old is not None
            and old is not member
            and old.__class__ is member.__class__
            and old == member
        ):
            same[name] = old
    if not same:
        return weights, names
    names = {name: same.get(name, member) for name, member in names.items()}
    weights = {names[name]: weights[m] for name, m in zip(names, weights)}
    return weights, names


def ignored(names: dict[bytes, Any], ignore_nodes: Iterable[Any]) -> set[Any]:
    """Return the members among names to ignore.

    :param names: a ring's members by encoded name.
    :param ignore_nodes: names to ignore; those of no member are allowed.
    :raises hashring.exception.InvalidArgumentError: ``ignore_nodes`` is
        no collection.
    :raises hashring.exception.InvalidMemberError: it holds a name that is
        not ``str`` or ``bytes``.
    """
    if isinstance(ignore_nodes, (str, bytes)) or not isinstance(
        ignore_nodes, Iterable
    ):
        raise exception.InvalidArgumentError(
            f'ignore_nodes must be a collection of members, not '
            f'{ignore_nodes!r}'
        )
    found = set()
    for name in ignore_nodes:
        if not isinstance(name, (str, bytes)):
            raise exception.InvalidMemberError(
                name, 'ignore_nodes holds only str or bytes names'
            )
        member = names.get(hashing.encode(name))
        if member is not None:
            found.add(member)
    return found


def table_of(
    weights: dict[Any, int],
    names: dict[bytes, Any],
    per_weight: int,
    hash_ctor: hashing.HashConstructor,
    limit: int,
    previous: tuple[_table.Table, Mapping[Any, int]] | None = None,
) -> _table.Table:
    """Return the table of a ring's members.

    :param weights: the members' weights, as :func:`normalise` (or
        :func:`same_objects`) gives them.
    :param names: their encoded names, likewise.
    :param per_weight: the ring's points per unit of weight.
    :param hash_ctor: the ring's hash constructor.
    :param limit: the most points a ring may have.
    :param previous: the table and members of a ring of the same
        parameters, patched where that costs less than a fresh build
        (:func:`changed_table`); or None.
    :raises hashring.exception.InvalidArgumentError: the ring would have
        more than ``limit`` points.

    Runtime complexity: that of :func:`hashring._table.build`, or of
    :func:`changed_table`.
    """
    total = sum(weights.values()) * per_weight
    if total > limit:
        raise exception.InvalidArgumentError(
            f'A ring of {total} points is too large (at most {limit}); '
            f'lower partition_exponent or the weights'
        )
    if previous is not None:
        table = changed_table(*previous, weights, names, per_weight, hash_ctor)
        if table is not None:
            return table
    return _table.build(
        [(n, m, weights[m] * per_weight) for n, m in names.items()],
        hash_ctor,
    )


def changed_table(
    table: _table.Table,
    old: Mapping[Any, int],
    weights: dict[Any, int],
    names: dict[bytes, Any],
    per_weight: int,
    hash_ctor: hashing.HashConstructor,
) -> _table.Table | None:
    """Return the table of other members updated from a ring's, or None.

    :param table: the previous ring's table.
    :param old: the previous ring's members and weights.
    :param weights: the new members' weights, as :func:`same_objects`
        gives them.
    :param names: their encoded names, likewise.
    :param per_weight: the rings' points per unit of weight.
    :param hash_ctor: the rings' hash constructor.
    :returns: the table (``table`` itself where nothing changes), or None
        where a fresh build is due: many members change, one loses
        weight, or the ring had colliding points.

    Runtime complexity: that of :func:`hashring._patch.update`.
    """
    if table.live != sum(old.values()) * per_weight:
        return None  # colliding points: build() sorts them out
    if len(table.numbered) > 2 * len(weights) + SPARE_NUMBERS:
        # The numbers of members gone pile up where changes are merged
        # (their points dropped, not kept dead): a build numbers afresh.
        return None
    removed = {m for m in old if m not in weights}
    added = []
    for name, member in names.items():
        before = old.get(member, 0) * per_weight
        after = weights[member] * per_weight
        if after < before:
            return None
        if after > before:
            added.append((name, member, before, after))
    if not removed and not added:
        # The same members and weights: a table never changes, so the
        # new ring shares it.
        return table
    lost = sum(old[m] for m in removed) * per_weight
    return _patch.update(table, removed, lost, added, hash_ctor)
