"""Frontline staff, end to end in a browser: open a process, select a step on the map and flag it
in three clicks, say "me too" on a colleague's flag, and follow both on "My flags"."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_a_staff_member_flags_a_step_from_the_map_in_three_clicks_and_follows_it(
    browser, make, log_in
):
    org = make.org("Claims Ltd")
    staff = make.user(org, "staff", name="Sam Staff")
    claims = make.model(org, "insurance_claim.yaml")["claims"]
    page = browser.page()
    log_in(page, staff)

    page.get_by_role("link", name=claims.name, exact=True).click()
    expect(page.get_by_role("heading", name=claims.name, level=1)).to_be_visible()
    diagram = page.locator("#process-map")
    expect(diagram.locator("svg")).to_be_visible()
    browser.shot(page, "process")

    # Click 1: the step on the diagram opens the step with its flag form. Chromium shows an
    # inline SVG as one image to assistive technology, so its links are found by the step's
    # stable id in the SVG; the step table below the map offers the same links by name.
    diagram.locator('[id="a_step:claims:register"] > a').click()
    expect(page.get_by_role("heading", name="Open claim file", level=1)).to_be_visible()
    browser.shot(page, "step")
    # Click 2: what is wrong (severity keeps its default). Click 3: send.
    page.get_by_role("radio", name="Waiting", exact=True).check()
    page.get_by_role("button", name="Send flag").click()
    expect(page.get_by_role("heading", name="Flag sent")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("Your flag on “Open claim file” is recorded")
    browser.shot(page, "flagged")

    # "Me too" on a colleague's flag on the step before, instead of a duplicate.
    page.goto(f"/processes/{claims.id}/steps/rekey")
    colleague = page.locator(".flag-item").first
    expect(colleague).to_contain_text("A colleague")
    colleague.get_by_role("button", name=re.compile(r"^Me too")).click()
    expect(page.get_by_text("Added your “me too”.")).to_be_visible()
    expect(page.locator(".flag-item").first).to_contain_text("said “me too”")
    expect(
        page.locator(".flag-item").first.get_by_role("button", name="Take back my “me too”")
    ).to_be_visible()
    browser.shot(page, "me-too")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="My flags").click()
    expect(page.get_by_role("heading", name="My flags")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Open claim file")
    expect(row).to_contain_text(claims.name)
    expect(row).to_contain_text("Waiting")
    expect(row).to_contain_text("New")
    browser.shot(page, "my-flags")
