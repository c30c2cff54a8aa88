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

from hashring import backoff
from hashring import exception
from hashring.tests import base


class BackoffTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.now = 100.0

    def test_a_failed_call_waits_as_long_as_it_took(self):
        calls = backoff.Backoff(lambda: self.now)
        error = exception.MembershipUnavailable('fake', 'down')
        calls.check('fake')  # nothing failed yet
        for took, most, wait in (
            (0.2, 15.0, 1.0),
            (4.0, 15.0, 4.0),
            (40.0, 15.0, 15.0),
        ):
            calls.failure(error, self.now - took, most)
            self.now += wait - 0.01
            err = self.assertRaises(
                exception.MembershipUnavailable, calls.check, 'fake'
            )
            self.assertIs(error, err.cause)
            self.assertIn('after a call that failed', str(err))
            self.now += 0.01
            calls.check('fake')
        calls.failure(error, self.now, 15.0)
        calls.success()
        calls.check('fake')
