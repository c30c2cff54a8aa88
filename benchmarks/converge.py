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

"""Measure the cost of ``hashring simulate converge`` at a larger scale.

Runs the convergence simulation of each event with 10 services and 10,000
nodes (the real ring managers and ownership filters, 181 simulated
seconds), and prints the CPU seconds each took and how many filter calls
it made.  The figure in doc/source/cli/index.rst comes from this script::

    python benchmarks/converge.py [--services 10] [--nodes 10000]
"""

import argparse
import platform
import time
from unittest import mock

from hashring import convergence
from hashring import ownership


def main():
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument('--services', type=int, default=10)
    cli.add_argument('--nodes', type=int, default=10000)
    args = cli.parse_args()
    print(
        f'Python {platform.python_version()} on {platform.machine()}; '
        f'{args.services} services, {args.nodes} nodes, 180 s simulated'
    )
    print(f'{"event":<8}{"CPU s":>8}{"filter calls":>14}{"clean after":>13}')
    real_filter = ownership.OwnershipFilter.filter
    for event in convergence.EVENTS:
        calls = []

        def counted(self, *a, _calls=calls, **kw):
            _calls.append(1)
            return real_filter(self, *a, **kw)

        with mock.patch.object(ownership.OwnershipFilter, 'filter', counted):
            started = time.process_time()
            timeline = convergence.converge(
                services=args.services, nodes=args.nodes, event=event
            )
            spent = time.process_time() - started
        print(
            f'{event:<8}{spent:>8.2f}{len(calls):>14}'
            f'{timeline.time_to_clean or 0:>12g}s'
        )


if __name__ == '__main__':
    main()
