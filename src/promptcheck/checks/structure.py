"""promptfoo's structure checks: is-sql / contains-sql, is-xml / contains-xml, is-html /
contains-html, with its rules and well-kept parsers in place of its Node ones.

- SQL: ``sqlglot`` for node-sql-parser. ``databaseType`` picks the sqlglot dialect;
  ``allowedTables`` / ``allowedColumns`` are node-sql-parser's ``type::db::table`` and
  ``type::table::column`` authorities, matched as case-insensitive regular expressions.
- XML: ``defusedxml`` (no entity expansion, no external entities) for fast-xml-parser;
  ``requiredElements`` are dotted paths from the root element, as in promptfoo.
- HTML: ``html5lib`` (the HTML5 parsing algorithm, as jsdom) for is-html, with promptfoo's
  rules on top; contains-html is promptfoo's indicator count and needs no parser.
"""

from __future__ import annotations

import re
from typing import Any

from promptcheck.checks.base import CheckContext, CheckSet, Verdict
from promptcheck.spec import CheckSpec

CHECKS = CheckSet()

# node-sql-parser's database names (what promptfoo's databaseType takes) -> sqlglot dialects.
DIALECTS = {
    "mysql": "mysql", "mariadb": "mysql", "postgresql": "postgres", "postgres": "postgres",
    "bigquery": "bigquery", "hive": "hive", "snowflake": "snowflake", "redshift": "redshift",
    "sqlite": "sqlite", "transactsql": "tsql", "athena": "athena", "trino": "trino", "flinksql": "spark",
}


def _sql_options(spec: CheckSpec) -> dict[str, Any]:
    value = spec.value
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{spec.type} takes a mapping (databaseType, allowedTables, allowedColumns) or no value")
    return value


def _dialect(database: str) -> str:
    dialect = DIALECTS.get(database.lower())
    if dialect is None:
        known = "MySQL, MariaDB, PostgreSQL, BigQuery, Hive, Snowflake, Redshift, SQLite, TransactSQL, Athena, Trino, FlinkSQL"
        raise ValueError(f"databaseType {database!r} has no SQL dialect in promptcheck (it knows {known})")
    return dialect


def _validate_sql(spec: CheckSpec) -> None:
    options = _sql_options(spec)
    _dialect(str(options.get("databaseType") or "MySQL"))
    for key in ("allowedTables", "allowedColumns"):
        entries = options.get(key)
        if entries is not None and not (isinstance(entries, list) and all(isinstance(e, str) for e in entries)):
            raise ValueError(f"{key} must be a list of 'type::table::column'-style strings")


def _statements(sql: str, dialect: str) -> list[Any]:
    """The parsed statements, or ValueError: sqlglot also reads a bare expression such as
    ``hello world`` (a column with an alias), which is not a statement."""
    import sqlglot
    from sqlglot import exp

    trees = [t for t in sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE) if t is not None]
    statements = (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Merge, exp.Use, exp.Set, exp.Transaction, exp.Commit, exp.Rollback, exp.Alter)
    if not trees or any(not isinstance(t, statements) for t in trees):
        raise ValueError("not an SQL statement")
    return trees


def _authorities(trees: list[Any]) -> tuple[set[str], set[str]]:
    """node-sql-parser's tableList / columnList: ``select::db::table``, ``select::table::column``."""
    from sqlglot import exp

    tables: set[str] = set()
    columns: set[str] = set()
    for tree in trees:
        aliases: dict[str, str] = {}
        for table in tree.find_all(exp.Table):
            action = _action(table, tree)
            tables.add(f"{action}::{table.db or 'null'}::{table.name}")
            if table.alias:
                aliases[table.alias.lower()] = table.name
        action = _action(tree, tree)
        for column in tree.find_all(exp.Column):
            owner = aliases.get(column.table.lower(), column.table) if column.table else "null"
            # node-sql-parser counts a column that is only read (a WHERE, a sub-select) as select.
            read = action != "select" and column.find_ancestor(exp.Where, exp.Select) is not None
            columns.add(f"{'select' if read else action}::{owner}::{column.name}")
        if any(isinstance(s, exp.Star) and not isinstance(s.parent, exp.Column) for s in tree.find_all(exp.Star)):
            columns.add(f"{action}::null::(.*)")
    return tables, columns


def _action(node: Any, tree: Any) -> str:
    from sqlglot import exp

    kinds = {exp.Insert: "insert", exp.Update: "update", exp.Delete: "delete", exp.Create: "create", exp.Drop: "drop", exp.Alter: "alter"}
    current = node
    while current is not None:
        parent = current.parent
        for kind, name in kinds.items():
            if isinstance(current, kind) and current is node:
                return name
            if isinstance(parent, kind) and parent.args.get("this") is current:
                return name  # the statement's target table
        if isinstance(current, exp.Select) and current is not node:
            return "select"
        current = parent
    return next((name for kind, name in kinds.items() if isinstance(tree, kind)), "select")


def _unauthorized(found: set[str], allowed: list[str]) -> list[str]:
    patterns = [re.compile(entry, re.IGNORECASE) for entry in allowed]
    return sorted(a for a in found if not any(p.fullmatch(a) for p in patterns))


_SELECT_MODIFIERS = {
    "mysql": r"(?:all|distinct(?:row)?|high_priority|straight_join|sql_(?:big_result|buffer_result|cache|calc_found_rows|no_cache|small_result))",
    "": r"(?:all|distinct)",
}
_IGNORED_SQL = re.compile(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|--[^\n]*|/\*[\s\S]*?\*/")


def _promptfoo_rejects(sql: str, database: str) -> bool:
    """promptfoo's checks before parsing: it fails empty SQL, an odd number of backticks,
    ``SELECT a b FROM`` (a missing comma, though SQL reads it as an alias), and generate_series
    in MySQL."""
    if not sql.strip() or sql.count("`") % 2:
        return True
    modifier = _SELECT_MODIFIERS["mysql" if database in ("MySQL", "MariaDB") else ""]
    ident = r"[A-Za-z_][A-Za-z0-9_]*"
    missing_comma = rf"\bselect\s+(?:{modifier}\s+)*(?!{modifier}\b){ident}\s+{ident}\s+from\b"
    if re.search(missing_comma, _IGNORED_SQL.sub(" ? ", sql), re.IGNORECASE):
        return True
    return database == "MySQL" and re.search(r"\bgenerate_series\s*\(", sql, re.IGNORECASE) is not None


def _is_sql(sql: str, spec: CheckSpec) -> Verdict:
    options = _sql_options(spec)
    database = str(options.get("databaseType") or "MySQL")
    dialect = _dialect(database)
    import sqlglot

    syntax = f"SQL statement does not conform to the provided {database} database syntax."
    if _promptfoo_rejects(sql.strip(), database):
        return Verdict(False, 0.0, syntax)
    try:
        trees = _statements(sql, dialect)
    except (sqlglot.errors.SqlglotError, ValueError):
        return Verdict(False, 0.0, syntax)
    tables, columns = _authorities(trees)
    problems = []
    if isinstance(options.get("allowedTables"), list) and (bad := _unauthorized(tables, options["allowedTables"])):
        problems.append(f"SQL references unauthorized table(s): {', '.join(bad)}.")
    if isinstance(options.get("allowedColumns"), list):
        allowed = list(options["allowedColumns"])
        # promptfoo: an allowed ``type::table::col`` also allows the unqualified ``type::null::col``.
        allowed += [f"{p[0]}::null::{p[2]}" for p in (e.split("::") for e in allowed) if len(p) == 3 and p[1] != "null"]
        if bad := _unauthorized(columns, allowed):
            problems.append(f"SQL references unauthorized column(s): {', '.join(bad)}.")
    if problems:
        return Verdict(False, 0.0, " ".join(problems))
    return Verdict(True, 1.0, f"valid {database} SQL")


@CHECKS.register("is-sql", validate=_validate_sql)
def is_sql(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    return _is_sql(output, spec)


_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})(.*)$")


def sql_blocks(text: str) -> list[str]:
    """The bodies of the answer's fenced code blocks tagged ``sql`` or untagged (promptfoo's
    ``extractSqlCodeBlocks``): a fence closes on a line of at least as many of its characters."""
    blocks: list[str] = []
    opened: tuple[str, bool, list[str]] | None = None  # (fence, is SQL, body lines)
    for line in re.split(r"\r\n?|\n", text):
        fence = _FENCE.match(line)
        if opened is None:
            if fence:
                opened = (fence.group(1), fence.group(2).strip().lower() in ("", "sql"), [])
            continue
        marker, is_sql, body = opened
        if fence and not fence.group(2).strip() and fence.group(1)[0] == marker[0] and len(fence.group(1)) >= len(marker):
            if is_sql:
                blocks.append("\n".join(body).strip())
            opened = None
        else:
            body.append(line)
    return blocks


@CHECKS.register("contains-sql", validate=_validate_sql)
def contains_sql(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    verdict = Verdict(False, 0.0, "Output does not contain valid SQL")
    for candidate in sql_blocks(output) or [output]:  # every SQL block, else the whole answer
        if candidate.strip():
            verdict = _is_sql(candidate, spec)
            if verdict.passed:
                return verdict
    return verdict


def _required(spec: CheckSpec) -> list[str] | None:
    value = spec.value
    if isinstance(value, str) and value:
        return [v.strip() for v in value.split(",")]
    if isinstance(value, list) and value:
        return [str(v) for v in value]
    if isinstance(value, dict) and isinstance(value.get("requiredElements"), list):
        return [str(v) for v in value["requiredElements"]]
    return None


def _validate_xml(spec: CheckSpec) -> None:
    value = spec.value
    if isinstance(value, dict) and value and not isinstance(value.get("requiredElements"), list):
        raise ValueError("xml assertion must contain a string, array value, or no value")


def _xml_problem(text: str, required: list[str] | None) -> str | None:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
    from defusedxml.ElementTree import fromstring  # type: ignore[import-untyped]

    if re.search(r"<!DOCTYPE[^>\[]*\[", text, re.IGNORECASE):
        return "DTD internal subsets are not supported by is-xml validation"
    try:
        root = fromstring(text)
    except (ParseError, DefusedXmlException) as exc:
        return f"XML parsing failed: {exc}"
    missing = [path for path in required or [] if not _has_path(root, path.split("."))]
    return f"XML is missing required elements: {', '.join(missing)}" if missing else None


def _has_path(root: Any, path: list[str]) -> bool:
    """promptfoo walks its parsed object: a tag is a key, and a repeated tag is a list, which
    only a number indexes."""
    if not path or path[0] != root.tag:
        return False
    current = [root]
    for key in path[1:]:
        if len(current) > 1:
            current = current[int(key) : int(key) + 1] if key.isdigit() else []
        else:
            current = [child for child in current[0] if child.tag == key]
        if not current:
            return False
    return True


@CHECKS.register("is-xml", validate=_validate_xml)
def is_xml(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    problem = _xml_problem(output, _required(spec))
    return Verdict(problem is None, 0.0 if problem else 1.0, problem or "XML is valid and contains all required elements")


_TAG = re.compile(r"<(/?)([A-Za-z_][\w.:-]*)(?:\s[^<>]*?)?(/?)>")


def xml_candidates(text: str) -> list[tuple[int, int]]:
    """Spans of balanced elements in the answer, outermost first (promptfoo's
    ``extractXmlCandidates``: a closing tag that matches no open one resets the scan)."""
    stack: list[tuple[str, int]] = []
    found: list[tuple[int, int, int]] = []  # (depth, start, end)
    for tag in _TAG.finditer(text):
        closing, name, self_closing = tag.groups()
        if self_closing:
            found.append((len(stack), tag.start(), tag.end()))
        elif not closing:
            stack.append((name, tag.start()))
        elif stack and stack[-1][0] == name:
            _, start = stack.pop()
            found.append((len(stack), start, tag.end()))
        else:
            stack.clear()
    return [(start, end) for _, start, end in sorted(found)]


@CHECKS.register("contains-xml", validate=_validate_xml)
def contains_xml(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    candidates = xml_candidates(output)
    if not candidates:
        return Verdict(False, 0.0, "No XML content found in the output")
    problem = ""
    for start, end in candidates:
        problem = _xml_problem(output[start:end], _required(spec)) or ""
        if not problem:
            return Verdict(True, 1.0, "XML is valid and contains all required elements", (start, end))
    return Verdict(False, 0.0, f"No valid XML content found matching the requirements ({problem})")


_HTML_ELEMENTS = frozenset(
    "html head title base link meta style body article section nav aside h1 h2 h3 h4 h5 h6 header footer "
    "address p hr pre blockquote ol ul li dl dt dd figure figcaption main div a em strong small s cite q "
    "dfn abbr ruby rt rp data time code var samp kbd sub sup i b u mark bdi bdo span br wbr img iframe "
    "embed object param picture source video audio track map area svg math script noscript canvas ins del "
    "table caption colgroup col tbody thead tfoot tr td th form label input button select datalist "
    "optgroup option textarea output progress meter fieldset legend details summary dialog menu slot "
    "template".split()
)
_MAX_HTML = 10 * 1024 * 1024


def html_problem(text: str) -> str | None:
    """promptfoo's ``validateHtml``: parsed as HTML5, no loose text outside tags, and at least one
    element of HTML's vocabulary (or a custom element) that the parser did not add itself."""
    import html5lib  # type: ignore[import-untyped]

    trimmed = text.strip()
    if not trimmed:
        return "Output is empty"
    if len(trimmed) > _MAX_HTML:
        return "Output exceeds maximum size limit"
    if re.match(r"\s*<\?xml", trimmed, re.IGNORECASE):
        return "Output appears to be XML, not HTML"
    document = html5lib.parse(trimmed, treebuilder="etree", namespaceHTMLElements=False)
    body = document.find("body")
    lowered = trimmed.lower()
    if body is not None and "<body" not in lowered:
        loose = [body.text or ""] + [child.tail or "" for child in body]
        if any(part.strip() for part in loose):
            return "Output must be wrapped in HTML tags"
    for element in document.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in ("html", "head", "body") and f"<{tag}" not in lowered:
            continue  # added by the parser, not written
        if tag in _HTML_ELEMENTS or "-" in tag:
            return None
    return "Output does not contain recognized HTML elements"


@CHECKS.register("is-html")
def is_html(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    problem = html_problem(output)
    return Verdict(problem is None, 0.0 if problem else 1.0, problem or "Output is valid HTML")


_INDICATORS = (
    (re.compile(r"<[a-zA-Z][a-zA-Z0-9-]*(?:\s[^>]*)?/>"), 1),  # self-closing tag
    (re.compile(r"&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);"), 1),  # entity
    (re.compile(r"<!DOCTYPE\s+html", re.IGNORECASE), 2),
    (re.compile(r"<!--[^-]*(?:-[^-]+)*-->"), 1),  # comment
    (re.compile(r"\s[a-zA-Z-]+=\s*[\"'][^\"']*[\"']"), 1),  # attribute
    (re.compile(r"<(html|head|body|div|span|p|a|img|h[1-6]|ul|ol|li|table|tr|td|th|form|input|button|script|style|link|meta|br|hr)\b", re.IGNORECASE), 2),
)
_OPENING = re.compile(r"<[a-zA-Z][a-zA-Z0-9-]*(?:\s[^>]*)?>")
_CLOSING = re.compile(r"</[a-zA-Z][a-zA-Z0-9-]*\s*>")


def html_indicators(text: str) -> int:
    """promptfoo's ``containsHtml`` score: two or more means the text contains HTML."""
    if len(text) > _MAX_HTML:
        return 0
    tags = bool(_OPENING.search(text)) + bool(_CLOSING.search(text))
    return tags + sum(points for pattern, points in _INDICATORS if pattern.search(text))


@CHECKS.register("contains-html")
def contains_html(output: str, spec: CheckSpec, ctx: CheckContext) -> Verdict:
    found = html_indicators(output) >= 2
    return Verdict(found, 1.0 if found else 0.0, "the answer contains HTML" if found else "Expected output to contain HTML content")
