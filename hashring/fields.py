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

"""Key functions that read a field of the nodes a filter decides.

Nodes come as dicts (Ironic's REST API) or as objects (openstacksdk
nodes, Ironic objects), and name a field differently (``id`` or ``uuid``):
a :func:`field` reads the first of several names that a node has, and a
filter reads it from a hundred thousand nodes at once
(:meth:`Field.of_all`).
"""

from collections.abc import Callable
from collections.abc import Collection
import itertools
import operator
from typing import Any

from hashring import _validate
from hashring import exception

KeyFunc = Callable[[Any], Any]

_DICTS = frozenset((dict,))


def field(*names: str) -> KeyFunc:
    """Return a key function reading the first of names that a node has.

    It reads dict keys, then attributes, so one filter serves dicts and
    objects (openstacksdk nodes, Ironic objects).

    :param names: the field's names, the preferred first.
    :returns: a :class:`Field`, which raises
        :class:`hashring.exception.InvalidArgumentError` for a node with
        none of them.
    """
    return Field(names)


class Field:
    """A key function reading the first of several names (see field())."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def __call__(self, node: Any) -> Any:
        """Return the field of one node."""
        for name in self.names:
            if isinstance(node, dict):
                if name in node:
                    return node[name]
            elif hasattr(node, name):
                return getattr(node, name)
        raise exception.InvalidArgumentError(
            f'Node {node!r} has none of the fields {", ".join(self.names)}'
        )

    def of_all(
        self, nodes: list[Any], kinds: Collection[type] | None = None
    ) -> list[Any]:
        """Return the field of every node, as calls one by one would.

        Where every node has the first name (the usual case), one getter
        mapped over the nodes reads them in C; else node by node.

        Runtime complexity: ``O(n)`` for ``n`` nodes.

        :param nodes: the nodes.
        :param kinds: their types (:func:`kinds_of`), where the caller
            has them.
        """
        if kinds is None:
            kinds = kinds_of(nodes)
        get: Callable[[str], Callable[[Any], Any]]
        has: Callable[[Any, str], bool]
        if kinds == {dict}:
            get, has = operator.itemgetter, operator.contains
        elif not any(issubclass(k, dict) for k in kinds):
            get, has = operator.attrgetter, hasattr
        else:
            return list(map(self, nodes))
        for name in self.names:
            try:
                return list(map(get(name), nodes))
            except (KeyError, AttributeError):
                # No node has it: the next name is every node's first.
                if any(map(has, nodes, itertools.repeat(name))):
                    break
        return list(map(self, nodes))


def kinds_of(nodes: list[Any]) -> Collection[type]:
    """Return the types of nodes, as :meth:`Field.of_all` takes them.

    Runtime complexity: ``O(n)`` for ``n`` nodes, in C.

    :param nodes: the nodes.
    :returns: the set of their types.
    """
    found = list(map(type, nodes))
    # Counted rather than put in a set, for the usual list of dicts: half
    # the cost, paid once for every field a filter reads.
    if found.count(dict) == len(found):
        return _DICTS if found else ()
    return set(found)


def of_all(
    key: KeyFunc, nodes: list[Any], kinds: Collection[type]
) -> list[Any]:
    """Return a key function's value for every node, of types kinds."""
    if isinstance(key, Field):
        return key.of_all(nodes, kinds)
    return list(map(key, nodes))


def refuse_unhashable(ids: list[Any], instances: list[Any]) -> None:
    """Raise for the first node whose id or instance cannot be hashed.

    A filter calls it after a ``TypeError``, so that a call with good
    input pays for no check.

    :param ids: every node's id.
    :param instances: every node's instance id, or None.
    :raises hashring.exception.InvalidKeyError: an id cannot be hashed
        (a ``bytearray``, say).
    :raises hashring.exception.InvalidArgumentError: an instance field
        holds what cannot be hashed.
    """
    for nid, instance in zip(ids, instances):
        if not _validate.hashable(nid):
            raise exception.InvalidKeyError(nid)
        if not _validate.hashable(instance):
            raise exception.InvalidArgumentError(
                f'Node {nid!r} has the instance {instance!r:.80} of type '
                f'{type(instance).__name__}: an instance field holds an id '
                '(a str, say) or None'
            )
