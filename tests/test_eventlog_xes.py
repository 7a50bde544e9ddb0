"""Reading XES logs: the attributes pm4py reads, gzip, and refusal of hostile XML."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import pytest

from workflow.interchange.eventlog import EventLogError
from workflow.interchange.eventlog_xes import read_xes_log

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
    document = "<log><trace>" + "<list>" * 100 + "</list>" * 100 + "</trace></log>"
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
