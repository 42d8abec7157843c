"""Read the kernel settings file with the manifests' parser: positions, limits, hints.

The file goes through :func:`dataos_defs.manifest.loader.parse_yaml` (duplicate keys, alias
bombs and deep nesting refused) and its validation errors become the same positioned
:class:`~dataos_defs.manifest.errors.Issue` objects ``dataos-ctl lint`` prints, so a typo in
``kernel.yaml`` reads like a typo in a manifest: file, line, key path, hint.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from dataos_defs.kernel.settings import KernelSettings
from dataos_defs.manifest.errors import Issue, ManifestError
from dataos_defs.manifest.loader import Document, parse_yaml
from dataos_defs.manifest.validate import _to_issue

MAX_SETTINGS_BYTES = 256 * 1024
"""A settings file is a page of YAML; anything this large is the wrong file."""


def load_settings(path: str | Path) -> KernelSettings:
    """The settings in ``path``; raises :class:`ManifestError` with every problem found."""
    file = str(path)
    document = _single_document(file, _read(Path(path)))
    try:
        return KernelSettings.model_validate(document.data)
    except ValidationError as exc:
        raise ManifestError(
            _to_issue(document, KernelSettings, error) for error in exc.errors()
        ) from None


def _read(path: Path) -> str:
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_SETTINGS_BYTES:
            raise _error(
                file,
                f"the settings file is {size} bytes; at most {MAX_SETTINGS_BYTES}",
                "pass the kernel settings file (terraform/kernel.yaml), not a data file",
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _error(
            file, "no such file", "copy terraform/kernel.yaml and adapt it to your cloud"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(file, f"cannot read the settings file: {exc}") from None


def _single_document(file: str, text: str) -> Document:
    documents, issues = parse_yaml(text, file)
    if issues:
        raise ManifestError(issues)
    if len(documents) != 1:
        found = f"{len(documents)} YAML documents" if documents else "no YAML document"
        raise _error(file, f"the settings file holds {found}; it must hold exactly one")
    document = documents[0]
    if not isinstance(document.data, dict):
        found = type(document.data).__name__
        raise ManifestError([document.source.issue((), f"settings must be a mapping, not {found}")])
    return document


def _error(file: str, message: str, hint: str | None = None) -> ManifestError:
    return ManifestError([Issue(file, 1, 1, "", message, hint)])
