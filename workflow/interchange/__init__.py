"""Exchanging processes with other tools: BPMN 2.0 files, event logs and spreadsheets."""
