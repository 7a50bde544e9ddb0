"""A process owner, end to end in a browser: create a process, add steps and watch the diagram
follow each save, read the history, restore an older version and export the YAML."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from workflow.yaml_format import loads_model


def test_an_owner_maps_a_process_restores_a_version_and_exports_it(browser, make, log_in):
    org = make.org("Card Bank")
    owner = make.user(org, "owner", name="Olu Owner")
    page = browser.page()
    log_in(page, owner)

    page.get_by_role("link", name="New process").click()
    page.get_by_label("Name").fill("Replace a lost card")
    page.get_by_role("radio", name=re.compile("^Employee process")).check()
    browser.shot(page, "new")
    page.get_by_role("button", name="Create process").click()

    expect(page.get_by_role("heading", name="Replace a lost card", level=1)).to_be_visible()
    diagram = page.locator(".owner-diagram svg")
    expect(diagram).to_be_visible()
    steps_drawn = diagram.locator('g.node[id^="step:"]')
    expect(steps_drawn).to_have_count(2)
    browser.shot(page, "created")

    add_step = page.locator("form.owner-quick")
    for number, name in enumerate(("Check identity", "Order new card"), start=3):
        add_step.get_by_label("Name").fill(name)
        if number == 4:
            _place_after(add_step, "Check identity")
        add_step.get_by_role("button", name="Add step").click()
        expect(steps_drawn).to_have_count(number)
        expect(diagram).to_contain_text(name)
        browser.shot(page, f"added-{name}")

    page.get_by_role("navigation", name=re.compile("^Process")).get_by_role(
        "link", name="History"
    ).click()
    expect(page.get_by_role("heading", name="History of Replace a lost card")).to_be_visible()
    versions = page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile("View")))
    expect(versions).to_have_count(3)
    browser.shot(page, "history")

    page.get_by_role("link", name="Restore version 2").click()
    expect(page.get_by_role("heading", name=re.compile("^Restore version 2"))).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Order new card")
    browser.shot(page, "restore-confirm")
    page.get_by_role("button", name="Restore version 2").click()

    expect(page.get_by_role("main")).to_contain_text("Version 4")
    expect(steps_drawn).to_have_count(3)
    expect(diagram).to_contain_text("Check identity")
    expect(diagram).not_to_contain_text("Order new card")
    browser.shot(page, "restored")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export YAML").click()
    text = download.value.path().read_text(encoding="utf-8")
    model = loads_model(text, download.value.suggested_filename)
    (process,) = model.processes
    assert process.name == "Replace a lost card"
    names = {step.name for step in process.steps()}
    assert "Check identity" in names and "Order new card" not in names


def _place_after(form, step_name: str) -> None:
    """Put the new step on the flow that leaves ``step_name``."""
    place = form.get_by_label("Place it")
    options = place.locator("option").all_inner_texts()
    chosen = next(o for o in options if o.startswith(f"After “{step_name}”"))
    place.select_option(label=chosen)
