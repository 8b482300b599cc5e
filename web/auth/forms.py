"""Sign-in and password forms (Flask-WTF: every form carries a CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


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
