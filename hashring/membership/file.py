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

"""The file driver: a JSON file shared by the services of one host.

Writers take an exclusive lock on ``<file>.lock``, read the file, change
their own record and replace the file atomically (write a temporary file,
fsync it, rename it over the old one, fsync the directory), so a reader
sees the old file or the new one and never half of either.  A file that is
missing, corrupt or not a membership file is an error, never an empty
group.
"""

from collections.abc import Iterator
import contextlib
import datetime
import fcntl
import json
import os
import tempfile
from typing import Any

from oslo_config import cfg

from hashring import exception
from hashring.membership import base

FORMAT = 'hashring-membership'
VERSION = 1


class FileSource(base.MembershipSource):
    """Members recorded in a JSON file (``[hashring] membership_file``).

    Heartbeat times come from the local clock, in UTC: the services that
    share the file share the host's clock.

    :param conf: as for :class:`~hashring.membership.MembershipSource`.
    :param overrides: option values, for example ``membership_file=path``.
    :raises hashring.exception.InvalidArgumentError: no file is configured.
    """

    name = 'file'

    def __init__(
        self, conf: cfg.ConfigOpts | None = None, **overrides: Any
    ) -> None:
        super().__init__(conf, **overrides)
        path = self.required_option('membership_file')
        self.path = os.path.abspath(path)

    @property
    def backend(self) -> str:
        return f'file ({self.path})'

    def _read(self, group: str) -> tuple[list[base.Record], datetime.datetime]:
        now = base.utcnow()
        data = self._load()
        return [
            self._record(group, member_id, fields)
            for member_id, fields in data['groups'].get(group, {}).items()
        ], now

    def _register(self, group: str, record: base.Record) -> None:
        with self._update() as data:
            data['groups'].setdefault(group, {})[record.id] = {
                'state': record.state.value,
                'weight': record.weight,
                'attributes': dict(record.attributes),
                'heartbeat': base.utcnow().isoformat(),
            }

    def _beat(self, groups: list[str], record: base.Record) -> list[str]:
        forgotten = []
        with self._update() as data:
            stamp = base.utcnow().isoformat()
            for group in groups:
                fields = data['groups'].get(group, {}).get(record.id)
                if fields is None:
                    forgotten.append(group)
                else:
                    fields['heartbeat'] = stamp
        return forgotten

    def _unregister(self, group: str, member_id: str) -> None:
        with self._update() as data:
            members = data['groups'].get(group, {})
            members.pop(member_id, None)
            if not members:
                data['groups'].pop(group, None)

    def create(self) -> None:
        """Create an empty membership file if there is none.

        Readers treat a missing file as an error, since it may be an
        unmounted or misnamed path; create it at deployment so that they
        see an empty group until the first member joins.

        :raises hashring.exception.MembershipUnavailable: it cannot be
            written.
        """
        with self._update():
            pass

    def cleanup(self) -> int:
        """Delete records that have not heartbeat for ``retention`` seconds.

        :returns: how many records were deleted.
        :raises hashring.exception.MembershipUnavailable: the file could not
            be written.
        """
        removed = 0
        threshold = base.utcnow() - datetime.timedelta(seconds=self.retention)
        with self._update() as data:
            for group, members in list(data['groups'].items()):
                for member_id, fields in list(members.items()):
                    record = self._record(group, member_id, fields)
                    if record.heartbeat and record.heartbeat < threshold:
                        del members[member_id]
                        removed += 1
                if not members:
                    del data['groups'][group]
        return removed

    # The file itself.

    def _unavailable(
        self, reason: str, cause: BaseException | None = None
    ) -> exception.MembershipUnavailable:
        return exception.MembershipUnavailable(self.backend, reason, cause)

    def _load(self, missing_ok: bool = False) -> dict[str, Any]:
        try:
            with open(self.path, encoding='utf-8') as f:
                text = f.read()
        except FileNotFoundError as exc:
            if missing_ok:
                return {'format': FORMAT, 'version': VERSION, 'groups': {}}
            raise self._unavailable(
                'the file does not exist (has no member joined yet?)', exc
            ) from exc
        except OSError as exc:
            raise self._unavailable(f'cannot read it: {exc}', exc) from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self._unavailable(
                f'it is not valid JSON (corrupt or truncated?): {exc}', exc
            ) from exc
        if (
            not isinstance(data, dict)
            or data.get('format') != FORMAT
            or not isinstance(data.get('groups'), dict)
        ):
            raise self._unavailable(
                f'it is not a {FORMAT} file (no "format" and "groups")'
            )
        if data.get('version') != VERSION:
            raise self._unavailable(
                f'its version {data.get("version")!r} is not {VERSION}'
            )
        return data

    def _record(self, group: str, member_id: str, fields: Any) -> base.Record:
        try:
            heartbeat = fields.get('heartbeat')
            stamp = (
                None
                if heartbeat is None
                else datetime.datetime.fromisoformat(heartbeat)
            )
            return base.Record(
                member_id,
                base.State(fields['state']),
                base.check_weight(member_id, fields.get('weight', 1)),
                base.check_attributes(member_id, fields.get('attributes')),
                stamp,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise self._unavailable(
                f'bad record {member_id!r} in group {group!r}: {exc!r}', exc
            ) from exc

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        """Lock, read, let the caller change, and replace the file."""
        directory = os.path.dirname(self.path)
        try:
            lock = open(self.path + '.lock', 'a')
        except OSError as exc:
            raise self._unavailable(f'cannot lock it: {exc}', exc) from exc
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._load(missing_ok=True)
            yield data
            try:
                fd, tmp = tempfile.mkstemp(prefix='.hashring-', dir=directory)
                try:
                    with os.fdopen(fd, 'w', encoding='utf-8') as f:
                        json.dump(data, f, indent=1, sort_keys=True)
                        f.flush()
                        os.fsync(f.fileno())
                    os.chmod(tmp, 0o644)
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
                dir_fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            except OSError as exc:
                raise self._unavailable(
                    f'cannot write it: {exc}', exc
                ) from exc
