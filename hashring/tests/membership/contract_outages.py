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

"""The outages members publish in their records (file and sql drivers).

A member silent for longer than two heartbeat intervals, while it ran,
could not write: its next write publishes the span as an outage, which
explains its peers' silence to readers that saw none (a frozen lock
holder, a table locked against writes: reads worked).  Whichever write
comes first after it: a claim is written as soon as the backend takes it,
before the heartbeat thread's retry.  A reader that saw a heartbeat
well within such a span takes it for the member's own silence, not an
outage: it explains no one else's.  A member whose process did not run
(its heartbeats silent, not failed) publishes nothing.
"""

import time
from unittest import mock

import hashring
from hashring import exception
from hashring import handoff


#: the claim the member publishes
CLAIM = handoff.Claim(
    'node-a', handoff.RingSpec.of(hashring.HashRing(['node-a']))
)


class PublishedOutages:
    """Mixed into a :class:`contract.Contract` case of a file or sql driver."""

    def record(self, member_id):
        """Return a member's record as the backend holds it."""
        records, _ = self.reader._read(self.group)
        return {r.id: r for r in records}[member_id]

    def silent_member(self):
        """Return a member whose heartbeats stopped for three intervals."""
        node = self.source()
        node.join('node-a', self.group)
        node._stop_heartbeat()  # as a write blocked by a lock holder
        time.sleep(3 * node.heartbeat_interval)
        return node

    def test_a_claim_after_a_silence_publishes_it(self):
        node = self.silent_member()
        before = self.record('node-a').heartbeat
        node.publish(self.group, CLAIM)
        after = self.record('node-a')
        self.assertEqual((before, after.heartbeat), after.outage)
        self.assertEqual(CLAIM, self.read().members['node-a'].claim)

    def test_a_claim_after_a_pause_publishes_nothing(self):
        # The consumer's write may come first after a pause, before the
        # heartbeat thread's: the pause is the member's own all the same.
        node = self.source()
        node.join('node-a', self.group)
        node._stop_heartbeat()
        time.sleep(node.dead_after)  # past the lapse bound, 0.9 s
        node.publish(self.group, CLAIM)
        self.assertIsNone(self.record('node-a').outage)
        self.assertEqual(CLAIM, self.read().members['node-a'].claim)

    def test_a_claim_keeps_the_outage_a_heartbeat_published(self):
        node = self.silent_member()
        node.heartbeat()
        published = self.record('node-a').outage
        self.assertIsNotNone(published)
        node.publish(self.group, CLAIM)  # at once: no silence
        self.assertEqual(published, self.record('node-a').outage)

    def test_a_join_after_a_silence_publishes_nothing(self):
        # A restart after a crash: its peers' silence is theirs.
        self.silent_member().stop()
        self.source().join('node-a', self.group)
        self.assertIsNone(self.record('node-a').outage)

    def three_past_dead_after(self, node):
        """node-b crashes; node-c beats on; the reader reads past dead_after.

        :param node: node-a, joined, whose writes the caller stops.
        :returns: the reader's members up after.
        """
        crashed, beating = self.source(), self.source()
        crashed.join('node-b', self.group)
        beating.join('node-c', self.group)
        self.assertEqual(3, len(self.read().up()))
        crashed._stop_heartbeat()
        deadline = time.monotonic() + 1.6 * node.dead_after
        while time.monotonic() < deadline:
            self.read()
            time.sleep(node.heartbeat_interval / 2)
        return set(self.read().up())

    def test_a_pause_publishes_no_outage(self):
        # node-a stops (a paused process: no heartbeat even tried) as
        # node-b crashes.  Its first write after publishes nothing, and no
        # reader, not even one that saw nothing of it, brings node-b back.
        node = self.source()
        node.join('node-a', self.group)
        node._stop_heartbeat()
        self.assertEqual({'node-c'}, self.three_past_dead_after(node))
        node.heartbeat()
        self.assertIsNone(self.record('node-a').outage)
        self.assertEqual({'node-a', 'node-c'}, set(self.read().up()))
        self.assertEqual(
            {'node-a', 'node-c'},
            set(self.source().get_members(self.group).up()),
        )

    def test_a_member_cut_off_alone_revives_no_crash(self):
        # node-a's heartbeats fail (cut off from the backend alone) as
        # node-b crashes.  Its first write after publishes the span: to
        # the reader, which saw node-c write within it, no outage.
        node = self.source()
        node.join('node-a', self.group)
        cut = exception.MembershipUnavailable(node.backend, 'cut off')
        with mock.patch.object(node, '_beat', side_effect=cut):
            up = self.three_past_dead_after(node)
        self.assertEqual({'node-c'}, up)
        node.heartbeat()
        self.assertIsNotNone(self.record('node-a').outage)
        self.assertEqual({'node-a', 'node-c'}, set(self.read().up()))
        # A reader that saw none of it takes the span for an outage.
        self.assertEqual(
            {'node-a', 'node-b', 'node-c'},
            set(self.source().get_members(self.group).up()),
        )
