#!/usr/bin/env python3
"""Checks the workspace's layout rules (ARCHITECTURE.md) that the compiler does not:

- no Rust source file over 600 lines;
- no import cycle between the modules of a crate: module A depends on module B when A's code
  names a path into B (`use crate::b::…`, `super::b::…`, inline paths), resolving re-exports
  (`pub use`) to the module that defines the item; `mod` declarations are not dependencies;
- crate boundaries: the scheduler and the exhibition crate link neither the worker, the media crate
  nor FFmpeg, the pull crate none of those nor the broker client or the S3 SDK, and the
  media crate links no tokio, lapin or AWS SDK (`cargo tree`).

Exits non-zero naming what is wrong. Run by `.ci/run`.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAX_LINES = 600
CRATES = {
    "caravan": "src",
    "caravan_proto": "proto/src",
    "caravan_store": "store/src",
    "caravan_queue": "queue/src",
    "caravan_media": "media/src",
    "caravan_worker": "worker/src",
    "caravan_scheduler": "scheduler/src",
    "caravan_exhibition": "exhibition/src",
    "caravan_pull": "pull/src",
    "caravan_testkit": "testkit/src",
}
# (crate, what its normal dependency tree must not contain)
FORBIDDEN = [
    ("caravan-scheduler", ["caravan-worker", "caravan-media", "ffmpeg-next"]),
    ("caravan-exhibition", ["caravan-worker", "caravan-media", "ffmpeg-next"]),
    # A kiosk's download: no broker, no S3 SDK, no media code.
    ("caravan-pull", ["caravan-worker", "caravan-media", "ffmpeg-next", "lapin", "aws-sdk-s3", "caravan-store"]),
    ("caravan-media", ["tokio", "lapin", "aws-sdk-s3", "caravan-store", "caravan-queue"]),
    ("caravan-store", ["lapin", "ffmpeg-next"]),
    ("caravan-queue", ["aws-sdk-s3", "ffmpeg-next"]),
    ("caravan-proto", ["tokio", "lapin", "aws-sdk-s3", "ffmpeg-next"]),
]

problems = []


def rust_files(directory):
    for base, _, names in os.walk(directory):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(base, name)


def module_of(src, path):
    """The module path of `path` below the crate root `src`, as a tuple."""
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main") and len(rel) == 1:
        return ()
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return "\n".join(line.split("//")[0] for line in text.split("\n"))


def expand(prefix, body):
    """`a::{b, c::{d, e}}` → [a::b, a::c::d, a::c::e] (segments as lists)."""
    out = []
    depth = 0
    part = ""
    for ch in body + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            part = part.strip()
            if part:
                m = re.match(r"^([\w:]*?)::\{(.*)\}$", part, re.S)
                if m:
                    out += expand(prefix + [s for s in m.group(1).split("::") if s], m.group(2))
                else:
                    segs = [s.strip() for s in part.split(" as ")[0].split("::") if s.strip()]
                    out.append(prefix + segs)
            part = ""
        else:
            part += ch
    return out


def paths_in(text, children):
    """Every path `text` names that starts with crate/super/self or with one of `children`
    (the current module's child modules, which a bare path may name)."""
    found = []
    for m in re.finditer(r"\buse\s+([^;]*);", text, re.S):
        for segs in expand([], m.group(1).replace("\n", " ")):
            if segs and segs[0] in ("crate", "super", "self"):
                found.append(segs)
            elif segs and segs[0] in children:
                found.append(["self"] + segs)
    body = re.sub(r"\buse\s+[^;]*;", "", text)
    for m in re.finditer(r"(?<![\w:])((?:\w+)(?:::\w+)+)", body):
        segs = m.group(1).split("::")
        if segs[0] in ("crate", "super", "self"):
            found.append(segs)
        elif segs[0] in children:
            found.append(["self"] + segs)
    return found


def resolve(module, segs, modules):
    """The module `segs` (relative to `module`) names, or the module an item is in."""
    base = list(module)
    while segs and segs[0] in ("super", "self", "crate"):
        head = segs.pop(0)
        if head == "crate":
            base = []
        elif head == "super":
            base = base[:-1]
    full = base + segs
    # the longest prefix that is a module
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in modules:
            return tuple(full[:n]), full[n:]
    return (), full


def check_crate(name, src):
    files = list(rust_files(os.path.join(ROOT, src)))
    modules = {}
    for path in files:
        if os.path.basename(path) == "main.rs" and os.path.dirname(path) != os.path.join(ROOT, src):
            continue
        modules[module_of(os.path.join(ROOT, src), path)] = path
    texts = {m: strip_comments(open(p, encoding="utf-8").read()) for m, p in modules.items()}
    # re-exports: (module, Name) → module the item comes from
    reexports = {}
    for m, text in texts.items():
        for use in re.finditer(r"\bpub(?:\([\w:]+\))?\s+use\s+([^;]*);", text, re.S):
            for segs in expand([], use.group(1).replace("\n", " ")):
                if segs and segs[0] not in ("crate", "super", "self") and (m + (segs[0],)) not in modules:
                    continue
                if segs and segs[0] not in ("crate", "super", "self"):
                    segs = ["self"] + segs
                target, rest = resolve(m, list(segs), modules)
                if rest:
                    reexports[(m, rest[-1])] = target
    edges = {m: set() for m in modules}
    for m, text in texts.items():
        children = {c[-1] for c in modules if len(c) == len(m) + 1 and c[: len(m)] == m}
        for segs in paths_in(text, children):
            target, rest = resolve(m, list(segs), modules)
            while rest and (target, rest[0]) in reexports and reexports[(target, rest[0])] != target:
                target, rest = reexports[(target, rest[0])], rest[1:]
            if target != m:
                edges[m].add(target)
    seen, stack, on_stack = set(), [], set()

    def visit(node):
        seen.add(node)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt in on_stack:
                cycle = stack[stack.index(nxt):] + [nxt]
                problems.append(
                    f"{name}: import cycle: " + " → ".join("::".join(c) or "(crate root)" for c in cycle)
                )
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        on_stack.discard(node)

    for node in sorted(edges):
        if node not in seen:
            visit(node)


def check_lengths():
    for directory in list(CRATES.values()) + ["tests", "benches"]:
        for path in rust_files(os.path.join(ROOT, directory)):
            n = sum(1 for _ in open(path, encoding="utf-8"))
            if n > MAX_LINES:
                problems.append(f"{os.path.relpath(path, ROOT)}: {n} lines (at most {MAX_LINES}; split it by subject)")


def check_trees():
    for crate, banned in FORBIDDEN:
        out = subprocess.run(
            ["cargo", "tree", "-p", crate, "-e", "normal", "--prefix", "none", "--offline"],
            cwd=ROOT, capture_output=True, text=True,
        )
        if out.returncode != 0:
            problems.append(f"cargo tree -p {crate} failed: {out.stderr.strip()[:300]}")
            continue
        names = {line.split(" ")[0] for line in out.stdout.splitlines() if line.strip()}
        for b in banned:
            if b in names:
                problems.append(f"{crate} depends on {b} (its normal dependency tree must not)")


if __name__ == "__main__":
    for name, src in CRATES.items():
        check_crate(name, src)
    check_lengths()
    if "--no-cargo" not in sys.argv:
        check_trees()
    if problems:
        print("layout check failed:")
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print("layout check: no file over %d lines, no import cycle, crate boundaries kept" % MAX_LINES)
