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

from hashring import exception
from hashring.membership import values
from hashring.tests import base as test_base


class ValidationTestCase(test_base.TestCase):
    def test_group_names_end_at_the_end(self):
        for group in ('abc\n', 'abc\n\n', '\nabc'):
            self.assertRaises(
                exception.InvalidArgumentError, values.check_group, group
            )

    def test_groups_are_checked_sorted_and_once_each(self):
        self.assertIsNone(values.check_groups(None))
        self.assertEqual(
            ['a', 'b'], values.check_groups(iter(['b', 'a', 'b']))
        )
        for groups, message in (
            ('ab', 'groups must be a collection'),
            (['a', 'b c'], "Invalid group name 'b c'"),
            ([['a']], "Invalid group name ['a']"),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError, values.check_groups, groups
            )
            self.assertIn(message, str(err))

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
