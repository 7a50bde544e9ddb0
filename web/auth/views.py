from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from web.auth.forms import ChangePasswordForm, LoginForm, NewPasswordForm
from web.database import db
from web.extensions import limiter
from web.security import current_user, log_in, log_out, login_required, safe_next
from workflow.services import accounts
from workflow.services.errors import InvalidInput, NotFound

bp = Blueprint("auth", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if current_user() is not None and request.method == "GET":
        return redirect(safe_next(form.next.data, url_for("home.index")))
    error = ""
    if form.validate_on_submit():
        user = accounts.authenticate(db(), form.email.data or "", form.password.data or "")
        if user is None:
            error = "That e-mail address and password do not match an active account."
        else:
            db().commit()
            log_in(user)
            return redirect(safe_next(form.next.data, url_for("home.index")))
    status = 401 if error else (422 if form.errors else 200)
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    log_out()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not accounts.verify_password(user.password_hash, form.current.data or ""):
            form.current.errors.append("This is not your current password.")
        else:
            accounts.set_password(db(), user, form.password.data or "")
            db().commit()
            log_in(user)
            flash("Your password is changed. Other sessions were logged out.", "success")
            return redirect(url_for("auth.account"))
    status = 422 if form.errors else 200
    return render_template("auth/account.html", form=form, user=user), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def accept_invite(token: str):
    user = accounts.user_for_invite(db(), token)
    if user is None:
        abort(404)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invite(db(), token, form.password.data or "")
        except InvalidInput as exc:
            form.password.errors.append(str(exc))
        except NotFound:
            abort(404)
        else:
            db().commit()
            log_in(user)
            flash(f"Welcome, {user.name}. Your account is ready.", "success")
            return redirect(url_for("home.index"))
    status = 422 if form.errors else 200
    return render_template("auth/invite.html", form=form, user=user), status
