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

import configparser

from hashring import exception
from hashring.tests import base


class HierarchyTestCase(base.TestCase):
    def test_every_error_is_a_hashring_error_and_a_builtin(self):
        cases = [
            (exception.InvalidArgumentError('bad'), ValueError),
            (exception.InvalidMemberError('m', 'why'), ValueError),
            (exception.InvalidKeyError(1), TypeError),
            (exception.UnknownMemberError('m'), KeyError),
            (exception.EmptyRingError('empty'), LookupError),
            (exception.MissingDependency('x', 'kazoo'), ImportError),
            (exception.MissingDependency('x', 'kazoo'), ValueError),
        ]
        for err, builtin in cases:
            with self.subTest(err=err):
                self.assertIsInstance(err, exception.HashRingError)
                self.assertIsInstance(err, builtin)

    def test_messages_name_the_value(self):
        self.assertEqual(
            "Invalid member 'm': too odd",
            str(exception.InvalidMemberError('m', 'too odd')),
        )
        self.assertEqual(
            "Unknown member 'm'", str(exception.UnknownMemberError('m'))
        )
        err = exception.InvalidKeyError(3.5)
        self.assertIn('3.5', str(err))
        self.assertIn('float', str(err))
        err = exception.DuplicateMemberError('Host-1', 'g', 'i-1', 'i-2')
        for named in ("'Host-1'", "'g'", 'i-1', 'i-2'):
            self.assertIn(named, str(err))

    def test_missing_dependency_names_the_extra_of_the_distribution(self):
        err = exception.MissingDependency("The 'sql' driver", 'sqlalchemy')
        self.assertEqual(
            "The 'sql' driver needs the Python module 'sqlalchemy', which "
            "is not installed: pip install 'oslo.hashring[sql]'",
            str(err),
        )
        self.assertEqual('sqlalchemy', err.module)
        for module, hint in (
            ('psycopg2.extensions', "pip install 'oslo.hashring[postgresql]'"),
            ('pymysql', "pip install 'oslo.hashring[mysql]'"),
            ('etcd3gw', "pip install 'oslo.hashring[etcd]'"),
            ('kazoo', "pip install 'oslo.hashring[zookeeper]'"),
            ('redis', "pip install 'oslo.hashring[redis]'"),
            ('matplotlib', "pip install 'oslo.hashring[plot]'"),
            # No extra provides it: the module's own name, never
            # "pip install hashring", which is another project.
            ('somemodule', 'pip install somemodule'),
            # A plain postgresql:// URL needs psycopg (3) in SQLAlchemy 2.1.
            (
                'psycopg',
                'pip install psycopg, or name psycopg2 in the URL '
                "(postgresql+psycopg2://) and pip install "
                "'oslo.hashring[postgresql]'",
            ),
        ):
            with self.subTest(module=module):
                self.assertEqual(hint, exception.install_hint(module))

    def test_every_extra_named_exists(self):
        cfg = configparser.ConfigParser()
        cfg.read(base.ROOT / 'setup.cfg')
        self.assertEqual('oslo.hashring', cfg['metadata']['name'])
        self.assertEqual(exception.DISTRIBUTION, cfg['metadata']['name'])
        extras = set(cfg['extras'])
        self.assertLessEqual(set(exception.EXTRAS.values()), extras)
