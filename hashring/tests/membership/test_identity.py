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

import unicodedata

import hypothesis

from hashring import exception
from hashring import membership
from hashring.membership import identity
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
        self.assertEqual('host-1', identity.canonical_of('Host-1'))
        self.assertEqual('host-1', identity.canonical_of(b'HOST-1'))
        for name in (b'\xff', 'a\x00', '', 5):
            self.assertIsNone(identity.canonical_of(name))
        self.assertEqual(
            frozenset({'Host-1'}),
            identity.names_of(['Host-1', 'host-2', b'\xff'], 'host-1'),
        )
        self.assertEqual(frozenset(), identity.names_of(['a'], 'b'))

    def test_names_of_reads_the_ids_known(self):
        names = ['Host-1', 'host-2', b'HOST-1 ', 'x']
        known = {n: identity.canonical_of(n) for n in names[:3]}
        self.assertEqual(
            identity.names_of(names, 'host-1'),
            identity.names_of(names, 'host-1', known),
        )
        # A name known is not read again; one not known is.
        self.assertEqual(
            frozenset({'x', 'HOST-1'}),
            identity.names_of(['x', 'HOST-1'], 'host-1', {'x': 'host-1'}),
        )


class IncarnationTestCase(test_base.TestCase):
    def test_incarnations_differ_and_sort_as_they_were_made(self):
        made = [identity.incarnation() for _ in range(50)]
        self.assertEqual(50, len(set(made)))
        # Time first: made in order, they sort in order (the clock may
        # repeat a reading, which the random part then orders).
        times = [int(i.split('-')[0], 16) for i in made]
        self.assertEqual(sorted(times), times)
        for one in made:
            self.assertEqual(one, identity.incarnation_of(one))

    def test_anything_else_reads_as_none(self):
        for value in (
            None,
            7,
            '',
            'ABCDEF0123456789-01234567',
            '0123456789abcdef-0123456',
            '0123456789abcdef-01234567\n',
            b'0123456789abcdef-01234567',
        ):
            with self.subTest(value=value):
                self.assertIsNone(identity.incarnation_of(value))
