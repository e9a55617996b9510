"""deploy.openapi: docs/openapi.yaml lists every route of the HTTP face, with its method, as
server/http_api.cc's match() serves them (and lists none that match() lacks): the /v1/ routes
read from match()'s string literals, /healthz, and the status page's files (web/CMakeLists.txt's
JOBGW_WEB_FILES, plus "/"). Path parameters compare by position only ({scope_type} == {}).
The document is read as plain text; when PyYAML happens to be installed it is also loaded, must
list the same paths, and every $ref in it must resolve.

usage: check_openapi.py REPO
"""
import os
import re
import sys

import deploy_common as dc

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def balanced(text, start, open_c, close_c):
    """The index just past the bracket that closes the one at text[start]."""
    depth = 0
    i = start
    while i < len(text):
        c = text[i]
        if c == '"':  # string literals may hold brackets
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced %s at %d" % (open_c, start))


def if_statements(body):
    """(condition, statement body) of every `if (...)` in body, in order."""
    out = []
    for m in re.finditer(r"\bif\s*\(", body):
        cond_end = balanced(body, m.end() - 1, "(", ")")
        cond = body[m.end():cond_end - 1]
        rest = body[cond_end:].lstrip()
        offset = len(body) - len(rest)
        if rest.startswith("{"):
            stmt = body[offset + 1:balanced(body, offset, "{", "}") - 1]
        else:
            stmt = rest[:rest.find(";") + 1]
        out.append((" ".join(cond.split()), stmt))
    return out


def code_routes(repo):
    """{(path pattern, METHOD)} that server/http_api.cc's match() serves."""
    path = os.path.join(repo, "server", "http_api.cc")
    with open(path, encoding="utf-8") as f:
        src = f.read()
    sig = re.search(r"std::optional<Route>\s+match\s*\([^)]*\)\s*{", src)
    if not sig:
        raise ValueError("server/http_api.cc: no `std::optional<Route> match(...)` found")
    body = src[sig.end() - 1:balanced(src, sig.end() - 1, "{", "}")]
    default_method = re.search(r'const char\*\s+method\s*=\s*"([A-Z]+)"', src)
    default_method = default_method.group(1) if default_method else "GET"
    prefix = re.search(r'raw_path\.rfind\("/([^"/]+)/",\s*0\)', body)
    suffixes = dict(re.findall(r'const std::string (\w+) = "([^"]+)";', body))

    def method_of(stmt):
        m = re.search(r'r\.method\s*=\s*"([A-Z]+)"', stmt)
        return m.group(1) if m else default_method

    routes = set()
    base = {}
    for cond, stmt in if_statements(body):
        exact = re.fullmatch(r'raw_path == "([^"]+)"', cond)
        if exact:
            routes.add((exact.group(1), method_of(stmt)))
            continue
        if "find_web_asset(raw_path)" in cond:
            for page in web_pages(repo):
                routes.add((page, method_of(stmt)))
            continue
        if "return std::nullopt" in stmt and "parts[" in cond:
            # A guard every later route passes: its literals are theirs.
            base = {int(i): lit for i, lit in re.findall(r'parts\[(\d+)\] != "([^"]*)"', cond)}
            continue
        size = re.search(r"parts\.size\(\) == (\d+)", cond)
        if not size:
            continue
        if not prefix:
            raise ValueError("server/http_api.cc: match() has no raw_path.rfind(\"/<version>/\", 0)")
        segments = ["{}"] * int(size.group(1))
        segments[0] = prefix.group(1)
        for i, lit in list(base.items()) + [(int(i), lit) for i, lit in
                                              re.findall(r'parts\[(\d+)\] == "([^"]*)"', cond)]:
            if i < len(segments):
                segments[i] = lit
        for name, suffix in suffixes.items():
            if re.search(r"\b%s\b" % re.escape(name), cond):
                segments[-1] += suffix
        routes.add(("/" + "/".join(segments), method_of(stmt)))
    return routes


def web_pages(repo):
    with open(os.path.join(repo, "web", "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"set\(JOBGW_WEB_FILES([^)]*)\)", f.read())
    if not m:
        raise ValueError("web/CMakeLists.txt: no set(JOBGW_WEB_FILES ...)")
    return ["/"] + ["/" + name for name in m.group(1).split()]


def doc_routes(text):
    """{(path pattern, METHOD)} under paths: in the document, read line by line."""
    routes = set()
    in_paths = False
    path = None
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_paths = line.rstrip() == "paths:"
            continue
        if not in_paths:
            continue
        m = re.match(r"^  (/\S*):\s*(#.*)?$", line)
        if m:
            path = m.group(1).strip("'\"")
            continue
        m = re.match(r"^    (%s):" % "|".join(METHODS), line)
        if m and path:
            routes.add((path, m.group(1).upper()))
    return routes


def normalize(path):
    return re.sub(r"\{[^}]*\}", "{}", path)


def yaml_problems(text):
    try:
        import yaml  # optional: the plain-text reading above stands alone
    except ImportError:
        return [], "PyYAML not installed"
    problems = []
    doc = yaml.safe_load(text)
    loaded = {(p, m.upper()) for p, ops in (doc.get("paths") or {}).items() for m in ops
              if m in METHODS}
    if loaded != doc_routes(text):
        problems.append("the plain-text reading of paths: %s differs from PyYAML's %s"
                        % (sorted(doc_routes(text)), sorted(loaded)))
    if not str(doc.get("openapi", "")).startswith("3."):
        problems.append("openapi: %r is not an OpenAPI 3 version" % doc.get("openapi"))

    def resolve(ref):
        node = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def walk(node, where):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not (ref.startswith("#/") and resolve(ref)):
                problems.append("%s: $ref %s does not resolve" % (where, ref))
            for k, v in node.items():
                walk(v, "%s/%s" % (where, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))

    walk(doc, "#")
    return problems, "PyYAML loads it and every $ref resolves"


def main():
    repo = sys.argv[1]
    with open(os.path.join(repo, "docs", "openapi.yaml"), encoding="utf-8") as f:
        text = f.read()
    problems = []
    code = code_routes(repo)
    # A reading of match() that found almost nothing means the parser fell behind the code.
    if len([p for p, _ in code if p.startswith("/v1/")]) < 3:
        problems.append("server/http_api.cc: read only %s from match(); update check_openapi.py"
                        % sorted(code))
    doc = doc_routes(text)
    doc_norm = {(normalize(p), m): p for p, m in doc}
    code_norm = {(normalize(p), m) for p, m in code}
    for path, method in sorted(code):
        if (normalize(path), method) not in doc_norm:
            other = sorted(m for p, m in doc if normalize(p) == normalize(path))
            problems.append("route %s %s of server/http_api.cc is missing from docs/openapi.yaml%s"
                            % (method, path, " (listed as %s)" % ", ".join(other) if other else ""))
    for (norm, method), path in sorted(doc_norm.items()):
        if (norm, method) not in code_norm:
            problems.append("docs/openapi.yaml lists %s %s, which server/http_api.cc's match() does "
                            "not serve" % (method, path))
    more, note = yaml_problems(text)
    problems += more
    dc.report(problems, "docs/openapi.yaml lists the %d routes of server/http_api.cc; %s"
              % (len(code), note))


if __name__ == "__main__":
    main()
