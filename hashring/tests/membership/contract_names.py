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

"""The names a registering driver keeps, and the member's past names."""

from tooz import hashring as tooz_hashring

from hashring import manager
from hashring import membership


class Names:
    """Tests of member names, mixed into :class:`contract.Contract`.

    The test case gives ``source()`` and ``read()``.
    """

    def test_registered_names_are_kept(self):
        names = ['Conductor-1.example.org:8089', 'c\u00e9-2', 'Host-3']
        if self.ascii_ids:
            names[1] = 'Ce-2'
        sources = [self.source() for _ in names]
        for source, name in zip(sources, names):
            source.join(name, self.group)
        snapshot = self.read()
        self.assertEqual(
            sorted(membership.canonical_id(n) for n in names),
            list(snapshot.members),
        )
        self.assertEqual(sorted(names), sorted(snapshot.placed()))
        member = snapshot.members['conductor-1.example.org:8089']
        self.assertEqual(names[0], member.name)
        keys = [f'node-{i}'.encode() for i in range(3000)]
        theirs = tooz_hashring.HashRing(names)
        self.assertEqual(
            [next(iter(theirs.get_nodes(k))) for k in keys],
            manager.RingManager(self.reader, reset_interval=0)
            .get_ring(self.group)
            .map_keys(keys),
        )
        # Drain and leave find the record under its exact name.
        sources[0].drain()
        self.assertNotIn(names[0], self.read().placed())
        sources[0].leave()
        self.assertNotIn('conductor-1.example.org:8089', self.read())

    def test_a_leave_removes_the_member_under_its_past_names(self):
        # A host whose name changed case, restarted within dead_after: its
        # record under the old name is its past, which readers skip while
        # the member is heard from later.
        past = self.source()
        past.join('Node-A', self.group)
        durable = self.reader.durable_records
        if durable:
            past.stop()  # the record stays, as after a crash
        self.source().join('node-b', self.group)
        now = self.source()
        now.join('node-a', self.group)
        self.assertEqual({'node-a': 1, 'node-b': 1}, self.read().up())
        self.assertEqual('node-a', self.read().members['node-a'].name)
        now.leave()
        if durable:
            # It read as node-a, up, until dead_after.
            self.assertEqual(['node-b'], list(self.read().members))
        else:
            # A record that lives with its writer's session is that
            # writer's alone: a live twin's stays.
            self.assertEqual('Node-A', self.read().members['node-a'].name)

    def test_names_a_collation_would_fold_stay_apart(self):
        # Distinct member ids, and groups that differ only in case: on
        # MariaDB, whose default collation folds case and accents, the
        # second member's join overwrote the first's row.
        first, second = (
            ('ce-2', 'ce-3') if self.ascii_ids else ('ce-2', 'cé-2')
        )
        for name in (first, second):
            self.source().join(name, self.group)
        self.source().join('other', self.group.upper())
        self.assertEqual({first: 1, second: 1}, self.read().up())
        self.assertEqual({'other': 1}, self.read(self.group.upper()).up())
