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

"""What the handoff protocol costs a filter call, at 100,000 nodes.

Ten services (``--services``) share one membership (in memory, so that
only the library's own work is timed: the claims are still written and
parsed as a backend's records); every one runs the protocol and has
applied the ring.  Side by side in one process, for one service:

* steady: a filter call over every node, with the protocol (its ring
  applied, the peers' claims fresh) and without it (``handoff=False``);
* change: the first call after a ring change - an eleventh service has
  announced a ring that gives it nodes, so the call publishes an intent,
  reads the claims and checks every node against two published rings -
  with the protocol, against the same call without it.

Every owned set is checked against the plain ring's.  Run::

    python -m benchmarks.handoff [--nodes 100000] [--services 10]
        [--repeat 9]
"""

import argparse
import time

from benchmarks import harness
from hashring import convergence
from hashring import manager
from hashring import ownership

# A member that joined takes a key nobody hands it only once its record
# has stood settle_after (hashring.taking.settled): a short one settles
# the services before the rounds; nobody dies meanwhile.
TIMING = {'heartbeat_interval': 0.05, 'dead_after': 3600, 'settle_after': 0.1}


def source_of(shared):
    """Return one service's source over the shared membership."""
    return convergence.SimulatedMembership(time.monotonic, shared, **TIMING)


def setup(count):
    """Return the services' managers, all applying the same ring."""
    shared = convergence.SimulatedMembership(time.monotonic, **TIMING)
    managers = {}
    for i in range(1, count + 1):
        host = f'svc-{i}'
        source = source_of(shared)
        source.join(host)
        shared.beats[host] = time.monotonic()
        managers[host] = manager.RingManager(
            source, host=host, reset_interval=3600
        )
    return shared, managers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nodes', type=int, default=100_000)
    parser.add_argument('--services', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=9)
    args = parser.parse_args(argv)
    nodes = [
        {'uuid': f'node-{n:06d}', 'instance_uuid': None}
        for n in range(args.nodes)
    ]
    shared, managers = setup(args.services)
    time.sleep(3 * TIMING['heartbeat_interval'])
    # The peers' claims depend on their rings, not on the nodes: they
    # filter a few, so that large groups set up in seconds.
    few = nodes[:100]
    for _ in range(3):
        for mgr in managers.values():
            mine = nodes if mgr.host == 'svc-1' else few
            ownership.OwnershipFilter(mgr.host, manager=mgr).filter(mine, [])
    me = managers['svc-1']
    with_protocol = ownership.OwnershipFilter('svc-1', manager=me)
    plain = ownership.OwnershipFilter('svc-1', manager=me, handoff=False)
    assert me.convergence().fingerprint is not None
    owned = with_protocol.filter(nodes, []).owned
    assert owned == plain.filter(nodes, []).owned
    info = harness.machine()
    print(
        f'{info["date"]}, {info["cpu"]}, Python {info["python"]}, '
        f'hashring {info["hashring"]}'
    )
    print(
        f'{args.services} services, {args.nodes:,} nodes, one service filters '
        f'every node; thread CPU time, {args.repeat} interleaved rounds, '
        'median (range) of the per-round ratios\n'
    )
    steady = harness.interleaved(
        {
            'protocol': lambda: with_protocol.filter(nodes, []),
            'plain': lambda: plain.filter(nodes, []),
        },
        args.repeat,
    )

    # One service more announces a ring that gives it nodes.
    host = f'svc-{args.services + 1}'
    extra = source_of(shared)
    extra.join(host)
    shared.beats[host] = time.monotonic()
    newcomer = manager.RingManager(extra, host=host, reset_interval=3600)
    ownership.OwnershipFilter(host, manager=newcomer).filter(few, [])
    me.refresh()

    def first_call():
        # A protocol that has applied nothing yet announces and checks
        # every node against the published rings, as after a change.
        me._protocol = None
        return ownership.OwnershipFilter('svc-1', manager=me).filter(nodes, [])

    change = harness.interleaved(
        {'protocol': first_call, 'plain': lambda: plain.filter(nodes, [])},
        args.repeat,
    )
    rows = [
        ('steady: ring applied, claims fresh', steady),
        ('first call after a ring change', change),
    ]
    print(f'{"":<38}{"protocol":>10}{"plain":>10}  overhead (range)')
    for title, timings in rows:
        ratio = timings.ratio('protocol', 'plain')
        print(
            f'{title:<38}{timings.median("protocol") * 1000:>8.0f}ms'
            f'{timings.median("plain") * 1000:>8.0f}ms'
            f'  {(ratio.median - 1) * 100:+.1f}% '
            f'({(ratio.low - 1) * 100:+.1f}% to '
            f'{(ratio.high - 1) * 100:+.1f}%)'
        )


if __name__ == '__main__':
    main()
