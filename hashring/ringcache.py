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

"""Published rings built once each, by fingerprint.

The handoff protocol checks keys against the rings its peers publish
(:mod:`hashring.taking`); peers publish the same few rings, one of them
often the ring the member itself applies, and a ring of many members takes
up to seconds to build.
"""

from typing import Any

from hashring import claims
from hashring import exception
from hashring import ring as ring_mod

#: How many distinct published rings a cache keeps built.
CACHE_SIZE = 64


class RingCache:
    """Built rings by fingerprint: peers publish the same few rings."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._rings: dict[str, ring_mod.HashRing] = {}
        #: fingerprints of published rings that did not rebuild, logged once
        self.corrupt: set[str] = set()
        # Why each spec that did not rebuild failed: a peer publishes it
        # on every read, and a large one took seconds at every call.
        self._failed: dict[tuple[Any, ...], str] = {}

    def get(self, spec: claims.RingSpec) -> ring_mod.HashRing:
        """Return the ring of a spec, built once, or failed once.

        :raises hashring.exception.InvalidArgumentError: as
            :meth:`hashring.claims.RingSpec.build`.
        """
        # Keyed only while some spec has failed: sorting the members of
        # every ring looked up cost O(m log m) a take.
        failed = self._failed.get(_key(spec)) if self._failed else None
        if failed is not None:
            raise exception.InvalidArgumentError(failed)
        found = self._rings.get(spec.fingerprint)
        if found is None or dict(found.members) != dict(spec.members):
            try:
                found = spec.build()
            except exception.InvalidArgumentError as exc:
                if len(self._failed) >= self._size:
                    del self._failed[next(iter(self._failed))]
                self._failed[_key(spec)] = str(exc)
                raise
            self._keep(found)
        return found

    def add(self, *rings: ring_mod.HashRing | None) -> None:
        """Keep rings built elsewhere (None is left out).

        A member's peers publish the rings it applies and moves to.
        """
        for ring in rings:
            if ring is not None and ring.fingerprint not in self._rings:
                self._keep(ring)

    def _keep(self, ring: ring_mod.HashRing) -> None:
        if len(self._rings) >= self._size:
            # Dicts keep order: drop the oldest.
            del self._rings[next(iter(self._rings))]
        self._rings[ring.fingerprint] = ring


def _key(spec: claims.RingSpec) -> tuple[Any, ...]:
    """Return all a spec holds, as a key."""
    return (
        spec.fingerprint,
        spec.points,
        spec.hash_function,
        *sorted(spec.members.items()),
    )
