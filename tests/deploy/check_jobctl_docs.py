#!/usr/bin/env python3
"""README's jobctl section and `jobctl --help` tell the same story: every command jobctl lists is
in the README, every flag the README's section names is one jobctl knows, and `jobctl help CMD`
is `jobctl CMD --help`.

Usage: check_jobctl_docs.py REPO JOBCTL_BINARY
"""
import re
import subprocess
import sys

FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def run(binary, *args):
    out = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout + out.stderr


def readme_section(repo):
    text = open(f"{repo}/README.md", encoding="utf-8").read()
    start = text.index("\n## jobctl\n")
    end = text.index("\n## ", start + 5)
    return text[start:end]


def main():
    repo, jobctl = sys.argv[1], sys.argv[2]
    problems = []
    rc, top = run(jobctl, "help")
    if rc != 0:
        problems.append(f"`jobctl help` exited {rc}")
    listing = top.split("Commands:", 1)[1].split("\n\n", 1)[0]
    commands = re.findall(r"^  ([a-z][a-z-]*)\s{2,}", listing, re.M)
    if len(commands) < 5:
        problems.append(f"`jobctl help` lists too few commands: {commands}")
    helps = {"": top}
    for command in commands:
        rc, text = run(jobctl, "help", command)
        if rc != 0:
            problems.append(f"`jobctl help {command}` exited {rc}")
        helps[command] = text
        if command != "help":
            rc2, text2 = run(jobctl, command, "--help")
            if (rc2, text2) != (rc, text):
                problems.append(f"`jobctl help {command}` differs from `jobctl {command} --help`")
    known = set()
    for text in helps.values():
        known |= set(FLAG.findall(text))
    section = readme_section(repo)
    for command in commands:
        if command == "help":
            continue
        if f"`{command}`" not in section and f"jobctl {command}" not in section:
            problems.append(f"README's jobctl section does not mention the command {command}")
    for flag in sorted(set(FLAG.findall(section)) - known):
        problems.append(f"README's jobctl section names {flag}, which no `jobctl help` page knows")
    for p in problems:
        print("FAIL: " + p)
    print(f"{len(commands)} commands, {len(known)} flags in jobctl's help; "
          f"{len(set(FLAG.findall(section)))} flags named in README's jobctl section")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
