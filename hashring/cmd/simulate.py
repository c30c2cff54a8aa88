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

"""``hashring simulate balance`` and ``hashring simulate converge``."""

import argparse
from collections.abc import Sequence
from typing import Any

from hashring.cmd import inputs
from hashring.cmd import output
from hashring.cmd import parser
from hashring.cmd import plots
from hashring import convergence
from hashring import ring as ring_mod
from hashring import simulation

CONVERGE = (
    'Services refresh their rings every interval, each at its own phase; '
    'one event happens; the timeline counts the nodes managed by two '
    'services or by none until all is clean.'
)

EXPLAIN = (
    'TIME is seconds since the start; a row is printed whenever a count '
    'changes.  Node-seconds add up, over the run, the nodes in a state '
    'times the seconds they spent in it: 10 nodes managed twice for 3 s '
    'are 30 node-seconds.'
)


#: A time in seconds, as the simulation bounds it.
_SECONDS = parser.number(float, 0, above=True, high=convergence.MAX_SECONDS)


def _exponents(text: str) -> list[int]:
    """An argparse type: exponents as ``5,8,10``."""
    value = parser.exponent
    return [value(part) for part in text.split(',')]


def register(sub: Any) -> argparse.ArgumentParser:
    """Add simulate, with balance and converge, to the subparsers."""
    p = parser.command(
        sub, 'simulate', usage, 'Simulate balance or convergence.'
    )
    # Shared options its simulations use may come before their name.
    parser.add_common(p, ('members', 'format'))
    sim = p.add_subparsers(metavar='SIMULATION', title='simulations')
    sim.hashring_prefix = 'simulate '  # type: ignore[attr-defined]
    b = parser.command(
        sim,
        'balance',
        balance,
        'Load per member and the keys moved by a join, a leave and a '
        're-weight, at one or several exponents.',
        ('members', 'format'),
    )
    b.add_argument(
        '--member-count',
        type=parser.count,
        default=10,
        help='members svc-1..svc-N of weight 1, without --members',
    )
    parser.add_keys(b, 100000)
    b.add_argument(
        '--exponents',
        type=_exponents,
        default='5,8,10',
        metavar='N,N',
        help='the partition exponents to compare',
    )
    b.add_argument(
        '--target',
        type=parser.number(float, 1),
        help='also find the smallest exponent, up to '
        f'{ring_mod.MAX_PARTITION_EXPONENT}, whose peak-to-mean load per '
        'unit of weight is at most this, such as 1.1',
    )
    b.add_argument(
        '--plot',
        metavar='FILE.png',
        type=output.plot_arg,
        help='also draw the load per member to this picture',
    )
    c = parser.command(
        sim, 'converge', converge, CONVERGE, ('format',), epilog=EXPLAIN
    )
    c.add_argument(
        '--services',
        type=parser.number(int, 1, high=convergence.MAX_SERVICES),
        default=3,
        help='services at start',
    )
    c.add_argument(
        '--nodes',
        type=parser.number(int, 1, high=convergence.MAX_NODES),
        default=1000,
        help='nodes to share',
    )
    c.add_argument(
        '--instances',
        type=parser.number(float, 0, high=1),
        default=0.3,
        help='the fraction of nodes with an instance, which stays with '
        'the service it started on',
    )
    c.add_argument(
        '--event',
        choices=convergence.EVENTS,
        default='crash',
        help='what happens to one service',
    )
    c.add_argument(
        '--at',
        type=parser.number(float, 0, high=convergence.MAX_SECONDS),
        default=30.0,
        help='seconds from the start to the event',
    )
    c.add_argument(
        '--duration',
        type=_SECONDS,
        default=180.0,
        help='seconds simulated',
    )
    c.add_argument(
        '--interval',
        type=_SECONDS,
        default=15.0,
        help='seconds between two ring refreshes of a service',
    )
    c.add_argument(
        '--dead-after',
        type=_SECONDS,
        default=60.0,
        help='seconds of silence after which a member is down',
    )
    c.add_argument(
        '--step',
        type=_SECONDS,
        default=1.0,
        help='seconds between two heartbeats and two counts',
    )
    c.add_argument(
        '--flap-for',
        type=_SECONDS,
        default=20.0,
        help='seconds a flapping or paused service stays away',
    )
    c.add_argument(
        '--handoff',
        action=argparse.BooleanOptionalAction,
        default=False,
        help='run the handoff protocol (hashring.handoff) in every '
        'service: a leave then drains first',
    )
    c.add_argument(
        '--plot',
        metavar='FILE.png',
        type=output.plot_arg,
        help='also draw the timeline to this picture',
    )
    return p


def usage(args: argparse.Namespace) -> int:
    """Without a simulation's name: say which there are."""
    raise parser.UsageError(
        'hashring simulate: name a simulation: balance or converge '
        '(hashring simulate --help says more)'
    )


def balance(args: argparse.Namespace) -> int:
    """Print the load and the moves at each exponent."""
    if args.plot:
        output.pyplot()  # fail before a long run
    if args.members is not None:
        members = args.members
    else:
        members = {f'svc-{i}': 1 for i in range(1, args.member_count + 1)}
    usable = simulation.exponents_for(members)
    for exponent in args.exponents:
        if exponent not in usable:
            raise parser.UsageError(
                f'hashring simulate balance: exponent {exponent} makes '
                f'more than {ring_mod.MAX_POINTS} points for a total '
                f'weight of {sum(members.values())}'
            )
    keys = inputs.keys(args)
    progress = output.Progress()
    results = []
    for n, exponent in enumerate(args.exponents):
        results.append(simulation.compare(members, keys, exponent))
        progress((n + 1) / len(args.exponents))
    progress.done()
    ideal = simulation.ideal_moves(members)
    recommended = None
    if args.target is not None:
        found = simulation.recommend(members, keys, args.target)
        recommended = None if found is None else found.exponent
    rows: list[Sequence[Any]] = [
        ('EXPONENT', 'MIN', 'MEAN', 'MAX', 'PEAK/MEAN')
        + ('JOIN', 'LEAVE', 'REWEIGHT')
    ]
    for r in results:
        rows.append(
            (
                r['exponent'],
                r['min'],
                f'{r["mean"]:.1f}',
                r['max'],
                f'{r["peak_to_mean"]:.3f}',
                *(f'{r["moved"][k]:.2%}' for k in simulation.MOVES),
            )
        )
    output.emit(
        args,
        {
            'members': members,
            'keys': len(keys),
            'results': results,
            'ideal': ideal,
            'recommended_exponent': recommended,
        },
        rows,
    )
    if args.format == 'table':
        print(
            'PEAK/MEAN is the busiest member\'s keys per unit of weight '
            'over the mean; 1.000 is perfect'
        )
        print(
            f'ideal moves: join {ideal["join"]:.2%}, leave '
            f'{ideal["leave"]:.2%}, reweight {ideal["reweight"]:.2%}'
        )
        if args.target is not None:
            answer = (
                f'none up to {usable[-1]}'
                if recommended is None
                else recommended
            )
            print(
                f'smallest exponent with peak/mean <= {args.target}: {answer}'
            )
    if args.plot:
        plots.loads(
            args.plot,
            [(r['exponent'], r['loads']) for r in results],
            len(members),
            len(keys),
        )
    return 0


def converge(args: argparse.Namespace) -> int:
    """Print the scenario, the timeline and its totals."""
    if args.plot:
        output.pyplot()  # fail before a long run
    params = {
        'services': args.services,
        'nodes': args.nodes,
        'instances': args.instances,
        'event': args.event,
        'event_at': args.at,
        'duration': args.duration,
        'interval': args.interval,
        'dead_after': args.dead_after,
        'step': args.step,
        'flap_for': args.flap_for,
    }
    # Fail before the scenario's description (on too many steps: each
    # value's bounds are its option's).
    convergence.check(**params)
    scenario = {**params, 'handoff': args.handoff}
    if args.event not in ('flap', 'pause'):
        del scenario['flap_for']
    if args.format == 'table':
        victim = (
            f'svc-{args.services + 1}'
            if args.event == 'join'
            else f'svc-{args.services}'
        )
        print(
            f'{args.services} services share {args.nodes} nodes '
            f'({args.instances:.0%} with an instance); each refreshes its '
            f'ring every {args.interval:g}s, a member is down after '
            f'{args.dead_after:g}s of silence; at {args.at:g}s '
            f'{victim} {_EVENTS[args.event].format(args.flap_for)}'
            + (
                ', every service running the handoff protocol.'
                if args.handoff
                else '.'
            )
        )
        print(EXPLAIN)
        print()
    progress = output.Progress()
    runs = [False, True] if args.handoff else [False]
    timelines = {}
    for index, handoff in enumerate(runs):

        def part(done: float, index: int = index) -> None:
            # One bar for both runs: each takes its share.
            progress((index + done) / len(runs))

        timelines[handoff] = convergence.converge(
            **params, progress=part, handoff=handoff
        )
    progress.done()
    # With --handoff, the protocol's run is the answer and the plain run
    # stands beside it.
    timeline = timelines[args.handoff]
    points = list(zip(*(timelines[h].points for h in runs)))
    changes = [
        p
        for i, p in enumerate(points)
        if i == 0 or [q[1:] for q in p] != [q[1:] for q in points[i - 1]]
    ]
    data = _summary(timeline)
    data.update(
        scenario=scenario,
        event=timeline.event,
        event_at=timeline.event_at,
        timeline=[
            {'t': p[-1][0], 'double': p[-1][1], 'unmanaged': p[-1][2]}
            for p in changes
        ],
    )
    header = ['TIME', 'MANAGED TWICE', 'MANAGED BY NONE']
    if args.handoff:
        data['without_handoff'] = _summary(timelines[False])
        header += ['TWICE, HANDOFF', 'NONE, HANDOFF']
    rows: list[Sequence[Any]] = [tuple(header)]
    rows += [(f'{p[0][0]:g}', *(n for q in p for n in q[1:])) for p in changes]
    output.emit(args, data, rows)
    if args.format == 'table':
        for handoff in runs:
            run = timelines[handoff]
            clean = (
                'never within the run'
                if run.clean_at is None
                else f'{run.time_to_clean:g}s after the event'
            )
            label = (
                ('with the handoff protocol, ' if handoff else 'without it, ')
                if args.handoff
                else ''
            )
            print(
                f'{label}{args.event} at {args.at:g}s: clean {clean}; '
                f'{run.double_node_seconds:g} node-seconds managed twice, '
                f'{run.orphan_node_seconds:g} by none'
            )
    if args.plot:
        plots.timelines(
            args.plot,
            timelines,
            f'{args.services} services, {args.nodes} nodes, refresh every '
            f'{args.interval:g}s, dead after {args.dead_after:g}s',
        )
    return 0


def _summary(timeline: Any) -> dict[str, Any]:
    """Return what a timeline adds up to, for the JSON output."""
    return {
        'clean_at': timeline.clean_at,
        'time_to_clean': timeline.time_to_clean,
        'double_node_seconds': timeline.double_node_seconds,
        'orphan_node_seconds': timeline.orphan_node_seconds,
        'peak_double': max(p[1] for p in timeline.points),
        'peak_unmanaged': max(p[2] for p in timeline.points),
    }


_EVENTS = {
    'join': 'starts and joins',
    'leave': 'leaves gracefully, removing its record',
    'crash': 'crashes, leaving its record to expire',
    'flap': 'crashes and comes back {:g}s later',
    'pause': 'pauses (a process stopped) and goes on {:g}s later',
}
