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

"""One service of the multi-process handoff test, in its own process.

It joins a real membership, runs the ownership filter over the nodes in
a loop, and logs every change of its owned set with the monotonic time
at which the filter call returned (``CLOCK_MONOTONIC`` is one clock for
every process of the machine), so that a checker can prove no node was
managed by two services at any moment.  Signals drive it: SIGTERM
leaves gracefully (drain, keep managing the nodes until every peer
applies a ring without it, leave), SIGUSR1 re-joins with weight 2,
SIGUSR2 moves to exponent 6; SIGKILL is a crash.  A service that finds
another process joined as its member later stops managing everything,
and exits with :data:`DUPLICATE`.

Log lines: ``<time> + <index>...`` (taken), ``<time> - <index>...``
(released), ``<time> ready``, ``<time> exit``, and before the changes of
each filter call ``<time> call <start>``, when it started.
"""

import argparse
import logging
import signal
import sys
import time

from hashring import exception
from hashring import manager
from hashring import membership
from hashring import ownership

TIMING = {'heartbeat_interval': 0.2, 'dead_after': 2.0}

#: The tests' services settle in two intervals: the library's default
#: (read_timeout and two intervals, 10.4 s) would hold every start of a
#: fleet that long.  The chaos runs leave it unset.
SETTLE_AFTER = {'settle_after': 2 * TIMING['heartbeat_interval']}

#: The exit status of a service that another process joined as later.
DUPLICATE = 3

#: The option that names each driver's backend (``--url``).
URL_OPTIONS = {
    'sql': 'connection',
    'tooz': 'backend_url',
    'file': 'membership_file',
}


def _claims_read(rings, result, last):
    """Say what the protocol read, if it read since ``last``.

    :returns: the line to trace, or None; and when the read was made.
    """
    protocol = rings.handoff
    state = (
        None
        if protocol is None
        else protocol._groups.get(rings.source.default_group)
    )
    if state is None or state.claims is None:
        return None, last
    if state.read_at == last:
        return None, last
    seen = ' '.join(
        f'{c.member}:{c.applied and c.applied.fingerprint}'
        f'>{c.intended and c.intended.fingerprint}{"~" * c.settling}'
        for c in state.claims + state.unlisted
    )
    presumed = ','.join(sorted(state.presumed)) or '-'
    return (
        f'ring {result.fingerprint} read at {state.read_at:.6f} '
        f'(presumed {presumed}): {seen}',
        state.read_at,
    )


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--driver', required=True)
    parser.add_argument('--url', required=True)
    parser.add_argument('--group', required=True)
    parser.add_argument('--name', required=True)
    parser.add_argument('--nodes', type=int, required=True)
    parser.add_argument('--log', required=True)
    parser.add_argument(
        '--no-handoff', dest='handoff', action='store_false', default=True
    )
    parser.add_argument('--reset-interval', type=float, default=0.2)
    parser.add_argument(
        '--trace', help='a file to note the claims of each read it made'
    )
    for option, value in TIMING.items():
        parser.add_argument(
            f'--{option.replace("_", "-")}', type=float, default=value
        )
    parser.add_argument('--settle-after', type=float)
    args = parser.parse_args(argv)
    # Warnings to stderr (the service's .err file), as an operator's log
    # would show them: a test that fails shows their end.
    logging.basicConfig(
        level=logging.WARNING,
        format='%(created).3f %(name)s %(levelname)s %(message)s',
    )
    url = URL_OPTIONS[args.driver]
    timing = {option: getattr(args, option) for option in TIMING}
    timing['settle_after'] = args.settle_after
    source = membership.load(
        args.driver, group=args.group, **{url: args.url}, **timing
    )
    rings = manager.RingManager(
        source,
        host=args.name,
        reset_interval=args.reset_interval,
        handoff=args.handoff,
    )
    flt = ownership.OwnershipFilter(args.name, manager=rings)
    nodes = [
        {'id': f'node-{i:05d}', 'instance_id': None} for i in range(args.nodes)
    ]
    index = {n['id']: i for i, n in enumerate(nodes)}
    asked = set()
    for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, lambda s, _f: asked.add(s))
    out = open(args.log, 'a', buffering=1)
    trace = open(args.trace, 'a', buffering=1) if args.trace else None
    while True:
        try:
            source.join(args.name)
            break
        except exception.MembershipUnavailable as exc:
            # Started while the backend is away (a chaos run's freeze or
            # restart): its heartbeat writes the record once it is back.
            print(f'{args.name}: {exc}', file=sys.stderr)
            time.sleep(args.heartbeat_interval)
    out.write(f'{time.monotonic():.6f} ready\n')
    held = set()
    leaving = False
    read_at = None
    while True:
        started = time.monotonic()
        try:
            result = flt.filter(nodes, [])
        except (
            exception.MembershipUnavailable,
            exception.RingUnavailable,
        ) as exc:  # an outage: keep what is held, retry
            print(f'{args.name}: {exc}', file=sys.stderr)
            time.sleep(0.1)
            continue
        except exception.DuplicateMemberError as exc:
            # Its nodes are the other process's: it manages none.
            at = time.monotonic()
            if held:
                out.write(f'{at:.6f} - {" ".join(map(str, sorted(held)))}\n')
            out.write(f'{at:.6f} exit\n')
            out.close()
            print(f'{args.name}: {exc}', file=sys.stderr)
            return DUPLICATE
        at = time.monotonic()
        # Every call, when it started: a call that answered what the
        # service held is acting on it, though it logs no change.
        out.write(f'{at:.6f} call {started:.6f}\n')
        now = {index[n['id']] for n in result.owned}
        taken, released = now - held, held - now
        if trace is not None:
            line, read_at = _claims_read(rings, result, read_at)
            if line is not None:
                trace.write(f'{at:.6f} {line}\n')
        if taken:
            out.write(f'{at:.6f} + {" ".join(map(str, sorted(taken)))}\n')
        if released:
            out.write(f'{at:.6f} - {" ".join(map(str, sorted(released)))}\n')
        held = now
        if signal.SIGUSR1 in asked:
            try:
                source.join(args.name, weight=2)
            except exception.MembershipUnavailable as exc:
                print(f'{args.name}: {exc}', file=sys.stderr)  # next loop
            else:
                asked.discard(signal.SIGUSR1)
        if signal.SIGUSR2 in asked:
            asked.discard(signal.SIGUSR2)
            rings.reconfigure(partition_exponent=6)
        protocol = rings.handoff
        if signal.SIGTERM in asked and not leaving:
            leaving = True
            if protocol is not None:
                protocol.drain()  # it keeps its nodes until it goes
            else:
                source.drain()
        if leaving and protocol is not None and not protocol.waiting_for():
            # Every peer that may take its nodes applies a ring without
            # it: it stops managing them, then leaves (at once: they
            # acknowledged), and they take them at their next call.
            out.write(f'{time.monotonic():.6f} exit\n')
            out.close()
            rings.leave(timeout=args.dead_after)
            return 0
        if leaving and not held:
            state = rings.convergence()
            if state.fingerprint is not None:
                # Every peer applies a ring without this service, and it
                # manages nothing: leave (at once: they acknowledged).
                rings.leave(timeout=args.dead_after)
                out.write(f'{time.monotonic():.6f} exit\n')
                out.close()
                return 0
        time.sleep(0.05)


if __name__ == '__main__':
    sys.exit(main())
