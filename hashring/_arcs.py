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

"""Measure the hash space each member of a ring's table owns: its arcs.

:mod:`hashring.balance` reports them; an update
(:func:`hashring._patch.update`) carries them point by point changed.
"""

import operator

from hashring import _bulk
from hashring import _fast
from hashring import _table


def of(table: _table.Table) -> list[int]:
    """Return how much of the hash space each owner number owns.

    A key goes to the first point above its digest, so each point owns
    the arc from the point before it (the first, from the last).  A dead
    point's arc is its live owner's.

    :param table: a table with points.
    :returns: per owner number, the sum of its arcs on the top
        :data:`hashring._table.ARC_BITS` bits of the points; they add up to
        ``2**ARC_BITS``, and members gone own none.

    Runtime complexity: ``O(P)``, a step in Python per point; in C where
    NumPy is installed (:func:`hashring._fast.arcs`).
    """
    count = table.npoints
    points = table.points[:count]
    size = len(points[0]) - _table.TAG
    numbers = None
    if table.dead:
        # A dead point's tag names the member it was built for.
        number = {m: n for n, m in enumerate(table.numbered)}
        numbers = list(map(number.__getitem__, table.owners[:count]))
    found = _fast.arcs(points, numbers, len(table.numbered))
    if found is not None:
        return found
    high, low, tags = _bulk.words(points, size + _table.TAG, 0, 4, size)
    if numbers is None:
        numbers = tags
    starts = _bulk.words64(high, low)
    found = [0] * len(table.numbered)
    for n, arc in zip(
        numbers, map(operator.sub, starts, starts[-1:] + starts[:-1])
    ):
        found[n] += arc
    # The first point's arc runs from the last point, round the ring.
    found[numbers[0]] += 1 << _table.ARC_BITS
    return found
