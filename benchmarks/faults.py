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

"""Measure what each membership backend does to callers during an outage.

For each backend: three members join; the backend is frozen (SIGSTOP on
the server, or a frozen process holding the lock for SQLite and the file)
for three times ``dead_after``; one member crashes meanwhile.  It prints the
slowest call seen during the freeze, whether any reader's ring lost a live
member, and how long after the thaw the crashed member left the rings.
The figures in doc/source/user/failures.rst come from this script::

    python benchmarks/faults.py

``--backends`` picks some of them (``sqlite file`` need no server).
"""

import argparse
import datetime
import os
import platform
import tempfile
import time

from hashring import exception
from hashring import manager
from hashring import membership
from hashring.tests.membership import outages
from hashring.tests.membership import servers
from hashring.tests.membership import sqlservers

TIMINGS = {'heartbeat_interval': 1.0, 'dead_after': 3.0, 'read_timeout': 2.0}

#: The backends on servers, each with its name in the table, its server,
#: its driver and the driver's option; SQLite and the file need none.
SERVERS = {
    'postgresql': (
        'PostgreSQL',
        sqlservers.PostgresServer,
        'sql',
        'connection',
    ),
    'mariadb': ('MariaDB', sqlservers.MariaDBServer, 'sql', 'connection'),
    'redis': ('Redis', servers.RedisServer, 'tooz', 'backend_url'),
    'etcd': ('etcd', servers.EtcdServer, 'tooz', 'backend_url'),
    'zookeeper': (
        'ZooKeeper',
        servers.ZooKeeperServer,
        'tooz',
        'backend_url',
    ),
}
BACKENDS = ('sqlite', 'file', *SERVERS)


class _Holder:
    """What outages.FrozenLockHolder needs of a test."""

    def __init__(self):
        self.cleanups = []

    def addCleanup(self, func, *args):  # noqa: N802
        self.cleanups.append((func, args))

    def assertEqual(self, a, b):  # noqa: N802
        assert a == b, (a, b)


def timed(call):
    started = time.monotonic()
    try:
        call()
    except (exception.MembershipUnavailable, exception.RingUnavailable):
        pass
    return time.monotonic() - started


def run(name, driver, options, freezer):
    sources = []

    def source():
        s = membership.load(driver, **{**TIMINGS, **options})
        sources.append(s)
        return s

    group = 'faults'
    members = {}
    for member in ('a', 'b', 'c'):
        s = source()
        s.join(member, group)
        members[member] = (
            s,
            manager.RingManager(s, host=member, reset_interval=0.5),
        )
    reader = manager.RingManager(source(), reset_interval=0.5)
    for _, m in members.values():
        m.get_ring(group)
    reader.get_ring(group)
    fresh = source()
    freezer.freeze()
    slowest = {}
    members['c'][0].stop()
    started = time.monotonic()
    while time.monotonic() - started < 3 * TIMINGS['dead_after']:
        for label, call in (
            ('get_members', lambda: fresh.get_members(group)),
            ('get_ring', lambda: reader.get_ring(group)),
            ('heartbeat', members['a'][0].heartbeat),
        ):
            slowest[label] = max(slowest.get(label, 0), timed(call))
    freezer.thaw()
    thawed = time.monotonic()
    lost_live = False
    gone = None
    while time.monotonic() - thawed < 20:
        rings = [m.get_ring(group) for m in (members['a'][1], reader)]
        lost_live |= any(not {'a', 'b'} <= set(r.members) for r in rings)
        if all('c' not in r.members for r in rings):
            gone = time.monotonic() - thawed
            break
        time.sleep(0.1)
    closing = time.monotonic()
    for s in sources:
        s.close()
    close = time.monotonic() - closing
    print(
        f'| {name} | {slowest["get_members"]:.1f} s | '
        f'{slowest["get_ring"]:.1f} s | {slowest["heartbeat"]:.1f} s | '
        f'{"yes" if lost_live else "no"} | '
        f'{"never" if gone is None else f"{gone:.1f} s"} | {close:.1f} s |'
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='A full run took 94 s here, and starts PostgreSQL, Redis and '
        'etcd, which must be installed.',
    )
    parser.add_argument(
        '--backends',
        nargs='+',
        choices=BACKENDS,
        default=list(BACKENDS),
        help='the backends to measure (default: all)',
    )
    args = parser.parse_args(argv)
    machine = platform.processor() or platform.machine()
    print(
        f'{datetime.date.today()}, {machine}, {os.cpu_count()} cores; '
        f'timings {TIMINGS}; freeze of '
        f'{3 * TIMINGS["dead_after"]:g} s'
    )
    print(
        '| backend | slowest read | slowest get_ring | slowest heartbeat '
        '| live member lost | crashed member left after thaw | close all |'
    )
    print('|---|---|---|---|---|---|---|')
    tmp = tempfile.mkdtemp()
    if 'sqlite' in args.backends:
        path = os.path.join(tmp, 'm.sqlite')
        run(
            'SQLite',
            'sql',
            {'connection': f'sqlite:///{path}'},
            outages.FrozenLockHolder(_Holder(), 'sqlite', path),
        )
    if 'file' in args.backends:
        path = os.path.join(tmp, 'm.json')
        membership.load('file', membership_file=path).create()
        run(
            'file',
            'file',
            {'membership_file': path},
            outages.FrozenLockHolder(_Holder(), 'file', path + '.lock'),
        )
    for backend in args.backends:
        if backend not in SERVERS:
            continue
        name, kind, driver, key = SERVERS[backend]
        server = kind()
        server.setUp()
        try:
            run(name, driver, {key: server.url}, server)
        finally:
            server.cleanUp()


if __name__ == '__main__':
    main()
