from django.conf import settings
from django.db import models


class StaffTOTP(models.Model):
    """A staff member's authenticator: the shared secret, confirmed once they typed a code
    from it, and the last time step used (a code works once)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp"
    )
    secret = models.CharField(max_length=64)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "staff authenticator"

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_at else "not confirmed"
        return f"Authenticator of {self.user} ({state})"

    def use_step(self, step: int) -> bool:
        """Record the step as used; False when another request used it (or a later one)
        first. One compare-and-set UPDATE, so two requests racing with one code get one yes."""
        unused = StaffTOTP.objects.filter(pk=self.pk).filter(
            models.Q(last_used_step__isnull=True) | models.Q(last_used_step__lt=step)
        )
        if unused.update(last_used_step=step) != 1:
            return False
        self.last_used_step = step
        return True
