#!/usr/bin/env python3
"""Reads the content credentials of each file named with c2pa-python (the C2PA project's own
Python binding; not Caravan's code) and prints one JSON object per file on stdout: the
validation state, every validation status code that did not pass, the active manifest's
parent ingredient's instance id, and its actions. A file with no readable manifest gets
{"error": ...}.

Usage: c2pa_read.py <media type> <file> [<media type> <file> ...]
"""
import json
import sys

import c2pa


def read(media_type, path):
    try:
        with open(path, "rb") as stream:
            reader = c2pa.Reader(media_type, stream)
            store = json.loads(reader.json())
    except Exception as e:  # noqa: BLE001 - report every failure as data
        return {"file": path, "error": str(e)}
    active = store.get("manifests", {}).get(store.get("active_manifest"), {})
    failures = [s.get("code") for s in store.get("validation_status", []) or []]
    results = store.get("validation_results", {}) or {}
    for part in ["activeManifest"]:
        for s in (results.get(part, {}) or {}).get("failure", []) or []:
            if s.get("code") not in failures:
                failures.append(s.get("code"))
    parent = [i.get("instance_id") for i in active.get("ingredients", []) if i.get("relationship") == "parentOf"]
    actions = []
    for assertion in active.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            actions += [a.get("action") for a in assertion.get("data", {}).get("actions", [])]
    return {
        "file": path,
        "state": store.get("validation_state"),
        "failures": failures,
        "parent": parent[0] if parent else None,
        "actions": actions,
        "sdk": c2pa.sdk_version(),
    }


def main():
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit(__doc__)
    for media_type, path in zip(args[::2], args[1::2]):
        print(json.dumps(read(media_type, path)))


main()
