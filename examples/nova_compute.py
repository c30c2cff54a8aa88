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

"""A Nova-style ironic driver: compute services sharing baremetal nodes.

Several nova-compute services share one membership (an SQLite file, no
server needed).  Each builds its ring with a RingManager and picks its
nodes with an OwnershipFilter: the nodes of its own instances, and the
free nodes the ring maps to it.  It prints who manages what as services
come and go, and follows one node whose instance is deleted while its
service is down: adopted while the service is away, and back with the
ring's owner when it returns, never managed twice nor by nobody.

It needs the sql extra (SQLAlchemy)::

    pip install 'oslo.hashring[sql]'
    python examples/nova_compute.py
"""

import os
import sys
import tempfile
import time
import uuid

import hashring
from hashring import exception
from hashring import membership
from hashring import ownership

GROUP = 'nova-compute-ironic'


class Cloud:
    """Stands in for the Ironic API and Nova's instance records."""

    def __init__(self, node_count):
        self.nodes = [
            {
                'uuid': str(uuid.uuid5(uuid.NAMESPACE_OID, f'node-{i}')),
                'instance_uuid': None,
            }
            for i in range(node_count)
        ]
        self.instance_hosts = {}

    def boot(self, node, host):
        instance = str(uuid.uuid4())
        node['instance_uuid'] = instance
        self.instance_hosts[instance] = host
        return instance

    def delete_instance(self, instance):
        # The record goes, the node keeps its instance_uuid until cleaned.
        del self.instance_hosts[instance]

    def list_nodes(self):
        return [dict(node) for node in self.nodes]

    def instances_on(self, host):
        return {i for i, h in self.instance_hosts.items() if h == host}

    def host_of(self, instance):
        return self.instance_hosts.get(instance)


class ComputeService:
    """One nova-compute service with the ironic driver."""

    def __init__(
        self, host, cloud, connection, group=GROUP, driver='sql', **timing
    ):
        self.host = host
        self.cloud = cloud
        # The sql driver takes a database URL, tooz a tooz backend URL.
        url = {'sql': 'connection', 'tooz': 'backend_url'}[driver]
        self.source = membership.load(
            driver, group=group, **{url: connection}, **timing
        )
        self.rings = hashring.RingManager(
            self.source,
            host=host,
            reset_interval=timing.get('reset_interval', 0),
        )
        self.filter = hashring.OwnershipFilter(
            host,
            manager=self.rings,
            instance_host=cloud.host_of,
        )
        self.last = None

    def start(self):
        self.source.join(self.host)

    def get_available_nodes(self):
        """The node uuids this service manages (Nova's resource tracker)."""
        nodes = self.cloud.list_nodes()  # nodes first ...
        instances = self.cloud.instances_on(self.host)  # ... then instances
        self.last = self.filter.filter(nodes, instances)
        return [node['uuid'] for node in self.last.owned]

    def stop(self):
        """Leave gracefully: drain, wait for the peers, leave.

        This service keeps its nodes until every peer applies a ring
        without it; they take them at their next call once it is gone.
        Returns False when they had not by ``dead_after`` (it leaves all
        the same).
        """
        acknowledged = self.rings.leave()
        self.source.close()
        return acknowledged

    def crash(self):
        """Stop heartbeating and leave the record behind, as a crash does."""
        self.source.stop()


def _instance_text(decision):
    if decision.instance_id is None:
        return 'no instance'
    if decision.instance_host is None:
        return 'its instance has no record'
    if decision.reason is ownership.Reason.ORPHAN:
        return f"its instance's host, {decision.instance_host}, is down"
    return f'its instance is managed by {decision.instance_host}'


# A demo's timings.  Services that start together take their nodes once
# settled: settle_after defaults to read_timeout and two intervals (30 s
# with the default options), long enough for every peer to write its
# record again after a backend lost them; one database file that nothing
# wipes needs only the two intervals.
TIMING = {
    'heartbeat_interval': 0.2,
    'dead_after': 1.0,
    'settle_after': 0.4,
    'reset_interval': 0,
}


def show(services, title, watch=None):
    """Refresh until the services agree; print each one's share.

    Under the handoff protocol a node changes hands over a few rounds of
    refreshes (its new owner announces, the old one lets go, the new one
    takes), never managed by two services in any of them.  Services that
    start together take their nodes once settled (``settle_after``): none
    hands another a node before.
    """
    print(f'-- {title}')
    twice = 0
    rounds = 0
    deadline = time.monotonic() + 10 * TIMING['dead_after']
    while True:
        rounds += 1
        managers = {}
        for service in services:
            for node in service.get_available_nodes():
                managers.setdefault(node, []).append(service.host)
        twice = max(twice, sum(1 for h in managers.values() if len(h) > 1))
        nobody = len(services[0].cloud.nodes) - len(managers)
        converged = services[0].rings.convergence().fingerprint
        if (not nobody and converged) or time.monotonic() > deadline:
            break
        # A periodic task calls again a moment later.
        time.sleep(TIMING['heartbeat_interval'] / 4)
    for service in services:
        result = service.last
        print(
            f'{service.host}: {len(result.owned):3d} nodes, ring generation '
            f'{result.ring_generation} ({result.fingerprint}), '
            f'{len(result.orphans)} orphans'
        )
    print(
        f'after {rounds} round(s) of refreshes: managed by nobody: '
        f'{nobody}; managed twice in any round: {twice}'
    )
    if watch is not None:
        (host,) = managers[watch]
        decision = next(
            s.last.decisions[watch] for s in services if s.host == host
        )
        print(
            f'node {watch}: managed by {host}, reason: '
            f'{decision.reason.value}; ' + _instance_text(decision)
        )


def main():
    path = os.path.join(tempfile.mkdtemp(), 'members.sqlite')
    connection = f'sqlite:///{path}'
    cloud = Cloud(300)
    services = [
        ComputeService(f'compute-{i}', cloud, connection, **TIMING)
        for i in range(1, 4)
    ]
    for service in services:
        service.start()
    show(services, 'three services')

    node = cloud.nodes[0]
    owner = next(
        s for s in services if node['uuid'] in s.get_available_nodes()
    )
    instance = cloud.boot(node, owner.host)
    print(f'{instance} booted on {node["uuid"]}, managed by {owner.host}')

    show(services, 'the instance booted', watch=node['uuid'])

    owner.crash()
    time.sleep(TIMING['dead_after'] * 1.5)
    alive = [s for s in services if s is not owner]
    show(alive, f'{owner.host} crashed', watch=node['uuid'])
    cloud.delete_instance(instance)
    show(
        alive,
        f'its instance was deleted while {owner.host} was down',
        watch=node['uuid'],
    )

    back = ComputeService(owner.host, cloud, connection, **TIMING)
    back.start()
    alive.append(back)
    show(alive, f'{owner.host} is back', watch=node['uuid'])

    for service in alive:
        service.stop()


if __name__ == '__main__':
    try:
        main()
    except exception.MissingDependency as exc:
        sys.exit(f'{exc}')
