"""deploy.scripts: scripts/install-deps.sh's profiles. `--list` of the demo profile is a subset of
the test profile's (the default), leaves out the test-only tools (the sanitizer toolchain,
chromium, GoogleTest, tmux, prometheus), and names the packages of the commands the demo runs;
every package exists in Debian 12. The script run against stand-in dpkg-query and apt-get: a
no-op when a profile's packages are all installed, otherwise one apt-get install of exactly the
missing ones of that profile. scripts/demo.sh installs the demo profile, scripts/test.sh the
test one.

usage: check_scripts.py REPO
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import deploy_common as dc
from check_dockerfile import apt_known, ensure_package_lists

# Test tools the demo must not install.
TEST_ONLY = {"clang", "llvm", "libclang-rt-14-dev", "chromium", "libgtest-dev", "libgmock-dev",
             "tmux", "prometheus"}
# Commands scripts/demo.sh runs, besides the binaries it builds and the base system's.
DEMO_COMMANDS = ("cmake", "c++", "protoc", "python3", "redis-server", "redis-cli")


def install_deps(repo, args, env=None):
    return subprocess.run(["bash", os.path.join(repo, "scripts", "install-deps.sh")] + args,
                          capture_output=True, text=True, env=env, timeout=60)


def listed(repo, args, problems):
    r = install_deps(repo, ["--list"] + args)
    if r.returncode != 0:
        problems.append("install-deps.sh --list %s exited %d: %s" % (" ".join(args), r.returncode,
                                                                     r.stderr.strip()))
        return []
    pkgs = [line.strip() for line in r.stdout.splitlines() if line.strip()]
    if len(set(pkgs)) != len(pkgs):
        problems.append("install-deps.sh --list %s names a package twice" % " ".join(args))
    return pkgs


def owner_of_command(cmd):
    """The Debian package that installed the command on PATH, or None when it is not here."""
    path = shutil.which(cmd)
    if not path:
        return None
    for candidate in (path, os.path.realpath(path)):
        for p in {candidate, candidate.replace("/usr/bin/", "/bin/"),
                  candidate.replace("/bin/", "/usr/bin/", 1)}:
            r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
            if r.returncode == 0:
                return r.stdout.split(":")[0].split(",")[0].strip()
    return None


def alternatives_owner(cmd, demo):
    """Whether a command reached through /etc/alternatives (c++) is provided by a demo package."""
    owner = owner_of_command(cmd)
    if owner is None:
        return True
    if owner in demo:
        return True
    # c++ -> g++-12 (package g++-12, which build-essential depends on).
    deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                           "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"]
                          + sorted(demo), capture_output=True, text=True).stdout
    return re.search(r"^\s*(Pre)?Depends: <?%s>?$" % re.escape(owner), deps, re.M) is not None


def fake_tools(tmp, missing):
    """A bin directory whose dpkg-query says every package but `missing` is installed and whose
    apt-get (and sudo) only record their arguments in tmp/apt.log."""
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir, exist_ok=True)
    log = os.path.join(tmp, "apt.log")
    scripts = {
        "dpkg-query": "#!/bin/sh\nfor last; do :; done\ncase \" %s \" in *\" $last \"*) "
                      "echo 'unknown ok not-installed'; exit 1 ;; esac\n"
                      "printf 'install ok installed'\n" % " ".join(missing),
        "apt-get": "#!/bin/sh\necho \"$*\" >>%s\n" % log,
        "sudo": "#!/bin/sh\nexec \"$@\"\n",
    }
    for name, text in scripts.items():
        path = os.path.join(bindir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755)
    if os.path.exists(log):
        os.unlink(log)
    return bindir, log


def apt_calls(repo, profile_args, missing, problems):
    with tempfile.TemporaryDirectory(prefix="jobgw-install-deps-") as tmp:
        bindir, log = fake_tools(tmp, missing)
        env = dict(os.environ, PATH=bindir + ":" + os.environ.get("PATH", ""))
        r = install_deps(repo, profile_args, env)
        if r.returncode != 0:
            problems.append("install-deps.sh %s (missing: %s) exited %d: %s" % (
                " ".join(profile_args), " ".join(missing) or "none", r.returncode, r.stderr.strip()))
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return [line.split() for line in f.read().splitlines()]


def main():
    repo = sys.argv[1]
    problems = []
    demo = listed(repo, ["demo"], problems)
    test = listed(repo, ["test"], problems)
    default = listed(repo, [], problems)
    if default != test:
        problems.append("install-deps.sh without a profile lists %s, not the test profile" % default)
    if not demo or not test:
        dc.report(problems, "")
    for p in sorted(set(demo) - set(test)):
        problems.append("the demo profile's %s is not in the test profile" % p)
    for p in sorted(set(demo) & TEST_ONLY):
        problems.append("the demo profile installs the test tool %s" % p)
    for p in sorted(TEST_ONLY - set(test)):
        problems.append("the test profile lacks %s" % p)
    for cmd in DEMO_COMMANDS:
        if not alternatives_owner(cmd, demo):
            problems.append("scripts/demo.sh runs %s, whose package %s is not in the demo profile"
                            % (cmd, owner_of_command(cmd)))

    lists_problem = ensure_package_lists()
    if lists_problem:
        problems.append(lists_problem)
    else:
        known = apt_known(test)
        for p in test:
            if p not in known:
                problems.append("package %s does not exist in the Debian 12 package lists" % p)

    # No apt-get at all when a profile is installed; otherwise exactly its missing packages.
    if apt_calls(repo, ["test"], [], problems):
        problems.append("install-deps.sh test called apt-get with every package installed")
    if apt_calls(repo, ["demo"], ["chromium", "tmux"], problems):
        problems.append("install-deps.sh demo called apt-get for test tools it does not install")
    calls = apt_calls(repo, ["demo"], ["redis-server", "chromium"], problems)
    installs = [c for c in calls if "install" in c]
    if len(installs) != 1 or [a for a in installs[0] if not a.startswith("-")][1:] != ["redis-server"]:
        problems.append("install-deps.sh demo with redis-server and chromium missing ran apt-get %s, "
                        "expected one install of redis-server" % calls)
    calls = apt_calls(repo, [], ["redis-server", "chromium"], problems)
    installs = [c for c in calls if "install" in c]
    if len(installs) != 1 or sorted(a for a in installs[0][1:] if not a.startswith("-")) != \
            ["chromium", "redis-server"]:
        problems.append("install-deps.sh (test) with redis-server and chromium missing ran apt-get "
                        "%s, expected one install of both" % calls)

    for script, profile in (("demo.sh", "demo"), ("test.sh", "test")):
        with open(os.path.join(repo, "scripts", script), encoding="utf-8") as f:
            text = f.read()
        if not re.search(r"^\s*bash scripts/install-deps\.sh %s\s*$" % profile, text, re.M):
            problems.append("scripts/%s does not run `bash scripts/install-deps.sh %s`"
                            % (script, profile))
    dc.report(problems, "install-deps.sh: demo %d packages within test %d, no test tools in demo"
              % (len(demo), len(test)))


if __name__ == "__main__":
    main()
