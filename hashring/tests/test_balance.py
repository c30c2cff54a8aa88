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

import collections

import fixtures

from hashring import balance
from hashring import compat
from hashring import exception
from hashring import manager
from hashring import membership
from hashring import movement
from hashring import ring
from hashring import simulation
from hashring.tests import base

MEMBERS = {f'svc-{i}': 1 + i % 3 for i in range(12)}
# Below every ring of the guardrail's tests, at exponents 5 and 6.
BOUND = 1.3


class ArcsTestCase(base.TestCase):
    def test_shares_are_where_keys_land(self):
        r = ring.HashRing(MEMBERS, 4)
        shares = balance.shares(r)
        self.assertAlmostEqual(1.0, sum(shares.values()), places=12)
        keys = simulation.keys(120_000)
        landed = collections.Counter(r.map_keys(keys))
        for member, share in shares.items():
            self.assertAlmostEqual(
                share, landed[member] / len(keys), delta=0.005
            )

    def test_what_is_not_a_ring_is_refused_by_name(self):
        # Each raised AttributeError or TypeError from inside.
        tooz_style = compat.ToozHashRing(['a', 'b'])
        for call in (balance.shares, balance.peak_to_mean):
            err = self.assertRaises(
                exception.InvalidArgumentError, call, tooz_style
            )
            self.assertIn('ring must be a hashring.HashRing', str(err))
        two = ring.HashRing(['a', 'b'])
        for bound in (None, 'x', float('nan'), -1):
            err = self.assertRaises(
                exception.InvalidArgumentError, balance.advise, two, bound
            )
            self.assertIn('bound must be a finite number', str(err))
        # A ring without members is balanced: max() of nothing raised.
        self.assertEqual(1.0, balance.peak_to_mean(ring.HashRing([])))
        self.assertEqual({}, balance.shares(ring.HashRing([])))

    def test_peak_to_mean_is_weighted(self):
        r = ring.HashRing(MEMBERS, 5)
        shares = balance.shares(r)
        total = sum(MEMBERS.values())
        expected = max(shares[m] * total / w for m, w in MEMBERS.items())
        self.assertEqual(expected, balance.peak_to_mean(r))
        self.assertGreater(balance.peak_to_mean(r), 1.0)
        self.assertEqual(1.0, balance.peak_to_mean(ring.HashRing(['a'])))

    def test_advice_meets_the_bound_and_says_what_moves(self):
        r = ring.HashRing(MEMBERS, 3)
        advice = balance.advise(r, 1.15)
        self.assertGreater(advice.exponent, 3)
        self.assertLessEqual(advice.then, 1.15)
        below = ring.HashRing(MEMBERS, advice.exponent - 1)
        if advice.exponent - 1 > 3:
            self.assertGreater(balance.peak_to_mean(below), 1.15)
        keys = simulation.keys(balance.SAMPLE_KEYS)
        target = ring.HashRing(MEMBERS, advice.exponent)
        self.assertEqual(
            len(movement.changes(r, target, keys)) / len(keys), advice.moved
        )
        self.assertIsNone(balance.advise(r, 0.5).exponent)


class GuardrailTestCase(base.TestCase):
    def manager(self, members, **kw):
        source = membership.load('static', members=members)
        self.addCleanup(source.close)
        return manager.RingManager(source, reset_interval=0, **kw)

    def test_logged_once_per_change_with_the_advice(self):
        logs = self.useFixture(fixtures.FakeLogger('hashring.balance'))
        names = [f'conductor-{i}' for i in range(100)]
        mgr = self.manager(names)
        r = mgr.get_ring()
        mgr.get_ring()
        mgr.refresh()
        self.assertEqual(1, logs.output.count('busiest of 100'))
        advice = balance.advise(r, 1.5)
        self.assertIn(f'{balance.peak_to_mean(r):.2f} times', logs.output)
        self.assertIn(
            f'partition_exponent {advice.exponent} would give '
            f'{advice.then:.2f}',
            logs.output,
        )
        self.assertIn(f'{advice.moved * 100:.0f}% of the keys', logs.output)

    def test_a_balanced_ring_or_a_zero_bound_logs_nothing(self):
        logs = self.useFixture(fixtures.FakeLogger('hashring.balance'))
        self.manager(['a', 'b']).get_ring()
        many = [f'c-{i}' for i in range(100)]
        self.manager(many, max_peak_to_mean=0).get_ring()
        self.assertEqual('', logs.output)

    def test_advice_is_made_again_only_when_the_members_drift(self):
        logs = self.useFixture(fixtures.FakeLogger('hashring.balance'))
        advise = self.useFixture(
            fixtures.MockPatchObject(balance, 'advise', wraps=balance.advise)
        ).mock
        names = [f'conductor-{i}' for i in range(100)]
        logged = {}
        first = ring.HashRing(names)
        advice = balance.check('g', first, BOUND, logged)
        self.assertEqual(1, advise.call_count)
        # One member more: a new ring, measured and logged, the advice kept.
        second = first.with_members(dict.fromkeys([*names, 'conductor-x'], 1))
        again = balance.check('g', second, BOUND, logged)
        self.assertEqual(1, advise.call_count)
        self.assertEqual(balance.peak_to_mean(second), again.peak_to_mean)
        self.assertNotEqual(advice.peak_to_mean, again.peak_to_mean)
        self.assertEqual(advice.exponent, again.exponent)
        self.assertEqual(2, logs.output.count('busiest of'))
        self.assertIn('busiest of 101 members carries', logs.output)
        self.assertIn('at 100 members', logs.output)
        # The same ring again: nothing.
        self.assertIsNone(balance.check('g', second, BOUND, logged))
        self.assertEqual(2, logs.output.count('busiest of'))
        # Past ADVICE_DRIFT of the count, or at another exponent: advised
        # again, for the ring as it is.
        more = [*names, *(f'extra-{i}' for i in range(11))]
        self.assertIsNotNone(
            balance.check('g', ring.HashRing(more), BOUND, logged)
        )
        self.assertEqual(2, advise.call_count)
        self.assertIn('at 111 members', logs.output)
        self.assertIsNotNone(
            balance.check('g', ring.HashRing(more, 6), BOUND, logged)
        )
        self.assertEqual(3, advise.call_count)

    def test_a_ring_back_under_the_bound_logs_nothing_and_keeps_advice(self):
        logs = self.useFixture(fixtures.FakeLogger('hashring.balance'))
        names = [f'conductor-{i}' for i in range(100)]
        logged = {}
        over = ring.HashRing(names)
        self.assertIsNotNone(balance.check('g', over, 1.5, logged))
        loose = balance.peak_to_mean(over) + 0.01
        self.assertIsNone(
            balance.check('g', over.with_members(names[:99]), loose, logged)
        )
        self.assertEqual(1, logs.output.count('busiest of'))
