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

"""The invariants of a ring, which the tests check on the rings they make."""

import bisect

from hashring import _arcs
from hashring import _table
from hashring import _walks

_from_bytes = int.from_bytes


def check(ring):
    """Assert a ring's invariants: ``O(B log P)`` for ``B`` buckets."""
    count = ring._count
    points = ring._points[:count]
    assert all(a < b for a, b in zip(points, points[1:]))
    if not count:
        assert not ring._members
        return
    assert len(ring._points) == len(ring._owners) == count + ring._span
    assert all(p > points[-1] for p in ring._points[count:])
    assert all(o is ring._owners[0] for o in ring._owners[count:])
    assert set(ring._owners) == set(ring._members)
    # Owners are told apart by identity: the members' own objects.
    assert {id(o) for o in ring._owners} <= set(map(id, ring._members))
    # A dead point is owned as the next live point is (past the last,
    # the first).
    dead = ring._table.dead
    following = next(o for p, o in zip(points, ring._owners) if p not in dead)
    for i in reversed(range(count)):
        if points[i] in dead:
            assert ring._owners[i] is following, i
        else:
            following = ring._owners[i]
    # Rings of many points keep each point's first word, sentinels too.
    words = ring._words
    assert (words is not None) == (count >= _table.WORDS_MIN_POINTS)
    if words is not None:
        assert list(words) == [_from_bytes(p[:4], 'big') for p in ring._points]
    # Arcs carried through updates are those measured afresh.
    if ring._table.arcs is not None:
        assert ring._table.arcs == _arcs.of(ring._table)
    step = 1 << ring._shift
    width = ring._base.digest_size
    for bucket, entry in enumerate(ring._direct):
        start = (bucket * step).to_bytes(width, 'big')
        lo = bisect.bisect_left(points, start)
        if bucket + 1 < len(ring._direct):
            end = ((bucket + 1) * step).to_bytes(width, 'big')
            hi = bisect.bisect_left(points, end)
        else:
            hi = count
        if entry < 0:
            # A lower bound of its first point, once updated.
            low = _walks.window(ring._table, entry, bucket)
            assert low <= lo < hi <= low + ring._span, (bucket, lo)
        else:
            assert lo == hi
            assert ring._numbered[entry] is ring._owners[lo]
