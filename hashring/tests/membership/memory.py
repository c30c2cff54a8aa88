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

"""An in-memory membership backend on a clock the test moves.

It exercises the logic of the base class and of the liveness judge on
simulated time; the drivers are tested against real servers.
"""

from hashring import exception
from hashring.membership import base
from hashring.tests.membership import contract


class MemoryBackend:
    """A stand-in backend shared by the MemorySources of one test."""

    def __init__(self):
        self.groups = {}
        self.down = False
        self.clock = base.utcnow()


class MemorySource(base.MembershipSource):
    """A driver over MemoryBackend, to test the base class's logic."""

    name = 'memory'

    def __init__(self, backend, **overrides):
        super().__init__(None, **overrides)
        self.store = backend

    def _check(self):
        if self.store.down:
            raise exception.MembershipUnavailable(self.backend, 'down')

    def _read(self, group):
        self._check()
        return list(self.store.groups.get(group, {}).values()), (
            self.store.clock
        )

    def _register(self, group, record):
        self._check()
        self.store.groups.setdefault(group, {})[record.id] = base.Record(
            record.id,
            record.state,
            record.weight,
            record.attributes,
            self.store.clock,
        )

    def _rewrite(self, group, record):
        old = self.store.groups.get(group, {}).get(record.id)
        if old is not None:
            record = base.Record(
                record.id,
                old.state,
                record.weight,
                record.attributes,
                None,
            )
        self._register(group, record)

    def _set_state(self, group, record):
        old = self.store.groups.get(group, {}).get(record.id)
        if old is not None:
            record = base.Record(
                old.id, record.state, old.weight, old.attributes, None
            )
        self._register(group, record)

    def _beat(self, groups, record, recovering):
        self._check()
        lost = []
        for group in groups:
            old = self.store.groups.get(group, {}).get(record.id)
            if old is None:
                lost.append(group)
            else:
                self.store.groups[group][record.id] = base.Record(
                    old.id,
                    old.state,
                    old.weight,
                    old.attributes,
                    self.store.clock,
                    (old.heartbeat, self.store.clock)
                    if recovering
                    else old.outage,
                )
        return lost

    def _unregister(self, group, member_id):
        self._check()
        self.store.groups.get(group, {}).pop(member_id, None)


class MemoryTestMixin:
    """setUp a MemoryBackend; source() makes sources on it, closed after."""

    def setUp(self):
        super().setUp()
        self.store = MemoryBackend()

    def source(self, **overrides):
        source = MemorySource(self.store, **{**contract.FAST, **overrides})
        self.addCleanup(source.close)
        return source
