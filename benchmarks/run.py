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

Everything runs in one process on the same keys, and every figure is
reported both as measured and as a ratio, so that runs on different
machines compare.  ``python benchmarks/run.py`` prints the tables that
doc/source/user/benchmarks.rst quotes; ``--quick`` is a smoke run.
"""

import argparse
import datetime
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import statistics
import time
import timeit
import tracemalloc
import uuid

from tooz import hashring as tooz_hashring
import uhashring

import hashring
from hashring import hashing

BUILDERS = {
    'hashring': hashring.HashRing,
    'tooz': tooz_hashring.HashRing,
    'uhashring': uhashring.HashRing,
}
TARGET_SINGLE = 2.5
TARGET_BATCH = 1.6


def best(func, repeat):
    """Return the least time of several runs of func, in seconds."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def best_per_call(func, repeat):
    """Return the least time of one call, timing enough calls per sample.

    A small ring builds in a fraction of a millisecond, too short to time
    one call at a time without the timer's and the cold caches' noise.
    """
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    gc.collect()
    return min(timer.repeat(repeat=repeat, number=number)) / number


def retained_bytes(build):
    """Return the bytes a built object keeps alive (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    obj = build()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del obj
    return size


def machine():
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        'date': datetime.date.today().isoformat(),
        'cpu': model,
        'python': platform.python_version(),
        'hashring': importlib.metadata.version('oslo.hashring'),
        'tooz': importlib.metadata.version('tooz'),
        'uhashring': importlib.metadata.version('uhashring'),
    }


def lookups(keys, members, repeat):
    """Time single and batch lookups; returns microseconds per key."""
    md5 = hashlib.md5
    ours = hashring.HashRing(members)
    theirs = tooz_hashring.HashRing(members)
    micro = uhashring.HashRing(members)

    def bare():
        for k in keys:
            md5(k.encode()).digest()

    def builtin():
        new = hashing.hash_constructor('md5')
        for k in keys:
            new(k.encode()).digest()

    def single():
        get = ours.get_node
        for k in keys:
            get(k)

    def batch():
        ours.map_keys(keys)

    def tooz_single():
        get = theirs.get_nodes
        for k in keys:
            get(k.encode())

    def uhash_single():
        get = micro.get_node
        for k in keys:
            get(k)

    per_key = 1e6 / len(keys)
    return {
        'bare_md5': best(bare, repeat) * per_key,
        'ring_md5': best(builtin, repeat) * per_key,
        'hashring': best(single, repeat) * per_key,
        'hashring_batch': best(batch, repeat) * per_key,
        'tooz': best(tooz_single, repeat) * per_key,
        'uhashring': best(uhash_single, repeat) * per_key,
    }


def builds(members, repeat):
    """Time ring construction and measure retained memory."""
    return {
        'build_ms': {
            name: best_per_call(lambda: build(members), repeat) * 1e3
            for name, build in BUILDERS.items()
        },
        'memory_kib': {
            name: retained_bytes(lambda: build(members)) / 1024
            for name, build in BUILDERS.items()
        },
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


def ownership(keys, members, repeat):
    """Filter nodes as Nova's ironic driver does; seconds for all nodes.

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

    def tooz_loop():
        return [
            n
            for n in nodes
            if n['instance_uuid'] in mine
            or (
                n['instance_uuid'] is None
                and host in theirs.get_nodes(n['uuid'].encode())
            )
        ]

    assert flt.filter(nodes, mine).owned == tooz_loop()
    return {
        'hashring': best(lambda: flt.filter(nodes, mine), repeat),
        'tooz_loop': best(tooz_loop, repeat),
    }


def run(key_count, member_counts, repeat):
    keys = [
        str(uuid.uuid5(uuid.NAMESPACE_OID, f'node-{i}'))
        for i in range(key_count)
    ]
    results = {'machine': machine(), 'keys': key_count, 'members': {}}
    for count in member_counts:
        members = [f'compute-{i:04d}.example.org' for i in range(count)]
        row = {'lookup_us': lookups(keys, members, repeat)}
        row.update(builds(members, repeat))
        row['peak_to_mean'] = balance(keys, members, (5, 8, 10))
        row['moved'] = movement(keys, members)
        row['ownership_s'] = ownership(keys, members, max(1, repeat // 2))
        results['members'][count] = row
    return results


def verdicts(results):
    """Check the targets of the design; returns a list of lines."""
    lines = []
    for count, row in results['members'].items():
        lookup = row['lookup_us']
        single = lookup['hashring'] / lookup['bare_md5']
        batch = lookup['hashring_batch'] / lookup['bare_md5']
        build = row['build_ms']['hashring'] / row['build_ms']['tooz']
        checks = [
            (f'single lookup {single:.2f}x bare md5', single <= TARGET_SINGLE),
            (f'batch lookup {batch:.2f}x bare md5', batch <= TARGET_BATCH),
            (f'build {build:.2f}x tooz', build <= 1.0),
        ]
        for text, ok in checks:
            verdict = 'met' if ok else 'MISSED'
            lines.append(f'{count:>5} members: {text}: {verdict}')
    return lines


def balance_table(results):
    """Format the peak-to-mean loads alone, for the exponent advice."""
    rows = [('members', 'exponent 5', 'exponent 8', 'exponent 10')]
    for count, row in results['members'].items():
        p = row['peak_to_mean']
        rows.append((str(count), f'{p[5]:.2f}', f'{p[8]:.2f}', f'{p[10]:.2f}'))
    m = results['machine']
    return '\n'.join(
        _rst(rows)
        + ['', f'Measured {m["date"]} with {results["keys"]} UUID keys.']
    )


def table(results):
    """Format the results as reStructuredText tables.

    "bare md5" is ``hashlib.md5(key.encode()).digest()``, the yardstick of
    the targets; "ring md5" is the same with the md5 the ring uses (CPython's
    built-in one where present), to show how much of the ratio that is.
    """
    m = results['machine']
    out = [
        f'Measured {m["date"]} on {m["cpu"]}, Python {m["python"]}; '
        f'hashring {m["hashring"]}, tooz {m["tooz"]}, uhashring '
        f'{m["uhashring"]}; {results["keys"]} UUID keys.',
        '',
    ]
    rows = [
        (
            'members',
            'bare md5 us',
            'ring md5 us',
            'hashring us',
            'batch us',
            'tooz us',
            'uhashring us',
            'hashring/md5',
            'batch/md5',
            'tooz/hashring',
        )
    ]
    for count, row in results['members'].items():
        lk = row['lookup_us']
        rows.append(
            (
                str(count),
                f'{lk["bare_md5"]:.3f}',
                f'{lk["ring_md5"]:.3f}',
                f'{lk["hashring"]:.3f}',
                f'{lk["hashring_batch"]:.3f}',
                f'{lk["tooz"]:.3f}',
                f'{lk["uhashring"]:.3f}',
                f'{lk["hashring"] / lk["bare_md5"]:.2f}',
                f'{lk["hashring_batch"] / lk["bare_md5"]:.2f}',
                f'{lk["tooz"] / lk["hashring"]:.1f}',
            )
        )
    out += _rst(rows) + ['']
    rows = [
        (
            'members',
            'hashring ms',
            'tooz ms',
            'uhashring ms',
            'hashring/tooz',
            'hashring KiB',
            'tooz KiB',
            'uhashring KiB',
        )
    ]
    for count, row in results['members'].items():
        b, mem = row['build_ms'], row['memory_kib']
        rows.append(
            (
                str(count),
                f'{b["hashring"]:.2f}',
                f'{b["tooz"]:.2f}',
                f'{b["uhashring"]:.2f}',
                f'{b["hashring"] / b["tooz"]:.2f}',
                f'{mem["hashring"]:.0f}',
                f'{mem["tooz"]:.0f}',
                f'{mem["uhashring"]:.0f}',
            )
        )
    out += _rst(rows) + ['']
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
    out += _rst(rows) + ['']
    rows = [('members', 'OwnershipFilter s', 'tooz loop s', 'tooz/hashring')]
    for count, row in results['members'].items():
        o = row['ownership_s']
        rows.append(
            (
                str(count),
                f'{o["hashring"]:.3f}',
                f'{o["tooz_loop"]:.3f}',
                f'{o["tooz_loop"] / o["hashring"]:.1f}',
            )
        )
    out += _rst(rows)
    return '\n'.join(out)


def _rst(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = '  '.join('=' * w for w in widths)
    lines = [rule]
    for n, r in enumerate(rows):
        lines.append('  '.join(c.rjust(w) for c, w in zip(r, widths)))
        if n == 0:
            lines.append(rule)
    lines.append(rule)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keys', type=int, default=100_000)
    parser.add_argument(
        '--members', type=int, nargs='+', default=[10, 100, 1000]
    )
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--quick', action='store_true', help='a smoke run')
    parser.add_argument('--json', metavar='FILE', help='also write JSON')
    parser.add_argument(
        '--doc',
        metavar='DIR',
        help='also write the tables the docs include into DIR',
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.keys, args.members, args.repeat = 2000, [3, 20], 1
    results = run(args.keys, args.members, args.repeat)
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
            json.dump(results, out, indent=2, default=str)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
