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

"""Keeping secrets out of messages about a backend."""

from typing import Any
import urllib.parse

from oslo_utils import strutils


def mask(text: Any) -> str:
    """Return text (or an error's message) with any password masked.

    The one function that keeps secrets out of messages: ``password=...``
    and its kin, as :func:`oslo_utils.strutils.mask_password` finds them,
    and the password of a URL's ``user:password@``.
    """
    return ' '.join(
        mask_url(word) if '://' in word else strutils.mask_password(word)
        for word in str(text).split(' ')
    )


def mask_url(url: str) -> str:
    """Return a URL with its password, in userinfo or query, masked."""
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:
        return strutils.mask_password(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if password is None and not any(_secret(k) for k, _ in query):
        return url
    if password is not None:
        host = parts.netloc.rpartition('@')[2]
        user = parts.username or ''
        parts = parts._replace(netloc=f'{user}:***@{host}')
    if any(_secret(k) for k, _ in query):
        parts = parts._replace(
            query='&'.join(
                f'{k}=***' if _secret(k) else urllib.parse.urlencode({k: v})
                for k, v in query
            )
        )
    return urllib.parse.urlunsplit(parts)


def _secret(name: str) -> bool:
    name = name.lower()
    return any(word in name for word in ('pass', 'secret', 'token', 'key'))
