"""Stored cross-site scripting swept through every text a user can store and every page that
shows it.

Each text field anyone can fill (the organisation's and users' names, an imported model's
process, lane and step texts, flags, customer feedback, review comments and reasons, API token
names, an import's file name) is filled with hostile payloads: script tags, attribute and
``</textarea>`` breakers, SVG, ``javascript:`` URLs, template syntax, a spreadsheet formula and
unicode direction overrides. Then every page each role can open, the public customer pages,
the JSON API, the SVG maps and the CSV export are read, and an HTML/XML parser checks that no
payload became an element, an attribute, an event handler or a URL, and that no template was
evaluated. Each payload carries a marker, so what is found is traced to its payload.

E-mail addresses built from the same payloads are swept in ``test_hostile_email``.

The counts (fields x payloads x pages) are printed with ``pytest -s``.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from lxml import etree, html

from tests.conftest import MODELS, _wipe, app_config
from tests.test_access import (
    API_PREFIX,
    ENDPOINTS,
    ROLES,
    World,
    allowed,
    client_for,
    url,
)
from web import create_app, database
from workflow.adapters import repository as repo
from workflow.analysis import analyze
from workflow.services import accounts, api_tokens, feedback, jobs, members, reviews, signals
from workflow.services.processes import import_model

#: Two groups of payloads, each short enough for a name field; one organisation per group.
PAYLOADS = [
    [
        '<script>alert("XSS1")</script>',
        '"><img src=x onerror=alert("XSS2")>',
        "javascript:alert('XSS3')",
        "</textarea><svg onload=alert('XSS4')>",
    ],
    [
        '=HYPERLINK("http://evil")XSS8 \u202e<b>XSS9</b>\u202c',
        "<svg><script>alert('XSS5')</script></svg>",
        "{{ 7*191919 }}XSS6{% if 1 %}",
        "' onmouseover='alert(7)' data-x='XSS7",
    ],
]
MARKERS = [f"XSS{n}" for n in range(1, 10)]
FIRST_GROUP = {"XSS1", "XSS2", "XSS3", "XSS4"}
#: What ``{{ 7*191919 }}`` would show if a template evaluated it.
EVALUATED = str(7 * 191919)
#: Elements a payload would make; none may carry a marker.
INJECTED_TAGS = ("script", "img", "svg", "b", "iframe", "textarea")
URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "poster", "data")
#: Free-text keys of the YAML format, filled on import.
TEXT_KEYS = {
    "name",
    "description",
    "customer_name",
    "text",
    "required_by",
    "notes",
    "question",
    "label",
}
TEXT_LISTS = {"systems", "outputs", "inputs"}


def marked(text: str) -> bool:
    """Whether ``text`` carries a marker, in any case (e-mail addresses are stored lower-case)."""
    upper = text.upper()
    return any(m in upper for m in MARKERS)


def hostile(group: int, original: str = "") -> str:
    return " ".join(PAYLOADS[group]) + (f" {original[:20]}" if original else "")


def poison(node, group: int, counter: list[int]):
    """The YAML tree with every free text prefixed by the group's payloads."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_KEYS and isinstance(value, str):
                node[key] = hostile(group, value)
                counter[0] += 1
            elif key in TEXT_LISTS and isinstance(value, list):
                node[key] = [hostile(group, str(v)) for v in value]
                counter[0] += len(value)
            else:
                poison(value, group, counter)
    elif isinstance(node, list):
        for item in node:
            poison(item, group, counter)
    return node


class HostileWorld(World):
    """One organisation per payload group, every text of it hostile; ids as in the access
    tests, so their URL builder reaches every page."""

    def __init__(self, session, app) -> None:
        self.orgs = {}
        self.fields: list[str] = []
        for group, name in enumerate(("Alpha", "Beta")):
            self.orgs[name] = self._build(session, app, group)
        session.commit()

    def _build(self, session, app, group: int) -> dict:
        text = hostile(group)
        fields = self.fields if group == 0 else []
        org = accounts.create_organisation(session, text)
        fields.append("organisation name")
        users = {
            role: accounts.create_user(
                session, org, f"{role}{group}@hostile.example", hostile(group, role), role, "x" * 12
            )
            for role in ROLES
        }
        fields.append("user names")
        tree = yaml.safe_load((MODELS / "insurance_claim.yaml").read_text(encoding="utf-8"))
        counter = [0]
        document = yaml.safe_dump(poison(tree, group, counter), allow_unicode=True)
        fields.append(f"model texts ({counter[0]} process, lane, step and flag texts)")
        rows = {r.key: r for r in import_model(session, org.id, None, document)}
        claims, journey = rows["claims"], rows["file_claim"]
        process = repo.parse_document(repo.current_version(session, claims).document).process
        task = next(s.id for s in process.steps() if s.kind.value == "task")
        flag = signals.flag_step(
            session, users["staff"], claims, task, category="waiting", severity=3, text=text
        )
        fields.append("staff flag text")
        members.add_member(session, claims, users["staff"], actor_id=None)
        journey_process = repo.parse_document(
            repo.current_version(session, journey).document
        ).process
        journey_step = next(s.id for s in journey_process.steps() if s.kind.value == "task")
        visible = feedback.customer_steps(journey_process)[0].id
        feedback.submit_feedback(
            session, journey, visible, "waiting", 2, text, "x@hostile.example", True
        )
        fields.append("customer feedback text")
        reviews.set_flag_status(session, users["reviewer"], flag, "addressed", text)
        fields.append("review reason of a flag")
        api_tokens.create_token(session, users["staff"], text[:100])
        fields.append("API token name")
        job = jobs.submit(
            session,
            None,
            org_id=org.id,
            user_id=users["owner"].id,
            kind="steps_csv",
            params={"filename": text[:200], "name": text[:200]},
        )
        fields.append("import file name")
        session.flush()
        model, _rows = repo.build_model(session, org)
        proposal = next(
            p.id for p in analyze(model, simulation_runs=0).proposals if p.process == "claims"
        )
        return {
            "org": org,
            "users": users,
            "claims": claims,
            "journey": journey,
            "task": task,
            "journey_step": journey_step,
            "lane": process.lanes[0].id,
            "flag": flag,
            "job": job,
            "proposal": proposal,
        }

    def values(self, endpoint: str, name: str) -> dict[str, object]:
        values = super().values(endpoint, name)
        values["key"] = self.orgs[name]["proposal"]
        return values


@pytest.fixture(scope="module")
def hostile_site(database_url, tmp_path_factory):
    app = create_app(app_config(database_url, tmp_path_factory.mktemp("hostile")))
    engine = database.engine(app)
    _wipe(engine)
    with database.session_factory(app)() as session:
        world = HostileWorld(session, app)
    for name in ("Alpha", "Beta"):
        _comment_through_the_form(app, world, name)
    yield app, world
    _wipe(engine)
    engine.dispose()


def _comment_through_the_form(app, world, name: str) -> None:
    """Review comments and a rejection reason, sent as a reviewer would."""
    group = 0 if name == "Alpha" else 1
    reviewer = client_for(app, world.orgs[name]["users"]["reviewer"])
    comment, _ = url(app, world, "review.comment", name)
    decision, _ = url(app, world, "review.decision", name)
    assert reviewer.post(comment, data={"text": hostile(group), "version": 1}).status_code == 302
    rejected = reviewer.post(
        decision, data={"decision": "reject", "reason": hostile(group), "version": 1}
    )
    assert rejected.status_code == 302
    if group == 0:
        world.fields += ["review comment", "proposal rejection reason"]


# --- the checks -------------------------------------------------------------------------------
def html_problems(text: str) -> list[str]:
    """What a payload made of the page: elements, event handlers, script URLs, evaluation."""
    problems = []
    document = html.fromstring(text)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for attribute, value in element.attrib.items():
            if attribute.lower().startswith("on"):
                problems.append(f"event handler {attribute}={value[:60]!r} on <{element.tag}>")
            if marked(attribute) or attribute in ("data-x",):
                problems.append(f"attribute {attribute!r} made on <{element.tag}>")
            if attribute.lower() in URL_ATTRIBUTES and _script_url(value):
                problems.append(f"{attribute}={value[:60]!r} on <{element.tag}>")
        if element.tag in INJECTED_TAGS:
            own = (element.text or "") + " ".join(element.attrib.values())
            if element.tag == "textarea":
                own = " ".join(element.attrib.values())
            if marked(own):
                problems.append(f"<{element.tag}> made by a payload: {own[:80]!r}")
    if EVALUATED in text:
        problems.append(f"template syntax was evaluated ({EVALUATED} on the page)")
    return problems


def _script_url(value: str) -> bool:
    cleaned = "".join(ch for ch in value if ch.isprintable() and not ch.isspace()).lower()
    return cleaned.startswith(("javascript:", "vbscript:", "data:text/html"))


def svg_problems(data: bytes) -> list[str]:
    problems = []
    root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local in ("script", "foreignObject", "iframe"):
            problems.append(f"<{local}> in an SVG")
        for attribute, value in element.attrib.items():
            name = etree.QName(attribute).localname
            if name.lower().startswith("on"):
                problems.append(f"event handler {name} in an SVG")
            if name in ("href",) and _script_url(value):
                problems.append(f"href={value[:60]!r} in an SVG")
    return problems


def shown(text: str) -> set[str]:
    upper = text.upper()
    return {m for m in MARKERS if m in upper}


class Sweep:
    def __init__(self) -> None:
        self.pages = 0
        self.problems: list[str] = []
        self.markers_seen: set[str] = set()
        self.pages_with_payloads = 0

    def read(self, where: str, response) -> None:
        if response.status_code != 200:
            return
        self.pages += 1
        body = response.get_data()
        kind = response.content_type or ""
        text = body.decode("utf-8", "replace")
        seen = shown(text)
        self.markers_seen |= seen
        self.pages_with_payloads += bool(seen)
        if "svg" in kind:
            found = svg_problems(body)
        elif "html" in kind:
            found = html_problems(text)
        elif "json" in kind:
            json.loads(text)
            found = [f"template evaluated ({EVALUATED})"] if EVALUATED in text else []
        elif "csv" in kind:
            found = csv_problems(text)
        else:
            found = []
        self.problems += [f"{where}: {p}" for p in found]


def csv_problems(text: str) -> list[str]:
    problems = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and marked(cell):
                problems.append(f"formula cell {cell[:60]!r}")
    return problems


def crawl(app, world, name: str) -> Sweep:
    """Every page of organisation ``name`` as each role, its flag's own page as its author,
    and the public pages of its journey."""
    sweep = Sweep()
    users = world.orgs[name]["users"]
    for role in ROLES:
        client = client_for(app, users[role])
        for endpoint in ENDPOINTS:
            path, methods = url(app, world, endpoint, name)
            if role in allowed(endpoint) and "GET" in methods:
                sweep.read(f"{role} {path}", client.get(path))
    flag_page, _ = url(app, world, "staff.flag", name)
    sweep.read(f"staff {flag_page}", client_for(app, users["staff"]).get(flag_page))
    token = world.orgs[name]["journey"].public_token
    anonymous = app.test_client()
    for page in (f"/j/{token}", f"/j/{token}/changes", f"/j/{token}/poster", f"/j/{token}/qr.svg"):
        sweep.read(f"anonymous {page}", anonymous.get(page))
    return sweep


@pytest.mark.parametrize("group, name", [(0, "Alpha"), (1, "Beta")], ids=["group1", "group2"])
def test_no_stored_text_becomes_markup_on_any_page_for_any_role(hostile_site, group, name):
    app, world = hostile_site
    sweep = crawl(app, world, name)
    print("\nfields filled: " + "; ".join(world.fields))
    print(
        f"stored XSS, HTML pages: {len(world.fields)} kinds of field x {len(PAYLOADS[group])} "
        f"payloads x {sweep.pages} pages read ({sweep.pages_with_payloads} showed a payload); "
        f"problems: {len(sweep.problems)}"
    )
    assert sweep.problems == []
    expected = FIRST_GROUP if group == 0 else set(MARKERS) - FIRST_GROUP
    assert sweep.markers_seen == expected, "every payload of the group was shown"
    assert sweep.pages_with_payloads >= 20


def read_api_and_exports(app, world, name: str, sweep: Sweep) -> None:
    """Every JSON API GET route with an admin's token, the SVG maps and the steps CSV export
    of organisation ``name``, into ``sweep``."""
    admin = world.orgs[name]["users"]["admin"]
    with database.session_factory(app)() as session:
        from workflow.adapters import tables as t

        token = api_tokens.create_token(session, session.get(t.User, admin.id), "sweep")[1]
        session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    values = world.values("api", name)
    values["process_id"] = world.orgs[name]["claims"].id
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(API_PREFIX) or "GET" not in rule.methods:
            continue
        with app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, **{k: values[k] for k in rule.arguments})
        response = client.get(path, headers=headers)
        assert response.status_code < 500, path
        if response.status_code == 200 and "json" in response.content_type:
            assert response.headers.get("X-Content-Type-Options") == "nosniff", path
        sweep.read(f"api {path}", response)
    process_id = world.orgs[name]["claims"].id
    browser = client_for(app, admin)
    for view in ("map", "blueprint", "heatmap"):
        response = client.get(
            f"/api/v1/processes/{process_id}/render?view={view}&format=svg", headers=headers
        )
        sweep.read(f"svg {view}", response)
    sweep.read("csv export", browser.get(f"/processes/{process_id}/export.csv"))


def test_api_svg_and_csv_outputs_carry_the_text_inertly(hostile_site):
    app, world = hostile_site
    sweep = Sweep()
    for name in ("Alpha", "Beta"):
        read_api_and_exports(app, world, name, sweep)
    print(
        f"\nstored XSS, API/SVG/CSV: {len(world.fields)} kinds of field x {len(MARKERS)} "
        f"payloads x {sweep.pages} responses; problems: {len(sweep.problems)}"
    )
    assert sweep.problems == []
    assert sweep.pages >= 20
    assert sweep.markers_seen == set(MARKERS)


@pytest.mark.parametrize(
    "page",
    [
        f"<p>{PAYLOADS[0][0]}</p>",
        f"<p>{PAYLOADS[0][1]}</p>",
        f'<a href="{PAYLOADS[0][2]}">x</a>',
        f"<textarea>{PAYLOADS[0][3]}</textarea>",
        f"<p>{PAYLOADS[1][0]}</p>",
        f"<div>{PAYLOADS[1][1]}</div>",
        "<p>{}</p>".format(PAYLOADS[1][2].replace("{{ 7*191919 }}", EVALUATED)),
        f"<a title='{PAYLOADS[1][3]}'>x</a>",
    ],
)
def test_the_checks_catch_each_payload_left_unescaped(page):
    assert html_problems(f"<html><body>{page}</body></html>")


def test_the_checks_catch_a_formula_cell_and_script_in_an_svg():
    assert csv_problems(f"name\n{PAYLOADS[1][0]}\n")
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert svg_problems(svg)
    linked = b'<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:x()"/></svg>'
    assert svg_problems(linked)
