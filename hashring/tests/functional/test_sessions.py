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

"""A ZooKeeper session cut below dead_after, across processes.

A ZooKeeper server grants no longer session than its
``maxSessionTimeout``, whatever ``dead_after`` asks: the server forgets a
member that long after it was last heard, and its peers drop it then,
before ``dead_after``.  A service stopped (SIGSTOP) past such a session,
and within ``dead_after``, must count the pause as the lapse it is: its
peers took its nodes meanwhile, and it must not go on acting on them.
Its heartbeat may have been waiting for the server when it stopped: that
heartbeat fails when it goes on, the session gone, and the stop must
count as a silence all the same, or its calls raise rather than let go.
"""

import os

from hashring.tests import base
from hashring.tests.functional import fleet
from hashring.tests.membership import servers


class CutSessionTestCase(fleet.Fleet, base.TestCase):
    driver = 'tooz'
    timing = {
        'heartbeat_interval': 0.2,
        'dead_after': 8.0,
        'settle_after': 0.4,
    }

    def setUp(self):
        server = self.useFixture(servers.CutSessionZooKeeperServer())
        self.url = server.url
        self.session = server.max_session
        super().setUp()

    def test_a_service_paused_past_its_session_lets_go_of_its_nodes(self):
        taken_after = self.pause_until_taken()
        # Its peers dropped it when the server ended its session, not
        # dead_after after its last heartbeat: the pause was shorter.
        self.assertLess(taken_after, self.timing['dead_after'] - 1.0)
        self.assertGreater(taken_after, self.session * 0.9)
        with open(os.path.join(self.dir, 'svc-2.err')) as err:
            self.assertIn(
                'ZooKeeper gave member svc-2 a session of 3s, shorter than '
                'dead_after (8s)',
                err.read(),
            )
