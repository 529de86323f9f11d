"""Form shapes for sign-in and the admin pages; the rules live in services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional

from accounts.models import Role
from accounts.passwords import MAX_LENGTH
from reports.branding import BrandingError, parse_colour
from reports.sections import SECTIONS


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


EMAIL = [DataRequired("Enter your email address."), Email("Enter a valid email address."), Length(max=254)]


class LoginForm(FlaskForm):
    email = EmailField("Email address", filters=[strip], validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)])


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email address", filters=[strip], validators=EMAIL)


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired("Enter a new password."), Length(max=MAX_LENGTH)])
    confirm = PasswordField(
        "Type it again",
        validators=[DataRequired("Type the password again."), EqualTo("password", "The two passwords differ.")],
    )


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])


class LogoutForm(FlaskForm):
    pass


class SignInCodeForm(FlaskForm):
    code = StringField(
        "Code",
        filters=[strip],
        validators=[DataRequired("Enter the code from your authenticator app."), Length(max=64)],
        description="The 6-digit code your authenticator app shows for Rapport. "
        "Lost your phone? Enter one of your recovery codes instead.",
    )


class TwoFactorSetupForm(FlaskForm):
    code = StringField(
        "6-digit code from your app",
        filters=[strip],
        validators=[DataRequired("Enter the code your app shows for Rapport."), Length(max=64)],
    )


class ConfirmPasswordForm(FlaskForm):
    """The password again before a change to two-factor sign-in (give each form on a page its own prefix)."""

    password = PasswordField("Your password", validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)])


ROLE_CHOICES = [SelectChoice(r.value, r.label) for r in Role]


class UserForm(FlaskForm):
    name = StringField(
        "Full name", filters=[strip], validators=[DataRequired("Enter the person's name."), Length(max=120)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[InputRequired()])
    client = SelectField("Client (for client users only)", choices=[], validate_choice=True)


class NewUserForm(UserForm):
    email = EmailField("Email address", filters=[strip], validators=EMAIL)


class EditUserForm(UserForm):
    is_active = BooleanField("May sign in")


def colour(form: FlaskForm, field: Field) -> None:
    """A colour field is empty or "#rrggbb" (any case, # optional)."""
    try:
        parse_colour(field.data)
    except BrandingError as exc:
        raise ValidationError(str(exc)) from exc


COLOUR_FILTERS = [strip]
COLOUR_VALIDATORS = [Optional(), Length(max=16, message="Give a colour as # and six hex digits."), colour]
LOGO_INPUT = {"accept": "image/png,image/jpeg"}
LOGO_HINT = "PNG or JPEG, at most 2 MB. It is resized to fit 800 × 300 pixels and saved without its metadata."


class ClientForm(FlaskForm):
    name = StringField(
        "Company name", filters=[strip], validators=[DataRequired("Enter the company's name."), Length(max=120)]
    )
    contact_email = EmailField(
        "Contact email (optional)",
        filters=[strip],
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
    )
    notes = TextAreaField("Notes (optional)", validators=[Optional(), Length(max=2000)])
    # Reports for this client.
    brand_colour = StringField(
        "Client's colour on its reports (optional)",
        filters=COLOUR_FILTERS,
        validators=COLOUR_VALIDATORS,
        description="For example #1f4e79. Leave empty to use the agency's colour.",
    )
    logo = FileField("Client's logo (optional)", description=LOGO_HINT, render_kw=LOGO_INPUT)
    remove_logo = BooleanField("Remove the client's logo")
    sections = SelectMultipleField(
        "Sections its reports include",
        choices=[SelectChoice(key, label) for key, label in SECTIONS.items()],
        validate_choice=True,
        description="The cover and the methodology appendix always appear.",
    )


class AgencySettingsForm(FlaskForm):
    name = StringField(
        "Agency name", filters=[strip], validators=[DataRequired("Enter the agency's name."), Length(max=120)]
    )
    privacy_contact = EmailField(
        "Contact for privacy questions",
        filters=[strip],
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
        description="Candidates see this address when they ask what happens to their data.",
    )
    retention_months = IntegerField(
        "Keep candidate data for (months)",
        validators=[
            InputRequired("Enter a number of months."),
            NumberRange(1, 120, "Choose between 1 and 120 months."),
        ],
        description="Counted from the candidate's last activity. The default is 12 months.",
    )


class BrandingForm(FlaskForm):
    brand_colour = StringField(
        "Brand colour (optional)",
        filters=COLOUR_FILTERS,
        validators=COLOUR_VALIDATORS,
        description="Headings and charts on reports, for example #1f4e79. A client's own colour wins over it.",
    )
    accent_colour = StringField(
        "Accent colour (optional)",
        filters=COLOUR_FILTERS,
        validators=COLOUR_VALIDATORS,
        description="Highlights on reports, for example #c05621.",
    )
    logo = FileField("Agency logo (optional)", description=LOGO_HINT, render_kw=LOGO_INPUT)
    remove_logo = BooleanField("Remove the logo")
    feedback_reports = BooleanField("Offer candidates a feedback report")


class RetryEmailForm(FlaskForm):
    pass
