#!/usr/bin/env python3
"""IIIF Presentation 3 manifests checked by IIIF's own Python models (iiif-prezi3).

Reads a JSON list on stdin, one object per document:
  {"path": <manifest file>, "root": <folder laid out as the asset's derivatives>,
   "base": <the URL that folder is served from>, "languages": {"label": [...], "summary": [...]},
   "collection": <optional; true for a IIIF Collection>}
and for each: loads it into iiif_prezi3.Manifest (or Collection; every field validated against
the models generated from the IIIF schema), checks that its label and summary carry exactly the
languages given, and that every content resource (Image, Video) under `base` — and, in a
collection, every manifest it lists — is a file in `root`.
Prints one line per problem and exits 1 if there was any.
"""

import json
import os
import sys

from iiif_prezi3 import Collection, Manifest


def resources(node):
    """Every content resource (a dict with type Image or Video) anywhere in the manifest."""
    if isinstance(node, dict):
        if node.get("type") in ("Image", "Video", "Sound", "Text") and "id" in node:
            yield node
        for value in node.values():
            yield from resources(value)
    elif isinstance(node, list):
        for value in node:
            yield from resources(value)


def check(entry):
    problems = []
    path = entry["path"]
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    model = Collection if entry.get("collection") else Manifest
    try:
        model(**data)
    except Exception as error:  # pydantic's ValidationError, or a type iiif-prezi3 refuses
        return [f"{path}: iiif-prezi3 refuses it as a {model.__name__}: {error}"]
    for field, want in entry["languages"].items():
        got = sorted(data.get(field, {}).keys())
        if got != sorted(want):
            problems.append(f"{path}: {field} languages {got}, want {sorted(want)}")
    base = entry["base"].rstrip("/") + "/"
    listed = data.get("items", []) if entry.get("collection") else []
    for item in listed:
        rid = item.get("id", "")
        if not rid.startswith(base) or not os.path.isfile(os.path.join(entry["root"], rid[len(base):])):
            problems.append(f"{path}: lists {rid}, which is not in {entry['root']}")
    for resource in resources(data):
        rid = resource["id"]
        if rid.startswith(base) and resource["type"] in ("Image", "Video"):
            local = os.path.join(entry["root"], rid[len(base):])
            if not os.path.isfile(local):
                problems.append(f"{path}: {resource['type']} {rid} is not among the outputs")
    return problems


def main():
    entries = json.load(sys.stdin)
    problems = [p for entry in entries for p in check(entry)]
    for problem in problems:
        print(problem)
    print(f"{len(entries)} documents checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
