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

import hashlib
import json
import unicodedata

import hypothesis

from hashring import exception
from hashring import membership
from hashring.membership import values
from hashring.tests import base as test_base


class CanonicalIdTestCase(test_base.TestCase):
    def test_canonical(self):
        for name, canon in (
            ('Compute-1', 'compute-1'),
            ('  host.example.ORG\n', 'host.example.org'),
            ('Cafe\u0301', 'caf\u00e9'),
            ('caf\u00e9', 'caf\u00e9'),
        ):
            self.assertEqual(canon, membership.canonical_id(name))

    def test_bad_ids(self):
        for name in ('', '   ', None, 5, b'host', 'a\x00b', 'x' * 256):
            with self.subTest(name=name):
                err = self.assertRaises(
                    exception.InvalidMemberError, membership.canonical_id, name
                )
                self.assertIn(repr(name)[:20], str(err))

    @hypothesis.given(hypothesis.strategies.text(min_size=1, max_size=20))
    def test_canonical_id_is_idempotent(self, name):
        try:
            canon = membership.canonical_id(name)
        except exception.InvalidMemberError:
            return
        self.assertEqual(canon, membership.canonical_id(canon))

    def test_canonical_id_of_a_composing_lower_case(self):
        canon = membership.canonical_id('J\u030c-host')
        self.assertEqual('\u01f0-host', canon)
        self.assertEqual(canon, membership.canonical_id(canon))

    @hypothesis.given(hypothesis.strategies.text(max_size=20))
    def test_the_ascii_fast_path_agrees_with_the_full_rule(self, name):
        def full(name):
            canon = name
            for _ in range(4):
                step = unicodedata.normalize('NFC', canon).strip().lower()
                if step == canon:
                    break
                canon = step
            bad = any(unicodedata.category(c).startswith('C') for c in canon)
            return None if not canon or bad or len(canon) > 255 else canon

        try:
            got = membership.canonical_id(name)
        except exception.InvalidMemberError:
            got = None
        self.assertEqual(full(name), got)

    def test_a_str_subclass_is_read_as_its_text(self):
        class Sneaky(str):
            def __str__(self):
                return 'other'

            def lower(self):
                return 'other'

        self.assertEqual('host-1', membership.canonical_id(Sneaky('Host-1')))

    def test_canonical_of_ring_names(self):
        self.assertEqual('host-1', values.canonical_of('Host-1'))
        self.assertEqual('host-1', values.canonical_of(b'HOST-1'))
        for name in (b'\xff', 'a\x00', '', 5):
            self.assertIsNone(values.canonical_of(name))
        self.assertEqual(
            frozenset({'Host-1'}),
            values.names_of(['Host-1', 'host-2', b'\xff'], 'host-1'),
        )
        self.assertEqual(frozenset(), values.names_of(['a'], 'b'))


class ValidationTestCase(test_base.TestCase):
    def test_group_names_end_at_the_end(self):
        for group in ('abc\n', 'abc\n\n', '\nabc'):
            self.assertRaises(
                exception.InvalidArgumentError, values.check_group, group
            )

    def test_attributes_are_json_bounded_and_finite(self):
        deep = {}
        for _ in range(100_000):
            deep = {'x': deep}
        for attributes, message in (
            (deep, 'nest deeper than 32'),
            ({'x': float('nan')}, 'are not JSON'),
            ({'x': [float('inf')]}, 'are not JSON'),
        ):
            err = self.assertRaises(
                exception.InvalidMemberError,
                values.check_attributes,
                'm',
                attributes,
            )
            self.assertIn(message, str(err))

    def test_weights_are_capped_where_members_join(self):
        self.assertEqual(1000, values.check_weight('m', 1000))
        err = self.assertRaises(
            exception.InvalidMemberError, values.check_weight, 'm', 2**19 - 100
        )
        self.assertIn('above 1000', str(err))


def by_id(*members):
    return {m.id: m for m in members}


class StateTestCase(test_base.TestCase):
    def test_alive(self):
        self.assertEqual(
            {'up', 'draining', 'disabled'},
            {state.value for state in values.State if state.alive},
        )


class SnapshotTestCase(test_base.TestCase):
    def test_up_offline_and_generation(self):
        members = by_id(
            values.Member('a', values.State.UP, 2),
            values.Member('b', values.State.DRAINING),
            values.Member('c', values.State.DOWN),
            values.Member('d', values.State.FORCED_DOWN),
            values.Member('e', values.State.DISABLED),
        )
        snap = values.Snapshot(
            'g', members, values.generation_of(members), None
        )
        self.assertEqual({'a': 2}, snap.up())
        self.assertEqual(4, snap.offline())
        # Draining and disabled members still run; down and forced-down
        # members do not.
        self.assertEqual({'a', 'b', 'e'}, snap.alive())
        self.assertEqual(
            {
                'up': 1,
                'draining': 1,
                'down': 1,
                'forced_down': 1,
                'disabled': 1,
            },
            snap.states(),
        )
        self.assertEqual(
            {'down': 2},
            values.Snapshot(
                'g',
                by_id(
                    values.Member('x', values.State.DOWN),
                    values.Member('y', values.State.DOWN),
                ),
                '',
                None,
            ).states(),
        )
        self.assertEqual(5, len(snap))
        self.assertIn('b', snap)
        self.assertEqual(['a', 'b', 'c', 'd', 'e'], [m.id for m in snap])
        changed = dict(members, a=values.Member('a', values.State.UP, 3))
        self.assertNotEqual(snap.generation, values.generation_of(changed))
        self.assertEqual(snap.generation, values.generation_of(dict(members)))

    def test_generation_is_the_json_of_every_member(self):
        # Members without attributes take a quicker path to the same
        # token: a token that changed with the release would make every
        # service think the membership changed on upgrade.
        members = by_id(
            values.Member('a', values.State.UP, 2),
            values.Member('bé"\\☃', values.State.DRAINING),
            values.Member('c', values.State.UP, 1, {'zone': 'z1'}),
            values.Member('d', values.State.DOWN, 1000),
        )
        h = hashlib.sha256()
        for m in members.values():
            h.update(
                json.dumps(
                    [m.id, m.state.value, m.weight, dict(m.attributes)],
                    sort_keys=True,
                ).encode()
                + b'\n'
            )
        self.assertEqual(h.hexdigest()[:16], values.generation_of(members))

    def test_frozen(self):
        member = values.Member('a', values.State.UP)
        self.assertRaises(AttributeError, setattr, member, 'weight', 2)

    def test_names_and_placement(self):
        members = {
            'c-1': values.Member('c-1', values.State.UP, 2, name='C-1'),
            'c-2': values.Member('c-2', values.State.UP),
            'c-3': values.Member('c-3', values.State.DRAINING, name='C-3'),
        }
        snap = values.Snapshot(
            'g', members, values.generation_of(members), None
        )
        self.assertEqual('c-2', members['c-2'].name)
        self.assertEqual({'C-1': 2, 'c-2': 1}, snap.placed())
        self.assertEqual({'c-1': 2, 'c-2': 1}, snap.up())
