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
import logging
from unittest import mock

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


class LengthTestCase(test_base.TestCase):
    """The session length kazoo logs as it connects."""

    def coordinator(self):
        logger = mock.Mock(spec=logging.Logger)
        connection = mock.Mock(logger=logger)
        return mock.Mock(_coord=mock.Mock(_connection=connection)), logger

    def test_the_length_logged_is_noted_and_the_line_still_logged(self):
        coordinator, logger = self.coordinator()
        sessions.note_lengths(coordinator)
        self.assertIsNone(sessions.length(coordinator))
        noted = coordinator._coord._connection.logger
        # As kazoo 2.x logs it, in milliseconds.
        args = (5, 'Session created, session_id: %r ...', 7, 'pw', 6000, 1, 2)
        noted.log(*args)
        self.assertEqual(6.0, sessions.length(coordinator))
        noted.log(5, 'Read response %s', 'x')
        noted.debug('Received EVENT: %s', 'y')
        self.assertEqual(6.0, sessions.length(coordinator))
        self.assertEqual(
            [
                mock.call.log(*args),
                mock.call.log(5, 'Read response %s', 'x'),
                mock.call.debug('Received EVENT: %s', 'y'),
            ],
            logger.mock_calls,
        )

    def test_other_backends_have_none(self):
        for coordinator in (None, object(), mock.Mock(spec=['heartbeat'])):
            with self.subTest(coordinator=coordinator):
                sessions.note_lengths(coordinator)
                self.assertIsNone(sessions.length(coordinator))

    def test_only_a_session_shorter_than_dead_after_is_warned_of(self):
        with self.assertNoLogs('hashring.membership.base'):
            sessions.warn_if_short('node-a', 60.0, 60.0, 10.0)
            sessions.warn_if_short('node-a', 90.0, 60.0, 10.0)
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            sessions.warn_if_short('node-a', 40.0, 60.0, 10.0)
        self.assertIn('a session of 40s, shorter than dead_after', logs[1][0])
        self.assertNotIn('heartbeat_interval', logs[1][0])
