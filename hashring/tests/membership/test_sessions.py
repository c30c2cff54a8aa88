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

"""Records of ZooKeeper sessions; over a real server in test_tooz_zookeeper."""

import json

from tooz import utils as tooz_utils

from hashring.membership import identity
from hashring.membership import sessions
from hashring.membership import values
from hashring.tests import base as test_base


class IncarnationTestCase(test_base.TestCase):
    def caps(self, attributes):
        record = {'state': 'up', 'weight': 1, 'attributes': attributes}
        return json.dumps(record).encode()

    def test_a_record_s_incarnation_is_read_packed_or_not(self):
        mine = identity.incarnation()
        caps = self.caps({values.INCARNATION_ATTRIBUTE: mine, 'rack': 7})
        self.assertEqual(mine, sessions._incarnation_in(caps, False))
        packed = tooz_utils.dumps(caps)
        self.assertEqual(mine, sessions._incarnation_in(packed, True))

    def test_a_record_without_one_has_none(self):
        # An older release's, a tooz service's, or no JSON at all: a
        # record that carries no incarnation is swapped, as before.
        for caps in (
            self.caps({}),
            self.caps({values.INCARNATION_ATTRIBUTE: 'not-one'}),
            json.dumps(['up']).encode(),
            b'\xff not json',
            b'',
        ):
            with self.subTest(caps=caps):
                self.assertIsNone(sessions._incarnation_in(caps, False))
                packed = tooz_utils.dumps(caps)
                self.assertIsNone(sessions._incarnation_in(packed, True))
        self.assertIsNone(sessions._incarnation_in(b'\xc1', True))
