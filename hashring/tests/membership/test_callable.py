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
import json
import os
import sqlite3
import threading
import time

import fixtures

from tooz import hashring as tooz_hashring

from hashring import exception
from hashring import manager
from hashring import membership
from hashring.membership import callable as callable_driver
from hashring import ownership
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

    def test_a_heartbeat_out_of_range_is_one_bad_entry(self):
        # A placeholder heartbeat (0001-01-01) as the freshest of a group
        # overflowed the liveness judge: every read of the group raised
        # OverflowError.  Far in the future, a member would never die.
        for beat in (datetime.datetime.min, datetime.datetime.max):
            members = Members(['good', {'name': 'odd', 'heartbeat': beat}])
            with self.subTest(beat=beat):
                with self.assertLogs(
                    'hashring.membership.base', 'WARNING'
                ) as logs:
                    snapshot = self.source(members).get_members()
                self.assertEqual({'good': 1}, snapshot.placed())
                self.assertIn("'odd'", '\n'.join(logs.output))
                self.assertIn('is out of range', '\n'.join(logs.output))

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
                self.addCleanup(source.close)
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


class ServicesTable:
    """A consumer's own services table (SQLite), as Nova's services."""

    def __init__(self, path):
        self.path = path
        with self.connect() as db:
            db.execute(
                'CREATE TABLE IF NOT EXISTS services (host TEXT PRIMARY '
                'KEY, updated_at TEXT, claims TEXT)'
            )

    def connect(self):
        return sqlite3.connect(self.path, timeout=5)

    def report(self, host):
        """The service's own heartbeat (Nova's servicegroup)."""
        with self.connect() as db:
            db.execute(
                'INSERT INTO services VALUES (?, ?, ?) ON CONFLICT(host) DO '
                'UPDATE SET updated_at = excluded.updated_at',
                (
                    host,
                    datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    "{}",
                ),
            )

    def members(self):
        with self.connect() as db:
            rows = db.execute('SELECT host, updated_at, claims FROM services')
            return [
                {
                    'name': host,
                    'heartbeat': datetime.datetime.fromisoformat(at),
                    'claims': json.loads(claims),
                }
                for host, at, claims in rows
            ]

    def publish(self, host, group, claim):
        with self.connect() as db:
            (stored,) = db.execute(
                'SELECT claims FROM services WHERE host = ?', (host,)
            ).fetchone()
            published = json.loads(stored)
            if claim is None:
                published.pop(group, None)
            else:
                published[group] = claim
            db.execute(
                'UPDATE services SET claims = ? WHERE host = ?',
                (json.dumps(published), host),
            )


class PublishingTestCase(base.TestCase):
    """The handoff protocol over a consumer's own table."""

    def setUp(self):
        super().setUp()
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'nova.sqlite'
        )
        self.table = ServicesTable(path)

    def service(self, host):
        self.table.report(host)
        source = membership.load(
            'callable',
            function=self.table.members,
            publish=self.table.publish,
            heartbeat_interval=0.1,
            settle_after=0.2,
        )
        self.addCleanup(source.close)
        source.join(host)
        # Members that start together hand each other nothing at first.
        self.wait_settled(source)
        rings = manager.RingManager(source, host=host, reset_interval=0)
        self.assertIsNotNone(rings.handoff)
        return ownership.OwnershipFilter(host, manager=rings)

    def test_claims_go_through_the_consumer_s_table(self):
        nodes = [{'id': f'n-{i}', 'instance_id': None} for i in range(60)]
        filters = [self.service('compute-1')]
        for _ in range(2):
            filters[0].filter(nodes, [])
        filters.append(self.service('compute-2'))
        for _ in range(5):
            owned = {}
            for flt in filters:
                for node in flt.filter(nodes, []).owned:
                    self.assertNotIn(node['id'], owned)
                    owned[node['id']] = flt.host
        ring = filters[1].manager.get_ring()
        self.assertEqual(dict(zip(owned, ring.map_keys(list(owned)))), owned)
        self.assertEqual(60, len(owned))
        state = filters[0].manager.convergence()
        self.assertEqual(ring.fingerprint, state.fingerprint)
        stored = {m['name']: m['claims'] for m in self.table.members()}
        self.assertEqual(
            ring.fingerprint,
            stored['compute-2']['default']['applied']['fingerprint'],
        )
        # Leaving deletes the claim, not the consumer's row.
        filters[1].manager.source.leave()
        self.assertEqual({}, self.table.members()[1]['claims'])

    def test_no_lapse_is_seen_where_the_consumer_heartbeats(self):
        source = self.service('compute-1').manager.source
        joined = source.unbroken_since()
        self.assertIsNotNone(joined)
        # Its heartbeats are the consumer's table's: silence here, however
        # long, is no lapse (the protocol would let go at every read).
        source._clock = lambda: joined + 10 * source.dead_after
        self.assertEqual(joined, source.unbroken_since())
        self.assertIsNone(source.last_silence())  # nor a pause
        source.leave()
        self.assertIsNone(source.unbroken_since())

    def test_a_failing_publish_is_an_outage_and_bad_hooks_are_refused(self):
        def broken(*_):
            raise OSError('read-only database')

        self.table.report('a')
        source = membership.load(
            'callable', function=self.table.members, publish=broken
        )
        self.addCleanup(source.close)
        error = self.assertRaises(
            exception.MembershipUnavailable, source.join, 'a'
        )
        self.assertIn('read-only database', str(error))
        error = self.assertRaises(
            exception.InvalidArgumentError,
            membership.load,
            'callable',
            function=self.table.members,
            publish='table.publish',
        )
        self.assertIn("'table.publish'", str(error))

    def test_bad_claims_field_is_refused_by_name(self):
        source = membership.load(
            'callable', function=lambda: [{'name': 'a', 'claims': ['x']}]
        )
        self.addCleanup(source.close)
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.assertEqual([], list(source.get_members()))
        self.assertIn('claims', logs.output[0])
