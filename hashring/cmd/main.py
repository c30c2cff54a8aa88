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

"""The ``hashring`` command: look up, inspect and simulate rings."""

import argparse
from collections.abc import Callable
from collections.abc import Sequence
import csv
import json
import math
import os
import sys
import time
from typing import Any

from oslo_config import cfg

from hashring import exception
from hashring import hashing
from hashring import membership
from hashring.membership import base as membership_base
from hashring.membership import static
from hashring import opts
from hashring import ownership
from hashring import ring as ring_mod
from hashring import simulation

PLOT_HINT = 'install matplotlib (pip install hashring[plot]) to use --plot'

#: The file types matplotlib's Agg back end writes, by extension.
PLOT_FORMATS = (
    'eps jpeg jpg pdf pgf png ps raw rgba svg svgz tif tiff webp'.split()
)


class UsageError(Exception):
    """A bad argument, reported on one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UsageError(f'{self.prog}: {message}')


def _members_arg(text: str) -> dict[str, int]:
    try:
        return static.parse_members(text)
    except exception.HashRingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _number(
    kind: type, low: float, above: bool = False, high: float | None = None
) -> Callable[[str], Any]:
    """Return an argparse type: a finite number within bounds."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'{text!r} is not a number'
            ) from None
        bad = (
            not math.isfinite(value)
            or value < low
            or (above and value == low)
            or (high is not None and value > high)
        )
        if bad:
            bound = f'above {low:g}' if above else f'at least {low:g}'
            if high is not None:
                bound += f' and at most {high:g}'
            raise argparse.ArgumentTypeError(
                f'{text!r} is not a finite number {bound}'
            )
        return value

    return parse


def _plot_arg(text: str) -> str:
    kind = os.path.splitext(text)[1].lstrip('.').lower()
    if kind not in PLOT_FORMATS:
        raise argparse.ArgumentTypeError(
            f'{text!r} does not end in a picture type: '
            f'{", ".join(PLOT_FORMATS)}'
        )
    return text


_positive = _number(float, 0, above=True)
_count = _number(int, 1)


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument(
        '--config-file',
        action='append',
        default=[],
        help='an oslo.config file with a [hashring] section (repeatable)',
    )
    common.add_argument(
        '--members',
        type=_members_arg,
        help='the members directly, as "a,b:2,c" (name or name:weight); '
        'otherwise the configured membership source is read',
    )
    common.add_argument('--group', help='the membership group to use')
    common.add_argument(
        '--partition-exponent',
        type=int,
        help='points per member and unit of weight are 2**exponent',
    )
    common.add_argument('--hash-function', help='a hashlib algorithm name')
    common.add_argument(
        '--format',
        choices=['table', 'json'],
        default='table',
        help='aligned columns (default) or JSON',
    )
    parser = Parser(
        prog='hashring',
        description='Look up, inspect and simulate consistent hash rings.',
    )
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True

    def command(name: str, func: Callable[..., int], text: str) -> Any:
        p = sub.add_parser(name, parents=[common], help=text, description=text)
        p.set_defaults(func=func)
        return p

    p = command('lookup', cmd_lookup, 'Show the owner and replicas of keys.')
    p.add_argument('keys', nargs='+', metavar='KEY')
    p.add_argument(
        '--replicas',
        type=_count,
        default=1,
        help='how many members to list per key (default 1)',
    )
    p.add_argument(
        '--partition-power',
        type=int,
        default=8,
        help='bits of the membership-independent partition (default 8)',
    )

    command('members', cmd_members, 'List the members of a group.')
    for name, text in (
        ('join', 'Register HOST as a member of the group.'),
        ('heartbeat', 'Refresh the record of a registered HOST.'),
        ('drain', 'Keep HOST alive but take it off the ring.'),
        ('leave', "Remove HOST's own record."),
    ):
        p = command(name, cmd_register, text)
        p.add_argument('--host', required=True)
        if name == 'join':
            p.add_argument('--weight', type=int, default=1)

    p = command(
        'owned',
        cmd_owned,
        'Show which nodes HOST manages, with the reason for each.',
    )
    p.add_argument('--host', required=True)
    p.add_argument(
        '--nodes',
        required=True,
        metavar='FILE',
        help='JSON list or CSV with id, instance_id, instance_host',
    )
    p.add_argument('--orphan-policy', choices=['adopt', 'report'])

    p = command(
        'diff',
        cmd_diff,
        'Show what moves from one ring to another: members, weights or '
        'exponent.',
    )
    p.add_argument('--to-members', type=_members_arg)
    p.add_argument('--to-partition-exponent', type=int)
    src = p.add_mutually_exclusive_group()
    src.add_argument('--keys', metavar='FILE', help='one key per line')
    src.add_argument(
        '--count',
        type=_count,
        default=10000,
        help='generated keys, without --keys (default 10000)',
    )

    p = command(
        'simulate', cmd_simulate_help, 'Simulate balance or convergence.'
    )
    sim = p.add_subparsers(dest='simulation', metavar='SIMULATION')
    sim.required = True
    b = sim.add_parser(
        'balance',
        parents=[common],
        help='load per member and keys moved, per exponent',
        description='Load per member and keys moved by a join, a leave '
        'and a re-weight, at one or several exponents.',
    )
    b.set_defaults(func=cmd_balance)
    b.add_argument('--member-count', type=_count, default=10)
    b.add_argument(
        '--count', type=_count, default=100000, help='keys (default 100000)'
    )
    b.add_argument('--keys', metavar='FILE')
    b.add_argument('--exponents', default='5,8,10')
    b.add_argument(
        '--target',
        type=_number(float, 1),
        help='recommend the smallest exponent whose peak-to-mean is at '
        'most this',
    )
    b.add_argument('--plot', metavar='FILE.png', type=_plot_arg)
    c = sim.add_parser(
        'converge',
        parents=[common],
        help='nodes managed twice or by nobody around an event',
        description='Services refresh their rings every interval, each at '
        'its own phase; one event happens; the timeline counts nodes '
        'managed by two services or by none until all is clean.',
    )
    c.set_defaults(func=cmd_converge)
    c.add_argument('--services', type=_count, default=3)
    c.add_argument('--nodes', type=_count, default=1000)
    c.add_argument('--instances', type=_number(float, 0, high=1), default=0.3)
    c.add_argument('--event', choices=simulation.EVENTS, default='crash')
    c.add_argument('--at', type=_number(float, 0), default=30.0)
    c.add_argument('--duration', type=_positive, default=180.0)
    c.add_argument('--interval', type=_positive, default=15.0)
    c.add_argument('--dead-after', type=_positive, default=60.0)
    c.add_argument('--step', type=_positive, default=1.0)
    c.add_argument('--flap-for', type=_positive, default=20.0)
    c.add_argument('--plot', metavar='FILE.png', type=_plot_arg)
    return parser


# Helpers.


def _conf(args: argparse.Namespace) -> cfg.ConfigOpts:
    for path in args.config_file:
        if not os.path.isfile(path):
            raise UsageError(
                f'hashring: --config-file {path!r} is not a readable file'
            )
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf(
        [f'--config-file={f}' for f in args.config_file],
        project='hashring',
        default_config_files=[],
        default_config_dirs=[],
    )
    return conf


def _source(
    args: argparse.Namespace, conf: cfg.ConfigOpts | None = None
) -> membership_base.MembershipSource:
    conf = _conf(args) if conf is None else conf
    overrides = {'group': args.group} if args.group else {}
    if args.members is not None:
        return membership.load(
            'static',
            conf,
            members=[f'{m}:{w}' for m, w in args.members.items()],
            **overrides,
        )
    return membership.load(conf=conf, **overrides)


def _ring(args: argparse.Namespace) -> ring_mod.HashRing:
    conf = _conf(args)
    members = args.members
    if members is None:
        members = _source(args, conf).get_members(args.group).up()
    if not members:
        raise UsageError(
            'hashring: no members: pass --members a,b:2,c, or configure '
            '[hashring] membership_driver in a --config-file'
        )
    exponent = (
        conf.hashring.partition_exponent
        if args.partition_exponent is None
        else args.partition_exponent
    )
    function = args.hash_function or conf.hashring.hash_function
    return ring_mod.HashRing(members, exponent, function)


def _print(
    args: argparse.Namespace, data: Any, rows: list[Sequence[Any]]
) -> None:
    if args.format == 'json':
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    text = [[_printable(str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(text[0]))]
    for row in text:
        print('  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _printable(text: str) -> str:
    """Return text with control characters escaped, for a terminal.

    A node id can hold anything; printed raw, an escape sequence in it
    would drive the operator's terminal.
    """
    if text.isprintable():
        return text
    return ''.join(
        c if c.isprintable() else c.encode('unicode_escape').decode('ascii')
        for c in text
    )


class Progress:
    """A progress bar on stderr, for runs longer than two seconds."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown = False
        self.enabled = sys.stderr.isatty()

    def __call__(self, fraction: float) -> None:
        if not self.enabled or time.monotonic() - self.started < 2:
            return
        bar = '#' * int(fraction * 30)
        sys.stderr.write(f'\r[{bar:<30}] {fraction:4.0%}')
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write('\r' + ' ' * 40 + '\r')


def _pyplot() -> Any:
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use('Agg')
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError:
        raise UsageError(f'hashring: {PLOT_HINT}') from None
    return pyplot


def _save(fig: Any, path: str) -> None:
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise UsageError(
            f'hashring: cannot write {path}: {exc.strerror or exc}'
        ) from exc


# Commands.


def cmd_lookup(args: argparse.Namespace) -> int:
    ring = _ring(args)
    data: dict[str, Any] = {'fingerprint': ring.fingerprint, 'keys': []}
    rows: list[Sequence[Any]] = [('KEY', 'PRIMARY', 'REPLICAS', 'PARTITION')]
    for key in args.keys:
        nodes = ring.get_nodes(key, replicas=args.replicas)
        partition = hashing.partition_of(key, args.partition_power)
        data['keys'].append(
            {
                'key': key,
                'primary': nodes[0],
                'replicas': nodes,
                'partition': partition,
            }
        )
        rows.append((key, nodes[0], ','.join(map(str, nodes)), partition))
    _print(args, data, rows)
    if args.format == 'table':
        print(f'fingerprint {ring.fingerprint}')
    return 0


def cmd_members(args: argparse.Namespace) -> int:
    snapshot = _source(args).get_members(args.group)
    now = snapshot.read_at
    data: dict[str, Any] = {
        'group': snapshot.group,
        'generation': snapshot.generation,
        'members': [],
    }
    rows: list[Sequence[Any]] = [
        ('MEMBER', 'STATE', 'WEIGHT', 'HEARTBEAT AGE')
    ]
    for m in snapshot:
        age = (
            None
            if m.last_heartbeat is None
            else round((now - m.last_heartbeat).total_seconds(), 1)
        )
        presumed = m.id in snapshot.presumed
        data['members'].append(
            {
                'id': m.id,
                'state': m.state.value,
                'weight': m.weight,
                'age': age,
                'presumed': presumed,
            }
        )
        rows.append(
            (
                m.id,
                f'{m.state.value} (presumed)' if presumed else m.state.value,
                m.weight,
                '-' if age is None else f'{age}s',
            )
        )
    _print(args, data, rows)
    if args.format == 'table':
        print(
            f'group {snapshot.group}: {len(snapshot)} members, '
            f'{len(snapshot.up())} up, generation {snapshot.generation}'
        )
        if snapshot.presumed:
            print(
                f'{len(snapshot.presumed)} presumed alive: silent for '
                f'longer than dead_after, but a backend outage explains it'
            )
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    source = _source(args)
    try:
        if args.command == 'join':
            source.join(args.host, args.group, weight=args.weight)
        else:
            source.resume(args.host, args.group)
            {
                'heartbeat': source.heartbeat,
                'drain': source.drain,
                'leave': source.leave,
            }[args.command]()
    finally:
        # A command-line tool heartbeats once: the record stays behind and
        # expires after dead_after unless heartbeat runs again.
        source.close()
    group = args.group or source.default_group
    print(f'{args.command}: {membership.canonical_id(args.host)} in {group}')
    return 0


def _read_text(path: str) -> str:
    """Return a file's text, or raise a UsageError naming the file."""
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8')
    except OSError as exc:
        raise UsageError(
            f'hashring: cannot read {path}: {exc.strerror or exc}'
        ) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f'hashring: {path} is not UTF-8: {exc}') from exc


def _read_nodes(path: str) -> list[dict[str, Any]]:
    text = _read_text(path)
    try:
        if text.lstrip().startswith('['):
            nodes = json.loads(text)
        else:
            nodes = list(csv.DictReader(text.splitlines()))
    except ValueError as exc:
        raise UsageError(
            f'hashring: {path} is not JSON or CSV: {exc}'
        ) from exc
    if not isinstance(nodes, list) or not all(
        isinstance(n, dict) and n.get('id') for n in nodes
    ):
        raise UsageError(f'hashring: every node in {path} needs an "id"')
    for node in nodes:
        for field in ('instance_id', 'instance_host'):
            node[field] = node.get(field) or None
        for field in ('id', 'instance_id', 'instance_host'):
            value = node[field]
            if value is not None and not isinstance(value, str):
                raise UsageError(
                    f'hashring: node {node["id"]!r:.60} in {path}: '
                    f'{field} must be a string, not {value!r:.60}'
                )
    return nodes


def cmd_owned(args: argparse.Namespace) -> int:
    nodes = _read_nodes(args.nodes)
    ring = _ring(args)
    host = membership.canonical_id(args.host)
    hosts = {
        n['instance_id']: n['instance_host']
        for n in nodes
        if n['instance_id'] and n['instance_host']
    }
    mine = [i for i, h in hosts.items() if membership.canonical_id(h) == host]
    flt = ownership.OwnershipFilter(
        host,
        ring=ring,
        instance_host=hosts.get,
        orphan_policy=args.orphan_policy or 'adopt',
    )
    result = flt.filter(nodes, mine)
    rows: list[Sequence[Any]] = [('NODE', 'OWNED', 'REASON', 'RING OWNER')]
    decisions = []
    for node in nodes:
        d = result.decisions[node['id']]
        decisions.append(
            {
                'id': d.node_id,
                'owned': d.owned,
                'reason': d.reason.value,
                'ring_owner': d.ring_owner,
                'instance_id': d.instance_id,
                'instance_host': d.instance_host,
            }
        )
        rows.append(
            (
                d.node_id,
                'yes' if d.owned else 'no',
                d.reason.value,
                d.ring_owner,
            )
        )
    counts = {r.value: n for r, n in result.counts().items()}
    summary = (
        f'{host} manages {len(result.owned)} of {len(nodes)} nodes; '
        + ', '.join(f'{n} {r}' for r, n in counts.items())
        + f'; ring {result.fingerprint}'
    )
    _print(
        args,
        {
            'host': host,
            'owned': [n['id'] for n in result.owned],
            'decisions': decisions,
            'orphans': result.orphans,
            'counts': counts,
            'fingerprint': result.fingerprint,
        },
        rows,
    )
    if args.format == 'table':
        print(summary)
    return 0


def _keys(args: argparse.Namespace) -> list[str]:
    if args.keys:
        keys = [
            line.strip()
            for line in _read_text(args.keys).splitlines()
            if line.strip()
        ]
        if not keys:
            raise UsageError(f'hashring: {args.keys} holds no keys')
        return keys
    return simulation.keys(args.count)


def cmd_diff(args: argparse.Namespace) -> int:
    old = _ring(args)
    exponent = (
        old.partition_exponent
        if args.to_partition_exponent is None
        else args.to_partition_exponent
    )
    to_members = old.members if args.to_members is None else args.to_members
    new = ring_mod.HashRing(to_members, exponent, old.hash_function)
    keys = _keys(args)
    counts = simulation.moved(old, new, keys)
    total = sum(counts.values())
    before = dict.fromkeys(sorted({*old.members, *new.members}), 0)
    after = dict(before)
    for owner in old.map_keys(keys):
        before[owner] += 1
    for owner in new.map_keys(keys):
        after[owner] += 1
    rows: list[Sequence[Any]] = [('FROM', 'TO', 'KEYS')]
    rows += [(a, b, n) for (a, b), n in sorted(counts.items())]
    _print(
        args,
        {
            'keys': len(keys),
            'moved': total,
            'moves': [
                {'from': a, 'to': b, 'keys': n}
                for (a, b), n in sorted(counts.items())
            ],
            'before': before,
            'after': after,
            'fingerprints': [old.fingerprint, new.fingerprint],
        },
        rows,
    )
    if args.format == 'table':
        print()
        _print(
            args,
            None,
            [('MEMBER', 'BEFORE', 'AFTER')]
            + [(m, before[m], after[m]) for m in before],
        )
        print(f'{total} of {len(keys)} keys move ({total / len(keys):.2%})')
    return 0


def cmd_simulate_help(args: argparse.Namespace) -> int:  # pragma: no cover
    return 2


def cmd_balance(args: argparse.Namespace) -> int:
    if args.members is not None:
        members = args.members
    else:
        members = {f'svc-{i}': 1 for i in range(1, args.member_count + 1)}
    try:
        exponents = [int(e) for e in args.exponents.split(',')]
    except ValueError:
        raise UsageError(
            f'hashring: --exponents must be integers like 5,8,10, not '
            f'{args.exponents!r}'
        ) from None
    keys = _keys(args)
    progress = Progress()
    results: list[dict[str, Any]] = []
    first = next(iter(members))
    for n, exponent in enumerate(exponents):
        result = simulation.balance(members, keys, exponent)
        ring = ring_mod.HashRing(members, exponent)
        moves = {
            'join': ring.with_members({**members, 'newcomer': 1}),
            'leave': ring.with_members(
                {m: w for m, w in members.items() if m != first} or {'x': 1}
            ),
            'reweight': ring.with_members(
                {**members, first: members[first] * 2}
            ),
        }
        moved = {
            name: sum(simulation.moved(ring, other, keys).values()) / len(keys)
            for name, other in moves.items()
        }
        loads = result.loads.values()
        results.append(
            {
                'exponent': exponent,
                'min': min(loads),
                'mean': sum(loads) / len(loads),
                'max': max(loads),
                'peak_to_mean': round(result.peak_to_mean, 4),
                'moved': {k: round(v, 5) for k, v in moved.items()},
                'loads': result.loads,
            }
        )
        progress((n + 1) / len(exponents))
    progress.done()
    total = sum(members.values())
    weight = members[first]
    ideal = {
        'join': 1 / (total + 1),
        'leave': weight / total,
        # Doubling a weight moves the difference of its shares.
        'reweight': 2 * weight / (total + weight) - weight / total,
    }
    recommended = None
    if args.target is not None:
        found = simulation.recommend(members, keys, args.target)
        recommended = None if found is None else found.exponent
    rows: list[Sequence[Any]] = [
        (
            'EXPONENT',
            'MIN',
            'MEAN',
            'MAX',
            'PEAK/MEAN',
            'JOIN',
            'LEAVE',
            'REWEIGHT',
        )
    ]
    for r in results:
        rows.append(
            (
                r['exponent'],
                r['min'],
                f'{r["mean"]:.1f}',
                r['max'],
                f'{r["peak_to_mean"]:.3f}',
                f'{r["moved"]["join"]:.2%}',
                f'{r["moved"]["leave"]:.2%}',
                f'{r["moved"]["reweight"]:.2%}',
            )
        )
    _print(
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
            f'ideal moves: join {ideal["join"]:.2%}, leave '
            f'{ideal["leave"]:.2%}, reweight {ideal["reweight"]:.2%}'
        )
        if args.target is not None:
            answer = 'none up to 12' if recommended is None else recommended
            print(
                f'smallest exponent with peak/mean <= {args.target}: {answer}'
            )
    if args.plot:
        pyplot = _pyplot()
        fig, ax = pyplot.subplots(figsize=(8, 4))
        for r in results:
            ax.plot(
                sorted(r['loads'].values()), label=f'exponent {r["exponent"]}'
            )
        ax.set_xlabel('members, by load')
        ax.set_ylabel('keys')
        ax.set_title(
            f'Load per member, {len(members)} members, {len(keys)} keys'
        )
        ax.legend()
        _save(fig, args.plot)
    return 0


def cmd_converge(args: argparse.Namespace) -> int:
    if args.plot:
        _pyplot()  # fail before a long run
    progress = Progress()
    timeline = simulation.converge(
        services=args.services,
        nodes=args.nodes,
        instances=args.instances,
        event=args.event,
        event_at=args.at,
        duration=args.duration,
        interval=args.interval,
        dead_after=args.dead_after,
        step=args.step,
        flap_for=args.flap_for,
        progress=progress,
    )
    progress.done()
    changes = [
        p
        for i, p in enumerate(timeline.points)
        if i == 0 or p[1:] != timeline.points[i - 1][1:]
    ]
    data = {
        'event': timeline.event,
        'event_at': timeline.event_at,
        'clean_at': timeline.clean_at,
        'time_to_clean': timeline.time_to_clean,
        'double_node_seconds': timeline.double_node_seconds,
        'orphan_node_seconds': timeline.orphan_node_seconds,
        'peak_double': max(p[1] for p in timeline.points),
        'peak_unmanaged': max(p[2] for p in timeline.points),
        'timeline': [
            {'t': t, 'double': d, 'unmanaged': n} for t, d, n in changes
        ],
    }
    rows: list[Sequence[Any]] = [('TIME', 'MANAGED TWICE', 'MANAGED BY NONE')]
    rows += [(f'{t:g}', d, n) for t, d, n in changes]
    _print(args, data, rows)
    if args.format == 'table':
        clean = (
            'never within the run'
            if timeline.clean_at is None
            else f'{timeline.time_to_clean:g}s after the event'
        )
        print(
            f'{args.event} at {args.at:g}s: clean {clean}; '
            f'{timeline.double_node_seconds:g} node-seconds managed twice, '
            f'{timeline.orphan_node_seconds:g} by none'
        )
    if args.plot:
        pyplot = _pyplot()
        t = [p[0] for p in timeline.points]
        fig, ax = pyplot.subplots(figsize=(8, 4))
        ax.step(
            t,
            [p[1] for p in timeline.points],
            where='post',
            label='managed twice',
        )
        ax.step(
            t,
            [p[2] for p in timeline.points],
            where='post',
            label='managed by none',
        )
        ax.axvline(args.at, color='grey', linestyle=':', label=args.event)
        ax.set_xlabel('seconds')
        ax.set_ylabel('nodes')
        ax.set_title(
            f'{args.services} services, {args.nodes} nodes, refresh every '
            f'{args.interval:g}s, dead after {args.dead_after:g}s'
        )
        ax.legend()
        _save(fig, args.plot)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hashring`` command; returns its exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        status: int = args.func(args)
        return status
    except UsageError as exc:
        print(exc, file=sys.stderr)
    except exception.MembershipUnavailable as exc:
        print(f'hashring: {exc}', file=sys.stderr)
    except (exception.HashRingError, cfg.Error) as exc:
        print(f'hashring: {exc}', file=sys.stderr)
    except BrokenPipeError:
        # The reader went away (| head): say so once, where it can be seen,
        # and keep Python from a second error as it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        try:
            print('hashring: standard output was closed', file=sys.stderr)
        except OSError:
            pass  # stderr went to the same closed pipe
    return 2


if __name__ == '__main__':
    sys.exit(main())
