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

"""The handoff protocol across processes, through backend outages.

Three services (``service.py``, one process each) share the nodes through
a backend the test owns, and takes away: it freezes it (a server stopped
dead with SIGSTOP; for SQLite, a process frozen inside a write
transaction) for 2.5 times ``dead_after`` while a service crashes, or,
with four services, it wipes it (a server restarted on empty data, a
deleted SQLite file).  The
live services must keep every node they held through it and after it
(nobody judged them dead, so no ring went without them), and never
manage a node together; the crashed one's nodes are taken once, after
the outage.
"""

import os
import time

import fixtures

from hashring import membership
from hashring.tests import base
from hashring.tests.functional import fleet
from hashring.tests.membership import outages
from hashring.tests.membership import servers
from hashring.tests.membership import sqlservers


class Outages(fleet.Fleet):
    """Mixed into a TestCase that sets driver, url, srv and wipe()."""

    # Heartbeats retry at most an interval apart after an outage, so a
    # reader may read the members' records before they write again: for
    # up to a second here, at five reads a second.
    timing = {
        'heartbeat_interval': 1.0,
        'dead_after': 3.0,
        'settle_after': 2.0,
    }

    def changes_since(self, name, since):
        """Return the '+' and '-' of a service's log after a moment."""
        with open(self.log(name)) as log:
            lines = [line.split() for line in log]
        return [w[1] for w in lines if float(w[0]) > since and w[1] in '+-']

    def no_overlaps(self, names):
        self.assertEqual([], fleet.overlaps(self.spans(names))[:5])

    def test_an_outage_longer_than_dead_after_moves_no_node(self):
        self.outage_with_a_crash(self.srv.freeze, self.srv.thaw)

    def outage_with_a_crash(self, down, up):
        live, crashed = ['svc-1', 'svc-2'], 'svc-3'
        for name in [*live, crashed]:
            self.start(name)
        held = self.wait_converged('the start')
        down()
        frozen_at = time.monotonic()
        time.sleep(self.timing['heartbeat_interval'])
        self.kill(crashed)
        while time.monotonic() - frozen_at < 2.5 * self.timing['dead_after']:
            time.sleep(0.25)
            for name in live:  # nobody could read: nothing moved
                self.assertEqual(held[name], fleet.holdings(self.log(name)))
        up()
        after = self.wait_converged('the outage')
        self.assertEqual(set(live), set(after))
        for name in live:
            # It took its share of the crashed one's nodes, and let go of
            # nothing: no ring went without it, nor without its peer.
            self.assertEqual(['+'], self.changes_since(name, frozen_at), name)
            self.assertLess(held[name], after[name])
        self.assertEqual(
            held[crashed],
            set().union(*after.values()) - set().union(*map(held.get, live)),
        )
        self.no_overlaps([*live, crashed])

    def test_a_wiped_backend_moves_no_node(self):
        # Four services that read the members as often as they beat: the
        # first read after the wipe finds any share of them back, its own
        # record among them or not (none may look dead for that).
        names = ['svc-1', 'svc-2', 'svc-3', 'svc-4']
        interval = self.timing['heartbeat_interval']
        for name in names:
            self.start(name, f'--reset-interval={interval}')
        held = self.wait_converged('the start')
        wiped_at = time.monotonic()
        self.wipe()
        # Each service writes its record again at its next heartbeat.
        self.assertEqual(held, self.wait_converged('the wipe'))
        time.sleep(self.timing['dead_after'])  # anyone judged dead is gone
        self.assertEqual(held, self.wait_converged('the wipe'))
        for name in names:
            self.assertEqual([], self.changes_since(name, wiped_at), name)
        self.no_overlaps(names)


class SQLiteTestCase(Outages, base.TestCase):
    driver = 'sql'

    def setUp(self):
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.url = f'sqlite:///{self.path}'
        self.srv = outages.FrozenLockHolder(self, 'sqlite', self.path)
        super().setUp()

    def wipe(self):
        os.remove(self.path)


class FileTestCase(Outages, base.TestCase):
    driver = 'file'

    def setUp(self):
        self.url = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.json'
        )
        membership.load('file', membership_file=self.url).create()
        self.srv = outages.FrozenLockHolder(self, 'file', self.url + '.lock')
        super().setUp()

    def wipe(self):
        # An empty membership: a file missing is a misconfiguration.
        os.remove(self.url)
        membership.load('file', membership_file=self.url).create()


class Served(Outages):
    """Against a server of the test's own."""

    def setUp(self):
        self.srv = self.useFixture(self.server())
        self.url = self.srv.url
        super().setUp()

    def wipe(self):
        self.srv.wipe()

    def test_a_stopped_server_moves_no_node(self):
        # Refused connections, then a server back with its data.
        self.outage_with_a_crash(self.srv.stop, self.srv.start)


class PostgreSQLTestCase(Served, base.TestCase):
    driver, server = 'sql', sqlservers.PostgresServer


class MariaDBTestCase(Served, base.TestCase):
    driver, server = 'sql', sqlservers.MariaDBServer


class RedisTestCase(Served, base.TestCase):
    driver, server = 'tooz', servers.RedisServer


class EtcdTestCase(Served, base.TestCase):
    driver, server = 'tooz', servers.EtcdServer


class ZooKeeperTestCase(Served, base.TestCase):
    driver, server = 'tooz', servers.ZooKeeperServer
