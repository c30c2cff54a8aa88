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

"""Real servers for the membership tests, started from their binaries.

Each server runs on loopback, on a free port, in a temporary directory,
and can be stopped and started again on the same port and data (for the
outage tests).  Where a binary is missing the test is skipped with the
reason, unless HASHRING_REQUIRE_SERVERS is set (as .ci/run sets it): then
it fails, so that CI cannot pass without the servers.
"""

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import urllib.request

import fixtures
import testtools

from hashring.tests.membership import processes

REQUIRED = bool(os.environ.get('HASHRING_REQUIRE_SERVERS'))

#: Where the server binaries are looked for: PATH, unless this names other
#: directories (the skip test points it at an empty one).
SEARCH_PATH = os.environ.get('HASHRING_TEST_SERVER_PATH')


#: How much of a server's log a failure to start quotes, in bytes.
LOG_TAIL = 2000


def tail(path):
    """Return the end of a log, decoded, or why it cannot be read."""
    try:
        with open(path, 'rb') as f:
            f.seek(max(0, os.path.getsize(path) - LOG_TAIL))
            return repr(f.read().decode(errors='replace'))
    except OSError as exc:
        return f'(unread: {exc})'


class Server(fixtures.Fixture):
    """A server process the test owns."""

    binary = None

    def setUp(self):
        # Before the fixture's own setUp, which would wrap the skip in a
        # MultipleExceptions that testtools reports as an error.
        self.path = self.find()
        super().setUp()

    def _setUp(self):
        # Not under the test's own TMPDIR: PostgreSQL runs as another
        # user, who must be able to reach its directory.
        self.dir = tempfile.mkdtemp(
            prefix=f'hashring-{self.binary}-',
            dir='/tmp' if os.path.isdir('/tmp') else None,
        )
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.port = processes.free_port()
        self.proc = None
        self.prepare()
        self.start()
        self.addCleanup(self.stop)

    def find(self):
        path = shutil.which(self.binary, path=SEARCH_PATH)
        if path is None:
            self.missing(self.binary)
        return path

    def missing(self, what):
        """Skip the test for want of what, or fail if servers are required."""
        missing = f'{what} is not installed'
        if REQUIRED:
            raise RuntimeError(
                f'{missing} and HASHRING_REQUIRE_SERVERS is set'
            )
        raise testtools.TestCase.skipException(
            f'SKIPPED, NOT TESTED: {missing} (set '
            f'HASHRING_REQUIRE_SERVERS to make this a failure)'
        )

    def prepare(self):
        pass

    def command(self):
        raise NotImplementedError

    def ready(self):
        raise NotImplementedError

    def start(self):
        path = os.path.join(self.dir, 'server.log')
        with open(path, 'ab') as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=log, cwd=self.dir
            )
        try:
            processes.wait_for(self.ready, 30, self.binary, self.proc)
        except RuntimeError as exc:
            # The log goes with the server's directory: say how it ends.
            raise RuntimeError(f'{exc}; its log ends: {tail(path)}') from exc

    def pids(self):
        """Return the server's process ids."""
        return [self.proc.pid]

    def freeze(self):
        """Stop the server's processes dead (SIGSTOP), connections open.

        The processes are listed again once those listed have stopped: a
        server that forks one per connection (PostgreSQL) may have forked
        another meanwhile, which would serve its client through the
        freeze (a chaos run found one: an outage of all but a newcomer).
        """
        self.addCleanup(self.thaw)
        stopped = set()
        while True:
            listed = self.pids()
            todo = [pid for pid in listed if pid not in stopped]
            if not todo:
                break
            for pid in todo:
                try:
                    processes.stop_dead(pid)
                except processes.Ended:
                    if pid == listed[0]:
                        raise  # the server itself
                    # A backend whose client left meanwhile serves no one
                    # (a chaos run on PostgreSQL found one).
                stopped.add(pid)

    def thaw(self):
        """Let frozen processes run again (SIGCONT)."""
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def wipe(self):
        """Stop the server, re-initialise its data, start it on its port.

        The data is ``self.data``, where prepare() makes one; a server
        without one (Redis, which saves nothing) starts empty anyway.
        """
        self.stop()
        if getattr(self, 'data', None):
            shutil.rmtree(self.data, ignore_errors=True)
        self.prepare()
        self.start()

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class RedisServer(Server):
    binary = 'redis-server'

    @property
    def url(self):
        return f'redis://127.0.0.1:{self.port}'

    def command(self):
        return [
            self.path,
            '--port',
            str(self.port),
            '--bind',
            '127.0.0.1',
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            self.dir,
        ]

    def ready(self):
        with socket.create_connection(('127.0.0.1', self.port), 1) as s:
            s.sendall(b'PING\r\n')
            return s.recv(16).startswith(b'+PONG')

    def flushall(self):
        with socket.create_connection(('127.0.0.1', self.port), 1) as s:
            s.sendall(b'FLUSHALL\r\n')
            return s.recv(16)


class EtcdServer(Server):
    binary = 'etcd'

    def prepare(self):
        self.data = os.path.join(self.dir, 'data')
        # Once: a wiped server comes back on the same ports.
        if not hasattr(self, 'peer'):
            self.peer = processes.free_port()

    @property
    def url(self):
        return f'etcd3+http://127.0.0.1:{self.port}'

    def command(self):
        client = f'http://127.0.0.1:{self.port}'
        peer = f'http://127.0.0.1:{self.peer}'
        return [
            self.path,
            '--name',
            'hashring',
            '--data-dir',
            self.data,
            '--listen-client-urls',
            client,
            '--advertise-client-urls',
            client,
            '--listen-peer-urls',
            peer,
            '--initial-advertise-peer-urls',
            peer,
            '--initial-cluster',
            f'hashring={peer}',
            '--log-level',
            'error',
        ]

    def ready(self):
        url = f'http://127.0.0.1:{self.port}/health'
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310
            return b'true' in answer.read()


class ZooKeeperServer(Server):
    """ZooKeeper (Debian's zookeeperd), started from its jar."""

    binary = 'java'

    def find(self):
        # Debian's zookeeper package puts the jar here; the skip test
        # hides it with the binaries.
        self.jar = os.path.join(
            SEARCH_PATH or '/usr/share/java', 'zookeeper.jar'
        )
        if not os.path.exists(self.jar):
            self.missing('zookeeper (zookeeper.jar)')
        return super().find()

    def prepare(self):
        self.data = os.path.join(self.dir, 'data')

    @property
    def url(self):
        return f'zookeeper://127.0.0.1:{self.port}'

    def command(self):
        return [
            self.path,
            '-Dzookeeper.admin.enableServer=false',
            '-Dzookeeper.4lw.commands.whitelist=ruok',
            '-cp',
            f'/etc/zookeeper/conf:{self.jar}',
            'org.apache.zookeeper.server.ZooKeeperServerMain',
            str(self.port),
            self.data,
        ]

    def ready(self):
        with socket.create_connection(('127.0.0.1', self.port), 1) as s:
            s.sendall(b'ruok')
            return s.recv(4) == b'imok'


class CutSessionZooKeeperServer(ZooKeeperServer):
    """ZooKeeper granting sessions of 2 to 3 s, whatever a client asks.

    Ticks of 1 s and a ``maxSessionTimeout`` of 3 s: a member whose
    ``dead_after`` is longer is forgotten by the server, and dropped by
    its peers, 3 s after it was last heard.
    """

    #: the longest session the server grants, in seconds
    max_session = 3.0

    def prepare(self):
        super().prepare()
        self.config = os.path.join(self.dir, 'zoo.cfg')
        with open(self.config, 'w') as f:
            f.write(
                f'tickTime=1000\n'
                f'minSessionTimeout=2000\n'
                f'maxSessionTimeout={int(self.max_session * 1000)}\n'
                f'dataDir={self.data}\n'
                f'clientPort={self.port}\n'
                f'clientPortAddress=127.0.0.1\n'
            )

    def command(self):
        # ZooKeeperServerMain takes a configuration file in place of its
        # port and data directory.
        return [*super().command()[:-2], self.config]


class _Running:
    """A server that CI started, reached through an environment URL."""

    def __init__(self, url):
        self.url = url


def shared(kind, name):
    """Return a server for a whole test class.

    CI starts the servers once (``.ci/run``) and names them in
    ``HASHRING_TEST_<NAME>_URL``; elsewhere the class starts its own, which
    stops when the process exits.
    """
    url = os.environ.get(f'HASHRING_TEST_{name}_URL')
    if url:
        return _Running(url)
    server = kind()
    server.setUp()
    atexit.register(server.cleanUp)
    return server
