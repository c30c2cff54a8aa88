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

import subprocess
import sys

from oslo_config import cfg
from oslo_config import fixture as config_fixture
from stevedore import named

import hashring
from hashring import exception
from hashring import opts
from hashring.tests import base


class OptsTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(
            config_fixture.Config(cfg.ConfigOpts())
        ).conf
        opts.register_opts(self.conf)

    def test_defaults_match_tooz(self):
        self.assertEqual(5, self.conf.hashring.partition_exponent)
        self.assertEqual('md5', self.conf.hashring.hash_function)

    def test_values_build_a_ring(self):
        self.conf.set_override('partition_exponent', 7, 'hashring')
        self.conf.set_override('hash_function', 'sha256', 'hashring')
        r = hashring.HashRing(
            ['a', 'b'],
            self.conf.hashring.partition_exponent,
            self.conf.hashring.hash_function,
        )
        self.assertEqual(7, r.partition_exponent)
        self.assertEqual(128 * 2, r._count)

    def test_bounds_are_the_rings(self):
        self.assertRaises(
            ValueError,
            self.conf.set_override,
            'partition_exponent',
            17,
            'hashring',
        )
        self.assertRaises(
            ValueError,
            self.conf.set_override,
            'hash_function',
            'shake_128',
            'hashring',
        )

    def test_every_choice_builds_a_ring(self):
        choices = [c for c, _ in opts._ring_opts[1].type.choices.items()]
        self.assertIn('md5', choices)
        for name in choices:
            with self.subTest(name=name):
                hashring.HashRing(['a'], 0, name)
        self.assertRaises(
            exception.InvalidArgumentError,
            hashring.HashRing,
            ['a'],
            0,
            'shake_128',
        )

    def test_help_says_services_must_agree(self):
        for opt in opts._ring_opts:
            self.assertIn('must use the same', opt.help)

    def test_handoff_is_a_bool(self):
        self.assertIs(True, opts.ensure(None).hashring.handoff)
        self.assertIs(False, opts.check('handoff', False))
        for bad in ('yes', 1, None.__class__):
            error = self.assertRaises(
                exception.InvalidArgumentError, opts.check, 'handoff', bad
            )
            self.assertIn('handoff', str(error))

    def test_ensure(self):
        conf = opts.ensure(None)
        self.assertEqual(60.0, conf.hashring.dead_after)
        self.assertIs(self.conf, opts.ensure(self.conf))
        opts.register_opts(self.conf)  # twice is harmless
        self.assertEqual('static', self.conf.hashring.membership_driver)

    def test_list_opts(self):
        listed = opts.list_opts()
        self.assertEqual(['hashring'], [group for group, _ in listed])
        names = [opt.dest for opt in listed[0][1]]
        self.assertEqual(sorted(opts.option_names()), sorted(names))
        self.assertIs(opts._ring_opts[0], listed[0][1][0])


class GeneratorTestCase(base.TestCase):
    def test_entry_point_is_found(self):
        mgr = named.NamedExtensionManager(
            'oslo.config.opts',
            names=['hashring'],
            on_load_failure_callback=None,
        )
        self.assertEqual(['hashring'], mgr.names())
        self.assertIs(opts.list_opts, mgr['hashring'].plugin)

    def test_generator_output(self):
        out = subprocess.run(
            [
                sys.executable,
                '-m',
                'oslo_config.generator',
                '--namespace',
                'hashring',
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.assertIn('[hashring]', out)
        self.assertIn('#partition_exponent = 5', out)
        self.assertIn('#hash_function = md5', out)
