#!/usr/bin/env python3
"""Splices the tables the perf scripts write into docs/performance.md.

The document marks each generated table with a pair of lines:

    <!-- perf:NAME -->
    ...the table, replaced...
    <!-- /perf:NAME -->

where NAME is a script's name (`copy` for perf/copy.sh) or a script's name and a part
(`wan:fidelity`). The table of `SCRIPT` is TABLES/SCRIPT/table.md, that of `SCRIPT:PART`
TABLES/SCRIPT/table-PART.md (TABLES: perf-out by default, where the scripts write). Everything
between a pair of markers is replaced by the file's content, with a blank line on either side
and the opening marker's indentation (a table inside a list item stays inside it); everything
outside the markers is left as it is.

Refuses, with a non-zero exit and nothing written, when a marker is malformed (a line that
begins like one, `<!--` then `perf:` or `/perf:`, but is not exactly one), unbalanced, nested
or repeated; when a marker chosen has no table file; or when a table file of a script chosen
has no marker in the document. By default every marker of the document is chosen;
--only SCRIPT[,SCRIPT…] chooses the markers of those scripts (each must have at least one).
--check validates and says what would change, writing nothing.

Usage: splice.py [--doc FILE] [--tables DIR] [--only SCRIPTS] [--check]
"""
import argparse
import os
import re
import sys
import tempfile

MARKER = re.compile(r"^(?P<indent>[ \t]*)<!-- (?P<close>/?)perf:(?P<name>[a-z0-9][a-z0-9-]*(?::[a-z0-9][a-z0-9-]*)?) -->[ \t]*$")
LOOSE = re.compile(r"^\s*<!--\s*/?\s*perf\s*:")


class Refused(Exception):
    pass


def table_file(tables, name):
    script, _, part = name.partition(":")
    return os.path.join(tables, script, f"table-{part}.md" if part else "table.md")


def regions(lines, doc):
    """{name: (open line index, close line index, indent)}, in document order."""
    found, current = {}, None
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            if LOOSE.search(line):
                raise Refused(f"{doc}:{i + 1}: malformed perf marker (want `<!-- perf:NAME -->` "
                              f"or `<!-- /perf:NAME -->` alone on its line): {line.strip()}")
            continue
        name = m["name"]
        if not m["close"]:
            if current is not None:
                raise Refused(f"{doc}:{i + 1}: <!-- perf:{name} --> opens inside perf:{current[0]} "
                              f"(opened at line {current[1] + 1}, not closed)")
            if name in found:
                raise Refused(f"{doc}:{i + 1}: perf:{name} marked twice (first at line "
                              f"{found[name][0] + 1})")
            current = (name, i, m["indent"])
        else:
            if current is None:
                raise Refused(f"{doc}:{i + 1}: <!-- /perf:{name} --> closes a marker never opened")
            if current[0] != name:
                raise Refused(f"{doc}:{i + 1}: <!-- /perf:{name} --> closes perf:{current[0]} "
                              f"(opened at line {current[1] + 1})")
            found[name] = (current[1], i, current[2])
            current = None
    if current is not None:
        raise Refused(f"{doc}:{current[1] + 1}: <!-- perf:{current[0]} --> is never closed "
                      f"(want <!-- /perf:{current[0]} -->)")
    return found


def table_names(tables, script):
    """The marker names the table files of `script` under `tables` stand for."""
    d = os.path.join(tables, script)
    names = []
    if os.path.isdir(d):
        for f in sorted(os.listdir(d)):
            if f == "table.md":
                names.append(script)
            elif f.startswith("table-") and f.endswith(".md"):
                names.append(f"{script}:{f[len('table-'):-len('.md')]}")
    return names


def splice(text, doc, tables, only):
    lines = text.split("\n")
    found = regions(lines, doc)
    if only is None:
        chosen = list(found)
    else:
        chosen = [n for n in found if n.partition(":")[0] in only]
        for script in only:
            if not any(n.partition(":")[0] == script for n in found):
                raise Refused(f"{doc}: no marker for {script} (want <!-- perf:{script} --> … "
                              f"<!-- /perf:{script} --> around its table, or perf:{script}:PART)")
    problems = []
    for script in sorted({n.partition(":")[0] for n in chosen}):
        for name in table_names(tables, script):
            if name not in found:
                problems.append(f"{table_file(tables, name)} has no marker in {doc} "
                                f"(want <!-- perf:{name} --> … <!-- /perf:{name} -->)")
    tables_of = {}
    for name in chosen:
        path = table_file(tables, name)
        try:
            with open(path, encoding="utf-8") as f:
                body = f.read().strip("\n")
        except FileNotFoundError:
            problems.append(f"{doc}: perf:{name} has no table: {path} does not exist "
                            f"(run perf/{name.partition(':')[0]}.sh first)")
            continue
        if not body.strip():
            problems.append(f"{path} is empty")
            continue
        if any(LOOSE.search(line) for line in body.split("\n")):
            problems.append(f"{path} holds a perf marker")
            continue
        tables_of[name] = body.split("\n")
    if problems:
        raise Refused("\n".join(problems))
    out, changed, at = [], [], 0
    for name, (start, end, indent) in sorted(found.items(), key=lambda kv: kv[1][0]):
        out.extend(lines[at:start + 1])
        if name in tables_of:
            new = [""] + [indent + l if l.strip() else "" for l in tables_of[name]] + [""]
            if new != lines[start + 1:end]:
                changed.append(name)
            out.extend(new)
        else:
            out.extend(lines[start + 1:end])
        at = end
    out.extend(lines[at:])
    return "\n".join(out), chosen, changed


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--doc", default="docs/performance.md")
    p.add_argument("--tables", default="perf-out")
    p.add_argument("--only", help="SCRIPT[,SCRIPT…]: only the markers of these scripts")
    p.add_argument("--check", action="store_true", help="validate, write nothing")
    a = p.parse_args()
    only = None if a.only is None else [s for s in a.only.split(",") if s]
    try:
        with open(a.doc, encoding="utf-8") as f:
            text = f.read()
        new, chosen, changed = splice(text, a.doc, a.tables, only)
    except (Refused, OSError) as e:
        print(f"splice: refused, {a.doc} left as it was:\n{e}", file=sys.stderr)
        return 1
    verb = "would change" if a.check else "changed"
    print(f"splice: {len(chosen)} table(s) of {a.doc} from {a.tables}/; {verb}: "
          f"{', '.join(changed) if changed else 'none'}")
    if not a.check and new != text:
        d = os.path.dirname(os.path.abspath(a.doc))
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".splice.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(new)
            os.chmod(tmp, os.stat(a.doc).st_mode & 0o7777)
            os.replace(tmp, a.doc)
        except BaseException:
            os.unlink(tmp)
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
