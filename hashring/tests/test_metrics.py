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

import math
import urllib.request

import prometheus_client
from prometheus_client import parser as prom_parser

from hashring import exception
from hashring import manager
from hashring import membership
from hashring import metrics
from hashring import simulation
from hashring.tests import base

KEYS = simulation.keys(200)


class Backend:
    """Members from a list the test changes, and an outage switch."""

    def __init__(self, entries):
        self.entries = entries
        self.down = False

    def __call__(self):
        if self.down:
            raise OSError('database is down')
        return list(self.entries)


class Clock:
    now = 1000.0

    def __call__(self):
        return self.now


class MetricsTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.backend = Backend(['a', 'b', {'name': 'c', 'state': 'draining'}])
        source = membership.load(
            'callable', function=self.backend, in_thread=False
        )
        self.addCleanup(source.close)
        self.clock = Clock()
        self.manager = manager.RingManager(
            source, host='a', reset_interval=10, clock=self.clock
        )
        self.recorder = metrics.Recorder(self.manager, keys=KEYS)

    def test_figures(self):
        ring = self.manager.get_ring()
        first = self.recorder.figures()['default']
        self.assertEqual({'up': 2, 'draining': 1}, first['members'])
        owned = sum(1 for o in ring.map_keys(KEYS) if o == 'a')
        self.assertEqual(owned, first['keys_owned'])
        self.assertEqual(1, first['rebuilds'])
        self.assertEqual(owned, first['keys_gained'])  # the first ring
        self.assertEqual(0, first['keys_lost'])
        self.assertEqual(0, first['outages'])
        self.assertEqual(0.0, first['stale_seconds'])
        # Nobody publishes: every member applies the current ring.
        self.assertIsNotNone(first['seconds_since_convergence'])
        # A join: a loses keys to d.
        self.backend.entries.append('d')
        self.clock.now += 10
        new = self.manager.get_ring()
        lost = sum(
            1
            for old, now in zip(ring.map_keys(KEYS), new.map_keys(KEYS))
            if old == 'a' and now != 'a'
        )
        joined = self.recorder.figures()['default']
        self.assertGreater(lost, 0)
        self.assertEqual(lost, joined['keys_lost'])
        self.assertEqual(2, joined['rebuilds'])
        self.assertEqual(owned - lost, joined['keys_owned'])
        # An outage: the ring keeps serving, stale, and it is counted once.
        self.backend.down = True
        for _ in range(3):
            self.clock.now += 10
            self.assertIs(new, self.manager.get_ring())
        out = self.recorder.figures()['default']
        self.assertEqual(1, out['outages'])
        self.assertEqual(30.0, out['stale_seconds'])
        self.assertIsNone(out['seconds_since_convergence'])
        self.backend.down = False
        self.clock.now += 10
        self.manager.get_ring()
        back = self.recorder.figures()['default']
        self.assertEqual(0.0, back['stale_seconds'])
        self.assertEqual(1, back['outages'])

    def test_a_scrape_reads_every_group_at_once(self):
        # Each group's convergence was read on its own, and in an outage
        # each group's ring was refreshed first: two read_timeouts per
        # group, past a scraper's timeout, in the outage it should show.
        self.backend.entries = [
            {'name': n, 'groups': ['g1', 'g2', 'g3', 'g4']} for n in 'abc'
        ]
        calls = []
        function = self.backend

        def counted():
            calls.append(1)
            return function()

        source = membership.load('callable', function=counted, in_thread=False)
        self.addCleanup(source.close)
        rings = manager.RingManager(
            source, host='a', reset_interval=10, clock=self.clock
        )
        recorder = metrics.Recorder(rings, keys=KEYS)
        rings.get_rings(['g1', 'g2', 'g3', 'g4'])
        for down in (False, True):
            self.backend.down = down
            self.clock.now += 20  # every cached ring due a refresh
            del calls[:]
            figures = recorder.figures()
            self.assertEqual(['g1', 'g2', 'g3', 'g4'], sorted(figures))
            self.assertEqual(1, len(calls))
            converged = [
                f['seconds_since_convergence'] for f in figures.values()
            ]
            if down:
                self.assertEqual([None] * 4, converged)
            else:
                self.assertNotIn(None, converged)

    def test_a_group_dropped_during_a_scrape_is_still_reported(self):
        # A reset() (or a group left empty) on another thread between
        # listing the groups and reading one raised KeyError.
        self.manager.get_ring()
        stats = self.manager.stats

        def stats_then_reset(group):
            found = stats(group)
            self.manager.reset()
            return found

        self.manager.stats = stats_then_reset
        figures = self.recorder.figures()
        self.assertEqual(['default'], list(figures))
        self.assertEqual(1, figures['default']['rebuilds'])

    def test_keys_from_an_iterator_are_counted_at_every_scrape(self):
        # The iterator was spent by the first read: owned 0 after it.
        recorder = metrics.Recorder(self.manager, keys=iter(KEYS))
        ring = self.manager.get_ring()
        owned = sum(1 for o in ring.map_keys(KEYS) if o == 'a')
        self.assertGreater(owned, 0)
        for _ in range(2):
            figures = recorder.figures()['default']
            self.assertEqual(owned, figures['keys_owned'])
            self.assertEqual(owned, figures['keys_gained'])
        err = self.assertRaises(
            exception.InvalidArgumentError,
            metrics.Recorder,
            self.manager,
            keys='node-1',
        )
        self.assertIn('keys must be a collection', str(err))

    def test_scraped_from_a_real_endpoint(self):
        self.manager.get_ring()
        registry = prometheus_client.CollectorRegistry()
        registry.register(metrics.Collector(self.recorder))
        server, thread = prometheus_client.start_http_server(
            0, addr='127.0.0.1', registry=registry
        )
        self.addCleanup(thread.join, 5)
        self.addCleanup(server.shutdown)
        port = server.server_address[1]
        with urllib.request.urlopen(
            f'http://127.0.0.1:{port}/metrics', timeout=10
        ) as response:
            text = response.read().decode()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in prom_parser.text_string_to_metric_families(text)
            for s in family.samples
        }
        figures = self.recorder.figures()['default']
        group = ('group', 'default')
        self.assertEqual(
            2.0, samples[('hashring_members', (group, ('state', 'up')))]
        )
        self.assertEqual(
            figures['keys_owned'],
            samples[('hashring_keys_owned', (group, ('host', 'a')))],
        )
        self.assertEqual(
            1.0, samples[('hashring_ring_rebuilds_total', (group,))]
        )
        self.assertEqual(
            0.0, samples[('hashring_membership_outages_total', (group,))]
        )
        self.assertFalse(
            math.isnan(
                samples[('hashring_seconds_since_convergence', (group,))]
            )
        )
        documented = {name for name, *_ in metrics.METRICS}
        self.assertEqual(
            documented,
            {
                n.removesuffix('_total')
                for n, _ in samples
                if n.startswith('hashring_')
            },
        )
        for name in documented:
            self.assertIn(f'``{name}', metrics.__doc__)

    def test_without_prometheus_client_the_error_names_the_extra(self):
        import sys

        saved = sys.modules.get('prometheus_client')
        sys.modules['prometheus_client'] = None
        try:
            error = self.assertRaises(
                exception.MissingDependency, metrics.Collector, self.recorder
            )
        finally:
            sys.modules['prometheus_client'] = saved
        self.assertIn("oslo.hashring[prometheus]", str(error))
