"""Keyboard only: the first key press offers the skip link, and a staff member flags a step
without touching the mouse."""

from __future__ import annotations

from playwright.sync_api import expect


def _tab_to(page, is_target: str, limit: int = 80) -> None:
    """Press Tab until ``is_target`` (a JS predicate on the focused element) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(element => {is_target})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached an element where {is_target}")


def test_a_staff_member_flags_a_step_with_the_keyboard_alone(browser, make, log_in):
    org = make.org("Keys Ltd")
    staff = make.user(org, "staff")
    claims = make.model(org, "insurance_claim.yaml")["claims"]
    page = browser.page()
    log_in(page, staff)
    page.goto(f"/processes/{claims.id}")

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    _tab_to(page, "element.textContent.trim() === 'Flag Open claim file'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Open claim file", level=1)).to_be_visible()

    _tab_to(page, "element.name === 'category'")
    page.keyboard.press("Space")
    chosen = page.evaluate("document.activeElement.value")
    assert page.locator(f'input[name=category][value="{chosen}"]').is_checked()
    browser.shot(page, "category-chosen")
    _tab_to(page, "element.type === 'submit' && element.textContent.includes('Send flag')")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="Flag sent")).to_be_visible()
    browser.shot(page, "sent")
