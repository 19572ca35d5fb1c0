from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm[User]):
    email = forms.EmailField(required=False, help_text="Optional; used only to recover your password.")

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]  # django-stubs does not declare the Meta
        model = User
        fields = ("username", "email")
