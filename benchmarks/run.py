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

"""Measure hashring side by side with tooz.hashring and uhashring.

Everything runs in one process on the same keys, timed as
:mod:`benchmarks.harness` describes (thread CPU time, interleaved
shuffled rounds, the median and range of per-round ratios), at each
member count and exponent.  ``python -m benchmarks.run`` prints the
tables that doc/source/user/benchmarks.rst quotes and the verdict on
every target; ``--huge`` adds 10,000 members at exponent 10 (ten million
points), and ``--quick`` is a smoke run.
"""

import argparse
import hashlib
import itertools
import json
import os
import statistics
import time
import uuid

from tooz import hashring as tooz_hashring
import uhashring

from benchmarks import harness
from benchmarks import report
import hashring
from hashring import _fast
from hashring import compat
from hashring import convergence
from hashring import manager

#: Keys looked up per call of a lookup case (fewer where there are fewer).
CHUNK_KEYS = 10_000


def pure(call):
    """Return a callable that runs ``call`` without the NumPy path."""

    def without_numpy(*args):
        enabled = _fast.ENABLED
        _fast.ENABLED = False
        try:
            return call(*args)
        finally:
            _fast.ENABLED = enabled

    return without_numpy


def lookups(keys, ring, theirs, micro, rounds):
    """Time lookups; returns :class:`harness.Timings`, seconds per key.

    Each call looks up the next chunk of :data:`CHUNK_KEYS` keys (and
    ``map_keys`` maps it), so that a round interleaves many calls of
    every case (:data:`harness.BLOCKS`).  tooz copies its member set on
    every lookup, so at many members it looks up fewer keys (each case
    is timed per key).  ``theirs`` (tooz's ring) and ``micro``
    (uhashring's) may be None: left out.  ``map_keys``'s arrays
    (:func:`hashring._fastbatch.settler`) are made before the rounds.
    """
    md5 = hashlib.md5
    few = keys[: max(1000, len(keys) * 10 // len(ring.members))]

    def each(chosen, look):
        # One callable per case, each taking its chunks in turn.
        size = min(CHUNK_KEYS, len(chosen))
        chunks = itertools.cycle(
            [
                chosen[i : i + size]
                for i in range(0, len(chosen) - size + 1, size)
            ]
        )
        return (lambda: look(next(chunks))), size

    def bare(chunk):
        for k in chunk:
            md5(k.encode()).digest()

    def single(chunk):
        get = ring.get_node
        for k in chunk:
            get(k)

    def replicas(chunk):
        get = ring.get_nodes
        for k in chunk:
            get(k, replicas=3)

    def tooz_single(chunk):
        get = theirs.get_nodes
        for k in chunk:
            get(k)

    def uhash_single(chunk):
        get = micro.get_node
        for k in chunk:
            get(k)

    looks = {
        'md5': (keys, bare),
        'get_node': (keys, single),
        'map_keys': (keys, ring.map_keys),
        'map_keys_pure': (keys, pure(ring.map_keys)),
        'replicas': (keys, replicas),
    }
    # Without the contenders' rings (benchmarks.huge), hashring alone.
    if theirs is not None:
        looks['tooz'] = ([k.encode() for k in few], tooz_single)
    if micro is not None:
        looks['uhashring'] = (few, uhash_single)
    cases, per = {}, {}
    for name, (chosen, look) in looks.items():
        cases[name], per[name] = each(chosen, look)
    # map_keys keeps arrays for its keys in occupied buckets once the ring
    # has mapped as many keys as it has points: made here, as a running
    # service has them, not in a timed round.
    for _ in range(-(-sum(ring.members.values()) * ring.points // len(keys))):
        ring.map_keys(keys)
    return harness.interleaved(cases, rounds, per=per)


def builds(members, exponent, rounds):
    """Time cold builds, and the changes of one member, of every ring."""
    ring = hashring.HashRing(members, exponent)
    # A manager over an in-memory membership, so that a refresh times the
    # library's work: read, judge liveness, rebuild, with one member
    # joining or leaving at every call.
    source = convergence.SimulatedMembership(time.monotonic)
    source.beats.update(dict.fromkeys(members, time.monotonic()))
    rings = manager.RingManager(
        source, reset_interval=3600, partition_exponent=exponent
    )
    rings.get_ring()

    def refresh():
        beats = source.beats
        if beats.pop('newcomer.example.org', None) is None:
            beats['newcomer.example.org'] = time.monotonic()
        rings.refresh()

    joined = [*members, 'newcomer.example.org']
    drop_in = compat.ToozHashRing(members, partitions=2**exponent)
    theirs = tooz_hashring.HashRing(members, partitions=2**exponent)

    def churn(target):
        # Join and leave again: a service that restarts.
        target.add_node('newcomer.example.org')
        target.remove_node('newcomer.example.org')

    return harness.interleaved(
        {
            'hashring': lambda: hashring.HashRing(members, exponent),
            'pure': pure(lambda: hashring.HashRing(members, exponent)),
            'tooz': lambda: tooz_hashring.HashRing(
                members, partitions=2**exponent
            ),
            'uhashring': lambda: uhashring.HashRing(
                members, vnodes=2**exponent
            ),
            'join': lambda: ring.with_members(joined),
            'refresh': refresh,
            'leave': lambda: ring.with_members(members[1:]),
            'churn': lambda: churn(drop_in),
            'tooz_churn': lambda: churn(theirs),
        },
        rounds,
    )


def memory(members, exponent):
    """Bytes each ring keeps, and each build's peak: ``{name: (r, p)}``."""
    return {
        'hashring': harness.memory(
            lambda: hashring.HashRing(members, exponent)
        ),
        'pure': harness.memory(
            pure(lambda: hashring.HashRing(members, exponent))
        ),
        'tooz': harness.memory(
            lambda: tooz_hashring.HashRing(members, partitions=2**exponent)
        ),
        'uhashring': harness.memory(
            lambda: uhashring.HashRing(members, vnodes=2**exponent)
        ),
    }


def ownership(keys, members, rounds):
    """Filter nodes as Nova's ironic driver does.

    Every third node has an instance; this host manages one in eight of
    them.  The plain loop is Nova's: own instances, else unoccupied nodes
    that tooz maps here.
    """
    host = members[0]
    nodes = [
        {'uuid': k, 'instance_uuid': f'i-{n}' if n % 3 == 0 else None}
        for n, k in enumerate(keys)
    ]
    mine = {f'i-{n}' for n in range(0, len(keys), 24)}
    flt = hashring.OwnershipFilter(host, ring=hashring.HashRing(members))
    theirs = tooz_hashring.HashRing(members)

    def nova_loop():
        return [
            n
            for n in nodes
            if n['instance_uuid'] in mine
            or (
                n['instance_uuid'] is None
                and host in theirs.get_nodes(n['uuid'].encode())
            )
        ]

    assert flt.filter(nodes, mine).owned == nova_loop()
    return harness.interleaved(
        {'filter': lambda: flt.filter(nodes, mine), 'nova': nova_loop},
        rounds,
    )


def run(key_count, member_counts, exponents, rounds, huge=False):
    """Measure every size; returns the results as plain data."""
    keys = [
        str(uuid.uuid5(uuid.NAMESPACE_OID, f'node-{i}'))
        for i in range(key_count)
    ]
    results = {
        'machine': harness.machine(),
        'keys': key_count,
        'chunk_keys': min(CHUNK_KEYS, key_count),
        'rounds': rounds,
        'sizes': [],
        'members': {},
    }
    for count in member_counts:
        members = [f'compute-{i:04d}.example.org' for i in range(count)]
        for exponent in exponents:
            if count * 2**exponent > 2**22 and not huge:
                continue
            results['sizes'].append(size(keys, members, exponent, rounds))
        results['members'][count] = {
            'peak_to_mean': balance(keys, members, (5, 8, 10)),
            'moved': movement(keys, members),
        }
    return results


def size(keys, members, exponent, rounds):
    """Measure one member count at one exponent."""
    ring = hashring.HashRing(members, exponent)
    theirs = tooz_hashring.HashRing(members, partitions=2**exponent)
    micro = uhashring.HashRing(members, vnodes=2**exponent)
    looked = lookups(keys, ring, theirs, micro, rounds)
    built = builds(members, exponent, rounds)
    weighed = memory(members, exponent)
    del ring, theirs, micro
    ratios = {
        'build': built.ratio('hashring', 'tooz'),
        'build_pure': built.ratio('pure', 'tooz'),
        'join': built.ratio('join', 'hashring'),
        'leave': built.ratio('leave', 'hashring'),
        'churn': built.ratio('churn', 'hashring'),
        'refresh': built.ratio('refresh', 'hashring'),
        'get_node': looked.ratio('get_node', 'md5'),
        'replicas': looked.ratio('replicas', 'get_node'),
        'map_keys': looked.ratio('map_keys', 'get_node'),
        'map_keys_pure': looked.ratio('map_keys_pure', 'get_node'),
    }
    for target, name, index in (
        ('memory', 'hashring', 0),
        ('peak', 'hashring', 1),
        ('peak_pure', 'pure', 1),
    ):
        mem = weighed[name][index] / weighed['tooz'][index]
        ratios[target] = harness.Ratio.of([mem])
    if exponent == 5:
        ratios['filter'] = ownership(keys, members, rounds).ratio(
            'filter', 'nova'
        )
    return {
        'members': len(members),
        'exponent': exponent,
        'points': len(members) * 2**exponent,
        'lookup_us': {n: looked.median(n) * 1e6 for n in looked.seconds},
        'build_ms': {n: built.median(n) * 1e3 for n in built.seconds},
        'memory_mib': {
            n: (r / 2**20, p / 2**20) for n, (r, p) in weighed.items()
        },
        'ratios': ratios,
    }


def balance(keys, members, exponents):
    """Peak-to-mean key load per exponent (tooz's by construction)."""
    result = {}
    for exponent in exponents:
        owners = hashring.HashRing(members, exponent).map_keys(keys)
        loads = (
            [owners.count(m) for m in members]
            if len(members) < 50
            else (list(_counts(owners).values()))
        )
        loads += [0] * (len(members) - len(loads))
        result[exponent] = max(loads) / statistics.mean(loads)
    micro = uhashring.HashRing(members)
    loads = list(_counts([micro.get_node(k) for k in keys]).values())
    loads += [0] * (len(members) - len(loads))
    result['uhashring'] = max(loads) / statistics.mean(loads)
    return result


def _counts(owners):
    counts = {}
    for owner in owners:
        counts[owner] = counts.get(owner, 0) + 1
    return counts


def movement(keys, members):
    """Keys moved by one join and one leave, against the ideal share."""
    ring = hashring.HashRing(members)
    joined = ring.with_members([*members, 'newcomer'])
    left = ring.with_members(members[1:])
    return {
        'join': len(hashring.changes(ring, joined, keys)) / len(keys),
        'join_ideal': 1 / (len(members) + 1),
        'leave': len(hashring.changes(ring, left, keys)) / len(keys),
        'leave_ideal': 1 / len(members),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keys', type=int, default=100_000)
    parser.add_argument(
        '--members', type=int, nargs='+', default=[10, 100, 1000, 10000]
    )
    parser.add_argument('--exponents', type=int, nargs='+', default=[5, 10])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument(
        '--huge',
        action='store_true',
        help='also rings of more than 2**22 points (10,000 members at '
        'exponent 10)',
    )
    parser.add_argument('--quick', action='store_true', help='a smoke run')
    parser.add_argument('--json', metavar='FILE', help='also write JSON')
    parser.add_argument(
        '--doc',
        metavar='DIR',
        help='also write the tables the docs include into DIR',
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.keys, args.members, args.exponents = 2000, [3, 20], [5]
        args.rounds = 1
    results = run(
        args.keys, args.members, args.exponents, args.rounds, args.huge
    )
    print(report.table(results))
    print()
    print('\n'.join(report.verdicts(results)))
    if args.doc:
        with open(os.path.join(args.doc, 'benchmark-tables.inc'), 'w') as f:
            f.write(
                report.table(results)
                + '\n\n'
                + '\n'.join(report.verdicts(results))
            )
        with open(os.path.join(args.doc, 'balance-table.inc'), 'w') as f:
            f.write(report.balance_table(results) + '\n')
    if args.json:
        with open(args.json, 'w') as out:
            json.dump(results, out, indent=2, default=vars)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
