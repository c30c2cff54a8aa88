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

"""Ironic's shape: every conductor ring from one read, and every node routed.

300 conductors in 10 conductor groups, each enabling 20 hardware types,
give 200 rings (``group:hardware-type``) of 30 conductors; 100,000 nodes
spread over them.  Side by side in one process:

* build: the rings from one read of the conductor list.  hashring reads it
  through a ``callable`` source and ``RingManager.get_rings()``, as the
  Ironic port does (doc/source/adopting/ironic.rst); tooz and uhashring
  build one ring per key from the same dict, as Ironic does today;
* route: ``get_topic_for`` for every node, the owner of its UUID on its
  ring.  hashring routes each node with ``get_node``, then all of a ring's
  nodes with ``map_keys``, then through the tooz-style wrapper the port
  hands to Ironic's callers.

Every owner hashring gives is checked against tooz's.  Run::

    python -m benchmarks.ironic [--repeat 3]
"""

import argparse
import collections
import random
import uuid

from tooz import hashring as tooz_hashring
import uhashring

from benchmarks import harness
from hashring import compat
from hashring import manager
from hashring import membership

GROUPS = 10
CONDUCTORS = 300
HARDWARE_TYPES = 20
NODES = 100_000


def deployment(seed=1506657):
    """Return Ironic's d2c dict and the nodes (ring key, UUID)."""
    rng = random.Random(seed)
    hardware = [f'hw-{h}' for h in range(HARDWARE_TYPES)]
    d2c = collections.defaultdict(set)
    for c in range(CONDUCTORS):
        # Host names as configured: some in capitals, some with a port.
        host = f'Conductor-{c}.example.org' if c % 7 else f'cond-{c}:8089'
        for hw in hardware:
            d2c[f'group-{c % GROUPS}:{hw}'].add(host)
    keys = sorted(d2c)
    nodes = [
        (rng.choice(keys), str(uuid.UUID(int=rng.getrandbits(128))))
        for _ in range(NODES)
    ]
    return dict(d2c), nodes


def hashring_rings(d2c):
    def conductors():
        groups = collections.defaultdict(list)
        for key, hosts in d2c.items():
            for host in hosts:
                groups[host].append(key)
        return [{'name': h, 'groups': g} for h, g in groups.items()]

    source = membership.load('callable', function=conductors)
    try:
        return manager.RingManager(source, reset_interval=0).get_rings()
    finally:
        source.close()


def tooz_rings(d2c):
    return {
        k: tooz_hashring.HashRing(h, partitions=32) for k, h in d2c.items()
    }


def uhashring_rings(d2c):
    return {k: uhashring.HashRing(nodes=sorted(h)) for k, h in d2c.items()}


def main():
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument('--repeat', type=int, default=3)
    args = cli.parse_args()
    d2c, nodes = deployment()
    ours, theirs, uh = (
        hashring_rings(d2c),
        tooz_rings(d2c),
        uhashring_rings(d2c),
    )
    wrapped = {k: compat.ToozHashRing.from_ring(r) for k, r in ours.items()}
    by_ring = collections.defaultdict(list)
    for key, node in nodes:
        by_ring[key].append(node)
    encoded = [(key, node.encode()) for key, node in nodes]

    def route_tooz():
        return [theirs[k].get_nodes(n).pop() for k, n in encoded]

    def route_single():
        return [ours[k].get_node(n) for k, n in nodes]

    def route_batch():
        return {k: ours[k].map_keys(ns) for k, ns in by_ring.items()}

    def route_wrapped():
        return [wrapped[k].get_nodes(n).pop() for k, n in encoded]

    def route_uhashring():
        return [uh[k].get_node(n) for k, n in nodes]

    expected = route_tooz()
    if route_single() != expected or route_wrapped() != expected:
        raise SystemExit('hashring and tooz disagree on an owner')
    batch = route_batch()
    flat = {n: o for k, ns in by_ring.items() for n, o in zip(ns, batch[k])}
    if [flat[n] for _, n in nodes] != expected:
        raise SystemExit('hashring and tooz disagree on an owner')

    info = harness.machine()
    print(
        f'{info["date"]}, {info["cpu"]}, Python {info["python"]}; '
        f'hashring {info["hashring"]}, tooz {info["tooz"]}, uhashring '
        f'{info["uhashring"]}'
    )
    print(
        f'{CONDUCTORS} conductors in {GROUPS} groups, {HARDWARE_TYPES} '
        f'hardware types: {len(d2c)} rings of {CONDUCTORS // GROUPS}; '
        f'{NODES:,} nodes; thread CPU time, {args.repeat} interleaved rounds, '
        'median (range) of per-round ratios'
    )
    rows = [
        (
            'build every ring',
            [
                ('tooz', lambda: tooz_rings(d2c)),
                (
                    'hashring (one read, get_rings)',
                    lambda: hashring_rings(d2c),
                ),
                ('uhashring', lambda: uhashring_rings(d2c)),
            ],
        ),
        (
            'route every node',
            [
                ('tooz get_nodes().pop()', route_tooz),
                ('hashring get_node', route_single),
                ('hashring map_keys per ring', route_batch),
                ('hashring via ToozHashRing.from_ring', route_wrapped),
                ('uhashring get_node', route_uhashring),
            ],
        ),
    ]
    for title, cases in rows:
        print(f'\n{title}')
        timings = harness.interleaved(dict(cases), args.repeat)
        first = cases[0][0]
        for name, _ in cases:
            ratio = timings.ratio(first, name)
            print(
                f'  {name:<38}{timings.median(name) * 1000:>9.0f} ms  '
                f"{ratio:.1f} tooz's speed"
            )
    print('\nmemory of every ring')
    tooz_bytes = harness.memory(lambda: tooz_rings(d2c))[0]
    for name, build in (
        ('tooz', lambda: tooz_rings(d2c)),
        ('hashring', lambda: hashring_rings(d2c)),
        ('uhashring', lambda: uhashring_rings(d2c)),
    ):
        size = harness.memory(build)[0]
        print(
            f'  {name:<38}{size / 2**20:>9.1f} MiB '
            f'{size / tooz_bytes:>5.2f}x tooz'
        )


if __name__ == '__main__':
    main()
