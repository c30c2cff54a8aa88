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

import dataclasses
from unittest import mock

from hashring import claims
from hashring import exception
from hashring import ring
from hashring import ringcache
from hashring.tests import base


class RingCacheTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.ring = ring.HashRing(['A-1', 'b-2'], points=8)
        self.spec = claims.RingSpec.of(self.ring)

    def test_each_ring_is_built_once_and_the_oldest_dropped(self):
        cache = ringcache.RingCache(size=2)
        self.assertIs(cache.get(self.spec), cache.get(self.spec))
        for name in ('x', 'y', 'z'):
            cache.get(claims.RingSpec.of(ring.HashRing([name])))
        self.assertEqual(2, len(cache._rings))
        self.assertNotIn(self.ring.fingerprint, cache._rings)

    def test_a_ring_added_is_not_built_again(self):
        cache = ringcache.RingCache()
        cache.add(None, self.ring)
        with mock.patch.object(claims.RingSpec, 'build') as build:
            self.assertIs(self.ring, cache.get(self.spec))
        build.assert_not_called()

    def test_other_members_under_a_kept_fingerprint_are_refused(self):
        # A fingerprint says how keys map, but not to what names: a
        # forged spec that names a kept ring's is built, and fails.
        cache = ringcache.RingCache()
        cache.add(self.ring)
        forged = dataclasses.replace(self.spec, members={'A-1': 1, 'c-3': 1})
        err = self.assertRaises(
            exception.InvalidArgumentError, cache.get, forged
        )
        self.assertIn('corrupt', str(err))
        self.assertIs(self.ring, cache.get(self.spec))
