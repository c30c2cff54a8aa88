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

from hashring.membership import masking
from hashring.tests import base as test_base


class MaskTestCase(test_base.TestCase):
    def test_passwords_are_masked_in_query_strings_too(self):
        for url in (
            'postgresql://u:s3cret@h/db',
            'postgresql://u@h/db?password=s3cret&sslmode=require',
            'redis://h:6379?sentinel_password=s3cret',
        ):
            masked = masking.mask_url(url)
            self.assertNotIn('s3cret', masked)
            self.assertIn('h', masked)
        self.assertIn(
            'sslmode=require',
            masking.mask_url('postgresql://h/db?password=x&sslmode=require'),
        )
        self.assertEqual(
            'sqlite:////tmp/x', masking.mask_url('sqlite:////tmp/x')
        )
        self.assertNotIn(
            's3cret', masking.mask('failed: password=s3cret here')
        )
