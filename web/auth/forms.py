"""Sign-in and password forms (Flask-WTF: every form carries a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice (as web.admin.forms does)
    from wtforms.fields.choices import SelectChoice as _Choice
except ImportError:  # pragma: no cover - older WTForms
    def _Choice(value: str, label: str):
        return (value, label)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email address."), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=1024)])


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired("Enter your current password."),
                                                            Length(max=1024)])
    new = PasswordField("New password (at least 10 characters)",
                        validators=[DataRequired("Enter a new password."), Length(max=1024)])


class LogoutForm(FlaskForm):
    """No fields: only the CSRF token, so that another site cannot sign a user out."""


class TokenForm(FlaskForm):
    """A new API token for oneself. The service checks the name and the days (ASCII digits, 1 to 365)."""

    name = StringField("Name (what will use it)", default="token", validators=[Length(max=200)])
    days = StringField("Days it lasts (1 to 365)", default="90", validators=[Length(max=20)])
    scope = SelectField("It may", choices=[_Choice("read", "read only"), _Choice("read write", "read and write")],
                        default="read")
    meter = StringField("Or, for a data logger: the code of the meter it sends readings for (it may then do "
                        "nothing else)", default="", validators=[Length(max=100)])


class TokenRevokeForm(FlaskForm):
    """No fields: only the CSRF token, so that another site cannot end a user's token."""
