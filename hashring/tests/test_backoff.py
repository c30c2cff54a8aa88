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

from hashring import backoff
from hashring import exception
from hashring import manager
from hashring import membership
from hashring.tests import base
from hashring.tests import test_handoff
from hashring.tests import test_manager


class BackoffTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.now = 100.0

    def test_a_failed_call_waits_as_long_as_it_took(self):
        calls = backoff.Backoff(lambda: self.now)
        error = exception.MembershipUnavailable('fake', 'down')
        calls.check('fake')  # nothing failed yet
        for took, most, wait in (
            (0.2, 15.0, 1.0),
            (4.0, 15.0, 4.0),
            (40.0, 15.0, 15.0),
        ):
            calls.failure(error, self.now - took, most)
            self.now += wait - 0.01
            err = self.assertRaises(
                exception.MembershipUnavailable, calls.check, 'fake'
            )
            self.assertIs(error, err.cause)
            self.assertIn('after a call that failed', str(err))
            self.now += 0.01
            calls.check('fake')
        calls.failure(error, self.now, 15.0)
        calls.success()
        calls.check('fake')


class OutageTestCase(base.TestCase):
    """A member that asks one key at a time, through an outage."""

    def setUp(self):
        super().setUp()
        self.calls = 0
        self.down = False
        self.claims = {}
        source = membership.load(
            'callable',
            function=self.members,
            publish=self.publish,
            in_thread=False,
            heartbeat_interval=0.1,
            settle_after=0.2,
        )
        self.addCleanup(source.close)
        source.join('a')
        # 'b' publishes no claim: it hands 'a' nothing.
        self.wait_settled(source)
        self.clock = test_manager.Clock()
        self.manager = manager.RingManager(
            source, host='a', reset_interval=15, clock=self.clock
        )

    def backend(self):
        self.calls += 1
        if self.down:
            raise OSError('database is down')

    def members(self):
        self.backend()
        return [
            {'name': n, 'claims': dict(self.claims.get(n, {}))}
            for n in ('a', 'b')
        ]

    def publish(self, member, group, claim):
        self.backend()
        self.claims.setdefault(member, {})[group] = claim

    def test_a_failed_call_is_not_made_again_for_every_key(self):
        # Each key's owns() read the claims again in an outage, each
        # waiting read_timeout: a thousand nodes, hours of a periodic task.
        protocol = self.manager.handoff
        mine = [
            k
            for k in test_handoff.KEYS
            if self.manager.get_ring().get_node(k) == 'a'
        ]
        self.assertEqual(mine, protocol.owned(test_handoff.KEYS))
        self.down = True
        self.clock.now += 20  # the claims read is due again
        self.calls = 0
        with self.assertLogs('hashring.manager', 'WARNING'):
            for key in test_handoff.KEYS[:10]:
                err = self.assertRaises(
                    exception.MembershipUnavailable, protocol.owns, key
                )
        self.assertIn('database is down', str(err))
        self.assertIn('tried again in 1.0s', str(err))
        # One read of the members for the ring, one for the claims.
        self.assertEqual(2, self.calls)
        # Another group, on the same backend, does not try it either.
        self.assertRaises(
            exception.MembershipUnavailable, protocol.owns, 'k', 'g2'
        )
        self.assertEqual(2, self.calls)
        self.clock.now += 1.0
        self.assertRaises(exception.MembershipUnavailable, protocol.owns, 'k')
        self.assertEqual(3, self.calls)
        # Back: the next call after the wait reads, and answers.
        self.down = False
        self.clock.now += 1.0
        self.assertTrue(protocol.owns(mine[0]))
        self.assertEqual(mine, protocol.owned(test_handoff.KEYS))
