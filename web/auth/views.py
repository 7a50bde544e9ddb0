from __future__ import annotations

import datetime as dt
import hashlib

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from web.api.forms import RevokeTokenForm, TokenForm
from web.auth.forms import ChangePasswordForm, LoginForm, NewPasswordForm
from web.database import db
from web.extensions import limiter
from web.security import current_user, log_in, log_out, login_required, safe_next
from workflow.services import accounts, api_tokens
from workflow.services.errors import InvalidInput, NotFound

bp = Blueprint("auth", __name__)


#: Shown when one address has had too many failed log-ins. It is the same for addresses that
#: have no account, so it does not tell which addresses do.
ACCOUNT_PAUSED = (
    "There have been too many failed log-ins to this e-mail address, so log-ins to it are "
    "paused for a while to protect the account. Try again later, or ask your organisation's "
    "admin to send you a new invitation if you forgot your password."
)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_account() -> str:
    """Who a log-in tries to be: the address as typed, case-insensitive, hashed so the rate
    limit store holds no addresses. Attempts from every client address count together."""
    email = (request.form.get("email") or "").strip().lower()
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(
    _account_limit,
    key_func=_login_account,
    methods=["POST"],
    deduct_when=_failed,
    error_message=ACCOUNT_PAUSED,
)
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
            accounts.set_password(db(), user, form.password.data or "", actor_id=user.id)
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


def _tokens_page(form: TokenForm, *, new_token: str = "", status: int = 200):
    user = current_user()
    tokens = api_tokens.user_tokens(db(), user)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    response = current_app.make_response(
        (
            render_template(
                "auth/tokens.html",
                form=form,
                tokens=[(row, api_tokens.token_state(row, now)) for row in tokens],
                new_token=new_token,
                today=dt.date.today(),
            ),
            status,
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """Personal API tokens: make one (shown once, on this response only), see and revoke."""
    form = TokenForm()
    if form.validate_on_submit():
        expires = form.expires.data
        expires_at = (
            dt.datetime.combine(expires + dt.timedelta(days=1), dt.time()) if expires else None
        )
        try:
            _row, plain = api_tokens.create_token(
                db(), current_user(), form.name.data or "", expires_at=expires_at
            )
        except InvalidInput as exc:
            target = form.expires if exc.field == "expires" else form.name
            target.errors = [*target.errors, str(exc)]
        else:
            db().commit()
            return _tokens_page(TokenForm(formdata=None), new_token=plain)
    return _tokens_page(form, status=422 if form.errors else 200)


@bp.route("/account/tokens/revoke", methods=["GET", "POST"])
@login_required
def revoke_token():
    """Ask before revoking (GET ?token=<id>), then revoke (POST)."""
    user = current_user()
    if request.method == "GET":
        token_id = request.args.get("token", type=int)
        chosen = next((r for r in api_tokens.user_tokens(db(), user) if r.id == token_id), None)
        if chosen is None:
            return redirect(url_for("auth.tokens"))
        return render_template(
            "auth/tokens.html", confirm=chosen, form=RevokeTokenForm(formdata=None, token=chosen.id)
        )
    form = RevokeTokenForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        row = api_tokens.revoke_token(db(), user, form.token.data)
    except NotFound:
        abort(404)
    db().commit()
    flash(
        f"The token “{row.name}” is revoked: programs using it are refused from now on.", "success"
    )
    return redirect(url_for("auth.tokens"))
