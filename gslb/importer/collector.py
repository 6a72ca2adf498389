"""Gathers what a loader produces: parsed documents, where each came from, and every problem.

Loaders never stop at the first problem: each document is parsed on its own and all problems
are kept, ordered by position, so a user fixes a file in one pass.
"""

from __future__ import annotations

from typing import Any

import yaml

from gslb.importer.errors import PolicyImportError
from gslb.importer.locator import DocSource, Locator, Position
from gslb.importer.result import ImportedPolicy
from gslb.importer.scope import ImportScope
from gslb.importer.yamltree import YamlProblem, compose, duplicate_keys, to_python
from gslb.policy import PolicyError, Problem, doc_key, parse_document


def provisional_key(kind: str, body: dict[str, Any]) -> str:
    """The key a body would get, for naming it in problems when it does not parse."""
    if kind in ("tenant", "zone"):
        return f"{kind}:{body.get('name')}"
    if kind == "rrset":
        rdtype = body.get("type", "?")
        rdtype = rdtype.upper() if isinstance(rdtype, str) else rdtype
        return f"rrset:{body.get('zone')}/{body.get('name')}/{rdtype}"
    return f"{kind}:{body.get('tenant')}/{body.get('name')}"


class Collector:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.specs: list[Any] = []
        self.sources: dict[str, DocSource] = {}
        self._problems: list[tuple[Position, str]] = []
        self._warnings: list[tuple[Position, str]] = []

    # --- problems -------------------------------------------------------------------------------

    def problem(self, position: Position, message: str) -> None:
        self._problems.append((position, f"{position.where(self.filename)}: {message}"))

    def yaml_problem(self, exc: YamlProblem) -> None:
        self.problem(exc.position, exc.message)

    def report(self, source: DocSource, problem: Problem) -> None:
        self.problem(source.position(problem.pointer), str(problem))

    def warn(self, position: Position, message: str) -> None:
        self._warnings.append((position, f"{position.where(self.filename)}: {message}"))

    @property
    def has_problems(self) -> bool:
        return bool(self._problems)

    # --- reading --------------------------------------------------------------------------------

    def read_yaml(self, text: str) -> yaml.Node | None:
        """The composed document, merge keys resolved; a syntax error ends the import at once."""
        try:
            root = compose(text)
        except YamlProblem as exc:
            self.yaml_problem(exc)
            raise self.error() from None
        if root is None:
            return None
        for problem in duplicate_keys(root):
            self.yaml_problem(problem)
        try:
            to_python(root)  # resolves `<<` merge keys in place, and finds bad tags once for the file
        except YamlProblem as exc:
            self.yaml_problem(exc)
            raise self.error() from None
        return root

    def add(self, kind: str, body: dict[str, Any], source: DocSource) -> Any | None:
        """Parse one document; on success remember it and its source, else record its problems."""
        label = provisional_key(kind, body)
        try:
            spec = parse_document(kind, body, doc=label)
        except PolicyError as exc:
            for problem in exc.problems:
                self.report(source, problem)
            return None
        key = doc_key(spec)
        if key in self.sources:
            first = self.sources[key].position("")
            self.problem(
                source.position(""),
                f"{key} is defined twice (first at line {first.line}); merge the two definitions",
            )
            return None
        self.sources[key] = source
        self.specs.append(spec)
        return spec

    # --- result ---------------------------------------------------------------------------------

    def error(self) -> PolicyImportError:
        ordered = sorted(self._problems, key=lambda item: (item[0].line, item[0].column or 0))
        return PolicyImportError([message for _, message in ordered])

    def result(self, scope: ImportScope, *, tenant: str | None = None) -> ImportedPolicy:
        if self._problems:
            raise self.error()
        warnings = sorted(self._warnings, key=lambda item: (item[0].line, item[0].column or 0))
        return ImportedPolicy(
            filename=self.filename,
            specs=tuple(self.specs),
            scope=scope,
            locator=Locator(self.filename, dict(self.sources)),
            warnings=tuple(message for _, message in warnings),
            tenant=tenant,
        )
