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

"""Lookups on a ring of ten million points, without the builds.

``python -m benchmarks.run --huge`` also builds such rings with tooz and
uhashring, and measures their memory, a minute or more per build and
round; this measures only hashring's lookups against md5 on one ring,
with the same harness: ``get_node`` against md5, three replicas against
``get_node`` and ``map_keys`` against a loop of it.  Run::

    python -m benchmarks.huge [--members 10000] [--exponent 10]
"""

import argparse
import sys
import time
import uuid

from benchmarks import harness
from benchmarks import run
import hashring


def walk_bytes(ring):
    """Return the bytes of a ring's walk tables (hashring._walks.Walks)."""
    walks = ring._walks
    short = walks.short
    return (
        sum(map(sys.getsizeof, (walks.after, walks.base, walks.distinct)))
        + sys.getsizeof(short)
        + sum(map(sys.getsizeof, short.values()))
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--members', type=int, default=10_000)
    parser.add_argument('--exponent', type=int, default=10)
    parser.add_argument('--keys', type=int, default=100_000)
    parser.add_argument('--rounds', type=int, default=5)
    args = parser.parse_args(argv)
    members = [f'compute-{i:04d}.example.org' for i in range(args.members)]
    keys = [
        str(uuid.uuid5(uuid.NAMESPACE_OID, f'node-{i}'))
        for i in range(args.keys)
    ]
    started = time.thread_time()
    ring = hashring.HashRing(members, args.exponent)
    built = time.thread_time() - started
    info = harness.machine()
    print(
        f'{info["date"]}, {info["cpu"]}, Python {info["python"]}, '
        f'hashring {info["hashring"]}, NumPy {info["numpy"]}'
    )
    print(
        f'{args.members:,} members at exponent {args.exponent}: '
        f'{args.members * 2**args.exponent:,} points, built in {built:.1f}s'
    )
    started = time.thread_time()
    ring.get_nodes(keys[0], replicas=3)  # the walk tables, made once
    walked = time.thread_time() - started
    print(
        f'walk tables: {walk_bytes(ring) / 2**20:.1f} MiB, made on the '
        f'first walk of three replicas in {walked:.1f}s'
    )
    timings = run.lookups(keys, ring, None, None, args.rounds)
    for name, base in (
        ('get_node', 'md5'),
        ('replicas', 'get_node'),
        ('map_keys', 'get_node'),
    ):
        ratio = timings.ratio(name, base)
        print(
            f'{name}/{base}: {ratio.median:.2f} '
            f'({ratio.low:.2f}-{ratio.high:.2f}); '
            f'{name} {timings.median(name) * 1e6:.2f} us per key'
        )
    # Last, so that the lookups above ran on a ring built in a fresh
    # process.
    del ring
    started = time.thread_time()
    run.pure(lambda: hashring.HashRing(members, args.exponent))()
    print(f'built without NumPy in {time.thread_time() - started:.1f}s')


if __name__ == '__main__':
    main()
