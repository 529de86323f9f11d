"""Form shapes for the agency admin's integration pages; the rules live in api/keys.py and webhooks.py."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from accounts.forms import strip
from api.models import ApiScope
from webhooks import EVENT_TYPES

# What each scope allows, one line each, shown beside its radio button.
SCOPE_HINTS = {
    ApiScope.READ.value: "Look up positions, assessments, candidates and results. It cannot change anything.",
    ApiScope.WRITE.value: "Everything read only allows, and also add candidates and send invitations.",
}


class OnceForm(FlaskForm):
    """A form whose POST makes a secret shown once: `once` is a token kept in the session for one send, so
    a browser that sends the form again (a reload, the back button) makes nothing twice."""

    once = HiddenField()


class ApiKeyForm(OnceForm):
    name = StringField(
        "Name",
        filters=[strip],
        validators=[DataRequired("Give the key a name, such as the system that will use it."), Length(max=80)],
        description="For example the applicant-tracking system that will use it. Only your agency sees it.",
    )
    scope = RadioField(
        "What the key may do",
        choices=[SelectChoice(s.value, s.label) for s in ApiScope],
        default=ApiScope.READ.value,
        validators=[InputRequired("Choose read only, or read and write.")],
    )


class WebhookEndpointForm(OnceForm):
    url = StringField(
        "Address (URL)",
        filters=[strip],
        validators=[DataRequired("Enter the address that receives the events."), Length(max=500)],
        description="It must start with https://, for example https://ats.example.com/rapport/events.",
        render_kw={"inputmode": "url", "spellcheck": "false"},
    )
    description = StringField(
        "Description (optional)",
        filters=[strip],
        validators=[Length(max=120)],
        description="A note for your colleagues, such as the system's name.",
    )
    events = SelectMultipleField(
        "Events to send",
        choices=[SelectChoice(key, label) for key, label in EVENT_TYPES.items()],
        validate_choice=True,
        validators=[DataRequired("Choose at least one event.")],
    )


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""
