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

"""The charts of hashring simulate."""

import importlib.util
import os
import unittest

import fixtures

from hashring.cmd import output
from hashring.cmd import parser
from hashring.cmd import plots
from hashring import convergence
from hashring.tests import base

PLOTTING = importlib.util.find_spec('matplotlib') is not None


@unittest.skipUnless(PLOTTING, 'matplotlib is not installed (the plot extra)')
class PlotsTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.saved = []
        save = output.save

        def keep(fig, path):
            self.saved.append(fig)
            save(fig, path)

        self.useFixture(fixtures.MonkeyPatch(output.__name__ + '.save', keep))

    def assert_png(self, path):
        with open(path, 'rb') as f:
            self.assertEqual(b'\x89PNG', f.read(4))

    def test_loads_sorted_per_exponent(self):
        path = os.path.join(self.tmp, 'loads.png')
        plots.loads(path, [(3, {'a': 5, 'b': 1}), (8, {'a': 3, 'b': 3})], 2, 6)
        self.assert_png(path)
        (ax,) = self.saved[0].axes
        lines = ax.get_lines()
        self.assertEqual(
            ['exponent 3', 'exponent 8'], [x.get_label() for x in lines]
        )
        self.assertEqual([1, 5], list(lines[0].get_ydata()))
        self.assertEqual('Load per member, 2 members, 6 keys', ax.get_title())

    def test_timelines_side_by_side(self):
        path = os.path.join(self.tmp, 'timeline.svg')
        points = [(0.0, 0, 0), (30.0, 2, 1), (40.0, 0, 0)]
        timelines = {
            handoff: convergence.Timeline(points, 'join', 30.0, 40.0)
            for handoff in (False, True)
        }
        plots.timelines(path, timelines, 'two services')
        (ax,) = self.saved[0].axes
        labels = [x.get_label() for x in ax.get_lines()]
        self.assertEqual(
            [
                'managed twice',
                'managed by none',
                'managed twice, handoff',
                'managed by none, handoff',
                'join',
            ],
            labels,
        )
        self.assertEqual([0, 2, 0], list(ax.get_lines()[0].get_ydata()))
        # The event's line stands at its time.
        self.assertEqual([30.0, 30.0], list(ax.get_lines()[-1].get_xdata()))
        self.assertEqual('two services', ax.get_title())
        self.assertTrue(os.path.getsize(path))

    def test_a_file_that_cannot_be_written_is_named(self):
        self.assertRaisesRegex(
            parser.UsageError,
            'cannot write /nonexistent/dir/x.png',
            plots.loads,
            '/nonexistent/dir/x.png',
            [(5, {'a': 1})],
            1,
            1,
        )
