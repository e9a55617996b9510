"""deploy.dockerfile: every apt package the Dockerfile names exists in Debian 12, every COPY
source exists in the repository (and is not excluded by .dockerignore), the runtime stage holds
the packages of every library jobgw (and jobctl) load, runs as non-root with jobgw as entrypoint
and jobctl health as HEALTHCHECK, and jobgw accepts the image's environment.

usage: check_dockerfile.py REPO JOBGW_BINARY [JOBCTL_BINARY]
"""
import fnmatch
import os
import re
import subprocess
import sys

import deploy_common as dc

# Present in every debian:bookworm(-slim) image (Essential or required by apt itself).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def dockerfile_instructions(path):
    out, cur = [], ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.rstrip("\n")
            if not cur and (s.strip() == "" or s.lstrip().startswith("#")):
                continue
            if cur and s.lstrip().startswith("#"):
                continue
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            cur += s
            word, _, rest = cur.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            cur = ""
    return out


def apt_known(pkgs):
    """The subset of pkgs that apt-cache show finds (one call: apt-cache is slow to start)."""
    r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + sorted(pkgs),
                       capture_output=True, text=True)
    return set(re.findall(r"^Package: (\S+)$", r.stdout, re.M)) & set(pkgs)


def ensure_package_lists():
    """apt-get update when the lists are empty: apt-cache knows no package the build installed."""
    if apt_known({"cmake"}):
        return None
    installed = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "cmake"], capture_output=True, text=True)
    if "install ok installed" not in installed.stdout:
        return None
    if os.geteuid() != 0:
        return "apt package lists are empty and this test is not root: run apt-get update"
    r = subprocess.run(["apt-get", "update", "-q"], capture_output=True, text=True, timeout=600)
    return None if r.returncode == 0 else "apt-get update failed: " + r.stderr[-500:]


def needed_packages(binary):
    """Debian packages owning the shared libraries `ldd BINARY` resolves."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = {}
    for m in re.finditer(r"=>\s+(/\S+)", out):
        lib = m.group(1)
        cands = {lib, os.path.realpath(lib)}
        cands |= {"/usr" + c for c in list(cands) if not c.startswith("/usr/")}
        cands |= {c[4:] for c in list(cands) if c.startswith("/usr/")}
        libs[lib] = cands
    every = sorted({c for cs in libs.values() for c in cs})
    r = subprocess.run(["dpkg", "-S"] + every, capture_output=True, text=True)
    owner_of = {}
    for line in r.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        for one in pkg.split(", "):
            owner_of[path.strip()] = one.split(":")[0].strip()
    pkgs, problems = set(), []
    for lib, cands in sorted(libs.items()):
        owners = {owner_of[c] for c in cands if c in owner_of}
        if not owners:
            problems.append("%s loads %s, which no Debian package owns" % (binary, lib))
        pkgs |= owners
    return pkgs, problems


def depends_closure(pkgs):
    r = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                        "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + sorted(pkgs),
                       capture_output=True, text=True)
    closure = set(pkgs)
    for line in r.stdout.splitlines():
        line = line.strip()
        if line.startswith("Depends:") or line.startswith("PreDepends:"):
            closure.add(line.split(":", 1)[1].strip().strip("<>").split(":")[0])
        elif line and not line.startswith(("|", "Depends", "PreDepends")) and ":" not in line:
            closure.add(line.strip("<>"))
    return closure


def dockerignored(name, patterns):
    ignored = False
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.rstrip("/")
        if fnmatch.fnmatch(name, p) or fnmatch.fnmatch(name, p.replace("**/", "")):
            ignored = not neg
    return ignored


def main():
    repo, jobgw = sys.argv[1], sys.argv[2]
    jobctl = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    problems = []
    instrs = dockerfile_instructions(os.path.join(repo, "Dockerfile"))
    env_keys = dc.jobgw_env_keys(jobgw)

    stages, cur = [], None
    for word, rest in instrs:
        if word == "FROM":
            parts = rest.split()
            image = parts[0]
            if not re.match(r"^debian:bookworm(-slim)?(@sha256:[0-9a-f]{64})?$", image):
                problems.append("FROM %s is not Debian 12 (debian:bookworm)" % image)
            cur = {"name": parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages)),
                   "packages": [], "instrs": []}
            stages.append(cur)
        elif cur is None:
            if word != "ARG":
                problems.append("%s before the first FROM" % word)
        else:
            cur["instrs"].append((word, rest))
            if word == "RUN":
                for m in re.finditer(r"apt-get\s+install\s+([^&;|]*)", rest):
                    cur["packages"] += [t for t in m.group(1).split() if not t.startswith("-")]
    if len(stages) < 2:
        problems.append("the Dockerfile must be multi-stage (build + runtime), has %d stage(s)" % len(stages))
        dc.report(problems, "")
    runtime = stages[-1]

    lists_problem = ensure_package_lists()
    if lists_problem:
        problems.append(lists_problem)
    all_pkgs = sorted({p for s in stages for p in s["packages"]})
    if not all_pkgs:
        problems.append("the Dockerfile installs no apt packages")
    known = apt_known(all_pkgs)
    for p in all_pkgs:
        if p not in known:
            problems.append("package %s does not exist in the Debian 12 package lists (apt-cache show)" % p)
    for p in runtime["packages"]:
        if p.endswith("-dev") or p in ("build-essential", "cmake", "protobuf-compiler"):
            problems.append("runtime stage installs build package %s" % p)

    ignore = []
    di = os.path.join(repo, ".dockerignore")
    if os.path.exists(di):
        with open(di, encoding="utf-8") as f:
            ignore = [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
    stage_names = {s["name"] for s in stages}
    for s in stages:
        for word, rest in s["instrs"]:
            if word not in ("COPY", "ADD"):
                continue
            args = rest.split()
            from_stage = [a for a in args if a.startswith("--from=")]
            srcs = [a for a in args if not a.startswith("--")][:-1]
            if from_stage:
                if from_stage[0][7:] not in stage_names:
                    problems.append("COPY %s names unknown stage" % rest)
                continue
            if not srcs:
                problems.append("%s %s: no source" % (word, rest))
            for src in srcs:
                path = os.path.normpath(os.path.join(repo, src))
                if not os.path.exists(path):
                    problems.append("COPY source %s does not exist in the repository" % src)
                elif dockerignored(os.path.normpath(src), ignore):
                    problems.append("COPY source %s is excluded by .dockerignore" % src)

    rinstrs = dict()
    for word, rest in runtime["instrs"]:
        rinstrs.setdefault(word, []).append(rest)
    user = (rinstrs.get("USER") or ["root"])[-1].split(":")[0]
    if user in ("root", "0"):
        problems.append("the runtime stage must run as a non-root USER")
    ep = (rinstrs.get("ENTRYPOINT") or [""])[-1]
    if not re.search(r'"(/usr/local/bin/)?jobgw"', ep):
        problems.append("ENTRYPOINT %r is not jobgw" % ep)
    hc = (rinstrs.get("HEALTHCHECK") or [""])[-1]
    if not re.search(r"CMD .*jobctl\b.*\bhealth\b", hc):
        problems.append("HEALTHCHECK %r does not run jobctl health" % hc)

    env = {}
    for rest in rinstrs.get("ENV", []):
        for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S+)", rest):
            env[m.group(1)] = m.group(2).strip('"')
    for name in sorted(set(re.findall(r"(?<!-D)JOBGW_[A-Z0-9_]+", open(os.path.join(repo, "Dockerfile")).read()))):
        if name not in env_keys:
            problems.append("Dockerfile names %s, which is no jobgw config key (jobgw --help)" % name)
    exposed = {int(p.split("/")[0]) for rest in rinstrs.get("EXPOSE", []) for p in rest.split()}
    for key in ("JOBGW_GRPC_LISTEN", "JOBGW_METRICS_LISTEN", "JOBGW_CALLBACK_LISTEN"):
        v = env.get(key, "")
        host, _, port = v.rpartition(":")
        if host not in ("0.0.0.0", "[::]"):
            problems.append("ENV %s=%r: a container must listen on all interfaces" % (key, v))
        elif not port.isdigit() or int(port) not in exposed:
            problems.append("ENV %s=%s: port not EXPOSEd (%s)" % (key, v, sorted(exposed)))

    runtime_closure = depends_closure(set(runtime["packages"])) | BASE_PACKAGES
    for binary in [b for b in (jobgw, jobctl) if b]:
        needed, probs = needed_packages(binary)
        problems += probs
        for p in sorted(needed - runtime_closure):
            problems.append("%s needs package %s, which the runtime stage does not install"
                            % (os.path.basename(binary), p))

    if not problems:
        problems += dc.start_and_stop_jobgw(jobgw, {k: v for k, v in env.items() if k.startswith("JOBGW_")},
                                            "Dockerfile ENV")
    dc.report(problems, "Dockerfile: %d stages, packages %s exist in Debian 12" % (len(stages), " ".join(all_pkgs)))


if __name__ == "__main__":
    main()
