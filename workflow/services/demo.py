"""The demo organisation a first run creates: the shipped example processes and one user per
role, with random passwords shown once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.adapters import tables as t
from workflow.render import Renderer
from workflow.services import accounts
from workflow.services.processes import StepUrl, import_model
from workflow.vocabulary import Perspective

__all__ = ["DEMO_DOMAIN", "DEMO_ORG_NAME", "DemoUser", "demo_exists", "seed_demo"]

DEMO_ORG_NAME = "Demo organisation"
DEMO_DOMAIN = "demo.leanlane.example"
DEMO_PEOPLE = (
    ("admin", "Ada Admin"),
    ("owner", "Olu Owner"),
    ("staff", "Sam Staff"),
    ("reviewer", "Rae Reviewer"),
)


@dataclass(frozen=True)
class DemoUser:
    role: str
    email: str
    password: str


def demo_exists(session: Session) -> bool:
    return session.scalar(select(t.Organisation.id).limit(1)) is not None


def seed_demo(
    session: Session,
    models_dir: Path,
    *,
    renderer: Renderer | None = None,
    step_url: StepUrl | None = None,
) -> list[DemoUser]:
    """Create the demo organisation, its users and every model file of ``models_dir``."""
    org = accounts.create_organisation(session, DEMO_ORG_NAME)
    users = []
    created: list[t.User] = []
    for role, name in DEMO_PEOPLE:
        email = f"{role}@{DEMO_DOMAIN}"
        password = secrets.token_urlsafe(12)
        created.append(accounts.create_user(session, org, email, name, role, password))
        users.append(DemoUser(role, email, password))
    owner = next(u for u in created if u.role == "owner")
    staff = next(u for u in created if u.role == "staff")
    options = {"renderer": renderer} | ({"step_url": step_url} if step_url else {})
    for path in sorted(Path(models_dir).glob("*.yaml")):
        rows = import_model(
            session,
            org.id,
            owner.id,
            path.read_text(encoding="utf-8"),
            source=path.name,
            **options,
        )
        for row in rows:
            if row.perspective == Perspective.EMPLOYEE_PROCESS.value:
                session.add(t.ProcessMember(process_id=row.id, user_id=staff.id))
    session.flush()
    return users
