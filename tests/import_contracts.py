"""The house's own import-linter contract (pyproject.toml, [tool.importlinter]).

``public_surface``: a domain is used by the other domains only through the modules it declares
public (its models, its queries and services, its signals' senders); its views, socket handlers
and helpers are its own. A new module is private until the domain lists it, so reaching into
another domain's internals fails ``make lint`` instead of growing a hidden dependency.
The composition roots (the app factory ``companion`` itself, the CLI, the server, the job
runner, the demo) wire every domain together and may import anything.
"""

from __future__ import annotations

import grimp
from importlinter import Contract, ContractCheck, fields, output


class PublicSurfaceContract(Contract):
    type_name = "public_surface"

    # "companion.rooms: attendance, models" per domain.
    domains = fields.ListField(subfield=fields.StringField())
    roots = fields.ListField(subfield=fields.StringField())

    def _surfaces(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for line in self.domains:  # type: ignore[attr-defined]
            package, _, public = str(line).partition(":")
            out[package.strip()] = {m.strip() for m in public.split(",") if m.strip()}
        return out

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        surfaces = self._surfaces()
        roots = {str(r) for r in self.roots}  # type: ignore[attr-defined]  # modules, exactly

        def domain_of(module: str) -> str | None:
            return next((d for d in surfaces if module == d or module.startswith(d + ".")), None)

        broken: list[str] = []
        for importer in sorted(graph.modules):
            if importer in roots:
                continue
            mine = domain_of(importer)
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                theirs = domain_of(imported)
                if theirs is None or theirs == mine or imported == theirs:
                    continue
                first = imported[len(theirs) + 1:].split(".")[0]
                if first not in surfaces[theirs]:
                    broken.append(f"{importer} imports {imported}, which {theirs} keeps to itself")
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(line)
            output.new_line()
