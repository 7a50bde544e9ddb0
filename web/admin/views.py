from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from web.admin.forms import ROLE_HINT, InviteForm, OrganisationForm, RoleForm
from web.database import db, session_factory
from web.security import current_user, org_user_or_404, roles_required
from workflow.adapters.tables import utcnow
from workflow.services import accounts, admin, org_archive
from workflow.services.errors import InvalidInput

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _attach(form: FlaskForm, error: InvalidInput) -> None:
    """Show a service's refusal next to the field it names, or above the form."""
    field = form._fields.get(error.field) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        form.form_errors.append(str(error))


def _invitation_page(user, token: str, *, resent: bool):
    link = url_for("auth.accept_invite", token=token, _external=True)
    return render_template(
        "admin/invitation.html",
        user=user,
        link=link,
        resent=resent,
        invite_days=accounts.INVITE_DAYS,
    )


@bp.get("/users")
@roles_required("admin")
def users():
    page = request.args.get("page", "1")
    listing = admin.user_page(db(), current_user().org_id, int(page) if page.isdigit() else 1)
    return render_template("admin/users.html", listing=listing, state=admin.invitation_state)


@bp.route("/users/invite", methods=["GET", "POST"])
@roles_required("admin")
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user, token = accounts.invite_user(
                db(), current_user(), form.email.data or "", form.name.data or "", form.role.data
            )
        except InvalidInput as exc:
            _attach(form, exc)
        else:
            db().commit()
            return _invitation_page(user, token, resent=False)
    status = 422 if form.errors else 200
    return render_template(
        "admin/invite.html", form=form, role_hint=ROLE_HINT, invite_days=accounts.INVITE_DAYS
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def user(user_id: int):
    member = org_user_or_404(user_id)
    form = RoleForm(role=member.role)
    if form.validate_on_submit():
        try:
            accounts.set_role(db(), current_user(), member, form.role.data, member.active)
        except InvalidInput as exc:
            db().rollback()
            _attach(form, exc)
        else:
            db().commit()
            flash(f"{member.name} is now: {accounts.ROLE_WORDS[member.role]}.", "success")
            return redirect(url_for("admin.user", user_id=member.id))
    status = 422 if form.errors else 200
    return render_template(
        "admin/user.html",
        member=member,
        form=form,
        state=admin.invitation_state(member),
        role_hint=ROLE_HINT,
    ), status


@bp.route("/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@roles_required("admin")
def deactivate(user_id: int):
    member = org_user_or_404(user_id)
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            accounts.set_role(db(), current_user(), member, member.role, False)
        except InvalidInput as exc:
            db().rollback()
            form.form_errors.append(str(exc))
        else:
            db().commit()
            flash(f"{member.name} can no longer log in; their sessions have ended.", "success")
            return redirect(url_for("admin.user", user_id=member.id))
    status = 422 if form.errors else 200
    return render_template("admin/deactivate.html", member=member, form=form), status


@bp.post("/users/<int:user_id>/reactivate")
@roles_required("admin")
def reactivate(user_id: int):
    member = org_user_or_404(user_id)
    accounts.set_role(db(), current_user(), member, member.role, True)
    db().commit()
    flash(f"{member.name} can log in again.", "success")
    return redirect(url_for("admin.user", user_id=member.id))


@bp.post("/users/<int:user_id>/invitation")
@roles_required("admin")
def resend(user_id: int):
    member = org_user_or_404(user_id)
    try:
        token = admin.reissue_invite(db(), current_user(), member)
    except InvalidInput as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.user", user_id=member.id))
    db().commit()
    return _invitation_page(member, token, resent=True)


@bp.route("/organisation", methods=["GET", "POST"])
@roles_required("admin")
def organisation():
    organisation = current_user().organisation
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        try:
            admin.update_organisation(
                db(),
                current_user(),
                name=form.name.data or "",
                pulse_enabled=bool(form.pulse_enabled.data),
            )
        except InvalidInput as exc:
            db().rollback()
            _attach(form, exc)
        else:
            db().commit()
            flash("The organisation settings are saved.", "success")
            return redirect(url_for("admin.organisation"))
    status = 422 if form.errors else 200
    return render_template("admin/organisation.html", form=form), status


@bp.get("/organisation/export")
@roles_required("admin")
def export():
    """The organisation's archive (users with password hashes included): admins only, never
    cached, downloaded rather than shown."""
    organisation = current_user().organisation
    try:
        _name, data = org_archive.export_snapshot(
            session_factory(), organisation.id, actor_id=current_user().id
        )
    except InvalidInput as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.organisation"))
    filename = f"{organisation.slug}-{utcnow():%Y%m%d-%H%M}.leanlane.zip"
    return Response(
        data,
        mimetype="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
