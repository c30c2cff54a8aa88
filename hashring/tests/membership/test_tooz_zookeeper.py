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

"""The tooz driver on ZooKeeper: sessions, whose end ends records."""

import time
from unittest import mock

from kazoo import client as kazoo_client

from hashring import exception
from hashring import membership
from hashring.membership import toozclient
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import servers
from hashring.tests.membership import test_tooz


def stopped(source, group):
    """Tell whether a source read a later process of its member."""
    try:
        source.get_members(group)
    except exception.DuplicateMemberError:
        return True
    return False


class ZooKeeperContractTestCase(
    test_tooz.AsciiOnlyMixin,
    test_tooz.ToozMixin,
    contract.Contract,
    test_base.TestCase,
):
    # tooz's kazoo driver encodes member ids as ASCII when it lists a
    # group: one such member would make the whole group unreadable.
    refused_because = 'reads only ASCII member ids'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.url = servers.shared(servers.ZooKeeperServer, 'ZOOKEEPER').url

    def lapse(self, node, member_id):
        # kazoo keeps the session alive from its own thread, which a
        # pause stops too, and the server ends the session: another
        # client of the same session closes it, as its expiry does.
        node._stop_heartbeat()
        client = node._writer.coordinator._coord
        session = client.client_id
        other = kazoo_client.KazooClient(
            hosts=self.url.split('//')[1], client_id=session
        )
        other.start()
        other.stop()
        other.close()
        super().lapse(node, member_id)
        # kazoo opens a new session by itself; a write before it has one
        # fails, and the handoff protocol lets go of every node then
        # (test_handoff: paused past dead_after into an outage).
        self.assertTrue(
            contract.eventually(
                lambda: client.connected and client.client_id != session
            )
        )

    def test_a_member_back_before_its_old_session_ended_stays(self):
        # A process restarted before ZooKeeper ended its crashed one's
        # session found that one's record, a node of that session, which
        # went with it while the new process ran: its peers took its keys.
        old = self.source()
        old.join('node-a', self.group)
        old._stop_heartbeat()  # crashed: its session lingers
        crashed = old._writer.coordinator._coord
        new = self.source()
        new.join('node-a', self.group)
        new.publish(self.group, None)  # a later write keeps its node
        crashed.stop()  # the session ends, as it expires
        crashed.close()
        self.assertEqual({'node-a': 1}, self.read().up())

    def test_a_record_whose_session_ends_during_the_join_is_made(self):
        old = self.source()
        old.join('node-a', self.group)
        old._stop_heartbeat()
        crashed = old._writer.coordinator._coord
        real = kazoo_client.KazooClient.transaction

        def ending_first(client):
            # The crashed session ends between the check and the swap.
            crashed.stop()
            crashed.close()
            return real(client)

        with mock.patch.object(
            kazoo_client.KazooClient,
            'transaction',
            autospec=True,
            side_effect=ending_first,
        ) as swap:
            self.source().join('node-a', self.group)
        swap.assert_called_once()
        self.assertEqual({'node-a': 1}, self.read().up())

    def test_an_earlier_process_leaves_a_later_one_s_record_be(self):
        # Two processes run as one member.  The later one's join made the
        # record its session's; a write of the earlier one took it back,
        # and when that process exited, the record went with its session
        # while the later one ran: its peers took its keys.
        earlier = self.source()
        earlier.join('node-a', self.group)
        exiting = earlier._writer.coordinator._coord
        later = self.source()
        later.join('node-a', self.group)
        kept = later._writer.coordinator._coord.client_id[0]
        earlier.publish(self.group, None)  # before it read the later one
        path = earlier._writer.coordinator._path_member(
            self.group.encode(), b'node-a'
        )
        self.assertEqual(kept, exiting.exists(path).ephemeralOwner)
        # The later one reads the earlier's write, and writes again: the
        # earlier one reads that, and stops.
        later.get_members(self.group)
        self.assertTrue(
            contract.eventually(lambda: stopped(earlier, self.group))
        )
        self.assertEqual(kept, exiting.exists(path).ephemeralOwner)
        exiting.stop()  # the earlier process exits
        exiting.close()
        self.assertEqual({'node-a': 1}, self.read().up())

    def test_a_group_tooz_cannot_read_is_unavailable_not_empty(self):
        self.joined_by_tooz()
        err = self.assertRaises(exception.MembershipUnavailable, self.read)
        self.assertIn('ascii', str(err))


class SessionLengthTestCase(test_base.TestCase):
    """A session the server cuts below dead_after, and the member's lapses."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.url = servers.shared(servers.ZooKeeperServer, 'ZOOKEEPER').url

    def test_the_length_the_server_granted_is_known(self):
        # The test servers tick every 3 s (ZooKeeperServerMain's default),
        # and grant sessions of 2 to 20 ticks, whatever is asked.
        for asked, granted in ((2, 6.0), (30, 30.0), (1000, 60.0)):
            with self.subTest(asked=asked):
                client = toozclient.Client(
                    f'{self.url}?timeout={asked}', 'node-a', 5.0
                )
                self.addCleanup(client.close)
                self.assertIsNone(client.session_length)
                client.call(lambda coordinator: None)
                self.assertEqual(granted, client.session_length)

    def member(self, heartbeat_interval):
        node = membership.load(
            'tooz',
            backend_url=self.url,
            heartbeat_interval=heartbeat_interval,
            dead_after=1000,
        )
        self.addCleanup(node.close)
        return node

    def test_a_pause_past_a_cut_session_is_a_lapse(self):
        # The server forgets the member after 60 s unheard, not dead_after:
        # its peers take its keys then.  A pause of 55 s, within
        # dead_after, must make it check what it holds before it acts.
        now = 1000.0
        node = self.member(heartbeat_interval=20)
        node._clock = lambda: now
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            node.join('node-a', 'g')
        node._stop_heartbeat()
        self.assertEqual(
            [
                'WARNING:hashring.membership.base:ZooKeeper gave member '
                'node-a a session of 60s, shorter than dead_after (1000s): '
                'its peers lose its record after 60s unheard. The member '
                'counts its own silences against that (a pause past it '
                'makes it check what it holds with its peers); to keep '
                'dead_after, give the server a maxSessionTimeout of at '
                'least 1000000 ms (it grants 2 to 20 ticks by default)'
            ],
            logs.output,
        )
        now += 53.9  # nine tenths of the session, less a little
        self.assertEqual(1000.0, node.unbroken_since())
        self.assertIsNone(node.last_silence())
        now += 0.2
        self.assertIsNone(node.unbroken_since())
        self.assertEqual(now, node.last_silence())

    def test_heartbeats_too_far_apart_for_the_session_are_warned_of(self):
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.member(heartbeat_interval=60).join('node-a', 'g')
        self.assertIn(
            'heartbeat_interval (60s) is too long for such a session: '
            'every heartbeat would look late',
            logs.output[0],
        )


class ZooKeeperOutageTestCase(test_tooz.OutageMixin, test_base.TestCase):
    server_class = servers.ZooKeeperServer

    def test_a_member_reconnects_within_an_interval_of_the_return(self):
        # The server keeps its sessions through a restart, each for its
        # timeout from its start: a member whose client tries again
        # within that keeps its session and record.  kazoo's own back-off
        # doubles up to an hour: after an outage of 8 s its next try came
        # 12 s later, the session had expired, and peers judged it dead.
        node = self.source(heartbeat_interval=0.5)
        node.join('node-a', self.group)
        session = node._writer.coordinator._coord.client_id
        self.srv.stop()
        time.sleep(12)
        self.srv.start()
        started = time.monotonic()
        client = node._writer.coordinator._coord
        self.assertTrue(contract.eventually(lambda: client.connected, 30))
        # An interval, kazoo's jitter (0.4 s) and the connection itself.
        self.assertLess(time.monotonic() - started, 3.0)
        self.assertEqual(session, client.client_id)
        self.assertEqual({'node-a': 1}, self._try_up())

    def test_a_source_closed_in_an_outage_closes_its_client(self):
        # Its stop cannot leave while the server is frozen: the client, left
        # to it, reconnected for ever, then removed the member's record.
        node = self.source()
        node.join('node-a', self.group)
        client = node._writer.coordinator._coord
        states = []
        client.add_listener(states.append)
        self.srv.freeze()
        node.close()
        self.assertTrue(contract.eventually(lambda: 'LOST' in states, 5))
        self.assertFalse(client.connected)
