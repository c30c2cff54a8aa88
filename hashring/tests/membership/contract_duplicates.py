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

"""Two processes that join as one member: the later one runs on."""

import hashring
from hashring import exception
from hashring import handoff
from hashring import membership


class Duplicates:
    """Tests of duplicate members, mixed into :class:`contract.Contract`.

    The test case gives ``source()`` and ``read()``.
    """

    def close_session_at_cleanup(self, source):
        # A stopped tooz source drops its session rather than end the
        # other process's record with it; a test ends it, before its
        # server stops, so that it does not reconnect to nothing.
        writer = getattr(source, '_writer', None)
        if writer is not None:
            self.addCleanup(writer.close)

    def claim(self, members):
        return handoff.Claim(
            'node-a', handoff.RingSpec.of(hashring.HashRing(members))
        )

    def test_a_later_process_as_the_same_member_stops_the_earlier(self):
        # One host name in two services' configuration, or two spellings
        # of it: both would manage the same keys.
        for first_name in ('node-a', 'Node-A'):
            with self.subTest(first=first_name):
                group = f'{self.group}-{first_name}'
                first = self.source()
                first.join(first_name, group, attributes={'rack': 7})
                self.close_session_at_cleanup(first)
                first.publish(group, self.claim(['node-a']))
                self.assertEqual({'node-a': 1}, first.get_members(group).up())
                second = self.source()
                second.join('node-a', group, attributes={'rack': 8})
                later = self.read(group).members['node-a'].incarnation
                self.assertIsNotNone(later)
                err = self.assertRaises(
                    exception.DuplicateMemberError, first.get_members, group
                )
                self.assertEqual(
                    (first_name, group, later),
                    (err.member, err.group, err.other),
                )
                self.assertLess(err.incarnation, later)
                self.assertIn('two services run as', str(err))
                # It stays stopped: it reads and writes nothing more.
                for call in (
                    lambda: first.get_members(group),
                    lambda: first.get_groups(),
                    lambda: first.publish(group, None),
                    first.heartbeat,
                    first.drain,
                    lambda: first.join(first_name, f'{group}-more'),
                ):
                    self.assertRaises(exception.DuplicateMemberError, call)
                # The later one runs on, and the earlier one's leave leaves
                # it its record.
                first.leave()
                member = self.read(group).members.get('node-a')
                self.assertEqual(
                    (membership.State.UP, later, {'rack': 8}),
                    (
                        member.state,
                        member.incarnation,
                        dict(member.attributes),
                    ),
                )
                second.heartbeat()
                self.assertEqual({'node-a': 1}, second.get_members(group).up())
                second.leave()

    def test_an_earlier_process_is_told_by_the_later_ones_heartbeat(self):
        # The earlier one wrote last (a claim, before it read the record):
        # the later one writes its record again, and the earlier stops.
        first = self.source()
        first.join('node-a', self.group)
        self.close_session_at_cleanup(first)
        second = self.source()
        second.join('node-a', self.group)
        later = self.read().members['node-a'].incarnation
        first.publish(self.group, self.claim(['node-a', 'node-b']))
        self.assertLess(self.read().members['node-a'].incarnation, later)
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.assertEqual(
                ['node-a'], list(second.get_members(self.group).members)
            )
        self.assertIn('earlier registration', logs.output[-1])
        second.heartbeat()
        member = self.read().members['node-a']
        self.assertEqual((later, None), (member.incarnation, member.claim))
        self.assertRaises(
            exception.DuplicateMemberError, first.get_members, self.group
        )

    def test_a_member_that_joins_again_keeps_its_incarnation(self):
        # A second group, a new weight, a leave and a join: a leave ends
        # the registration, and the next join is a new one.
        node = self.source()
        node.join('node-a', self.group)
        mine = self.read().members['node-a'].incarnation
        node.join('node-a', f'{self.group}-2', weight=2)
        node.drain()
        node.undrain()
        self.assertEqual(mine, self.read().members['node-a'].incarnation)
        self.assertEqual(
            mine, self.read(f'{self.group}-2').members['node-a'].incarnation
        )
        # A backend that forgot the record (wiped, flushed, a lease gone):
        # the heartbeat writes it again as this incarnation's, not as a
        # new process's, and the member reads itself.
        self.forget(self.group, 'node-a')
        node.heartbeat()
        self.assertEqual(mine, self.read().members['node-a'].incarnation)
        self.assertEqual({'node-a': 2}, node.get_members(self.group).up())
        node.leave()
        node.join('node-a', self.group)
        self.assertLess(mine, self.read().members['node-a'].incarnation)
        node.get_members(self.group)
