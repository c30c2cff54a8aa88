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

import array

from hashring import _sizing
from hashring.tests import base

# Points of md5 digests: 16 bytes.
SIZE = 16


def buckets(count, members=1000):
    return 1 << _sizing.bits_for(count, SIZE, members)


class BitsForTestCase(base.TestCase):
    def test_small_rings_have_four_to_eight_buckets_per_point(self):
        # More than four, up to eight for a power of two.
        for count in (1, 2, 3, 320, 1000, 1024, 2047):
            self.assertGreater(buckets(count), 4 * count, count)
            self.assertLessEqual(buckets(count), 8 * count, count)

    def test_rings_from_the_dense_size_have_six_to_twelve(self):
        self.assertEqual(2048, _sizing.DENSE_MIN_POINTS)
        for count in (2048, 2731, 3000, 3200, 10240, 16385, 32000, 32768):
            self.assertGreaterEqual(buckets(count), 6 * count, count)
            self.assertLess(buckets(count), 12 * count, count)
        # Past the threshold, a bit more where the slack bits gave fewer
        # than six a point, and none where they gave enough.
        self.assertEqual(2 * buckets(3200, 40000), buckets(3200))
        self.assertEqual(buckets(10240, 40000), buckets(10240))

    def test_two_byte_rings_past_their_count_have_eight_to_sixteen(self):
        for count in (32769, 50000, 10**5, 2**20, 4 * 10**6):
            self.assertGreater(buckets(count), 8 * count, count)
            self.assertLessEqual(buckets(count), 16 * count, count)

    def test_four_byte_entries_keep_four_to_eight(self):
        # More members than two bytes count: no more buckets per point
        # than such entries always had.
        for count in (3000, 32769, 40000, 10**5, 2**20):
            members = _sizing.SHORT_LIMIT + 1
            self.assertGreater(buckets(count, members), 4 * count)
            self.assertLessEqual(buckets(count, members), 8 * count)

    def test_the_index_is_capped(self):
        self.assertEqual(1 << _sizing.MAX_BUCKET_BITS, buckets(10**7))
        self.assertEqual(1 << _sizing.MAX_BUCKET_BITS, buckets(10**8))

    def test_no_more_bits_than_a_digest_has(self):
        self.assertEqual(16, _sizing.bits_for(10**6, 2, 10))
        self.assertEqual(8, _sizing.bits_for(3000, 1, 10))


class TypecodeTestCase(base.TestCase):
    def test_two_bytes_up_to_their_limit(self):
        self.assertEqual(32768, _sizing.SHORT_LIMIT)
        self.assertEqual(_sizing.SHORT, _sizing.typecode(1))
        self.assertEqual(_sizing.SHORT, _sizing.typecode(32768))
        self.assertEqual(_sizing.WIDE, _sizing.typecode(32769))
        self.assertEqual(2, array.array(_sizing.SHORT).itemsize)
        self.assertGreaterEqual(array.array(_sizing.WIDE).itemsize, 4)
