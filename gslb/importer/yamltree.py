"""YAML as a node tree with positions: composing, duplicate keys, and values built per subtree.

PyYAML's `safe_load` forgets where things were and silently keeps the last of two equal keys.
Composing keeps every node's start mark, so each problem can name its line, and lets us refuse
duplicate keys, which are almost always a copy-paste mistake that would silently drop data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from gslb.importer.locator import Position, node_position

MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"


class YamlProblem(Exception):
    """One located problem found while reading the YAML itself."""

    def __init__(self, position: Position, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


def compose(text: str) -> yaml.Node | None:
    """The root node of the single document in `text` (None when empty), or raise YamlProblem."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(mark.line + 1, mark.column + 1) if mark is not None else Position(1, 1)
        detail = exc.problem or "invalid YAML"
        if exc.context:
            detail = f"{detail} ({exc.context}"
            if exc.context_mark is not None and exc.context_mark is not mark:
                detail += f" at line {exc.context_mark.line + 1}"
            detail += ")"
        raise YamlProblem(position, f"invalid YAML: {detail}") from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise YamlProblem(Position(line), f"invalid YAML: {exc}") from None


def duplicate_keys(root: yaml.Node) -> Iterator[YamlProblem]:
    """Every key repeated within one mapping (merge keys, which YAML allows to be overridden, aside)."""
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # anchors make shared (even recursive) subtrees
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                stack.append(value)
                if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_TAG:
                    continue
                earlier = first.setdefault((key.tag, key.value), key)
                if earlier is not key:
                    yield YamlProblem(
                        node_position(key),
                        f"duplicate key {key.value!r} (first at line {earlier.start_mark.line + 1}); "
                        "YAML would silently keep only the last one: merge them or rename one",
                    )
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return


def to_python(node: yaml.Node) -> Any:
    """The plain value of a subtree, as `safe_load` would build it."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or node.start_mark
        raise YamlProblem(Position(mark.line + 1, mark.column + 1), f"invalid YAML: {exc.problem}") from None
    finally:
        loader.dispose()


def is_null(node: yaml.Node | None) -> bool:
    return node is None or (isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG)


def key_text(node: yaml.Node) -> str:
    """A mapping key as written: `on`, `1` or `null` stay names instead of becoming True, 1 or None."""
    if not isinstance(node, yaml.ScalarNode):
        raise YamlProblem(node_position(node), "a key must be a plain name, not a list or mapping")
    return str(node.value)


def mapping_items(node: yaml.Node | None, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    """(key, value) pairs of a mapping node; an empty value (`acme:`) counts as an empty mapping.

    Call after `to_python` has run on an enclosing node: it resolves `<<` merge keys in place, and an
    explicit key then follows the inherited one it overrides, so the last pair per key wins.
    """
    if is_null(node):
        return []
    assert node is not None
    if not isinstance(node, yaml.MappingNode):
        raise YamlProblem(node_position(node), f"{what} must be a mapping, not {describe(node)}")
    pairs: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag == MERGE_TAG:
            continue
        name = key_text(key)
        pairs.pop(name, None)
        pairs[name] = (key, value)
    return list(pairs.values())


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == NULL_TAG:
        return "empty"
    return f"the scalar {node.value!r}"
