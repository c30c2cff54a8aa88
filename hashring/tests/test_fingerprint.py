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

from hashring import _fingerprint
from hashring import ring
from hashring.tests import base
from hashring.tests import test_ring


class FingerprintTestCase(base.TestCase):
    def test_equal_rings_equal_fingerprints(self):
        self.assertEqual(
            ring.HashRing(test_ring.FOO_BAR_BAZ).fingerprint,
            ring.HashRing(['baz', b'bar', 'foo']).fingerprint,
        )

    def test_same_points_same_fingerprint(self):
        # Weight 2 at exponent 5 places exactly the points of weight 1 at
        # exponent 6: the rings map every key alike.
        a = ring.HashRing({'a': 2, 'b': 2}, 5)
        b = ring.HashRing({'a': 1, 'b': 1}, 6)
        keys = test_ring.uuids(3000)
        self.assertEqual(a.map_keys(keys), b.map_keys(keys))
        self.assertEqual(a.fingerprint, b.fingerprint)

    def test_single_member_rings_agree(self):
        self.assertEqual(
            ring.HashRing(['x'], 0).fingerprint,
            ring.HashRing({'x': 3}, 9, 'sha256').fingerprint,
        )

    def test_differences_change_the_fingerprint(self):
        base_ring = ring.HashRing(test_ring.FOO_BAR_BAZ)
        others = [
            ring.HashRing(['foo', 'bar']),
            ring.HashRing(['foo', 'bar', 'qux']),
            ring.HashRing({'foo': 1, 'bar': 1, 'baz': 2}),
            ring.HashRing(test_ring.FOO_BAR_BAZ, partition_exponent=6),
            ring.HashRing(test_ring.FOO_BAR_BAZ, hash_function='sha256'),
            ring.HashRing(['x'], 0),
            ring.HashRing([]),
        ]
        prints = {r.fingerprint for r in others}
        self.assertEqual(len(others), len(prints))
        self.assertNotIn(base_ring.fingerprint, prints)
        self.assertRegex(base_ring.fingerprint, '^[0-9a-f]{16}$')

    def test_fingerprint_is_golden(self):
        # Deliberately fragile: published fingerprints must not change
        # between releases, or services of two versions would disagree.
        self.assertEqual(
            '39d63fd37451196f',
            ring.HashRing(test_ring.FOO_BAR_BAZ).fingerprint,
        )
        self.assertEqual(
            'fa11534d5e509da9',
            ring.HashRing(
                {'conductor-1': 1, 'conductor-2': 2}, 6, 'sha256'
            ).fingerprint,
        )

    def test_the_numbering_of_members_does_not_count(self):
        # An updated ring numbers the members it adds after the others,
        # where a fresh build numbers them in name order.
        names = [f'm{i}' for i in range(12)]
        changed = ring.HashRing(names[1:], 7).with_members(names)
        fresh = ring.HashRing(names, 7)
        self.assertNotEqual(changed._table.numbered, fresh._table.numbered)
        self.assertEqual(fresh.fingerprint, changed.fingerprint)
        self.assertEqual(
            fresh.fingerprint,
            _fingerprint.fingerprint(changed._table, changed._names, 'md5'),
        )
        # The hash function's name is part of it.
        self.assertNotEqual(
            fresh.fingerprint,
            _fingerprint.fingerprint(fresh._table, fresh._names, 'sha1'),
        )
