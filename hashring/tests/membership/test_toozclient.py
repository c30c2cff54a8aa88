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

from concurrent import futures
import threading
import time

from kazoo import client as kazoo_client
from oslo_utils import importutils
from tooz import coordination

from hashring import exception
from hashring import membership
from hashring.membership import toozclient
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import servers
from hashring.tests.membership import test_tooz


class FailuresTestCase(test_base.TestCase):
    def test_each_backend_adds_its_clients_errors(self):
        common = (coordination.ToozError, OSError, UnicodeError)
        self.assertEqual(common, toozclient.failures('file'))
        for scheme, name in toozclient.CLIENT_ERRORS.items():
            with self.subTest(scheme=scheme):
                error = importutils.import_class(name)
                self.assertTrue(issubclass(error, Exception))
                self.assertEqual((*common, error), toozclient.failures(scheme))
        self.assertTrue(
            issubclass(
                importutils.import_class('redis.exceptions.ConnectionError'),
                toozclient.failures('redis'),
            )
        )


class ProbeTestCase(test_base.TestCase):
    def test_the_probe_sleeps_in_steps(self):
        # A stop of the process within a long sleep would hold the next
        # probe on Python 3.10 by what was left of the sleep.
        client = toozclient.Client(
            'zookeeper://127.0.0.1:1', 'node-a', 1.0, renew_after=30.0
        )
        # As a failed call leaves it: failing, and probing.
        client._failing_since, client._probing = time.monotonic(), True
        slept, real_sleep = [], time.sleep
        this = threading.current_thread()

        def sleep(seconds):
            # time.sleep is the module's: other threads still sleep.
            if threading.current_thread() is not this:
                return real_sleep(seconds)
            slept.append(seconds)
            client._closed = len(slept) == 3

        self.patch(toozclient.time, 'sleep', sleep)
        client._renew()
        self.assertEqual(3, len(slept))
        for seconds in slept:
            self.assertGreater(seconds, 0)
            self.assertLessEqual(seconds, toozclient.PROBE_STEP)
        self.assertFalse(client._probing)


class RenewalTestCase(test_base.TestCase):
    """A ZooKeeper that lost its data, and the clients that saw it before."""

    def setUp(self):
        super().setUp()
        self.srv = self.useFixture(servers.ZooKeeperServer())

    def source(self):
        source = membership.load(
            'tooz', backend_url=self.srv.url, **contract.FAST
        )
        self.addCleanup(source.close)
        return source

    def test_clients_move_on_after_zookeeper_lost_its_data(self):
        # kazoo will not reconnect to a server behind the last transaction
        # it saw, and tooz makes its namespace only at start: the reader
        # and the member's writer move to fresh clients, and the member
        # joins again, weight and all.
        reader, node = self.source(), self.source()
        node.join('node-a', 'g', weight=2)
        self.assertEqual({'node-a': 2}, reader.get_members('g').up())
        # Two of the server's 3 s ticks, the least it grants.
        self.assertEqual(6.0, node._session_length())
        old = node._writer.coordinator
        self.srv.wipe()

        def up():
            try:
                return reader.get_members('g').up()
            except exception.MembershipUnavailable:
                return None

        self.assertTrue(
            contract.eventually(lambda: up() == {'node-a': 2}, 30, 0.5)
        )
        # The fresh client's session bounds the member's lapses now.
        self.assertIsNot(old, node._writer.coordinator)
        self.assertEqual(6.0, node._session_length())

    def test_a_member_writes_again_soon_after_zookeeper_lost_its_data(self):
        # Its calls stuck on the old client, each until read_timeout (5 s
        # here), would keep it silent for longer than dead_after (1 s)
        # while its peers, whose clients moved on sooner, read: it would
        # look dead to them.  A fresh client is tried every dead_after,
        # and the old one's connection closed once it reads.
        reader, node = self.source(), self.source()
        node.join('node-a', 'g')
        self.assertEqual({'node-a': 1}, reader.get_members('g').up())
        old = node._writer.coordinator
        self.srv.wipe()
        back = time.monotonic()
        listed = False
        while not listed and time.monotonic() - back < 30:
            time.sleep(0.05)
            try:
                snapshot = reader.get_members('g')
            except exception.MembershipUnavailable:
                continue
            # Listed again, not presumed up through the outage.
            listed = 'node-a' in set(snapshot.up()) - snapshot.presumed
        self.assertTrue(listed)
        self.assertIsNot(old, node._writer.coordinator)
        # Within a read_timeout of the server's return: renew_after, a
        # probe and the join, on a loaded machine.
        self.assertLess(time.monotonic() - back, contract.FAST['read_timeout'])

    def test_a_member_whose_session_ended_joins_again_at_once(self):
        # The server ended the member's session (it had not heard from it
        # in time), and its record with it: the member joins again at
        # once, not at its next heartbeat, half a minute later.
        reader = self.source()
        node = membership.load(
            'tooz',
            backend_url=self.srv.url,
            heartbeat_interval=30,
            dead_after=90,
        )
        self.addCleanup(node.close)
        node.join('node-a', 'g')
        joined = node.unbroken_since()
        self.assertEqual({'node-a': 1}, reader.get_members('g').up())
        session = node._writer.coordinator._coord.client_id
        # Another client of the same session closes it, as its expiry
        # does.
        other = kazoo_client.KazooClient(
            hosts=self.srv.url.split('//')[1], client_id=session
        )
        other.start()
        other.stop()
        other.close()
        self.assertTrue(
            contract.eventually(
                lambda: node.unbroken_since() not in (None, joined), 10, 0.1
            )
        )
        self.assertEqual({'node-a': 1}, reader.get_members('g').up())
        self.assertNotEqual(session, node._writer.coordinator._coord.client_id)


class PerMemberReads:
    """Read as tooz before 9.1 reads, with a request per member.

    Python 3.10 installs tooz 8.1 at most, which has no call that reads a
    group's members with their capabilities.
    """

    def setUp(self):
        super().setUp()
        self.patch(toozclient, 'READS_WHOLE_GROUPS', False)

    def test_a_member_gone_between_the_requests_is_not_listed(self):
        a, b = self.source(), self.source()
        a.join('node-a', self.group)
        b.join('node-b', self.group)
        self.assertEqual({'node-a': 1, 'node-b': 1}, self.read().up())
        # The reader's coordinator, started by that read.
        coordinator = self.reader._reader.coordinator
        listed = coordinator.get_members

        def get_members(group):
            # node-b leaves once the ids are listed, before its
            # capabilities are asked for.
            ids = listed(group).get()
            b.leave()
            answered = futures.Future()
            answered.set_result(ids)
            return coordination.CoordinatorResult(answered)

        self.patch(coordinator, 'get_members', get_members)
        self.assertEqual({'node-a': 1}, self.read().up())
        self.assertIsNone(b.member_id)


class RedisPerMemberTestCase(PerMemberReads, test_tooz.RedisContractTestCase):
    pass


class ToozFilePerMemberTestCase(
    PerMemberReads, test_tooz.ToozFileContractTestCase
):
    pass
