#!/usr/bin/env python3
"""check-quotes.py - does every output a chapter quotes come from a real run?

Usage: scripts/check-quotes.py [--runs N] [--skip-make] [FILE.md ...]
       (default: every NN-name/README.md, WORKSHOP.md and README.md)

In a fenced block, a line starting with "$ " is a command and the lines
after it, up to the next "$ " or the fence, are what it printed. Each
command is run (bash, from the top of the repository, stdout and stderr
together, GOC_* variables cleared so the default runtime runs) up to N
times (default 3). A quoted line passes when it appears, exactly, as a line
of some run; the report also says how many lines the best single run
matched, since a quote is one run's output. Interleavings vary, so a line
that no run printed exactly is accepted when some run printed a line of
the same shape (the same text with other numbers: "Worker 2 processing
task 5" for "Worker 3 processing task 4", another time on a time axis);
the report lists those lines as "varies", and only a line whose shape no
run printed fails the check. Elisions are allowed where a
quote marks them: a line "..." or "... (N more)" matches nothing and is
skipped, and a line ending in " ..." matches any line that starts with what
comes before it.

Every other command a block shows (a line of a ```sh block starting with
./build/, make or a VAR=value prefix) is run once in a scratch folder with
the build symlinked in (make: `make -n` only, so nothing is rebuilt) and
must not exit 2, the status of a bad command line.

Exit status: 0 when every quoted line was found and every shown command ran,
1 otherwise. Needs `make` first (the programs in build/).
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blocks(path):
    """Yield (first line number, fence info, lines) for each fenced block."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m:
            start, info, body = i + 1, m.group(1), []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            yield start + 1, info, body
        i += 1


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith("GOC_")}
    return e


def run(cmd, cwd, timeout=180):
    try:
        p = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env(), timeout=timeout,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, ""


def pattern(quoted):
    """A quoted line as a regular expression: itself, except that
    "run.XXXXXX" stands for any folder mkdtemp names, and a test's time in
    a Criterion [FAIL] line, "(0.04s)", for any time."""
    rx = re.escape(quoted)
    rx = rx.replace(re.escape("run.XXXXXX"), r"run\.[A-Za-z0-9]{6}")
    if "[FAIL]" in quoted:
        rx = re.sub(r"\\\(\d+\\\.\d+s\\\)", r"\\(\\d+\\.\\d+s\\)", rx)
    return re.compile(rx + "$")


def matches(quoted, out_lines):
    if quoted.endswith(" ..."):
        prefix = quoted[: -len(" ...")]
        return any(line.startswith(prefix) for line in out_lines)
    if quoted in out_lines:
        return True
    rx = pattern(quoted)
    return any(rx.match(line) for line in out_lines)


def skipped(line):
    s = line.strip()
    return s == "" or s == "..." or re.fullmatch(r"\.\.\. \(\d+ more\)", s) is not None


def check_quote(where, cmd, quoted, runs, skip_make):
    if skip_make and cmd.startswith("make "):
        print(f"{where}: skipped (make): $ {cmd}")
        return True
    wanted = [q.rstrip() for q in quoted if not skipped(q)]
    seen = [False] * len(wanted)
    shaped = [False] * len(wanted)
    best = 0
    for _ in range(runs):
        rc, out = run(cmd, ROOT)
        out_lines = [line.rstrip() for line in out.split("\n")]
        hits = [matches(q, out_lines) for q in wanted]
        best = max(best, sum(hits))
        seen = [a or b for a, b in zip(seen, hits)]
        shapes = {shape(line) for line in out_lines}
        shaped = [a or shape(q) in shapes for a, q in zip(shaped, wanted)]
        if all(seen) and best == len(wanted):
            break
    varies = [q for q, s, h in zip(wanted, seen, shaped) if not s and h]
    missing = [q for q, s, h in zip(wanted, seen, shaped) if not s and not h]
    status = "MISSING" if missing else "varies" if varies else "ok"
    print(f"{where}: {status}: $ {cmd}  ({best}/{len(wanted)} lines in one run, "
          f"{len(wanted) - len(varies) - len(missing)} in some run, {len(varies)} by shape only)")
    for q in varies:
        print(f"    varies: {q}")
    for q in missing:
        print(f"    never printed: {q}")
    return not missing


def shape(line):
    """A line with its numbers taken out (and a time axis's spacing)."""
    return re.sub(r"\s+", " ", re.sub(r"\d+(\.\d+)?", "N", line))


SHOWN = re.compile(r"^(?:[A-Z_]+=\S+\s+)*(?:\./build/|make\b)")


def check_shown(where, line, scratch):
    cmd = line.split("  #")[0].strip()
    if cmd.startswith("make") or re.match(r"^[A-Z_]+=\S+\s+make\b", cmd):
        # Only that the target exists: `make -n` still runs recipes that
        # call make themselves, which may fail in a dry run.
        rc, out = run(re.sub(r"\bmake\b", "make -n", cmd, count=1), ROOT)
        ok = "No rule to make target" not in out
    else:
        rc, out = run(cmd + " >/dev/null 2>&1 </dev/null", scratch, timeout=120)
        ok = rc is not None and (rc != 2 or "--article-bug" in cmd)
    if not ok:
        print(f"{where}: FAILED (exit {rc}): {cmd}")
    return ok


def main(argv):
    runs, skip_make, files = 3, False, []
    args = iter(argv)
    for a in args:
        if a == "--runs":
            runs = int(next(args))
        elif a == "--skip-make":
            skip_make = True
        elif a.startswith("-"):
            print(__doc__)
            return 2
        else:
            files.append(a)
    if not files:
        files = sorted(f"{d}/README.md" for d in os.listdir(ROOT) if re.match(r"\d\d-", d))
        files += ["WORKSHOP.md", "README.md"]
    ok = True
    shown = 0
    with tempfile.TemporaryDirectory() as scratch:
        os.symlink(os.path.join(ROOT, "build"), os.path.join(scratch, "build"))
        for md in files:
            for lineno, info, body in blocks(os.path.join(ROOT, md)):
                cmds = [i for i, line in enumerate(body) if line.startswith("$ ")]
                for k, i in enumerate(cmds):
                    end = cmds[k + 1] if k + 1 < len(cmds) else len(body)
                    ok &= check_quote(f"{md}:{lineno + i}", body[i][2:], body[i + 1:end],
                                      runs, skip_make)
                if info == "sh" and not cmds:
                    for i, line in enumerate(body):
                        if SHOWN.match(line):
                            shown += 1
                            ok &= check_shown(f"{md}:{lineno + i}", line, scratch)
    print(f"shown commands run: {shown}")
    print("every quoted line was printed by a real run" if ok else "check-quotes: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
