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

"""The shard planner at Ironic's scale: 100,000 nodes, 50 shards.

Three plans, each timed in thread CPU time (best of ``--repeat``) and
checked against its targets (under 2 s, peak-to-mean at most 1.01 times
the best the node count allows):

* first: no node has a shard yet, one in five has an instance;
* grow: the nodes of 40 shards spread over 50 (ten shards added);
* shrink: the nodes of 50 shards into 45 (five removed).

Run::

    python -m benchmarks.shards [--nodes 100000] [--shards 50]
"""

import argparse
import time

from benchmarks import harness
from hashring import shards


def timed(func, repeat):
    best = None
    result = None
    for _ in range(repeat):
        start = time.thread_time()
        result = func()
        spent = time.thread_time() - start
        best = spent if best is None else min(best, spent)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--nodes', type=int, default=100_000)
    parser.add_argument('--shards', type=int, default=50)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args(argv)
    n, s = args.nodes, args.shards
    if s <= 10:
        # The grow case spreads the nodes over ten shards fewer first.
        parser.error(f'--shards must be more than 10, not {s}')
    cases = {
        'first': (
            [
                {'id': f'node-{i:06d}', 'instance_id': None if i % 5 else 'x'}
                for i in range(n)
            ],
            {f'shard-{k}': 1 + k % 2 for k in range(s)},
        ),
        'grow': (
            [
                {'id': f'node-{i:06d}', 'shard': f'shard-{i % (s - 10)}'}
                for i in range(n)
            ],
            {f'shard-{k}': 1 for k in range(s)},
        ),
        'shrink': (
            [
                {'id': f'node-{i:06d}', 'shard': f'shard-{i % s}'}
                for i in range(n)
            ],
            {f'shard-{k}': 1 for k in range(s - 5)},
        ),
    }
    info = harness.machine()
    print(
        f'{info["date"]}, {info["cpu"]}, Python {info["python"]}; '
        f'{n:,} nodes, best of {args.repeat}, thread CPU time\n'
    )
    print(f'{"plan":<8}{"time":>9}{"moved":>9}{"peak":>9}{"best":>9}  ok')
    for name, (nodes, weights) in cases.items():
        seconds, plan = timed(lambda: shards.plan(nodes, weights), args.repeat)
        ok = seconds < 2.0 and plan.peak_to_mean <= plan.ideal * 1.01 + 1e-9
        print(
            f'{name:<8}{seconds:>8.2f}s{len(plan.moves):>9,}'
            f'{plan.peak_to_mean:>9.4f}{plan.ideal:>9.4f}  '
            f'{"yes" if ok else "NO"}'
        )


if __name__ == '__main__':
    main()
