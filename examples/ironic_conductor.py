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

"""An Ironic-style conductor: rings per conductor group and hardware type.

Each conductor joins one membership group per hardware type it supports,
named ``<conductor group>:<hardware type>`` as Ironic names its rings, in
an SQLite membership (no server needed).  ``get_topic_for(node)`` routes a
node's RPC to its primary conductor; ``iter_nodes()`` yields the nodes a
conductor should act on in its periodic tasks.

It needs the sql extra (SQLAlchemy)::

    pip install 'oslo.hashring[sql]'
    python examples/ironic_conductor.py
"""

import os
import sys
import tempfile
import uuid

import hashring
from hashring import exception
from hashring import membership

TOPIC = 'ironic.conductor_manager'


def ring_group(conductor_group, hardware_type):
    return f'{conductor_group or "default"}:{hardware_type}'


class Conductor:
    """One ironic-conductor."""

    def __init__(self, host, conductor_group, hardware_types, connection):
        self.host = host
        self.conductor_group = conductor_group
        self.hardware_types = hardware_types
        self.source = membership.load(
            'sql',
            connection=connection,
            heartbeat_interval=0.2,
            dead_after=1.0,
        )
        self.rings = hashring.RingManager(
            self.source, host=host, reset_interval=0
        )

    def start(self):
        for hardware_type in self.hardware_types:
            self.source.join(
                self.host,
                group=ring_group(self.conductor_group, hardware_type),
                attributes={'conductor_group': self.conductor_group},
            )

    def stop(self):
        self.source.leave()
        self.source.close()

    def get_topic_for(self, node):
        """The RPC topic of the conductor that manages a node."""
        ring = self.rings.get_ring(
            ring_group(node['conductor_group'], node['driver'])
        )
        return f'{TOPIC}.{ring.get_node(node["uuid"])}'

    def iter_nodes(self, nodes):
        """Yield the nodes mapped to this conductor."""
        for hardware_type in self.hardware_types:
            group = ring_group(self.conductor_group, hardware_type)
            mine = [
                n
                for n in nodes
                if n['driver'] == hardware_type
                and n['conductor_group'] == self.conductor_group
            ]
            owners = self.rings.get_ring(group).map_keys(
                [n['uuid'] for n in mine]
            )
            for node, owner in zip(mine, owners):
                if owner == self.host:
                    yield node


def make_nodes(count):
    return [
        {
            'uuid': str(uuid.uuid5(uuid.NAMESPACE_OID, f'bm-{i}')),
            'driver': 'ipmi' if i % 3 else 'redfish',
            'conductor_group': 'rack-a' if i % 2 else '',
        }
        for i in range(count)
    ]


def main():
    path = os.path.join(tempfile.mkdtemp(), 'conductors.sqlite')
    connection = f'sqlite:///{path}'
    conductors = [
        Conductor('cond-1', '', ['ipmi', 'redfish'], connection),
        Conductor('cond-2', '', ['ipmi'], connection),
        Conductor('cond-3', 'rack-a', ['ipmi', 'redfish'], connection),
        Conductor('cond-4', 'rack-a', ['redfish'], connection),
    ]
    for conductor in conductors:
        conductor.start()
    nodes = make_nodes(60)
    for conductor in conductors:
        mine = list(conductor.iter_nodes(nodes))
        print(f'{conductor.host}: {len(mine)} nodes')
    node = nodes[0]
    print(
        f'node {node["uuid"]} ({node["driver"]}, group '
        f'{node["conductor_group"] or "default"}) -> '
        f'{conductors[0].get_topic_for(node)}'
    )
    for conductor in conductors:
        conductor.stop()


if __name__ == '__main__':
    try:
        main()
    except exception.MissingDependency as exc:
        sys.exit(f'{exc}')
