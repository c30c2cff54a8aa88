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

"""What the hashring port promises Neutron, tested in Neutron's own tree.

Copied into Neutron's tree as
neutron/tests/unit/common/ovn/test_hashring_port.py by
tools/adopting/run.py.
"""

from unittest import mock
import uuid

from neutron_lib import context
from oslo_db import exception as db_exc
from tooz import hashring as tooz_hashring

from neutron.common.ovn import constants
from neutron.common.ovn import hash_ring_manager
from neutron.common import wsgi_utils
from neutron.db import ovn_hash_ring_db as db_hash_ring
from neutron.tests.unit import testlib_api

GROUP = 'test_group'


class PortTestCase(testlib_api.SqlTestCaseLight):
    def setUp(self):
        super().setUp()
        with mock.patch.object(
            wsgi_utils, 'get_api_worker_count', return_value=1
        ):
            self.manager = hash_ring_manager.HashRingManager(GROUP)
        self.ctx = context.get_admin_context()
        for i in range(6):
            db_hash_ring.add_node(self.ctx, GROUP, f'Worker-{i}')

    def test_no_key_changes_owner(self):
        self.manager.refresh()
        active = db_hash_ring.get_active_nodes(
            self.ctx, constants.HASH_RING_NODES_TIMEOUT, GROUP
        )
        old = tooz_hashring.HashRing({n.node_uuid for n in active})
        self.assertEqual(6, len(old.nodes))
        for key in (str(uuid.uuid4()) for _ in range(3000)):
            self.assertEqual(
                old[key.encode()].pop(), self.manager.get_node(key)[0]
            )

    def test_a_database_outage_keeps_the_last_ring(self):
        self.manager.refresh()
        before = dict(self.manager._hash_ring.nodes)
        with mock.patch.object(
            db_hash_ring,
            'get_nodes',
            side_effect=db_exc.DBConnectionError('database is down'),
        ):
            self.manager.refresh()
            self.assertEqual(before, self.manager._hash_ring.nodes)
            self.assertIn(self.manager.get_node('some-key')[0], before)
