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

"""PostgreSQL and MariaDB for the SQL driver's tests (see :mod:`servers`)."""

import glob
import os
import pwd
import shutil
import subprocess

from hashring.tests.membership import processes
from hashring.tests.membership import servers


class PostgresServer(servers.Server):
    binary = 'postgres'

    def find(self):
        found = sorted(glob.glob('/usr/lib/postgresql/*/bin/postgres'))
        if found and servers.SEARCH_PATH is None:
            return found[-1]
        return super().find()

    def _as_owner(self, argv):
        # PostgreSQL refuses to run as root.
        if os.geteuid() == 0:
            return ['runuser', '-u', 'postgres', '--', *argv]
        return argv

    def prepare(self):
        bindir = os.path.dirname(self.path)
        self.pg_ctl = os.path.join(bindir, 'pg_ctl')
        self.data = os.path.join(self.dir, 'data')
        if os.geteuid() == 0:
            owner = pwd.getpwnam('postgres')
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            self._as_owner(
                [
                    os.path.join(bindir, 'initdb'),
                    '-D',
                    self.data,
                    '-A',
                    'trust',
                    '-U',
                    'postgres',
                    '--no-sync',
                ]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self):
        return f'postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres'

    def pids(self):
        # The postmaster and every backend it forked.
        with open(os.path.join(self.data, 'postmaster.pid')) as f:
            root = int(f.readline())
        return [root, *processes.children(root)]

    def start(self):
        subprocess.run(
            self._as_owner(
                [
                    self.pg_ctl,
                    '-D',
                    self.data,
                    '-w',
                    '-l',
                    os.path.join(self.dir, 'server.log'),
                    '-o',
                    f'-p {self.port} -k {self.dir} '
                    f'-c listen_addresses=127.0.0.1 -c fsync=off '
                    # Not UTC: stored heartbeats must not depend on it.
                    f'-c timezone=America/New_York',
                    'start',
                ]
            ),
            check=True,
            capture_output=True,
        )
        self.running = True

    def stop(self):
        if getattr(self, 'running', False):
            subprocess.run(
                self._as_owner(
                    [
                        self.pg_ctl,
                        '-D',
                        self.data,
                        '-m',
                        'immediate',
                        '-w',
                        'stop',
                    ]
                ),
                capture_output=True,
            )
            self.running = False


class MariaDBServer(servers.Server):
    """MariaDB (Debian's mariadb-server), as OpenStack deployments run."""

    binary = 'mariadbd'
    database = 'hashring'

    def _user(self):
        # mariadbd refuses to run as root unless told to.
        return ['--user=root'] if os.geteuid() == 0 else []

    def prepare(self):
        self.data = os.path.join(self.dir, 'data')
        install = shutil.which(
            'mariadb-install-db', path=os.path.dirname(self.path)
        ) or shutil.which('mariadb-install-db')
        subprocess.run(
            [
                install,
                '--no-defaults',
                f'--datadir={self.data}',
                '--auth-root-authentication-method=normal',
                '--skip-test-db',
                *self._user(),
            ],
            check=True,
            capture_output=True,
        )

    @property
    def url(self):
        return f'mysql+pymysql://root@127.0.0.1:{self.port}/{self.database}'

    def command(self):
        return [
            self.path,
            '--no-defaults',
            f'--datadir={self.data}',
            f'--socket={os.path.join(self.dir, "mysqld.sock")}',
            f'--port={self.port}',
            '--bind-address=127.0.0.1',
            '--skip-log-bin',
            '--innodb-flush-log-at-trx-commit=0',
            *self._user(),
        ]

    def ready(self):
        import pymysql  # noqa: PLC0415  (the mysql extra)

        conn = pymysql.connect(
            host='127.0.0.1', port=self.port, user='root', connect_timeout=1
        )
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    f'CREATE DATABASE IF NOT EXISTS {self.database}'
                )
        finally:
            conn.close()
        return True
