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

The lock is waited for at most ``read_timeout``: a process frozen while it
holds the lock makes the others' writes fail (and retry), not hang.  Files
are created with ``O_EXCL`` and ``O_NOFOLLOW`` and their mode set through
the open descriptor, so that whoever can write the directory cannot make
this process follow a symbolic link to another file.
"""

from collections.abc import Iterator
import contextlib
import datetime
import errno
import fcntl
import json
import os
import secrets
import stat
import time
from typing import Any

from oslo_config import cfg

from hashring import exception
from hashring.membership import base

FORMAT = 'hashring-membership'
VERSION = 1

#: What parsing a hand-edited or foreign record can raise.
_BAD_RECORD = (
    AttributeError,
    KeyError,
    TypeError,
    ValueError,
    exception.HashRingError,
)


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
        self.mode = int(self.option('membership_file_mode'), 8)
        if self.mode & 0o002:
            raise exception.InvalidArgumentError(
                f'[hashring] membership_file_mode {self.mode:04o} lets '
                f'every user write the lock; use 0600, 0640 or 0660'
            )

    @property
    def backend(self) -> str:
        return f'file ({self.path})'

    def _read_groups(
        self, groups: list[str] | None
    ) -> tuple[dict[str, list[base.Record]], datetime.datetime]:
        now = base.utcnow()
        stored = self._load()['groups']
        found: dict[str, list[base.Record]] = {}
        for group in sorted(stored) if groups is None else groups:
            members = stored.get(group, {})
            records = found.setdefault(group, [])
            for member_id, fields in members.items():
                try:
                    records.append(self._record(member_id, fields))
                except _BAD_RECORD as exc:
                    self._bad_record(group, member_id, exc)
        return found, now

    def _register(self, group: str, record: base.Record) -> None:
        self._store(group, record, keep_state=False)

    def _rewrite(self, group: str, record: base.Record) -> None:
        self._store(group, record, keep_state=True)

    def _set_state(self, group: str, record: base.Record) -> None:
        with self._update() as data:
            fields = data['groups'].get(group, {}).get(record.id)
            if isinstance(fields, dict):
                fields['state'] = record.state.value
                return
        self._register(group, record)  # gone since it was read

    def _store(
        self, group: str, record: base.Record, keep_state: bool
    ) -> None:
        with self._update() as data:
            members = data['groups'].setdefault(group, {})
            old = members.get(record.id)
            state = record.state.value
            if keep_state and isinstance(old, dict):
                # A state that does not read as one is replaced: this
                # member's own write must mend its record.
                if old.get('state') in base.STATE_VALUES:
                    state = old['state']
            fields = {
                'state': state,
                'weight': record.weight,
                'attributes': dict(record.attributes),
            }
            if keep_state and isinstance(old, dict):
                # A running member's write (a claim, a new weight) is a
                # heartbeat, and may be its first after an outage.  (A
                # join is not: a restart after a crash is no outage.)
                for kept in ('heartbeat', 'outage'):
                    if kept in old:
                        fields[kept] = old[kept]
                self._beaten(fields, False)
            else:
                fields['heartbeat'] = base.utcnow().isoformat()
            members[record.id] = fields
        if old is None:
            self._made_again(group)

    def _beat(
        self, groups: list[str], record: base.Record, recovering: bool
    ) -> list[str]:
        forgotten = []
        with self._update() as data:
            for group in groups:
                fields = data['groups'].get(group, {}).get(record.id)
                if fields is None:
                    forgotten.append(group)
                    continue
                self._beaten(fields, recovering)
        return forgotten

    def _beaten(self, fields: dict[str, Any], recovering: bool) -> None:
        """Set a record's heartbeat to now, and the outage it ends.

        As the sql driver does: the span since the last heartbeat is an
        outage when a write failed since, or when it is longer than two
        intervals (a write that waited out a frozen lock holder) and not
        the member's own silence (``_gap_is_own()``).
        """
        now = base.utcnow()
        stamp = now.isoformat()
        last = fields.get('heartbeat')
        late = now - datetime.timedelta(seconds=2 * self.heartbeat_interval)
        own = self._gap_is_own()
        if last and (recovering or (not own and _older(last, late))):
            fields['outage'] = [last, stamp]
        fields['heartbeat'] = stamp

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
                    try:
                        record = self._record(member_id, fields)
                    except _BAD_RECORD:
                        continue
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
            with open(self.path, 'rb') as f:
                text = f.read().decode('utf-8')
        except UnicodeDecodeError as exc:
            raise self._unavailable(f'it is not UTF-8: {exc}', exc) from exc
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
        except (ValueError, RecursionError) as exc:
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
        for group, members in data['groups'].items():
            # Checked for writers too, which would raise TypeError on it.
            if not isinstance(members, dict):
                raise self._unavailable(f'group {group!r} is not a mapping')
        return data

    def _record(self, member_id: str, fields: Any) -> base.Record:
        heartbeat = fields.get('heartbeat')
        outage = fields.get('outage')
        return base.Record(
            member_id,
            base.State(fields['state']),
            base.check_weight(member_id, fields.get('weight', 1)),
            base.check_attributes(member_id, fields.get('attributes')),
            None if heartbeat is None else _stamp(heartbeat),
            None if outage is None else (_stamp(outage[0]), _stamp(outage[1])),
        )

    def _open_lock(self) -> int:
        """Open the lock file for writing, never through a symbolic link."""
        path = self.path + '.lock'
        flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, self.mode)
        except FileExistsError:
            try:
                fd = os.open(path, flags)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise self._unavailable(
                        f'its lock {path} is a symbolic link; refusing it'
                    ) from exc
                raise
        else:
            # The umask narrowed the mode at creation; set exactly it.
            os.fchmod(fd, self.mode & ~_umask())
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise self._unavailable(f'its lock {path} is not a regular file')
        return fd

    def _take_lock(self, fd: int) -> None:
        """Take the lock within read_timeout, or raise unavailable."""
        deadline = time.monotonic() + self.read_timeout
        delay = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._unavailable(
                        f'its lock {self.path}.lock has been held by another '
                        f'process for {self.read_timeout:g}s (read_timeout)'
                    ) from None
                self._stalls.sleep(delay)
                delay = min(delay * 2, 0.05)

    def _write(self, data: dict[str, Any]) -> None:
        """Replace the file with data, atomically and durably."""
        directory = os.path.dirname(self.path)
        tmp = os.path.join(directory, f'.hashring-{secrets.token_hex(8)}.tmp')
        fd = os.open(
            tmp,
            os.O_WRONLY
            | os.O_CREAT
            | os.O_EXCL
            | os.O_NOFOLLOW
            | os.O_CLOEXEC,
            self.mode,
        )
        try:
            os.fchmod(fd, self.mode & ~_umask())
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
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

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        """Lock, read, let the caller change, and replace the file."""
        try:
            fd = self._open_lock()
        except OSError as exc:
            raise self._unavailable(f'cannot lock it: {exc}', exc) from exc
        try:
            self._take_lock(fd)
            data = self._load(missing_ok=True)
            yield data
            try:
                self._write(data)
            except OSError as exc:
                raise self._unavailable(
                    f'cannot write it: {exc}', exc
                ) from exc
        finally:
            os.close(fd)


def _older(text: Any, than: datetime.datetime) -> bool:
    """Tell whether a stored timestamp is older than a time.

    A stamp that does not read is not: the read of the record reports it.
    """
    try:
        return _stamp(text) < than
    except (TypeError, ValueError):
        return False


def _stamp(text: Any) -> datetime.datetime:
    """Return a stored ISO timestamp as an aware datetime."""
    if not isinstance(text, str):
        raise TypeError(f'{text!r} is not a timestamp')
    stamp = datetime.datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        raise ValueError(f'{text!r} has no time zone')
    return stamp


def _umask() -> int:
    # os.umask can only be read by setting it; threads race on that, so
    # read it from /proc where the kernel shows it.
    try:
        with open('/proc/self/status', encoding='ascii') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022
