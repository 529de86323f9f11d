"""Position pages: list, add, edit."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from accounts import queries as account_queries
from accounts.access import access, current_scope, get_scoped_or_404, scoped_select
from accounts.models import STAFF_ROLES, Client
from database import db, unit_of_work, utcnow
from positions import services
from positions.forms import PositionForm
from positions.models import Position

bp = Blueprint("positions", __name__, url_prefix="/positions")


def _clients(form: PositionForm) -> dict[str, Client]:
    clients = account_queries.list_clients(current_scope())
    form.client.choices = [SelectChoice(c.public_id, c.name) for c in clients]
    return {c.public_id: c for c in clients}


@bp.get("")
@access(roles=STAFF_ROLES)
def index() -> str:
    positions = db.session.scalars(
        scoped_select(Position, current_scope()).join(Position.client).order_by(Client.name, Position.title)
    ).all()
    return render_template("positions/index.html", positions=positions)


@bp.route("/new", methods=["GET", "POST"])
@access(roles=STAFF_ROLES)
def new() -> Response | tuple[str, int] | str:
    return _edit(None)


@bp.route("/<public_id>", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Position)
def edit(public_id: str) -> Response | tuple[str, int] | str:
    return _edit(get_scoped_or_404(Position, public_id))


def _edit(position: Position | None) -> Response | tuple[str, int] | str:
    form = PositionForm(obj=None if request.method == "POST" else position)
    clients = _clients(form)
    if request.method == "GET":
        if position is not None:
            form.client.data = position.client.public_id
        elif request.args.get("client") in clients:
            form.client.data = request.args["client"]
        return render_template("positions/form.html", form=form, position=position)
    if not form.validate_on_submit():
        return render_template("positions/form.html", form=form, position=position), 422
    with unit_of_work():
        saved = services.save_position(
            position=position,
            client=clients[form.client.data],
            title=form.title.data or "",
            responsibilities=form.responsibilities.data or "",
            by=current_user,
            now=utcnow(),
        )
    flash("Position saved.", "success")
    return redirect(url_for("positions.edit", public_id=saved.public_id))
