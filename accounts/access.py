"""Access policies on every view, and tenant scoping of every tenant-owned read.

Every endpoint declares a policy with @access(...): the roles that may call it (None = public) and
the model its <public_id> names. An endpoint without a policy answers 404 (see app.py), and the
route-walk test fails. Tenant-owned rows are read only through scoped_select() / get_scoped_or_404(),
which take (agency, client) from the signed-in user; an object outside that scope answers 404.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.sql.elements import ColumnElement

from accounts import audit
from accounts.models import Role, Scope
from database import db, utcnow
from extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


class TenantOwned(Protocol):
    public_id: Any

    @classmethod
    def scope_criteria(cls, scope: Scope) -> list[ColumnElement[bool]]: ...


T = TypeVar("T", bound=TenantOwned)


@dataclass(frozen=True)
class AccessPolicy:
    roles: frozenset[Role] | None  # None: public
    owns: type | None = None  # the model named by the route's <public_id>, if any
    api: str | None = None  # an API endpoint: the key scope it needs (api/base.py), no cookie roles

    @property
    def public(self) -> bool:
        return self.roles is None and self.api is None


def access(*, roles: frozenset[Role] | None, owns: type | None = None) -> Callable[[F], F]:
    """Declare and enforce who may call a view: anonymous users are sent to sign in, wrong roles get 403."""
    policy = AccessPolicy(roles=roles, owns=owns)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if policy.roles is not None:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if current_user.role not in policy.roles:
                    deny(reason="role")
                    abort(403)
            return view(*args, **kwargs)

        wrapped.access_policy = policy  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def policy_of(view: Callable[..., Any]) -> AccessPolicy | None:
    """The policy a view declared, or None."""
    return getattr(view, "access_policy", None)


def current_scope() -> Scope:
    """The signed-in user's scope; 404 for anyone without one."""
    if not current_user.is_authenticated:
        abort(404)
    scope: Scope = current_user.scope
    return scope


def scoped_select(model: type[T], scope: Scope) -> Select[T]:
    """SELECT model restricted to the scope."""
    return select(model).where(*model.scope_criteria(scope))


def get_scoped_or_404(model: type[T], public_id: str, scope: Scope | None = None) -> T:
    """The object with that public id inside the caller's scope; 404 (and an audit event) otherwise."""
    scope = scope or current_scope()
    found = db.session.scalar(scoped_select(model, scope).where(model.public_id == public_id))
    if found is None:
        deny(reason="scope", object_type=getattr(model, "__tablename__", None), object_public_id=public_id[:64])
        abort(404)
    return found


def deny(*, reason: str, object_type: str | None = None, object_public_id: str | None = None) -> None:
    """Record a denied access in the audit trail, in a unit of work of its own."""
    user = current_user if current_user.is_authenticated else None
    audit.record_now(
        f"access.denied.{reason}",
        now=utcnow(),
        agency_public_id=user.agency.public_id if user else None,
        actor_public_id=user.public_id if user else None,
        object_type=object_type,
        object_public_id=object_public_id,
    )
