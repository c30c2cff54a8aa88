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

"""Find the owners of many keys at once: the path of ``map_keys``.

:meth:`hashring.HashRing.map_keys` and :mod:`hashring.movement` hash their
keys in one pass (:func:`hashring.hashing.digests`) and look the digests
up here.  With NumPy, a batch reads their buckets and index entries in C
(:func:`hashring._fastbatch.owners`), and only the digests whose bucket
holds points take a step in Python (given the ring's
:class:`~hashring._fastbatch.Settler`, not even those, but one in a
hundred million).  Without it, or for a few digests, they are looked up
one at a time, as :meth:`hashring.HashRing.get_node` does.
"""

from typing import Any

from hashring import _fastbatch
from hashring import _table
from hashring import _walks
from hashring import exception

#: Fewer digests than this are looked up one at a time even with NumPy:
#: its passes' fixed cost (about 10 us a call) outweighs them.
FEW = 96

_from_bytes = int.from_bytes


def owners(
    table: _table.Table,
    digests: list[bytes],
    settle: _fastbatch.Settler | None = None,
) -> list[Any]:
    """Return the owners of digests, in order, as lookups give them.

    :param table: a ring's table.
    :param digests: the keys' digests, of the ring's hash function.
    :param settle: the table's :func:`~hashring._fastbatch.settler`, or
        None.
    :returns: the owner of each digest.
    :raises hashring.exception.EmptyRingError: the table has no points,
        and there is at least one digest.

    Runtime complexity: ``O(k)`` for ``k`` digests: with NumPy, passes in
    C and a step in Python for each digest whose bucket holds points,
    unless ``settle`` settles them; else a step in Python per digest.
    """
    if not table.npoints and digests:
        raise exception.EmptyRingError('The hash ring has no members')
    fast = (
        _fastbatch.owners(
            digests,
            table.direct,
            table.bits,
            table.offsets,
            table.numbered,
            settle,
        )
        if len(digests) >= FEW
        else None
    )
    if fast is None:
        return _each(table, digests)
    found, spans, lows = fast
    ring_owners = table.owners
    above = _walks.above
    for i, lo in zip(spans, lows):
        found[i] = ring_owners[above(table, digests[i], lo)]
    return found


def _each(table: _table.Table, digests: list[bytes]) -> list[Any]:
    """Return the owners of digests, looked up one at a time.

    Measured against the pure path's passes in C (which read every
    digest's bucket and entry as an int, then bisected those whose bucket
    holds points), this took 0.92 to 0.99 of their time for 10,000
    digests at 320 to a million points, and under half of it for 31.
    """
    direct, shift, numbered = table.direct, table.shift, table.numbered
    ring_owners = table.owners
    above, window = _walks.above, _walks.window
    found: list[Any] = []
    append = found.append
    for digest in digests:
        bucket = _from_bytes(digest, 'big') >> shift
        entry = direct[bucket]
        if entry >= 0:
            append(numbered[entry])
        else:
            append(
                ring_owners[above(table, digest, window(table, entry, bucket))]
            )
    return found
