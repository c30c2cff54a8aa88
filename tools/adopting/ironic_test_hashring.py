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

"""What the hashring port promises Ironic, tested in Ironic's own tree.

Copied into Ironic's tree as ironic/tests/unit/common/test_hashring_port.py
by tools/adopting/run.py.
"""

import random
from unittest import mock
import uuid

from oslo_db import exception as db_exc
from tooz import hashring as tooz_hashring

from ironic.common import hash_ring
from ironic.conf import CONF
from ironic import objects
from ironic.tests.unit.db import base as db_base

HOSTS = [
    'Conductor-1.example.org',
    'conductor-2.example.org:8089',
    'cond\u00e9-3',
    'CONDUCTOR-4',
    'conductor-5',
]


class PortTestCase(db_base.DbTestCase):
    def setUp(self):
        super().setUp()
        hash_ring.HashRingManager.reset()
        for i, host in enumerate(HOSTS):
            c = self.dbapi.register_conductor(
                {
                    'hostname': host,
                    'drivers': [],
                    'conductor_group': 'group-a' if i % 2 else '',
                }
            )
            types = ['ipmi', 'redfish'] if i % 3 else ['ipmi']
            self.dbapi.register_conductor_hardware_interfaces(
                c.id,
                [
                    {
                        'hardware_type': hw,
                        'interface_type': 'deploy',
                        'interface_name': 'direct',
                        'default': True,
                    }
                    for hw in types
                ],
            )
        self.addCleanup(hash_ring.HashRingManager.reset)

    def old_rings(self, use_groups):
        """Ironic's rings before the port: tooz's, from the same read."""
        d2c = objects.Conductor.get_active_hardware_type_dict(
            mock.ANY, use_groups=use_groups
        )
        return {
            name: tooz_hashring.HashRing(
                hosts,
                partitions=2**CONF.hash_partition_exponent,
                hash_function=CONF.hash_ring_algorithm,
            )
            for name, hosts in d2c.items()
        }

    def test_no_node_changes_owner(self):
        rng = random.Random(2003966)
        keys = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(3000)]
        for use_groups in (True, False):
            for exponent in (0, 5, 7):
                CONF.set_override('hash_partition_exponent', exponent)
                hash_ring.HashRingManager.reset()
                new = hash_ring.HashRingManager(
                    use_groups=use_groups, cache=False
                ).ring
                old = self.old_rings(use_groups)
                self.assertEqual(sorted(old), sorted(new))
                for name, ring in old.items():
                    with self.subTest(
                        use_groups=use_groups, exponent=exponent, ring=name
                    ):
                        self.assertEqual(ring.nodes, new[name].nodes)
                        for key in keys:
                            data = key.encode('utf-8')
                            self.assertEqual(
                                ring.get_nodes(data), new[name].get_nodes(data)
                            )
                            self.assertEqual(
                                ring.get_nodes(data, replicas=2),
                                new[name].get_nodes(data, replicas=2),
                            )

    def test_mapped_to_this_conductor_under_the_configured_name(self):
        rings = hash_ring.HashRingManager(use_groups=False, cache=False).ring
        ring = rings['ipmi']
        owned = [
            k for k in map(str, range(2000)) if HOSTS[0] in ring[k.encode()]
        ]
        self.assertGreater(len(owned), 200)

    def test_one_read_for_every_ring(self):
        real = objects.Conductor.get_active_hardware_type_dict
        with mock.patch.object(
            objects.Conductor,
            'get_active_hardware_type_dict',
            side_effect=real,
        ) as read:
            rings = hash_ring.HashRingManager(use_groups=True).ring
        self.assertEqual(1, read.call_count)
        self.assertEqual(
            {':ipmi', ':redfish', 'group-a:ipmi', 'group-a:redfish'},
            set(rings),
        )

    def test_a_database_outage_keeps_the_last_rings(self):
        mgr = hash_ring.HashRingManager(use_groups=False, cache=False)
        before = mgr.ring
        with mock.patch.object(
            objects.Conductor,
            'get_active_hardware_type_dict',
            side_effect=db_exc.DBConnectionError('database is down'),
        ):
            during = mgr.ring
        self.assertEqual(sorted(before), sorted(during))
        for name in before:
            self.assertEqual(before[name].nodes, during[name].nodes)
