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

import datetime
import threading
import time

from tooz import hashring as tooz_hashring

from hashring import exception
from hashring import manager
from hashring import membership
from hashring.membership import callable as callable_driver
from hashring.tests import base

NOW = datetime.datetime.now(datetime.timezone.utc)


def conductors():
    """A module-level function, for the import-path option."""
    return ['Conductor-1', {'name': 'conductor-2:8089', 'weight': 2}]


class Members:
    """A function over a list the test changes, counting calls."""

    def __init__(self, entries):
        self.entries = entries
        self.calls = 0
        self.error = None

    def __call__(self):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return iter(self.entries)


class CallableTestCase(base.TestCase):
    def source(self, function, **overrides):
        source = membership.load('callable', function=function, **overrides)
        self.addCleanup(source.close)
        return source

    def test_members_with_groups_state_weight_and_names(self):
        members = Members(
            [
                'Everywhere-1',
                {'name': 'Cond-A', 'groups': ['g1:ipmi', 'g1:redfish']},
                {'name': 'cond-b:8089', 'groups': ['g1:ipmi'], 'weight': 3},
                {
                    'name': 'cond-c',
                    'groups': ['g1:ipmi'],
                    'state': 'draining',
                    'attributes': {'rack': 7},
                },
            ]
        )
        source = self.source(members)
        self.assertIsInstance(source, callable_driver.CallableSource)
        snapshots = source.get_groups()
        self.assertEqual(1, members.calls)
        self.assertEqual(['default', 'g1:ipmi', 'g1:redfish'], list(snapshots))
        ipmi = snapshots['g1:ipmi']
        self.assertEqual(
            {'Cond-A': 1, 'cond-b:8089': 3, 'Everywhere-1': 1}, ipmi.placed()
        )
        self.assertEqual(
            membership.State.DRAINING, ipmi.members['cond-c'].state
        )
        self.assertEqual({'rack': 7}, dict(ipmi.members['cond-c'].attributes))
        self.assertEqual(
            {'Cond-A': 1, 'Everywhere-1': 1},
            snapshots['g1:redfish'].placed(),
        )
        # A group nobody names holds the members that are in every group.
        self.assertEqual(
            {'Everywhere-1': 1}, source.get_members('other').placed()
        )

    def test_rings_of_one_call_are_toozs(self):
        names = [f'Conductor-{i}.example.org' for i in range(12)]
        entries = [
            {'name': n, 'groups': [f'g{i % 3}:ipmi', 'all:redfish']}
            for i, n in enumerate(names)
        ]
        members = Members(entries)
        mgr = manager.RingManager(self.source(members))
        rings = mgr.get_rings()
        self.assertEqual(1, members.calls)
        self.assertEqual(4, len(rings))
        keys = [f'node-{i}'.encode() for i in range(2000)]
        for group, ring in rings.items():
            placed = [e['name'] for e in entries if group in e['groups']]
            theirs = tooz_hashring.HashRing(placed)
            self.assertEqual(
                [next(iter(theirs.get_nodes(k))) for k in keys],
                ring.map_keys(keys),
            )

    def test_heartbeats_are_judged(self):
        members = Members(
            [
                {'name': 'fresh', 'heartbeat': NOW},
                {'name': 'stale', 'heartbeat': NOW - datetime.timedelta(90)},
                # Naive, as Ironic's updated_at: UTC.
                {
                    'name': 'naive',
                    'heartbeat': NOW.replace(tzinfo=None),
                },
                {'name': 'told-down', 'state': 'down'},
            ]
        )
        snapshot = self.source(members, dead_after=60).get_members()
        self.assertEqual({'fresh': 1, 'naive': 1}, snapshot.placed())
        self.assertEqual(
            membership.State.DOWN, snapshot.members['stale'].state
        )
        self.assertEqual(
            membership.State.DOWN, snapshot.members['told-down'].state
        )

    def test_bad_entries_are_left_out_and_logged(self):
        members = Members(
            [
                'good',
                {'name': 'w0', 'weight': 0},
                {'name': 'typo', 'wieght': 2},
                {'name': b'bytes'},
                {'name': 'g', 'groups': 'g1'},
                {'name': 'h', 'heartbeat': '2026-01-01'},
                {'name': 's', 'state': 'asleep'},
                42,
            ]
        )
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            snapshot = self.source(members).get_members()
        self.assertEqual({'good': 1}, snapshot.placed())
        text = '\n'.join(logs.output)
        for bad in (
            "'w0'",
            'weight 0 is below 1',
            'unknown field(s) wieght',
            "b'bytes'",
            "'g1'",
            "heartbeat '2026-01-01' is not a datetime",
            "'asleep'",
            '42',
        ):
            self.assertIn(bad, text)

    def test_a_failing_function_is_an_outage(self):
        members = Members(['a', 'b'])
        source = self.source(members)
        mgr = manager.RingManager(source, reset_interval=0, max_stale=60)
        first = mgr.get_ring()
        members.error = RuntimeError('database is locked password=hunter2')
        err = self.assertRaises(
            exception.MembershipUnavailable, source.get_members
        )
        self.assertIn('database is locked', str(err))
        self.assertNotIn('hunter2', str(err))
        self.assertIn('test_callable.Members', str(err))
        with self.assertLogs('hashring.manager', 'WARNING'):
            self.assertIs(first, mgr.get_ring())

    def test_a_hanging_function_is_bounded(self):
        release = threading.Event()
        self.addCleanup(release.set)
        source = self.source(lambda: release.wait(30) and [], read_timeout=0.5)
        start = time.monotonic()
        err = self.assertRaises(
            exception.MembershipUnavailable, source.get_members
        )
        self.assertLess(time.monotonic() - start, 5)
        self.assertIn('no answer within 0.5s', str(err))

    def test_in_the_callers_thread(self):
        seen = []

        def function():
            seen.append(threading.get_ident())
            return ['a']

        self.source(function).get_members()
        self.source(function, in_thread=False).get_members()
        self.assertNotEqual(threading.get_ident(), seen[0])
        self.assertEqual(threading.get_ident(), seen[1])

    def test_import_path_option(self):
        for path in (
            'hashring.tests.membership.test_callable:conductors',
            'hashring.tests.membership.test_callable.conductors',
        ):
            with self.subTest(path=path):
                source = membership.load('callable', membership_function=path)
                self.assertEqual(
                    {'Conductor-1': 1, 'conductor-2:8089': 2},
                    source.get_members().placed(),
                )

    def test_bad_functions(self):
        for kwargs, message in (
            ({}, 'needs [hashring] membership_function'),
            (
                {'membership_function': 'no.such.module:f'},
                "membership_function 'no.such.module:f' does not import",
            ),
            ({'function': 'conductors'}, "needs a callable, not 'conductors'"),
        ):
            with self.subTest(**kwargs):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    membership.load,
                    'callable',
                    **kwargs,
                )
                self.assertIn(message, str(err))

    def test_registration_is_not_supported(self):
        source = self.source(Members([]))
        self.assertRaises(exception.RegistrationNotSupported, source.join, 'a')
        self.assertEqual({}, source.get_groups())
