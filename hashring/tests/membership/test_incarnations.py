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

"""Two processes joined as one member, over the in-memory backend.

The drivers' own cases are in
:mod:`hashring.tests.membership.contract_duplicates`.
"""

import dataclasses

from hashring import exception
from hashring.membership import base
from hashring.tests import base as test_base
from hashring.tests.membership import memory


class DuplicateMemberTestCase(memory.MemoryTestMixin, test_base.TestCase):
    """Two processes joined as one member (see contract_duplicates)."""

    def test_a_record_read_while_the_members_write_is_owed_stops_nothing(
        self,
    ):
        # A predecessor on a host whose clock ran ahead left its record;
        # this member's join was refused: what it reads is not a process
        # that joined after it.
        ahead = f'{2**63:016x}-00000000'
        self.store.groups['default'] = {
            'a': base.Record(
                'a',
                base.State.UP,
                1,
                {'hashring.incarnation': ahead},
                self.store.clock,
            )
        }
        a = self.source(heartbeat_interval=60, dead_after=120)
        self.store.down = True
        self.assertRaises(exception.MembershipUnavailable, a.join, 'a')
        self.store.down = False
        self.assertEqual(ahead, a.get_members().members['a'].incarnation)
        a.heartbeat()
        mine = a.get_members().members['a'].incarnation
        self.assertNotIn(mine, (None, ahead))
        # Written, a later incarnation stops it.
        self.store.groups['default']['a'] = dataclasses.replace(
            self.store.groups['default']['a'],
            attributes={'hashring.incarnation': ahead},
        )
        self.assertRaises(exception.DuplicateMemberError, a.get_members)

    def test_the_heartbeat_thread_of_a_stopped_member_ends(self):
        a = self.source(heartbeat_interval=0.05, dead_after=1)
        a.join('a')
        thread = a._thread
        self.source(heartbeat_interval=0.05, dead_after=1).join('a')
        self.assertRaises(exception.DuplicateMemberError, a.get_members)
        thread.join(5)
        self.assertFalse(thread.is_alive())

    def test_a_stopped_member_says_so_over_a_backend_down(self):
        # Not an outage: it reads nothing more, so a backend down (or
        # frozen) changes nothing of what it says, nor when.
        a = self.source(heartbeat_interval=60, dead_after=120)
        a.join('a')
        self.source(heartbeat_interval=60, dead_after=120).join('a')
        self.assertRaises(exception.DuplicateMemberError, a.get_members)
        self.store.down = True
        for call in (a.get_members, a.get_groups, a.heartbeat, a.drain):
            self.assertRaises(exception.DuplicateMemberError, call)
        a.leave()
        self.store.down = False
        self.assertEqual({'a': 1}, self.source().get_members().up())
