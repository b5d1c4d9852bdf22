#!/usr/bin/env python3
"""Runs the README's tested blocks as printed and checks their output's shape.

The README marks them with <!-- readme-test --> ... <!-- /readme-test -->.
Inside, each fenced block holds `$ COMMAND` lines, each followed by the
output it shows. All commands run in order in one bash session from the
repository root (so an `export` holds for the rest), against a demo that is
already running. A command passes when it exits 0 and prints as many lines as
the README shows, each starting like the README's line once numbers are
masked (ids, serials, times and timings change from run to run) and runs of
spaces are collapsed (table columns widen with their content). A note after
two spaces and `#` in the README is ours, not the program's, and is ignored;
a line `...` stands for any number of lines (the README shortens long output).

usage: readme_tour.py README.md REPO_ROOT [--ctl-dir DIR] [--record]
  --ctl-dir: put this switchyardctl first on PATH after the README's export
  --record:  print what each command printed instead of checking
"""
import re
import subprocess
import sys


def blocks(readme):
    text = open(readme).read()
    for part in re.findall(r"<!-- readme-test -->(.*?)<!-- /readme-test -->", text, re.S):
        for fence in re.findall(r"```[a-z]*\n(.*?)```", part, re.S):
            yield fence


def commands(readme):
    out = []
    for fence in blocks(readme):
        for line in fence.splitlines():
            if line.startswith("$ "):
                out.append([line[2:], []])
            elif out:
                out[-1][1].append(line)
    return out


def mask(line):
    line = re.sub(r"\s{2,}#.*$", "", line) if "  #" in line else line
    # A number in any form (12, 0.000135, 9.55e-05) is one N.
    line = re.sub(r"[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?", "N", line)
    return " ".join(line.split())


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    readme, root = args[0], args[1]
    ctl_dir = None
    if "--ctl-dir" in sys.argv:
        ctl_dir = sys.argv[sys.argv.index("--ctl-dir") + 1]
        args.remove(ctl_dir)
    record = "--record" in sys.argv
    cmds = commands(readme)
    if not cmds:
        print("no tested commands found in " + readme)
        return 1
    script = ["set +e"]
    for i, (cmd, _) in enumerate(cmds):
        script.append("echo '@@BEGIN %d'" % i)
        script.append(cmd + " 2>&1")
        script.append("echo \"@@END %d $?\"" % i)
        if cmd.startswith("export ") and ctl_dir:
            script.append('export PATH="%s:$PATH"' % ctl_dir)
    run = subprocess.run(["bash", "-c", "\n".join(script)], cwd=root, capture_output=True, text=True, timeout=600)
    got, current, rcs = {}, None, {}
    for line in run.stdout.splitlines():
        m = re.match(r"@@BEGIN (\d+)$", line)
        e = re.match(r"@@END (\d+) (\d+)$", line)
        if m:
            current = int(m.group(1))
            got[current] = []
        elif e:
            rcs[int(e.group(1))] = int(e.group(2))
            current = None
        elif current is not None:
            got[current].append(line)
    fails = 0
    for i, (cmd, want) in enumerate(cmds):
        have = got.get(i, [])
        if record:
            print("$ " + cmd)
            print("\n".join(have))
            continue
        problems = []
        if rcs.get(i) != 0:
            problems.append("exit code %s" % rcs.get(i))
        head, tail = want, []
        if "..." in want:
            cut = want.index("...")
            head, tail = want[:cut], want[cut + 1:]
            if len(have) < len(head) + len(tail):
                problems.append("%d lines, the README shows at least %d" % (len(have), len(head) + len(tail)))
        elif len(have) != len(want):
            problems.append("%d lines, the README shows %d" % (len(have), len(want)))
        pairs = list(zip(head, have)) + (list(zip(tail, have[len(have) - len(tail):])) if tail else [])
        for w, h in pairs:
            if not mask(h).startswith(mask(w)):
                problems.append("line differs:\n      README: %s\n      actual: %s" % (w, h))
        if problems:
            fails += 1
            print("FAIL $ %s\n  %s\n  output was:\n    %s" % (cmd, "\n  ".join(problems), "\n    ".join(have)))
        else:
            print("ok   $ " + cmd)
    if record:
        return 0
    print("%d of %d README commands print what the README shows" % (len(cmds) - fails, len(cmds)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
