"""A customer, end to end on a phone: open a journey's public link without an account, say where
it got hard, answer the effort question, leave an e-mail address with consent, and get the
thank-you page; the feedback lands as a customer flag and a CES answer."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from workflow.adapters import tables as t


def test_a_customer_reports_friction_on_a_phone_without_an_account(browser, make, session):
    org = make.org("Crash Cover Insurance")
    journey = make.model(org, "insurance_claim.yaml")["file_claim"]
    flags_before = set(session.scalars(select(t.Flag.id)))
    page = browser.page(phone=True)

    page.goto(f"/j/{journey.public_token}")
    expect(page.get_by_role("heading", name=journey.name, level=1)).to_be_visible()
    expect(page.get_by_text("Crash Cover Insurance", exact=True)).to_be_visible()
    # Only what the customer lived through, in their words: nothing internal.
    main = page.get_by_role("main")
    expect(main).to_contain_text("Send us your claim form")
    for internal in ("Claims handler", "Re-key claim form", "NVA", "Log in"):
        expect(page.locator("body")).not_to_contain_text(internal)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "page wider than phone"
    browser.shot(page, "form")

    page.get_by_role("radio", name="Send us your claim form").check()
    page.get_by_role("radio", name="I was asked for the same thing twice").check()
    effort = page.get_by_role("group", name=re.compile("made it easy"))
    effort.get_by_role("radio", name=re.compile(r"^2\b")).check()
    page.get_by_label("What happened?").fill(
        "I told the hotline everything, then the form asked for all of it again."
    )
    page.get_by_label("Your e-mail address (optional)").fill("pat@customer.example")
    page.get_by_label("Yes, e-mail me when something changes because of this.").check()
    browser.shot(page, "filled")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("heading", name="Thank you", level=1)).to_be_visible()
    expect(page.get_by_text("We will e-mail you when something changes")).to_be_visible()
    expect(page.get_by_role("link", name="See what we have changed so far")).to_be_visible()
    browser.shot(page, "thanks")

    session.expire_all()
    new = session.scalars(select(t.Flag).where(t.Flag.id.not_in(flags_before))).all()
    assert [(f.source, f.step_id, f.category) for f in new] == [
        ("customer", "claim_form", "asked_twice")
    ]
    answer = session.scalars(select(t.CesAnswer).where(t.CesAnswer.flag_id == new[0].id)).one()
    assert answer.score == 2
