from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from donations.ratelimit import client_ip
from staffauth import throttle, totp


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, refusing a locked-out username or address before the
    password is even checked (so a guesser learns nothing while locked)."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if self.request is not None and throttle.locked_out(
            username=username, ip=client_ip(self.request)
        ):
            raise forms.ValidationError(throttle.lockout_message(), code="locked_out")
        return super().clean()


class CodeForm(forms.Form):
    code = forms.CharField(
        label="6-digit code",
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def __init__(
        self, *args, secret: str, last_step: int | None, locked: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.locked = locked
        self.secret = secret
        self.last_step = last_step
        self.step: int | None = None

    def clean_code(self) -> str:
        if self.locked:
            raise forms.ValidationError(throttle.lockout_message())
        code = "".join(self.cleaned_data["code"].split())
        self.step = totp.matching_step(self.secret, code, after_step=self.last_step)
        if self.step is None:
            raise forms.ValidationError(
                "That code is not right, or was already used. Enter the code your app shows now."
            )
        return code
