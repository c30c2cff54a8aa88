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
import hashring
from hashring import _fast
from hashring import compat
from hashring import convergence
from hashring import manager

#: Keys looked up per call of a lookup case (fewer where there are fewer).
CHUNK_KEYS = 10_000

#: The targets, each a ratio of medians of per-round ratios: (what,
#: the most it may be).  A verdict line is printed for each, per size.
TARGETS = {
    'build': ('build / tooz build', 0.8),
    'build_pure': ('build without NumPy / tooz build', 0.8),
    'join': ('with_members(one more) / build', 0.2),
    'leave': ('with_members(one fewer) / build', 0.2),
    'churn': ('ToozHashRing add_node + remove_node / build', 0.4),
    'refresh': ('RingManager.refresh, one member changed / build', 1.1),
    'memory': ('memory retained / tooz', 1.2),
    'peak': ('memory at the build peak / tooz', 1.3),
    'peak_pure': ('memory at the build peak without NumPy / tooz', 1.3),
    'get_node': ('get_node / md5', 2.0),
    'replicas': ('get_nodes(replicas=3) / get_node', 2.0),
    'map_keys': ('map_keys / a loop of get_node', 0.6),
    'map_keys_pure': ('map_keys without NumPy / a loop of get_node', 0.6),
    'filter': ('OwnershipFilter / Nova loop over tooz', 0.5),
}


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
    (uhashring's) may be None: left out.
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
        ratios[target] = harness.Ratio(mem, mem, mem)
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


def verdicts(results):
    """Check every target at every size; returns a line each."""
    lines = []
    for row in results['sizes']:
        for target, ratio in row['ratios'].items():
            what, most = TARGETS[target]
            verdict = 'met' if ratio.median <= most else 'MISSED'
            lines.append(
                f'{row["members"]:>5} members, exponent {row["exponent"]:>2}: '
                f'{what} {ratio} (target {most}): {verdict}'
            )
    return lines


def table(results):
    """Format the results as reStructuredText tables."""
    m = results['machine']
    chunk = min(CHUNK_KEYS, results['keys'])
    out = [
        f'Measured {m["date"]} on {m["cpu"]}, Python {m["python"]}; '
        f'hashring {m["hashring"]}, tooz {m["tooz"]}, uhashring '
        f'{m["uhashring"]}, NumPy {m["numpy"]} ("pure": without it); '
        f'{results["keys"]} UUID keys, looked up {chunk} a call; '
        f'thread CPU time, {results["rounds"]} interleaved rounds of '
        f'shuffled blocks (up to {harness.BLOCKS} per case); ratios are the '
        'median (least-greatest) of the per-round ratios.',
        '',
    ]
    rows = [
        (
            'members',
            'exp',
            'md5 us',
            'get_node us',
            'tooz us',
            'uhashring us',
            'get_node/md5',
            'map_keys/get_node',
            'pure',
            'replicas=3/get_node',
        )
    ]
    for row in results['sizes']:
        lk, r = row['lookup_us'], row['ratios']
        rows.append(
            (
                str(row['members']),
                str(row['exponent']),
                f'{lk["md5"]:.3f}',
                f'{lk["get_node"]:.3f}',
                f'{lk["tooz"]:.3f}',
                f'{lk["uhashring"]:.3f}',
                f'{r["get_node"]}',
                f'{r["map_keys"]}',
                f'{r["map_keys_pure"]}',
                f'{r["replicas"]}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [
        (
            'members',
            'exp',
            'hashring ms',
            'tooz ms',
            'uhashring ms',
            'hashring/tooz',
            'pure/tooz',
            'join/build',
            'leave/build',
            'churn/build',
            'refresh/build',
            'tooz churn ms',
        )
    ]
    for row in results['sizes']:
        b, r = row['build_ms'], row['ratios']
        rows.append(
            (
                str(row['members']),
                str(row['exponent']),
                f'{b["hashring"]:.2f}',
                f'{b["tooz"]:.2f}',
                f'{b["uhashring"]:.2f}',
                f'{r["build"]}',
                f'{r["build_pure"]}',
                f'{r["join"]}',
                f'{r["leave"]}',
                f'{r["churn"]}',
                f'{r["refresh"]}',
                f'{b["tooz_churn"]:.2f}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [
        (
            'members',
            'exp',
            'hashring MiB',
            'tooz MiB',
            'uhashring MiB',
            'retained/tooz',
            'peak/tooz',
            'pure peak/tooz',
        )
    ]
    for row in results['sizes']:
        mem = row['memory_mib']
        rows.append(
            (
                str(row['members']),
                str(row['exponent']),
                f'{mem["hashring"][0]:.2f}',
                f'{mem["tooz"][0]:.2f}',
                f'{mem["uhashring"][0]:.2f}',
                f'{row["ratios"]["memory"].median:.2f}',
                f'{row["ratios"]["peak"].median:.2f}',
                f'{row["ratios"]["peak_pure"].median:.2f}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [
        (
            'members',
            'exponent 5',
            'exponent 8',
            'exponent 10',
            'uhashring',
            'join moved',
            'join ideal',
            'leave moved',
            'leave ideal',
        )
    ]
    for count, row in results['members'].items():
        p, mv = row['peak_to_mean'], row['moved']
        rows.append(
            (
                str(count),
                f'{p[5]:.2f}',
                f'{p[8]:.2f}',
                f'{p[10]:.2f}',
                f'{p["uhashring"]:.2f}',
                f'{mv["join"]:.4f}',
                f'{mv["join_ideal"]:.4f}',
                f'{mv["leave"]:.4f}',
                f'{mv["leave_ideal"]:.4f}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [('members', 'OwnershipFilter/Nova loop')]
    for row in results['sizes']:
        if 'filter' in row['ratios']:
            rows.append((str(row['members']), f'{row["ratios"]["filter"]}'))
    out += harness.rst(rows)
    return '\n'.join(out)


def balance_table(results):
    """Format the peak-to-mean loads alone, for the exponent advice."""
    rows = [('members', 'exponent 5', 'exponent 8', 'exponent 10')]
    for count, row in results['members'].items():
        p = row['peak_to_mean']
        rows.append((str(count), f'{p[5]:.2f}', f'{p[8]:.2f}', f'{p[10]:.2f}'))
    m = results['machine']
    return '\n'.join(
        harness.rst(rows)
        + ['', f'Measured {m["date"]} with {results["keys"]} UUID keys.']
    )


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
    print(table(results))
    print()
    print('\n'.join(verdicts(results)))
    if args.doc:
        with open(os.path.join(args.doc, 'benchmark-tables.inc'), 'w') as f:
            f.write(table(results) + '\n\n' + '\n'.join(verdicts(results)))
        with open(os.path.join(args.doc, 'balance-table.inc'), 'w') as f:
            f.write(balance_table(results) + '\n')
    if args.json:
        with open(args.json, 'w') as out:
            json.dump(results, out, indent=2, default=vars)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
