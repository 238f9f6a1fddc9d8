from decimal import Decimal

from django import forms


class SignInRequestForm(forms.Form):
    email = forms.EmailField(max_length=254)


class AmountForm(forms.Form):
    amount = forms.DecimalField(
        min_value=Decimal("1.00"), max_digits=9, decimal_places=2, label="New amount"
    )

    @property
    def amount_minor(self) -> int:
        return int(self.cleaned_data["amount"] * 100)  # exact: a Decimal with 2 places
