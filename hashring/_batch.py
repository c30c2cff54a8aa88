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
up here: their buckets and index entries are read in C (by NumPy where it
is installed, :func:`hashring._fastbatch.owners`, else
:func:`hashring._bulk.owners`), and only the digests whose bucket holds
points take a bisect, in Python: with NumPy, given the ring's
:class:`~hashring._fastbatch.Settler`, not even those (but one in a
hundred million).
"""

import bisect
from typing import Any

from hashring import _bulk
from hashring import _fastbatch
from hashring import _table
from hashring import _walks
from hashring import exception


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

    Runtime complexity: ``O(k)`` for ``k`` digests: passes in C, and a
    bisect of a bucket's window for each digest whose bucket holds points.
    """
    if not table.npoints and digests:
        raise exception.EmptyRingError('The hash ring has no members')
    index = (table.direct, table.bits, table.offsets)
    found, spans, lows = _fastbatch.owners(
        digests, *index, table.numbered, settle
    ) or _bulk.owners(digests, *index, table.numbered, _table.OFFSET_BITS)
    ring_owners = table.owners
    if table.words is not None:
        for i, lo in zip(spans, lows):
            found[i] = ring_owners[_walks.above(table, digests[i], lo)]
        return found
    points = table.points
    span = table.span
    right = bisect.bisect_right
    pad = _table.PAD
    for i, lo in zip(spans, lows):
        found[i] = ring_owners[right(points, digests[i] + pad, lo, lo + span)]
    return found
