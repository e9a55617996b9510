"""deploy.dockerfile: every apt package the Dockerfile names exists in Debian 12, every COPY
source exists in the repository (and is not excluded by .dockerignore), the build stage's own
tree configures (its COPY sources laid out under its WORKDIR, its `cmake -S ... -B ...` line run
there, without Docker) and has every `--target` its build line names, the runtime stage holds
the packages of every library jobgw (and jobctl) load, runs as non-root with jobgw as entrypoint
and jobctl health as HEALTHCHECK, and jobgw accepts the image's environment. Every library the
build line's targets link is a target of that tree or installed (a `-lNAME` nobody provides is a
folder the COPY lines left out: the configure passes, the build would not). The HEALTHCHECK
command itself runs, as Docker runs it, against real jobgw processes: plaintext, TLS from the
environment, TLS from jobgw's flags, a CA-issued certificate with client certificates required;
and the plaintext probe must fail against TLS (the check can tell them apart).

With --image-build (deploy.dockerfile_build, opt-in: minutes of compiling) it runs the build
stage's whole cmake RUN line in that tree instead, configure, build and strip, and checks that
the binaries the runtime stage copies come out and need only the runtime stage's packages.

usage: check_dockerfile.py REPO JOBGW_BINARY [JOBCTL_BINARY]
       check_dockerfile.py --image-build REPO
"""
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import deploy_common as dc

# Present in every debian:bookworm(-slim) image (Essential or required by apt itself).
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def dockerfile_instructions(path):
    """(INSTRUCTION, arguments, line number of its first line) for each instruction."""
    out, cur, first = [], "", 0
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            s = line.rstrip("\n")
            if not cur and (s.strip() == "" or s.lstrip().startswith("#")):
                continue
            if cur and s.lstrip().startswith("#"):
                continue
            if not cur:
                first = lineno
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            cur += s
            word, _, rest = cur.strip().partition(" ")
            out.append((word.upper(), rest.strip(), first))
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


def read_dockerignore(repo):
    path = os.path.join(repo, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]


def _ignore_pattern(pat):
    """A .dockerignore pattern as a regex the way Docker matches it: against the path from the
    context root, `*` and `?` within one path component, `**` across any number of them."""
    pat = os.path.normpath(pat).lstrip("/")
    out, i = [], 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pat.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in pat[i + 1:]:
            j = pat.index("]", i + 1)
            inner = pat[i + 1:j]
            out.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
            i = j
        elif c == "\\" and i + 1 < len(pat):
            out.append(re.escape(pat[i + 1]))
            i += 1
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def dockerignored(name, patterns):
    """Whether Docker leaves context path `name` out: the last pattern matching it or one of
    its parent directories decides, `!` patterns put paths back in."""
    name = os.path.normpath(name).replace(os.sep, "/")
    parts = name.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    ignored = False
    for pat in patterns:
        neg = pat.startswith("!")
        rx = _ignore_pattern(pat[1:] if neg else pat)
        if any(rx.match(p) for p in prefixes):
            ignored = not neg
    return ignored


def may_hold_reincluded(dirname, patterns):
    """Whether a `!` pattern could put back something under the ignored directory dirname."""
    for pat in patterns:
        if pat.startswith("!"):
            lit = re.split(r"[*?\[]", pat[1:].lstrip("/"), 1)[0]
            if lit == "" or lit.startswith(dirname + "/") or (dirname + "/").startswith(lit):
                return True
    return False


# --- The build stage, reproduced without Docker -------------------------------------------------
# A `docker build` runs the build stage's cmake on exactly what its COPY lines bring in: a file or
# folder of the repository that they leave out, or a CMake option whose default needs one, breaks
# the image and nothing else. So the check lays out the COPY sources under a temporary root the
# way the stage does (container path /P is ROOT/P) and runs the stage's own configure line there.

# The image's environment sets none of these; the developer's must not change the configure
# (a CMAKE_GENERATOR=Ninja, say, or a CMAKE_PREFIX_PATH finding libraries Debian's image lacks).
_HOST_ONLY_ENV = re.compile(r"^(CMAKE_.*|CC|CXX|CFLAGS|CXXFLAGS|CPPFLAGS|LDFLAGS|MAKEFLAGS|DESTDIR)$")
# Targets every CMake Makefile build has without declaring them.
_BUILTIN_TARGETS = {"all", "clean", "help", "install", "install/local", "install/strip", "test",
                    "edit_cache", "rebuild_cache", "list_install_components"}


def _in_root(root, container_path):
    return os.path.join(root, container_path.lstrip("/"))


def _copy_args(rest):
    """(flags, sources, dest) of a COPY/ADD in shell or JSON form."""
    if rest.startswith("["):
        args = json.loads(rest)
    else:
        args = shlex.split(rest)
    flags = [a for a in args if a.startswith("--")]
    paths = [a for a in args if not a.startswith("--")]
    return flags, paths[:-1], (paths[-1] if paths else "")


def _copy_tree(repo, rel, dest, ignore):
    """Copies context path rel (a file or a folder's contents) to dest as Docker does."""
    src = os.path.join(repo, rel)
    if os.path.isfile(src) or os.path.islink(src):
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy2(src, dest, follow_symlinks=False)
        return
    os.makedirs(dest, exist_ok=True)
    for top, dirs, files in os.walk(src):
        rtop = os.path.relpath(top, repo)
        keep = []
        for d in dirs:
            rd = os.path.normpath(os.path.join(rtop, d))
            if not dockerignored(rd, ignore) or may_hold_reincluded(rd, ignore):
                keep.append(d)
        dirs[:] = keep
        for name in files:
            rf = os.path.normpath(os.path.join(rtop, name))
            if dockerignored(rf, ignore):
                continue
            out = os.path.join(dest, os.path.relpath(os.path.join(repo, rf), src))
            os.makedirs(os.path.dirname(out), exist_ok=True)
            shutil.copy2(os.path.join(repo, rf), out, follow_symlinks=False)


def lay_out_stage(repo, stage, root, ignore):
    """Applies the stage's WORKDIR and COPY/ADD lines under root. Returns (final WORKDIR,
    stage ENV/ARG values, problems)."""
    workdir, env, problems = "/", {}, []
    for word, rest, line in stage["instrs"]:
        if word == "WORKDIR":
            workdir = os.path.normpath(os.path.join(workdir, rest.strip().strip('"')))
            os.makedirs(_in_root(root, workdir), exist_ok=True)
        elif word in ("ENV", "ARG"):
            for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S+)", rest):
                env[m.group(1)] = m.group(2).strip('"')
        elif word in ("COPY", "ADD"):
            flags, srcs, dest = _copy_args(rest)
            if any(f.startswith("--from=") for f in flags) or any(re.match(r"^[a-z]+://", s) for s in srcs):
                problems.append("Dockerfile:%d: %s %s: the check cannot reproduce a source from "
                                "another stage or a URL" % (line, word, rest))
                continue
            target = os.path.normpath(os.path.join(workdir, dest))
            matched = []
            for src in srcs:
                found = sorted(glob.glob(os.path.join(repo, src))) if re.search(r"[*?\[]", src) \
                    else [os.path.join(repo, src)]
                matched += [os.path.relpath(f, repo) for f in found if os.path.lexists(f)]
            matched = [m for m in matched if not dockerignored(m, ignore)]
            into_dir = dest.endswith("/") or dest in (".", "./") or len(matched) > 1 \
                or os.path.isdir(_in_root(root, target))
            for rel in matched:
                if os.path.isdir(os.path.join(repo, rel)):
                    _copy_tree(repo, rel, _in_root(root, target), ignore)
                elif into_dir:
                    _copy_tree(repo, rel, _in_root(root, os.path.join(target, os.path.basename(rel))), ignore)
                else:
                    _copy_tree(repo, rel, _in_root(root, target), ignore)
    return workdir, env, problems


def shell_commands(text):
    """The simple commands of a RUN's shell text (split at && || ; | and &), each as argv;
    quotes are respected, so a quoted `-DLIST=a;b` stays one word."""
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    try:
        words = list(lex)
    except ValueError:
        return []
    commands, cur = [], []
    for w in words:
        if w and set(w) <= set("&|;"):
            commands.append(cur)
            cur = []
        else:
            cur.append(w)
    return commands + [cur]


def cmake_lines(stage):
    """The stage's RUN holding `cmake -S X -B Y ...`: (line, RUN text, configure argv, build
    argv or None). None when the stage has no configure line."""
    for word, rest, line in stage["instrs"]:
        if word != "RUN":
            continue
        configure = build = None
        for argv in shell_commands(rest):
            if not argv or os.path.basename(argv[0]) != "cmake":
                continue
            if "--build" in argv:
                build = build or argv
            elif any(a.startswith(("-S", "-B")) for a in argv[1:]):
                configure = configure or argv
        if configure:
            return line, rest, configure, build
    return None


def _option_value(argv, opt):
    """Value of `-S X`, `-SX`, `--build X` style options (last one wins), or None."""
    value = None
    for i, a in enumerate(argv):
        if a == opt and i + 1 < len(argv):
            value = argv[i + 1]
        elif opt.startswith("-") and not opt.startswith("--") and a.startswith(opt) and len(a) > len(opt):
            value = a[len(opt):]
    return value


def build_targets(build_argv):
    """The names after --target / -t in a `cmake --build` line ([] when it builds `all`)."""
    names, taking = [], False
    for a in build_argv[2:]:
        if a in ("--target", "-t"):
            taking = True
        elif a.startswith("--target="):
            names += a.split("=", 1)[1].split(",")
        elif a.startswith("-"):
            taking = False
        elif taking:
            names.append(a)
    return names


def _remap(argv, workdir, root, cdir_map):
    """argv with its -S/-B paths (relative ones resolved against WORKDIR) moved under root."""
    out, i = [], 0
    while i < len(argv):
        a = argv[i]
        for opt in ("-S", "-B"):
            if a == opt and i + 1 < len(argv):
                p = os.path.normpath(os.path.join(workdir, argv[i + 1]))
                cdir_map[opt] = p
                out += [opt, _in_root(root, p)]
                i += 2
                break
            if a.startswith(opt) and len(a) > 2:
                p = os.path.normpath(os.path.join(workdir, a[2:]))
                cdir_map[opt] = p
                out.append(opt + _in_root(root, p))
                i += 1
                break
        else:
            out.append(a)
            i += 1
    return out


def _stage_env(stage_env):
    env = {k: v for k, v in os.environ.items() if not _HOST_ONLY_ENV.match(k)}
    env.update(stage_env)
    return env


def _readable(text, root):
    """Tool output with the temporary root taken out again (paths read as in the image)."""
    return text.replace(root.rstrip("/") + "/", "/")


def _codemodel(build_dir):
    """{target name: [artifact paths relative to build_dir]} from CMake's file API reply."""
    reply = os.path.join(build_dir, ".cmake", "api", "v1", "reply")
    index = sorted(glob.glob(os.path.join(reply, "index-*.json")))
    if not index:
        return None
    with open(index[-1], encoding="utf-8") as f:
        objects = json.load(f).get("objects", [])
    cm = [o for o in objects if o.get("kind") == "codemodel"]
    if not cm:
        return None
    with open(os.path.join(reply, cm[0]["jsonFile"]), encoding="utf-8") as f:
        model = json.load(f)
    targets = {}
    for conf in model.get("configurations", []):
        for t in conf.get("targets", []):
            with open(os.path.join(reply, t["jsonFile"]), encoding="utf-8") as f:
                detail = json.load(f)
            targets.setdefault(t["name"], [])
            targets[t["name"]] += [os.path.normpath(a["path"]) for a in detail.get("artifacts", [])]
    return targets


_LIB_DIRS = ("/usr/lib", "/usr/local/lib", "/lib", "/usr/lib/x86_64-linux-gnu",
             "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu")


def _unprovided_libraries(build_dir, wanted):
    """(target, name) for each `-lNAME` the link lines of `wanted` (and the targets they depend
    on) carry that is neither a target of the tree nor a library installed in the usual places:
    CMake turns a target_link_libraries() name it does not know into -lNAME, so a library whose
    folder was not copied only fails at link time."""
    reply = os.path.join(build_dir, ".cmake", "api", "v1", "reply")
    index = sorted(glob.glob(os.path.join(reply, "index-*.json")))
    if not index:
        return []
    with open(index[-1], encoding="utf-8") as f:
        cm = [o for o in json.load(f).get("objects", []) if o.get("kind") == "codemodel"]
    if not cm:
        return []
    with open(os.path.join(reply, cm[0]["jsonFile"]), encoding="utf-8") as f:
        model = json.load(f)
    details, by_id = {}, {}
    for conf in model.get("configurations", []):
        for t in conf.get("targets", []):
            with open(os.path.join(reply, t["jsonFile"]), encoding="utf-8") as f:
                details[t["name"]] = json.load(f)
            by_id[t["id"]] = t["name"]
    todo, seen, found = [n for n in wanted if n in details], set(), []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        d = details[name]
        todo += [by_id[dep["id"]] for dep in d.get("dependencies", []) if dep.get("id") in by_id]
        for frag in d.get("link", {}).get("commandFragments", []):
            for word in shlex.split(frag.get("fragment", "")):
                if not word.startswith("-l") or len(word) <= 2:
                    continue
                lib = word[2:]
                if lib in details or any(glob.glob(os.path.join(d_, "lib%s.%s*" % (lib, ext)))
                                         for d_ in _LIB_DIRS for ext in ("so", "a")):
                    continue
                found.append((name, lib))
    return sorted(set(found))


def configure_stage(repo, stage, root, ignore, runtime_copies, problems):
    """Lays the stage out under root and runs its configure line; checks the build line's
    targets and that the runtime stage's COPY --from paths are their artifacts. Returns
    (RUN line, RUN text, WORKDIR, stage env, {"-S"/"-B": container path}) for a later build, or
    None when the stage could not be configured."""
    found = cmake_lines(stage)
    if not found:
        problems.append("build stage %s has no RUN `cmake -S SRC -B BUILD ...` configure line"
                        % stage["name"])
        return None
    line, run_text, configure, build = found
    workdir, stage_env, probs = lay_out_stage(repo, stage, root, ignore)
    problems += probs
    cdirs = {}
    argv = _remap(configure, workdir, root, cdirs)
    if "-B" not in cdirs:
        problems.append("Dockerfile:%d: the configure line names no build directory (-B)" % line)
        return None
    build_dir = _in_root(root, cdirs["-B"])
    # Ask CMake's file API for the target list and artifact paths, whatever the generator.
    query = os.path.join(build_dir, ".cmake", "api", "v1", "query")
    os.makedirs(query, exist_ok=True)
    open(os.path.join(query, "codemodel-v2"), "w").close()
    cwd = _in_root(root, workdir)
    try:
        r = subprocess.run(argv, cwd=cwd, env=_stage_env(stage_env), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        problems.append("Dockerfile:%d: %s did not finish within 300 s" % (line, " ".join(configure)))
        return None
    if r.returncode != 0:
        tail = "\n".join(r.stdout.strip().splitlines()[-15:])
        problems.append("Dockerfile:%d: the build stage's configure fails on what its COPY lines bring "
                        "in (exit %d): %s\n%s" % (line, r.returncode, " ".join(configure),
                                                   _readable(tail, root)))
        return None

    targets = _codemodel(build_dir)
    if targets is None:
        problems.append("Dockerfile:%d: cmake wrote no file API codemodel reply" % line)
        return None
    wanted = []
    if build:
        bdir = _option_value(build, "--build")
        if bdir and os.path.normpath(os.path.join(workdir, bdir)) != cdirs["-B"]:
            problems.append("Dockerfile:%d: `cmake --build %s` is not the configured -B %s"
                            % (line, bdir, cdirs["-B"]))
        wanted = build_targets(build)
        for t in wanted:
            if t not in targets and t not in _BUILTIN_TARGETS:
                problems.append("Dockerfile:%d: --target %s is no target of the configured build stage "
                                "(it has %s)" % (line, t, " ".join(sorted(n for n in targets
                                                                          if targets[n]))))
    else:
        problems.append("Dockerfile:%d: the build stage configures but never runs `cmake --build`" % line)
    for t, lib in _unprovided_libraries(build_dir, wanted or sorted(targets)):
        problems.append("Dockerfile:%d: %s links -l%s, which no target of the configured build stage "
                        "makes and no installed library provides: is a folder missing from the "
                        "COPY lines (e.g. COPY web/ web/)?" % (line, t, lib))
    built = {os.path.join(cdirs["-B"], a) for t in (wanted or targets) for a in targets.get(t, [])}
    for cline, src in runtime_copies:
        if (src + "/").startswith(cdirs["-B"] + "/") and src not in built:
            problems.append("Dockerfile:%d: the runtime stage copies %s, which is no artifact of the "
                            "targets the build line builds (%s)" % (cline, src, " ".join(sorted(built)) or "none"))
    return line, run_text, workdir, stage_env, cdirs


def build_stage_fully(root, found, problems):
    """Runs the whole RUN line (configure, build, strip) in the laid-out tree, its container
    paths moved under root."""
    line, run_text, workdir, stage_env, cdirs = found
    cmd = run_text
    for p in sorted(set(cdirs.values()) | {workdir}, key=len, reverse=True):
        if p == "/":
            continue
        cmd = re.sub(r"(?<![\w./-])" + re.escape(p) + r"(?=[/\s\"']|$)",
                     _in_root(root, p).replace("\\", "\\\\"), cmd)
    start = time.monotonic()
    r = subprocess.run(["sh", "-c", cmd], cwd=_in_root(root, workdir), env=_stage_env(stage_env),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    took = time.monotonic() - start
    if r.returncode != 0:
        tail = "\n".join(r.stdout.strip().splitlines()[-25:])
        problems.append("Dockerfile:%d: the build stage's RUN fails (exit %d)\n%s"
                        % (line, r.returncode, _readable(tail, root)))
    return took


def parse_stages(instrs, problems):
    stages, cur = [], None
    for word, rest, line in instrs:
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
            cur["instrs"].append((word, rest, line))
            if word == "RUN":
                for m in re.finditer(r"apt-get\s+install\s+([^&;|]*)", rest):
                    cur["packages"] += [t for t in m.group(1).split() if not t.startswith("-")]
    if len(stages) < 2:
        problems.append("the Dockerfile must be multi-stage (build + runtime), has %d stage(s)" % len(stages))
        dc.report(problems, "")
    return stages


def build_stages(stages):
    """The stages the runtime stage copies from, each with the (line, path) it copies."""
    by_name = {s["name"]: s for s in stages}
    by_name.update({str(i): s for i, s in enumerate(stages)})
    copies = {}
    for word, rest, line in stages[-1]["instrs"]:
        if word != "COPY":
            continue
        flags, srcs, _ = _copy_args(rest)
        for f in flags:
            if f.startswith("--from=") and f[7:] in by_name:
                copies.setdefault(by_name[f[7:]]["name"], []).extend((line, os.path.normpath(s)) for s in srcs)
    return [(by_name[n], c) for n, c in copies.items()]


def reproduce_build_stages(repo, stages, problems, full=False):
    """Configures (with full: builds) every stage the runtime stage copies from in a temporary
    tree. Returns {container path: path under the temporary root} of the runtime's copies when
    full, and the seconds each step took."""
    ignore = read_dockerignore(repo)
    took, copied = {}, {}
    root = tempfile.mkdtemp(prefix="jobgw-image-")
    try:
        wanted = build_stages(stages)
        if not wanted:
            problems.append("the runtime stage copies nothing from a build stage (COPY --from=)")
        for stage, copies in wanted:
            start = time.monotonic()
            found = configure_stage(repo, stage, root, ignore, copies, problems)
            took["configure of stage " + stage["name"]] = time.monotonic() - start
            if not (full and found):
                continue
            took["build of stage " + stage["name"]] = build_stage_fully(root, found, problems)
            for line, src in copies:
                path = _in_root(root, src)
                if not os.path.isfile(path):
                    problems.append("Dockerfile:%d: the build stage made no %s" % (line, src))
                else:
                    kept = os.path.join(tempfile.mkdtemp(prefix="jobgw-image-bin-"), os.path.basename(src))
                    shutil.copy2(path, kept)
                    copied[src] = kept
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return copied, took


# --- The HEALTHCHECK, run against real jobgw processes ------------------------------------------

def healthcheck_argv(hc):
    """The argv Docker runs for `HEALTHCHECK [OPTIONS] CMD ...`: the JSON form as written, the
    shell form through /bin/sh -c. None when there is no CMD."""
    m = re.search(r"\bCMD\s+(.*)$", hc, re.S)
    if not m:
        return None
    cmd = m.group(1).strip()
    if cmd.startswith("["):
        try:
            return json.loads(cmd)
        except ValueError:
            return None
    return ["/bin/sh", "-c", cmd]


def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def self_signed(d):
    """tls.crt and tls.key in d: self-signed, for jobgw and 127.0.0.1; nothing else beside them."""
    os.makedirs(d, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", os.path.join(d, "tls.key"), "-out", os.path.join(d, "tls.crt"), "-days", "1",
             "-subj", "/CN=jobgw", "-addext", "subjectAltName=DNS:jobgw,IP:127.0.0.1")
    return os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")


def ca_issued(d):
    """A Kubernetes TLS Secret's layout in d: tls.crt and tls.key issued by a CA, ca.crt beside."""
    os.makedirs(d, exist_ok=True)
    ca_key, ca, key, csr, crt = (os.path.join(d, n) for n in ("ca.key", "ca.crt", "tls.key", "tls.csr", "tls.crt"))
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", ca_key, "-out", ca, "-days", "1", "-subj", "/CN=jobgw test CA")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=jobgw")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:jobgw\n")
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", crt,
             "-days", "1", "-extfile", ext)
    return crt, key, ca


def _free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_with_jobgw(jobgw, env, flags, tmp, what, while_up):
    """Runs jobgw with env and flags, its gRPC listener on a free loopback port named the way
    its TLS is configured (the environment's JOBGW_GRPC_LISTEN, or a flag like `docker run IMAGE
    --key=value` gives), calls while_up(process, env) and stops it. Problems."""
    port = _free_port()
    ports = os.path.join(tmp, "ports.json")
    if os.path.exists(ports):
        os.unlink(ports)
    env = dict(env, JOBGW_GRPC_LISTEN="127.0.0.1:%d" % port)
    if flags:
        env["JOBGW_GRPC_LISTEN"] = "127.0.0.1:1"  # what the flag overrides
        flags = ["--grpc.listen=127.0.0.1:%d" % port] + flags
    argv = [jobgw, "--metrics.listen=127.0.0.1:0", "--callback.listen=127.0.0.1:0",
            "--ports_file=" + ports, "--state.path=" + os.path.join(tmp, "state.db")] + flags
    procs = dc.Processes()
    try:
        p = procs.start("jobgw", argv, env=env, log_dir=tmp)
        try:
            dc.wait_for_json_file(ports, p, 15, "jobgw")
        except RuntimeError as e:
            return ["%s: jobgw did not start: %s\n%s" % (what, e, procs.tail(p))]
        return ["%s: %s" % (what, x) for x in while_up(p, port, env)]
    finally:
        procs.close()


def healthcheck_problems(hc, image_env, jobgw, jobctl):
    """Runs the image's HEALTHCHECK, as Docker would, against jobgw with TLS off, on from the
    environment, on from jobgw's flags, and on with a CA-issued certificate and client
    certificates required; and checks that the plaintext probe fails against TLS."""
    argv = healthcheck_argv(hc)
    if argv is None:
        return ["HEALTHCHECK %r: no CMD Docker could run" % hc]
    problems = []
    with tempfile.TemporaryDirectory(prefix="jobgw-healthcheck-") as tmp:
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir)
        # The image's /usr/local/bin: the runtime stage copies both binaries there.
        for name, path in (("jobgw", jobgw), ("jobctl", jobctl)):
            os.symlink(os.path.abspath(path), os.path.join(bindir, name))
        argv = [os.path.join(bindir, os.path.basename(a)) if a.startswith("/usr/local/bin/") else a
                for a in argv]
        base = {k: v for k, v in os.environ.items() if not k.startswith("JOBGW_") and k != "PATH"}
        base.update(image_env)
        dc.stand_in_files(base, tmp)  # the credentials file the image's ENV names
        plain_dir, ca_dir = os.path.join(tmp, "self-signed"), os.path.join(tmp, "ca-issued")
        cert, key = self_signed(plain_dir)
        ca_cert, ca_key, ca = ca_issued(ca_dir)

        path = bindir + ":" + os.environ.get("PATH", "")
        plain_probe = [os.path.join(bindir, "jobctl"), "--rpc-timeout", "3", "--addr", None, "health"]
        # (what, jobgw's environment, jobgw's flags, the probe, whether it must pass). In the image the HEALTHCHECK sees the container's environment,
        # so it gets jobgw's; the flags it finds on jobgw's command line (HEALTHCHECK_PID).
        self_env = {"JOBGW_TLS_CERT_FILE": cert, "JOBGW_TLS_KEY_FILE": key}
        mtls_env = {"JOBGW_TLS_CERT_FILE": ca_cert, "JOBGW_TLS_KEY_FILE": ca_key,
                    "JOBGW_TLS_CLIENT_CA_FILE": ca, "JOBGW_TLS_REQUIRE_CLIENT_CERT": "true"}
        scenarios = [
            ("TLS off", {}, [], argv, True),
            ("TLS from the environment, self-signed", self_env, [], argv, True),
            ("TLS from jobgw's flags, self-signed", {},
             ["--tls.cert_file=" + cert, "--tls.key_file=" + key], argv, True),
            ("TLS with a CA-issued certificate, client certificates required", mtls_env, [], argv,
             True),
            ("the plaintext probe against TLS (it must fail)", self_env, [], plain_probe, False),
        ]
        for what, gw_env, flags, probe, must_pass in scenarios:
            def while_up(p, port, gw_env, probe=probe, must_pass=must_pass):
                env = dict(gw_env, PATH=path, HEALTHCHECK_PID=str(p.pid))
                run = [a if a is not None else "127.0.0.1:%d" % port for a in probe]
                try:
                    r = subprocess.run(run, env=env, capture_output=True, text=True, timeout=30)
                except subprocess.TimeoutExpired:
                    return ["the probe did not finish within 30 s"]
                if (r.returncode == 0) != must_pass:
                    return ["the probe exited %d: %s %s" % (r.returncode, r.stdout.strip()[-400:],
                                                             r.stderr.strip()[-400:])]
                return []
            problems += _run_with_jobgw(jobgw, dict(base, **gw_env), flags, tmp,
                                        "HEALTHCHECK, " + what, while_up)
    return problems


def runtime_package_problems(runtime, binaries):
    problems = []
    runtime_closure = depends_closure(set(runtime["packages"])) | BASE_PACKAGES
    for binary in binaries:
        needed, probs = needed_packages(binary)
        problems += probs
        for p in sorted(needed - runtime_closure):
            problems.append("%s needs package %s, which the runtime stage does not install"
                            % (os.path.basename(binary), p))
    return problems


def image_build_main(repo):
    """deploy.dockerfile_build: the build stage's whole RUN line, then ldd of what it made."""
    problems = []
    stages = parse_stages(dockerfile_instructions(os.path.join(repo, "Dockerfile")), problems)
    copied, took = reproduce_build_stages(repo, stages, problems, full=True)
    try:
        if not problems:
            lists_problem = ensure_package_lists()
            problems += [lists_problem] if lists_problem else runtime_package_problems(
                stages[-1], [copied[k] for k in sorted(copied)])
    finally:
        for path in copied.values():
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    dc.report(problems, "Dockerfile build stage made %s (%s)" % (
        " ".join(sorted(copied)), ", ".join("%s %.0f s" % kv for kv in took.items())))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--image-build":
        return image_build_main(sys.argv[2])
    repo, jobgw = sys.argv[1], sys.argv[2]
    jobctl = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
    problems = []
    instrs = dockerfile_instructions(os.path.join(repo, "Dockerfile"))
    env_keys = dc.jobgw_env_keys(jobgw)
    stages = parse_stages(instrs, problems)
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

    ignore = read_dockerignore(repo)
    stage_names = {s["name"] for s in stages}
    for s in stages:
        for word, rest, _ in s["instrs"]:
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

    # Seconds: the stage's COPY sources are copied and configured, nothing is compiled.
    _, took = reproduce_build_stages(repo, stages, problems)

    rinstrs = dict()
    for word, rest, _ in runtime["instrs"]:
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
    text = open(os.path.join(repo, "Dockerfile")).read()
    # Build arguments (ARG NAME) feed the build stage's cmake, not jobgw's configuration.
    build_args = set(re.findall(r"^ARG\s+([A-Za-z_][A-Za-z0-9_]*)", text, re.M))
    for name in sorted(set(re.findall(r"(?<!-D)JOBGW_[A-Z0-9_]+", text))):
        if name not in env_keys and name not in build_args:
            problems.append("Dockerfile names %s, which is no jobgw config key (jobgw --help)" % name)
    exposed = {int(p.split("/")[0]) for rest in rinstrs.get("EXPOSE", []) for p in rest.split()}
    for key in ("JOBGW_GRPC_LISTEN", "JOBGW_METRICS_LISTEN", "JOBGW_CALLBACK_LISTEN"):
        v = env.get(key, "")
        host, _, port = v.rpartition(":")
        if host not in ("0.0.0.0", "[::]"):
            problems.append("ENV %s=%r: a container must listen on all interfaces" % (key, v))
        elif not port.isdigit() or int(port) not in exposed:
            problems.append("ENV %s=%s: port not EXPOSEd (%s)" % (key, v, sorted(exposed)))

    problems += runtime_package_problems(runtime, [b for b in (jobgw, jobctl) if b])

    if not problems:
        problems += dc.start_and_stop_jobgw(jobgw, {k: v for k, v in env.items() if k.startswith("JOBGW_")},
                                            "Dockerfile ENV")
    if not problems:
        if jobctl:
            problems += healthcheck_problems(hc, {k: v for k, v in env.items() if k.startswith("JOBGW_")},
                                             jobgw, jobctl)
        else:
            problems.append("jobctl is not built: the HEALTHCHECK cannot be run")
    dc.report(problems, "Dockerfile: %d stages, packages %s exist in Debian 12, %s" % (
        len(stages), " ".join(all_pkgs), ", ".join("%s in %.1f s" % kv for kv in took.items())))


if __name__ == "__main__":
    main()
