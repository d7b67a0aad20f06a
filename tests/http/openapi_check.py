#!/usr/bin/env python3
# tests/http/openapi_check.py: checks docs/openapi.yaml, and every response the HTTP tests
# received against it, so the description cannot drift from the node.
# Must hold: runs with Debian 12's python3-yaml and python3-jsonschema 4.10 (no
# openapi-spec-validator there) as with newer jsonschema; exits 0 only without problems.
# Recordings (tests/http/http_fixture.hpp): <dir>/<pid>.jsonl, one JSON object a line:
#   {"test", "method", "path", "status", "headers": {name: value}, "content_type", "body"}
"""Usage: openapi_check.py --doc docs/openapi.yaml [--catalogue events/errors.cpp]
                          [--recorded DIR_OR_FILE ...]"""

import argparse
import collections
import json
import os
import re
import sys

try:
    import yaml
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
except ImportError as e:  # a fresh machine: `make deps` installs them
    sys.exit("openapi_check: %s; install python3-yaml and python3-jsonschema" % e)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Our own response headers: carrying one a response does not document is drift too.
API_HEADERS = ("Retry-After", "Location", "Idempotent-Replayed", "WWW-Authenticate")


class Problems:
    """Problems grouped by message, each with a few examples of where it happened."""

    def __init__(self):
        self.where = collections.OrderedDict()

    def add(self, message, where=None):
        self.where.setdefault(message, [])
        if where:
            self.where[message].append(where)

    def __len__(self):
        return len(self.where)

    def report(self, out):
        for message, places in self.where.items():
            out.write("- %s\n" % message)
            if places:
                shown = places[:3]
                for p in shown:
                    out.write("    at %s\n" % p)
                if len(places) > len(shown):
                    out.write("    ... and %d more\n" % (len(places) - len(shown)))


def pointer_escape(token):
    return str(token).replace("~", "~0").replace("/", "~1")


def resolve_pointer(doc, ref):
    """The value a local $ref ("#/a/b") names, or raises KeyError."""
    if not ref.startswith("#"):
        raise KeyError("only local references are supported")
    node = doc
    for raw in ref[1:].split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        elif isinstance(node, dict):
            node = node[token]
        else:
            raise KeyError(token)
    return node


class Document:
    def __init__(self, doc):
        self.doc = doc
        self.validators = {}

    def deref(self, node, ptr):
        """Follows $ref of a non-schema object (response, parameter, header): (object, ptr)."""
        seen = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise KeyError("reference cycle at " + ref)
            seen.add(ref)
            node, ptr = resolve_pointer(self.doc, ref), ref
        return node, ptr

    def validator(self, ptr):
        """A validator of the schema at `ptr`. The whole document is the root schema (its
        OpenAPI keys are no JSON Schema keywords), so every "#/components/..." resolves, the
        same way in jsonschema 4.10 (RefResolver) and later ones (referencing)."""
        if ptr not in self.validators:
            root = dict(self.doc)
            root["$ref"] = ptr
            self.validators[ptr] = Draft202012Validator(root)
        return self.validators[ptr]

    def errors(self, ptr, instance):
        out = []
        for e in sorted(self.validator(ptr).iter_errors(instance), key=lambda e: [str(p) for p in e.path]):
            where = "/".join(str(p) for p in e.absolute_path)
            out.append("%s%s" % ("at /%s: " % where if where else "", e.message))
        return out

    def operations(self):
        """(template, method, operation, ptr) for every operation."""
        for template, item in (self.doc.get("paths") or {}).items():
            item, item_ptr = self.deref(item, "#/paths/" + pointer_escape(template))
            for method in METHODS:
                if isinstance(item, dict) and method in item:
                    yield template, method, item[method], item_ptr + "/" + method


# --- the document ------------------------------------------------------------------------


def check_refs(doc, node, ptr, problems):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None:
            try:
                if not isinstance(ref, str):
                    raise KeyError("not a string")
                resolve_pointer(doc, ref)
            except (KeyError, IndexError, ValueError) as e:
                problems.add("%s: $ref %r does not resolve (%s)" % (ptr, ref, e))
        for k, v in node.items():
            check_refs(doc, v, ptr + "/" + pointer_escape(k), problems)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_refs(doc, v, "%s/%d" % (ptr, i), problems)


def schema_locations(d):
    """Pointers of every schema the document holds outside other schemas."""
    comps = d.doc.get("components") or {}
    for name in comps.get("schemas") or {}:
        yield "#/components/schemas/" + pointer_escape(name)

    def in_content(obj, ptr):
        for media, m in (obj.get("content") or {}).items():
            if isinstance(m, dict) and "schema" in m:
                yield ptr + "/content/" + pointer_escape(media) + "/schema"

    def in_param_or_header(obj, ptr):
        if "$ref" in obj:
            return
        if "schema" in obj:
            yield ptr + "/schema"
        yield from in_content(obj, ptr)

    for kind in ("parameters", "headers"):
        for name, obj in (comps.get(kind) or {}).items():
            yield from in_param_or_header(obj, "#/components/%s/%s" % (kind, pointer_escape(name)))
    for kind in ("responses", "requestBodies"):
        for name, obj in (comps.get(kind) or {}).items():
            ptr = "#/components/%s/%s" % (kind, pointer_escape(name))
            if "$ref" not in obj:
                yield from in_content(obj, ptr)
                for h, hobj in (obj.get("headers") or {}).items():
                    yield from in_param_or_header(hobj, ptr + "/headers/" + pointer_escape(h))
    for template, item in (d.doc.get("paths") or {}).items():
        item_ptr = "#/paths/" + pointer_escape(template)
        for i, p in enumerate(item.get("parameters") or []):
            yield from in_param_or_header(p, "%s/parameters/%d" % (item_ptr, i))
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            op_ptr = item_ptr + "/" + method
            for i, p in enumerate(op.get("parameters") or []):
                yield from in_param_or_header(p, "%s/parameters/%d" % (op_ptr, i))
            body = op.get("requestBody")
            if isinstance(body, dict) and "$ref" not in body:
                yield from in_content(body, op_ptr + "/requestBody")
            for status, r in (op.get("responses") or {}).items():
                r_ptr = op_ptr + "/responses/" + pointer_escape(status)
                if isinstance(r, dict) and "$ref" not in r:
                    yield from in_content(r, r_ptr)
                    for h, hobj in (r.get("headers") or {}).items():
                        yield from in_param_or_header(hobj, r_ptr + "/headers/" + pointer_escape(h))


def read_catalogue(path):
    """[(code, status)] from events/errors.cpp's table, in its order."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [(m.group(1), int(m.group(2)))
            for m in re.finditer(r'\{\s*errc::\w+\s*,\s*"(\w+)"\s*,\s*(\d{3})\s*\}', text)]


def error_codes_of(d, schema_ptr, codes):
    """The codes an error body may carry under this schema (by trying each one)."""
    return [c for c in codes
            if not d.errors(schema_ptr, {"error": {"code": c, "message": "probe"}})]


def check_document(d, catalogue, problems):
    doc = d.doc
    if not isinstance(doc, dict):
        problems.add("the document is not a YAML mapping")
        return
    if not re.fullmatch(r"3\.1\.\d+", str(doc.get("openapi", ""))):
        problems.add("openapi is %r, not 3.1.x" % doc.get("openapi"))
    info = doc.get("info") or {}
    for key in ("title", "version"):
        if not isinstance(info.get(key), str):
            problems.add("info.%s must be a string" % key)
    if not isinstance(doc.get("paths"), dict) or not doc["paths"]:
        problems.add("paths is missing or empty")
        return
    check_refs(doc, doc, "#", problems)
    if "NoRoute" not in ((doc.get("components") or {}).get("responses") or {}):
        problems.add("components.responses.NoRoute (what unrouted requests answer) is missing")
    if len(problems):
        return  # the rest follows references

    for ptr in schema_locations(d):
        try:
            Draft202012Validator.check_schema(resolve_pointer(doc, ptr))
        except SchemaError as e:
            problems.add("%s is not a valid JSON Schema 2020-12: %s" % (ptr, e.message))

    # Examples are documentation readers copy: each must be valid under its own schema.
    for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
        for i, example in enumerate(schema.get("examples") or [] if isinstance(schema, dict)
                                    else []):
            for e in d.errors("#/components/schemas/" + pointer_escape(name), example):
                problems.add("components.schemas.%s examples[%d]: %s" % (name, i, e))

    schemes = (doc.get("components") or {}).get("securitySchemes") or {}
    op_ids = collections.Counter()
    for template, method, op, op_ptr in d.operations():
        name = "%s %s" % (method.upper(), template)
        if not template.startswith("/"):
            problems.add("path %r does not start with /" % template)
        if "operationId" in op:
            op_ids[op["operationId"]] += 1
        responses = op.get("responses")
        if not isinstance(responses, dict) or not responses:
            problems.add("%s has no responses" % name)
            continue
        for status, r in responses.items():
            if not re.fullmatch(r"[1-5][0-9]{2}|[1-5]XX|default", str(status)):
                problems.add("%s: %r is not a status code" % (name, status))
            r, r_ptr = d.deref(r, op_ptr + "/responses/" + pointer_escape(status))
            if not isinstance(r.get("description"), str):
                problems.add("%s %s: a response needs a description" % (name, status))
            # shared/API.md: every 503 and 429 carries Retry-After.
            if str(status) in ("429", "503"):
                h = (r.get("headers") or {}).get("Retry-After")
                if not h or not d.deref(h, "")[0].get("required"):
                    problems.add("%s %s must document a required Retry-After header"
                                 % (name, status))
        for req in op.get("security") or []:
            for scheme in req:
                if scheme not in schemes:
                    problems.add("%s: unknown security scheme %r" % (name, scheme))
        # Path parameters: each {name} declared (required), each declared one in the path.
        in_template = re.findall(r"\{([^}/]+)\}", template)
        declared = {}
        item = d.deref(doc["paths"][template], "")[0]
        for p in (item.get("parameters") or []) + (op.get("parameters") or []):
            p = d.deref(p, "")[0]
            if p.get("in") == "path":
                declared[p.get("name")] = p
        for pname in in_template:
            if pname not in declared:
                problems.add("%s: path parameter {%s} is not declared" % (name, pname))
            elif declared[pname].get("required") is not True:
                problems.add("%s: path parameter {%s} must be required: true" % (name, pname))
        for pname in declared:
            if pname not in in_template:
                problems.add("%s: parameter %r is in: path but not in the path" % (name, pname))
    for op_id, n in op_ids.items():
        if n > 1:
            problems.add("operationId %r is used %d times" % (op_id, n))

    if catalogue is None:
        return
    if not catalogue:
        problems.add("no catalogue rows found in the --catalogue file")
        return
    codes = [c for c, _ in catalogue]
    status_of = dict(catalogue)
    enum = (((doc.get("components") or {}).get("schemas") or {}).get("ErrorCode") or {}).get("enum")
    if enum != codes:
        problems.add("components.schemas.ErrorCode.enum must list exactly the catalogue's codes "
                     "in its order: missing %s, extra %s, expected %s"
                     % (sorted(set(codes) - set(enum or [])),
                        sorted(set(enum or []) - set(codes)), codes))
    answered = set()
    for template, method, op, op_ptr in d.operations():
        for status, r in (op.get("responses") or {}).items():
            r, r_ptr = d.deref(r, op_ptr + "/responses/" + pointer_escape(status))
            for media, m in (r.get("content") or {}).items():
                if "schema" not in m or not is_json(media):
                    continue
                s_ptr = r_ptr + "/content/" + pointer_escape(media) + "/schema"
                for c in error_codes_of(d, s_ptr, codes):
                    answered.add(c)
                    if str(status_of[c]) != str(status):
                        problems.add("%s %s %s allows error code %s, whose status is %d "
                                     "(events/errors.cpp)"
                                     % (method.upper(), template, status, c, status_of[c]))
    for c in codes:
        if c not in answered:
            problems.add("error code %s is not answered by any documented response" % c)


# --- recorded exchanges ------------------------------------------------------------------


def media_type(text):
    """("type/subtype", {param: value}), lower-cased, from a Content-Type value."""
    parts = [p.strip() for p in (text or "").split(";")]
    params = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return parts[0].lower(), params


def is_json(media):
    base = media_type(media)[0]
    return base == "application/json" or base.endswith("+json")


def media_matches(documented, actual):
    d_base, d_params = media_type(documented)
    a_base, a_params = media_type(actual)
    if d_base not in ("*/*", a_base) and not (
            d_base.endswith("/*") and a_base.startswith(d_base[:-1])):
        return False
    return all(a_params.get(k) == v for k, v in d_params.items())


def path_matchers(d):
    """(regex, template), concrete paths before templated ones (OpenAPI's matching rule)."""
    out = []
    for template in d.doc["paths"]:
        regex = "".join("([^/]+)" if part.startswith("{") else re.escape(part)
                        for part in re.split(r"(\{[^}/]+\})", template))
        out.append((template.count("{"), re.compile(regex + r"\Z"), template))
    return [(r, t) for _, r, t in sorted(out, key=lambda x: x[0])]


def load_records(sources, problems):
    files = []
    for s in sources:
        if os.path.isdir(s):
            files += sorted(os.path.join(s, f) for f in os.listdir(s) if f.endswith(".jsonl"))
        elif os.path.exists(s):
            files.append(s)
        else:
            problems.add("no recordings at %s (did the recording tests run?)" % s)
    records = []
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as lines:
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    for key in ("method", "path", "status", "headers", "body"):
                        if key not in r:
                            raise ValueError("no %r" % key)
                except ValueError as e:
                    problems.add("%s:%d is not a recorded exchange: %s" % (f, n, e))
                    continue
                r["_where"] = "%s:%d (%s)" % (os.path.basename(f), n, r.get("test", "?"))
                records.append(r)
    return records


def check_header_value(d, name, h, h_ptr, value, label, where, problems):
    h, h_ptr = d.deref(h, h_ptr)
    if "schema" not in h:
        return
    schema = d.deref(h["schema"], h_ptr + "/schema")[0]
    instance = value
    if schema.get("type") == "integer":
        try:
            instance = int(value)
        except ValueError:
            problems.add("%s: header %s is %r, not an integer" % (label, name, value), where)
            return
    for e in d.errors(h_ptr + "/schema", instance):
        problems.add("%s: header %s %r: %s" % (label, name, value, e), where)


def check_record(d, matchers, r, seen, problems):
    method = str(r["method"]).lower()
    path = str(r["path"]).split("?", 1)[0]
    status = str(r["status"])
    headers = {str(k).lower(): str(v) for k, v in (r.get("headers") or {}).items()}
    content_type = r.get("content_type") or headers.get("content-type", "")
    body = r.get("body") or ""
    where = "%s %s -> %s in %s" % (method.upper(), r["path"], status, r["_where"])

    template = next((t for regex, t in matchers if regex.match(path)), None)
    item = d.deref(d.doc["paths"][template], "")[0] if template else {}
    op_method = method if method in item else ("get" if method == "head" else None)
    if op_method is None or op_method not in item:
        # Unrouted: the document says what every other method and path answers.
        r_doc, r_ptr = d.deref({"$ref": "#/components/responses/NoRoute"}, "")
        label = "unrouted %s %s" % (method.upper(), path)
        if status != "404":
            problems.add("%s answered %s; a request no operation describes must be 404 "
                         "(components.responses.NoRoute)" % (label, status), where)
            return
    else:
        op = item[op_method]
        label = "%s %s" % (method.upper(), template)
        responses = op.get("responses") or {}
        key = next((k for k in (status, status[0] + "XX", "default") if k in responses), None)
        if key is None:
            problems.add("%s answered %s, which the document does not list for it (it lists %s)"
                         % (label, status, ", ".join(str(k) for k in responses)), where)
            return
        seen[(template, op_method)].add(key)
        label += " " + key
        r_doc, r_ptr = d.deref(responses[key], "#/paths/%s/%s/responses/%s"
                               % (pointer_escape(template), op_method, pointer_escape(key)))

    documented_headers = {k.lower(): (k, v) for k, v in (r_doc.get("headers") or {}).items()}
    for lname, (name, h) in documented_headers.items():
        if lname == "content-type":
            continue  # OpenAPI: described by `content`
        h_ptr = r_ptr + "/headers/" + pointer_escape(name)
        if lname not in headers:
            if d.deref(h, h_ptr)[0].get("required"):
                problems.add("%s: required header %s is missing" % (label, name), where)
            continue
        check_header_value(d, name, h, h_ptr, headers[lname], label, where, problems)
    for name in API_HEADERS:
        if name.lower() in headers and name.lower() not in documented_headers:
            problems.add("%s carries header %s, which the document does not list for it"
                         % (label, name), where)

    content = r_doc.get("content") or {}
    if method == "head":
        return  # no body to check
    if not content:
        if body:
            problems.add("%s has a body, but the document describes none" % label, where)
        return
    media = next((m for m in content if media_matches(m, content_type)), None)
    if media is None:
        problems.add("%s answered Content-Type %r, the document says %s"
                     % (label, content_type, " or ".join(content)), where)
        return
    if not is_json(media) or "schema" not in content[media]:
        return
    try:
        instance = json.loads(body)
    except ValueError as e:
        problems.add("%s: the body is not JSON (%s)" % (label, e), where)
        return
    for e in d.errors(r_ptr + "/content/" + pointer_escape(media) + "/schema", instance)[:3]:
        problems.add("%s: body %s" % (label, e), where)


def check_records(d, sources, problems, out):
    records = load_records(sources, problems)
    if not records:
        problems.add("no recorded exchanges in %s: the HTTP tests must run first, with "
                     "FLASHSALE_RECORD_RESPONSES set (ctest does both)" % ", ".join(sources))
        return
    matchers = path_matchers(d)
    seen = collections.defaultdict(set)
    for r in records:
        check_record(d, matchers, r, seen, problems)
    # Coverage, for whoever extends the tests: what the recordings never showed.
    out.write("openapi_check: %d recorded exchanges in %d operations\n"
              % (len(records), len(seen)))
    for template, method, op, _ in d.operations():
        unseen = [k for k in (op.get("responses") or {}) if k not in seen[(template, method)]]
        out.write("  %-7s %-28s seen %-24s never %s\n"
                  % (method.upper(), template, " ".join(sorted(seen[(template, method)])) or "-",
                     " ".join(unseen) or "-"))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--doc", required=True, help="the OpenAPI document (YAML)")
    parser.add_argument("--catalogue", help="events/errors.cpp: ErrorCode must list its codes")
    parser.add_argument("--recorded", action="append", default=[],
                        help="a directory of *.jsonl recordings, or one file (repeatable)")
    args = parser.parse_args(argv)

    problems = Problems()
    try:
        with open(args.doc, encoding="utf-8") as f:
            d = Document(yaml.safe_load(f))
    except (OSError, yaml.YAMLError) as e:
        print("openapi_check: cannot read %s: %s" % (args.doc, e), file=sys.stderr)
        return 2
    catalogue = read_catalogue(args.catalogue) if args.catalogue else None
    try:
        check_document(d, catalogue, problems)
    except (AttributeError, TypeError, KeyError, IndexError) as e:  # e.g. a list for a mapping
        problems.add("the document's structure is not OpenAPI's: %s: %s" % (type(e).__name__, e))
    checked_records = not len(problems) and bool(args.recorded)
    if checked_records:
        check_records(d, args.recorded, problems, sys.stdout)
    if len(problems):
        sys.stderr.write("openapi_check: %d problem(s) with %s:\n" % (len(problems), args.doc))
        problems.report(sys.stderr)
        if args.recorded and not checked_records:
            sys.stderr.write("(the recordings are checked once the document itself is valid)\n")
        return 1
    print("openapi_check: %s is valid%s" % (
        args.doc, " and describes every recorded response" if args.recorded else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
