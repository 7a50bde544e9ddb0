"""The browser set-up itself: a staff member logs in through the real form (with its CSRF
token) and sees the processes of the organisation."""

from __future__ import annotations

from playwright.sync_api import expect


def test_a_staff_member_logs_in_and_sees_the_process_list(browser, make, log_in):
    org = make.org("Smoke Ltd")
    staff = make.user(org, "staff", name="Sam Staff")
    rows = make.model(org, "insurance_claim.yaml")
    page = browser.page()

    page.goto("/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    browser.shot(page, "login")
    log_in(page, staff)

    expect(page.get_by_role("heading", name="Processes", exact=True)).to_be_visible()
    for row in rows.values():
        expect(page.get_by_role("table").get_by_text(row.name, exact=True)).to_be_visible()
    expect(page.get_by_text("Sam Staff")).to_be_visible()
    browser.shot(page, "processes")


def test_a_login_form_posted_without_its_csrf_token_is_refused(browser, make):
    staff = make.user(make.org(), "staff")
    page = browser.page()
    page.goto("/login")
    page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    page.get_by_label("E-mail").fill(staff.email)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="The form had expired")).to_be_visible()
    expect(page.get_by_role("heading", name="Processes", exact=True)).to_have_count(0)
    browser.shot(page, "refused")
