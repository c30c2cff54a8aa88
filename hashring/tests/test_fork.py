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

import threading

from hashring import _fork
from hashring.tests import base


class Resets:
    def __init__(self, fail=False):
        self.lock = threading.Lock()
        self.fail = fail

    def _after_fork(self):
        if self.fail:
            raise RuntimeError('cannot reset')
        self.lock = threading.Lock()


class ForkTestCase(base.TestCase):
    def test_registered_objects_reset_in_the_child_only(self):
        obj, broken = Resets(), Resets(fail=True)
        _fork.register(obj)
        _fork.register(broken)
        obj.lock.acquire()
        self.addCleanup(obj.lock.release)
        # The broken one is logged; the child still starts and resets
        # the other.
        self.assertFalse(base.fork_and_run(lambda: obj.lock.locked()))
        self.assertTrue(obj.lock.locked())

    def test_collected_objects_are_forgotten(self):
        before = len(_fork._objects)
        obj = Resets()
        _fork.register(obj)
        self.assertEqual(before + 1, len(_fork._objects))
        del obj
        self.assertEqual(before, len(_fork._objects))
