"""Map a `Problem` (document key + JSON pointer into the document body) back to FILE:LINE.

Documents are built from files whose shape differs from the stored body: fields come from
enclosing keys (a record's zone and name, a check's tenant), `value` stands for `values/0`, MX
`priority` for `preference`. Each document therefore carries a source that knows its own
differences; everything else is found by walking the pointer through the YAML node tree as far
as it goes, which still lands on the nearest enclosing line when a field is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import yaml

from gslb.policy import Problem
from gslb.policy.problems import pointer as json_pointer


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """1-based line; 1-based column, or None when the format has no useful column (zone files)."""

    line: int
    column: int | None = None

    def where(self, filename: str) -> str:
        if self.column is None:
            return f"{filename}:{self.line}"
        return f"{filename}:{self.line}:{self.column}"


def node_position(node: yaml.Node) -> Position:
    mark = node.start_mark
    return Position(mark.line + 1, mark.column + 1)


def split_pointer(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


class DocSource(Protocol):
    """Where one document came from."""

    def position(self, pointer: str) -> Position: ...


def child_node(node: yaml.Node, token: str) -> yaml.Node | None:
    """The node one pointer token below `node`, or None."""
    if isinstance(node, yaml.MappingNode):
        found = None
        for key, value in node.value:
            # The last match wins, as in the constructed mapping (merge keys put inherited pairs first).
            if isinstance(key, yaml.ScalarNode) and key.value == token:
                found = value
        return found
    if isinstance(node, yaml.SequenceNode) and token.isdigit():
        index = int(token)
        return node.value[index] if index < len(node.value) else None
    return None


def key_node(node: yaml.Node, key: str) -> yaml.Node | None:
    """The key node itself, for problems about a key being there at all."""
    if isinstance(node, yaml.MappingNode):
        for candidate, _ in reversed(node.value):
            if isinstance(candidate, yaml.ScalarNode) and candidate.value == key:
                return candidate
    return None


@dataclass(frozen=True, slots=True)
class YamlSource:
    """A document built from a YAML subtree.

    `root` is the node the body was built from, `anchor` the node that names the document (its
    key), used for problems about the document as a whole or about fields it lacks. `aliases` maps
    body pointers that do not exist in the YAML (injected or renamed fields) to the node to report.
    """

    root: yaml.Node
    anchor: yaml.Node
    aliases: Mapping[str, yaml.Node] = field(default_factory=dict)

    def position(self, pointer: str) -> Position:
        tokens = split_pointer(pointer)
        node, rest = self.root, tokens
        found_any = False
        for cut in range(len(tokens), 0, -1):
            prefix = json_pointer(*tokens[:cut])
            if prefix in self.aliases:
                node, rest, found_any = self.aliases[prefix], tokens[cut:], True
                break
        for token in rest:
            child = child_node(node, token)
            if child is None:
                break
            node, found_any = child, True
        return node_position(node if found_any else self.anchor)


@dataclass(frozen=True, slots=True)
class LineSource:
    """A document built from zone-file lines: `lines[i]` is where its i-th value was written."""

    lines: tuple[int, ...]

    def position(self, pointer: str) -> Position:
        tokens = split_pointer(pointer)
        if (
            len(tokens) >= 2
            and tokens[0] == "values"
            and tokens[1].isdigit()
            and int(tokens[1]) < len(self.lines)
        ):
            return Position(self.lines[int(tokens[1])])
        return Position(self.lines[0])


@dataclass(frozen=True, slots=True)
class Locator:
    """Document key -> source, for one file."""

    filename: str
    sources: Mapping[str, DocSource] = field(default_factory=dict)

    def position(self, problem: Problem) -> Position | None:
        source = self.sources.get(problem.doc or "")
        return source.position(problem.pointer) if source is not None else None

    def locate(self, problem: Problem) -> str:
        """ "FILE:LINE[:COL]: doc/pointer: message"; documents not from this file get no line."""
        position = self.position(problem)
        if position is None:
            # Validation of the merged state can blame a stored document the file does not contain
            # (say, a record using a check the file deletes): name the file, but claim no line.
            return f"{self.filename}: {problem} (stored document, not in this file)"
        return f"{position.where(self.filename)}: {problem}"
