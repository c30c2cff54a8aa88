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

"""A short string that rings mapping every key alike share.

:attr:`hashring.HashRing.fingerprint`, which services sharing a ring
publish to check that they agree.
"""

import hashlib
import itertools
import operator
from typing import Any

from hashring import _table


def fingerprint(
    table: _table.Table, names: dict[bytes, Any], hash_name: str
) -> str:
    """Return the fingerprint of a ring's table.

    It hashes where ownership changes round the circle: the digest of the
    last point of each run of one owner, and that owner's encoded name.
    The owner numbers in the points' tags are left out, since another
    ring of the same mapping may number its members otherwise.

    :param table: the ring's table.
    :param names: the ring's members by encoded name.
    :param hash_name: the name of the ring's hash function.
    :returns: 16 hexadecimal digits.

    Runtime complexity: ``O(P)`` for ``P`` points, mostly in C.
    """
    h = hashlib.sha256(usedforsecurity=False)
    count = table.npoints
    owners = table.owners
    if len(names) <= 1:
        # One member owns every key, whatever the hash or point count.
        h.update(b'members:%d\0' % len(names))
        owners = owners[:1]
    else:
        h.update(hash_name.encode('ascii') + b'\0')
    encoded = {m: name for name, m in names.items()}
    tagged = {m: len(n).to_bytes(4, 'big') + n for m, n in encoded.items()}
    # Only the last point of each run of one owner decides anything: a
    # key's owner is the owner of the run its hash falls in.  One update
    # of the joined runs hashes the same bytes as one per run; the maps
    # keep the pass over every point in C.
    ends = list(map(operator.is_not, owners[:count], owners[1:]))
    size = len(table.points[0]) - _table.TAG if count else 0
    digests = map(
        operator.getitem,
        itertools.compress(table.points, ends),
        itertools.repeat(slice(0, size)),
    )
    h.update(
        b''.join(
            map(
                operator.add,
                digests,
                map(tagged.__getitem__, itertools.compress(owners, ends)),
            )
        )
    )
    for owner in owners[:1]:
        h.update(encoded[owner])
    return h.hexdigest()[:16]
