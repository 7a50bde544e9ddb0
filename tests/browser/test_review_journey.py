"""An improvement team member, end to end in a browser: read a journey's dashboard (heatmap and
hotspots), link a customer's flag to a proposal, accept it and apply it into a new version; the
flag is addressed, the public "you said, we did" page lists it and the customer's reply waits in
the outbox."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from workflow.services import feedback

CUSTOMER_SAID = "The form asked me for everything I had just told the hotline."


def test_a_reviewer_applies_a_proposal_and_the_customer_hears_back(browser, make, session, log_in):
    org = make.org("Crash Cover Insurance")
    reviewer = make.user(org, "reviewer", name="Rae Reviewer")
    journey = make.model(org, "insurance_claim.yaml")["file_claim"]
    email = "pat@customer.example"
    feedback.submit_feedback(
        session, journey, "claim_form", "asked_twice", 2, CUSTOMER_SAID, email, consent=True
    )
    session.commit()
    page = browser.page()
    log_in(page, reviewer)

    page.get_by_role("main").get_by_role("link", name=journey.name, exact=True).click()
    title = page.get_by_role("heading", name=re.compile(f"^{journey.name}"), level=1)
    expect(title).to_be_visible()
    expect(page.get_by_role("heading", name="Pain heatmap")).to_be_visible()
    expect(page.locator('figure[aria-label^="Pain heatmap"] svg')).to_be_visible()
    hotspots = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Why"))
    expect(hotspots.get_by_role("row")).not_to_have_count(0)
    expect(hotspots).to_contain_text("Fill in the claim form")
    browser.shot(page, "dashboard")

    # Link the customer's flag to the proposal that combines the claim form with the inspection.
    flag = page.locator(".flag-item").filter(has_text=CUSTOMER_SAID)
    flag.locator("summary").click()
    proposal = flag.get_by_label("Addressed by proposal")
    combine = next(o for o in proposal.locator("option").all_inner_texts() if "Combine" in o)
    proposal.select_option(label=combine)
    flag.get_by_role("button", name="Save link").click()
    flag = page.locator(".flag-item").filter(has_text=CUSTOMER_SAID)
    expect(flag).to_contain_text("Linked to:")
    browser.shot(page, "linked")

    flag.locator(".flag-link-now").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Linked flags")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(CUSTOMER_SAID[:40])
    page.get_by_role("radio", name="Accept").check()
    page.get_by_label("Reason").fill("One visit instead of two for every customer.")
    browser.shot(page, "proposal")
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".title-row .tag")).to_have_text(re.compile("accepted", re.I))

    page.get_by_role("link", name=journey.name, exact=True).click()
    page.get_by_role("link", name=re.compile(r"^Apply 1 accepted proposal")).click()
    expect(page.get_by_role("heading", name="Apply accepted proposals")).to_be_visible()
    browser.shot(page, "apply-confirm")
    page.get_by_role("button", name=re.compile(r"^Apply into version 2")).click()

    expect(page.get_by_role("heading", name=re.compile("version 2"))).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^All \(")).click()
    addressed = page.locator(".flag-item").filter(has_text=CUSTOMER_SAID)
    expect(addressed.locator(".status")).to_have_text(re.compile("addressed", re.I))
    browser.shot(page, "applied")

    page.goto("/review/outbox")
    expect(page.get_by_role("heading", name="Outbox")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(email)
    browser.shot(page, "outbox")

    customer = browser.page(phone=True)
    customer.goto(f"/j/{journey.public_token}/changes")
    expect(customer.get_by_role("heading", name="You said, we did")).to_be_visible()
    change = customer.locator(".change").filter(has_text="Combine")
    expect(change).to_have_count(1)
    expect(change).to_contain_text("We changed it")
    expect(customer.locator("body")).not_to_contain_text(email)
    browser.shot(customer, "you-said-we-did")
