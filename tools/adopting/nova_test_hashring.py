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

"""Nova's own hash-ring scenarios, run against the hashring port.

Copied into Nova's tree as nova/tests/unit/virt/ironic/test_hashring_port.py
by tools/adopting/run.py.  Nova's HashRingTestCase and NodeCacheTestCase
mock tooz's HashRing, which the port no longer calls; these subclasses
keep every scenario and assertion and replace only the mocks, so each
upstream test runs again, unchanged, against hashring.
"""

import random
from unittest import mock
import uuid

from oslo_utils import uuidutils
from tooz import hashring as tooz_hashring

import hashring
from nova.conf import CONF
from nova import exception
from nova import objects
from nova.tests.unit.virt.ironic import test_driver as upstream
from nova.virt.ironic import driver as ironic_driver


class HashRingTestCase(upstream.HashRingTestCase):
    @mock.patch.object(objects.ServiceList, 'get_all_computes_by_hv_type')
    def _test__refresh_hash_ring(
        self, services, expected_hosts, mock_services, uncalled=None
    ):
        uncalled = uncalled or []
        services = [upstream._make_compute_service(h) for h in services]
        is_up_calls = [
            mock.call(svc) for svc in services if svc.host not in uncalled
        ]
        self.flags(host='host1')
        mock_services.return_value = services

        self.driver._refresh_hash_ring(self.ctx)

        mock_services.assert_called_once_with(
            mock.ANY, self.driver._get_hypervisor_type()
        )
        # Was: tooz's HashRing called with expected_hosts, partitions=32.
        ring = self.driver.hash_ring
        self.assertEqual(expected_hosts, set(ring.members))
        self.assertEqual(5, ring.partition_exponent)
        self.mock_is_up.assert_has_calls(is_up_calls)


class NodeCacheTestCase(upstream.NodeCacheTestCase):
    @mock.patch.object(ironic_driver.IronicDriver, '_can_send_version')
    @mock.patch.object(ironic_driver.IronicDriver, '_refresh_hash_ring')
    @mock.patch.object(ironic_driver.IronicDriver, '_get_node_list')
    @mock.patch.object(objects.InstanceList, 'get_uuids_by_host')
    def _test__refresh_cache(
        self,
        instances,
        nodes,
        hosts,
        mock_instances,
        mock_nodes,
        mock_hosts,
        mock_can_send,
        partition_key=None,
        can_send_146=True,
        shard=None,
        can_send_182=True,
    ):
        mock_instances.return_value = instances
        mock_nodes.return_value = nodes
        # Was: tooz's get_nodes answering ``hosts`` for each node without
        # an instance, in turn.  The port asks the ring for those nodes at
        # once (without instance_host, a node with an instance is decided
        # by the instance alone).  tooz answered a set of one host (some
        # scenarios give the bare host): the ring's answer is that host.
        bare = [n.id for n in nodes if n.instance_id is None]
        owners = [
            next(iter(a)) if isinstance(a, (set, frozenset)) else a
            for a in hosts
        ][: len(bare)]
        parent_mock = mock.MagicMock()
        parent_mock.attach_mock(mock_nodes, 'get_node_list')
        parent_mock.attach_mock(mock_instances, 'get_uuids_by_host')
        if not can_send_146:
            mock_can_send.side_effect = exception.IronicAPIVersionNotAvailable(
                version='1.46'
            )
        if not can_send_182:
            mock_can_send.side_effect = (
                None,
                (exception.IronicAPIVersionNotAvailable(version='1.82')),
            )

        self.driver.node_cache = {}
        self.driver.node_cache_time = None

        kwargs = {}
        if partition_key is not None and can_send_146:
            kwargs['conductor_group'] = partition_key
        if shard and can_send_182:
            kwargs['shard'] = shard

        with mock.patch.object(
            hashring.HashRing, 'map_keys', return_value=owners
        ) as mock_map:
            self.driver._refresh_cache()

        parent_mock.assert_has_calls(
            [
                mock.call.get_node_list(
                    fields=ironic_driver._NODE_FIELDS, **kwargs
                ),
                mock.call.get_uuids_by_host(mock.ANY, self.host),
            ]
        )
        mock_map.assert_called_once_with(bare)
        mock_instances.assert_called_once_with(mock.ANY, self.host)
        mock_nodes.assert_called_once_with(
            fields=ironic_driver._NODE_FIELDS, **kwargs
        )
        self.assertIsNotNone(self.driver.node_cache_time)


class UpgradeTestCase(upstream.test.NoDBTestCase):
    """Old (tooz) and new (hashring) services agree on every node."""

    @mock.patch.object(objects.ServiceList, 'get_all_computes_by_hv_type')
    def setUp(self, mock_services):
        super().setUp()
        self.driver = ironic_driver.IronicDriver(None)
        self.driver.init_host('foo')

    @mock.patch.object(objects.ServiceList, 'get_all_computes_by_hv_type')
    @mock.patch.object(ironic_driver.IronicDriver, '_get_node_list')
    @mock.patch.object(objects.InstanceList, 'get_uuids_by_host')
    def test_same_nodes_as_the_tooz_ring(
        self, mock_instances, mock_nodes, mock_services
    ):
        hosts = ['Compute-1', 'compute-2.example.org', 'compute-3', 'c-4']
        rng = random.Random(1866380)
        nodes = [
            upstream._get_cached_node(
                id=str(uuid.UUID(int=rng.getrandbits(128))),
                instance_id=(
                    uuidutils.generate_uuid() if rng.random() < 0.3 else None
                ),
            )
            for _ in range(2000)
        ]
        mock_nodes.return_value = nodes
        mock_services.return_value = [
            upstream._make_compute_service(h) for h in hosts
        ]
        self.driver.servicegroup_api = mock.Mock()
        self.driver.servicegroup_api.service_is_up.return_value = True
        for host in hosts:
            with self.subTest(host=host):
                self.flags(host=host)
                mine = {n.instance_id for n in nodes[::7] if n.instance_id}
                mock_instances.return_value = mine
                self.driver._refresh_cache()
                # What Nova computed before the port, with tooz.
                ring = tooz_hashring.HashRing(
                    {h.lower() for h in hosts}, partitions=32
                )
                expected = {
                    n.id
                    for n in nodes
                    if n.instance_id in mine
                    or (
                        n.instance_id is None
                        and CONF.host.lower()
                        in ring.get_nodes(n.id.encode('utf-8'))
                    )
                }
                self.assertEqual(expected, set(self.driver.node_cache))
                self.assertGreater(len(expected), 300)
