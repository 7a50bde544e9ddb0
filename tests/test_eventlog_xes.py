"""Reading XES logs: the attributes pm4py reads, gzip, and refusal of hostile XML."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.interchange import xes_fast
from workflow.interchange.eventlog import EventLogError
from workflow.interchange.eventlog_xes import (
    MAX_DEPTH,
    MAX_XES_BYTES,
    _blocks,
    _read_with_expat,
    read_xes_log,
)

DATA = Path(__file__).parent / "data" / "eventlogs"

LOG = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
  <string key="concept:name" value="a log attribute, not a case"/>
  <trace>
    <string key="concept:name" value="c1"/>
    <event>
      <string key="concept:name" value="register &amp; check"/>
      <string key="org:resource" value="ann"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00.000+01:00"/>
      <list key="notes"><string key="concept:name" value="nested, ignored"/></list>
    </event>
    <event>
      <date key="time:timestamp" value="2024-01-01T09:30:00.000Z"/>
      <string key="concept:name" value="decide"/>
    </event>
  </trace>
</log>
"""


def write(tmp_path: Path, data: str | bytes, name: str = "log.xes") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def test_events_take_the_trace_name_as_case_and_are_ordered_by_time(tmp_path):
    log = read_xes_log(write(tmp_path, LOG))
    frame = log.frame
    assert frame["case"].cast(str).to_list() == ["c1", "c1"]
    assert frame["activity"].cast(str).to_list() == ["register & check", "decide"]
    assert frame["time"].to_list()[0] == dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)
    assert frame["resource"].to_list() == ["ann", None]


def test_gzip_compressed_logs_read_the_same(tmp_path):
    plain = read_xes_log(write(tmp_path, LOG))
    packed = read_xes_log(write(tmp_path, gzip.compress(LOG.encode()), "log.xes.gz"))
    assert packed.frame.equals(plain.frame)


def test_a_gzip_bomb_stops_at_the_limit(tmp_path):
    bomb = gzip.compress(b"<log>" + b" " * 5_000_000 + b"</log>")
    path = write(tmp_path, bomb, "bomb.xes.gz")
    with pytest.raises(EventLogError, match="decompresses to more than"):
        read_xes_log(path, max_bytes=1_000_000)


@pytest.mark.parametrize(
    "document",
    [
        '<?xml version="1.0"?><!DOCTYPE log [<!ENTITY x "y">]><log>&x;</log>',
        '<?xml version="1.0"?><!DOCTYPE log SYSTEM "file:///etc/passwd"><log/>',
        '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><log>&b;</log>',
    ],
)
def test_document_types_and_entities_are_refused(tmp_path, document):
    with pytest.raises(EventLogError, match="refused: declares a document type"):
        read_xes_log(write(tmp_path, document))


def test_deep_nesting_is_refused(tmp_path):
    document = "<log><trace>" + "<list key='k'>" * 100 + "</list>" * 100 + "</trace></log>"
    with pytest.raises(EventLogError, match="nested more than"):
        read_xes_log(write(tmp_path, document))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("", "empty"),
        ("<log><trace></log>", "not well-formed XML at line 1"),
        ("<log>&undefined;</log>", "not well-formed"),
        ("<html/>", "not an XES file"),
        ("<log><trace><string key='concept:name' value='c'/></trace></log>", "no events"),
        (
            "<log><trace><event><string key='concept:name' value='a'/></event></trace></log>",
            r"event 1 \(in trace 1, case 'trace 1'\) has no 'time:timestamp'",
        ),
        (
            "<log><trace><event><string key='concept:name' value='a'/>"
            "<date key='time:timestamp' value='soon'/></event></trace></log>",
            "row 1: column 'time:timestamp': 'soon' is not",
        ),
    ],
)
def test_broken_logs_give_one_clear_error(tmp_path, document, message):
    with pytest.raises(EventLogError, match=message):
        read_xes_log(write(tmp_path, document))


def test_a_corrupt_gzip_file_is_an_error(tmp_path):
    data = gzip.compress(LOG.encode())[:40]
    with pytest.raises(EventLogError, match="cannot read"):
        read_xes_log(write(tmp_path, data, "cut.xes.gz"))


def test_the_road_traffic_log_reads_every_event():
    log = read_xes_log(DATA / "roadtraffic100traces.xes")
    assert len(log) == 390
    assert log.columns["activity"] == "concept:name"


# --- the two ways through a file ------------------------------------------------------------------
EVENT_KEYS = {"activity": "concept:name", "time": "time:timestamp", "resource": "org:resource"}


def both_ways(path: Path):
    """The fast scanner's columns (None when it declined) and expat's, for the same file."""
    keys = {"case": "concept:name", **EVENT_KEYS}
    fast = xes_fast.scan(_blocks(path, MAX_XES_BYTES), EVENT_KEYS, "concept:name", MAX_DEPTH)
    return fast, _read_with_expat(path, keys, MAX_XES_BYTES)


def same(fast, slow) -> bool:
    return (
        fast.trace_names.equals(slow.trace_names)
        and fast.case_of_event.equals(slow.case_of_event)
        and all(fast.columns[k].equals(slow.columns[k]) for k in EVENT_KEYS)
    )


def facts(path: Path) -> list[tuple]:
    frame = read_xes_log(path).frame
    return list(zip(*(frame[c].cast(str).to_list() for c in frame.columns), strict=True))


REFERENCE = [
    ("c1", "register & check", "2024-01-01 09:00:00.000000+00:00", "ann"),
    ("c1", "decide", "2024-01-01 09:30:00.000000+00:00", None),
]

VARIATIONS = {
    "value before key, single and double quotes, line breaks inside tags": """<?xml version='1.0'?>
<log><trace><string value='c1' key="concept:name"/>
<event><string
   value="register &amp; check"
   key = 'concept:name' /><string key="org:resource" value='ann'/>
<date value="2024-01-01T10:00:00.000+01:00" key="time:timestamp"></date></event>
<event><date key="time:timestamp" value="2024-01-01T09:30:00Z"/>
<string key="concept:name" value="decide"></string></event></trace></log>""",
    "open and close tags with nested meta-attributes": """<log>
<trace><string key="concept:name" value="c1"><string key="meta" value="x"/></string>
<event><string key="concept:name" value="register &#38; check"><int key="n" value="1"/></string>
<string key="org:resource" value="ann"></string>
<date key="time:timestamp" value="2024-01-01T10:00:00+01:00"><list key="l"></list></date>
</event><event><string key="concept:name" value="decide"/>
<date key="time:timestamp" value="2024-01-01T09:30:00Z"/></event></trace></log>""",
    "the trace's name after its events, log-level globals, classifiers, extensions, comments": """\
<?xml version="1.0" encoding="UTF-8" ?>
<!-- written by hand -->
<log xes.version="1.0" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<global scope="trace"><string key="concept:name" value="not a case"/></global>
<global scope="event"><string key="concept:name" value="not an activity"/>
<date key="time:timestamp" value="1970-01-01T00:00:00Z"/></global>
<classifier name="Activity" keys="concept:name"/>
<string key="concept:name" value="the log's name"/>
<trace><event><string key="concept:name" value="register &amp; check"/>
<string key="org:resource" value="ann"/><!-- a note -->
<date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/></event>
<event><string key="concept:name" value="decide"/>
<date key="time:timestamp" value="2024-01-01T09:30:00Z"/></event>
<string key="concept:name" value="c1"/></trace></log>""",
    "CDATA and text between tags, which XES does not use": """<log><trace>
<string key="concept:name" value="c1"/><event>some text <![CDATA[<ignored> "quoted"]]>
<string key="concept:name" value="register &amp; check"/><string key="org:resource" value="ann"/>
<date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/></event>
<event><string key="concept:name" value="decide"/>
<date key="time:timestamp" value="2024-01-01T09:30:00Z"/></event></trace></log>""",
    "Windows line ends and a byte-order mark": "\ufeff"
    + LOG.replace("\n", "\r\n").replace(
        '<list key="notes"><string key="concept:name" value="nested, ignored"/></list>', ""
    ),
}


@pytest.mark.parametrize("document", list(VARIATIONS.values()), ids=list(VARIATIONS))
def test_the_variations_of_xes_read_the_same_events_both_ways(tmp_path, document):
    path = write(tmp_path, document)
    assert facts(path) == REFERENCE
    fast, slow = both_ways(path)
    assert fast is None or same(fast, slow)


@pytest.mark.parametrize(
    "name",
    ["open and close tags with nested meta-attributes", "Windows line ends and a byte-order mark"],
)
def test_plain_variations_take_the_fast_way(tmp_path, name):
    fast, slow = both_ways(write(tmp_path, VARIATIONS[name]))
    assert fast is not None and same(fast, slow)


def test_the_corpus_logs_take_the_fast_way_and_agree_with_expat():
    for path in sorted(DATA.glob("*.xes")):
        fast, slow = both_ways(path)
        assert fast is not None and same(fast, slow), path.name


def test_whitespace_and_references_in_values_read_as_xml_reads_them(tmp_path):
    document = LOG.replace("register &amp; check", "a\tb&#10;c&#x41;&lt;&quot;&apos;&gt;\nd")
    log = read_xes_log(write(tmp_path, document))
    assert log.frame["activity"].cast(str).to_list()[0] == "a b\ncA<\"'> d"


def test_a_log_larger_than_one_slice_reads_the_same(tmp_path, monkeypatch):
    document = LOG
    traces = "".join(
        f'<trace><string key="concept:name" value="c{n}"/>'
        f'<event><string key="concept:name" value="a{n % 3}"/>'
        f'<date key="time:timestamp" value="2024-01-01T10:{n % 60:02d}:00Z"/></event></trace>\n'
        for n in range(300)
    )
    path = write(tmp_path, document.replace("</log>", traces + "</log>"))
    whole = read_xes_log(path).frame
    monkeypatch.setattr(xes_fast, "SLICE", 97)
    fast, slow = both_ways(path)
    assert fast is not None and same(fast, slow)
    assert read_xes_log(path).frame.equals(whole)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            "<log><trace><event></trace></event></log>",
            "not well-formed XML at line 1, column 22: mismatched tag",
        ),
        ("<log><trace></trace>", "not well-formed XML at line 1.*no element found"),
        ("<log><trace/></log><log/>", "junk after document element"),
        (
            "<log>\n<event><string key='concept:name' value='a'/></event></log>",
            "refused: line 2: an <event> inside <log>: events belong in a <trace>",
        ),
        (
            "<log><trace><event><event/></event></trace></log>",
            "an <event> inside <event>",
        ),
        ("<log><trace><trace/></trace></log>", "a <trace> inside <trace>"),
        (
            "<log><trace><event><string value='a'/></event></trace></log>",
            r"<string> without a key: XES attributes need both",
        ),
        (
            "<log><trace><event><date key='time:timestamp'/></event></trace></log>",
            r"<date> without a value",
        ),
        ("<log><trace>\x01</trace></log>", "not well-formed.*invalid token"),
        ('<log><string key="a" value="x<y"/></log>', "not well-formed"),
        ('<log><string key="a" key="b" value="x"/></log>', "duplicate attribute"),
        ('<?xml version="1.0" encoding="klingon"?><log/>', "unknown encoding"),
        (
            '<log><!ENTITY x "y"></log>',
            "not well-formed",
        ),
        ("<log><!-- never closed </log>", "not well-formed"),
    ],
)
def test_malformed_xes_is_refused_with_what_is_wrong(tmp_path, document, message):
    with pytest.raises(EventLogError, match=message):
        read_xes_log(write(tmp_path, document))


def test_invalid_utf8_is_not_well_formed(tmp_path):
    path = write(tmp_path, LOG.encode().replace(b"ann", b"\xff\xfe"))
    with pytest.raises(EventLogError, match="not well-formed"):
        read_xes_log(path)


# --- properties -----------------------------------------------------------------------------------
QUOTES = {'"': "&quot;", "'": "&apos;"}


def _attribute(key: str, value: str, quote: str, order: bool, closed: bool, space: str) -> str:
    pairs = [f"key={quote}{key}{quote}", f"value={quote}{escape(value, QUOTES)}{quote}"]
    pairs = pairs if order else pairs[::-1]
    return f"<string{space}{space.join(pairs)}" + ("/>" if closed else "></string>")


names = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=6)


def layouts(quotes: list[str]):
    return st.tuples(
        st.sampled_from(quotes), st.booleans(), st.booleans(), st.sampled_from([" ", "\n  "])
    )


@st.composite
def documents(draw) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<log>']
    layout = layouts(draw(st.sampled_from([['"'], ['"', "'"]])))
    for case in range(draw(st.integers(0, 3))):
        parts.append("<trace>")
        if draw(st.booleans()):
            parts.append(_attribute("concept:name", draw(names), *draw(layout)))
        for event in range(draw(st.integers(0, 3))):
            parts.append("<event>")
            parts.append(_attribute("concept:name", draw(names), *draw(layout)))
            if draw(st.booleans()):
                parts.append(_attribute("org:resource", draw(names), *draw(layout)))
            stamp = f"2024-01-0{case + 1}T10:{event:02d}:00Z"
            parts.append(f'<date key="time:timestamp" value="{stamp}"/>')
            parts.append("</event>\n")
        parts.append("</trace>\n")
    parts.append("</log>\n")
    return "".join(parts)


@settings(max_examples=150, deadline=None)
@given(documents())
def test_the_fast_way_agrees_with_expat_whenever_it_reads_a_file(document):
    with tempfile.TemporaryDirectory() as folder:
        fast, slow = both_ways(write(Path(folder), document))
    assert fast is None or same(fast, slow)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_mutated_log_is_read_or_refused_never_a_crash(data):
    document = bytearray(LOG.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(document) - 1))
        change = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        byte = data.draw(st.sampled_from([*b"<>/\"'=&;!?- \n\x00\xffA"]))
        if change == "delete":
            del document[at]
        elif change == "insert":
            document.insert(at, byte)
        else:
            document[at] = byte
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), bytes(document))
        with contextlib.suppress(EventLogError):
            read_xes_log(path)


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16"])
def test_other_declared_encodings_read_the_same(tmp_path, encoding):
    document = LOG.replace("UTF-8", encoding).replace("ann", "Zoë")
    log = read_xes_log(write(tmp_path, document.encode(encoding)))
    assert log.frame["resource"].to_list() == ["Zoë", None]
